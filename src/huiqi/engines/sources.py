"""Population sources: one parser of source specs and one reader per file format.

Both sides read populations through here, so they see the same cells:

* the set-based engines (:func:`huiqi.engines.population.open_population`) register the
  source lazily in their DuckDB connection (:func:`attach`) and type it in SQL;
* the per-row reference and the simulation (:mod:`huiqi.simulation.population`) take
  the same rows as an Arrow table (:func:`read_table`) and type them with the registry.

Sources: ``.parquet``/``.pq`` (a directory of Parquet files for the engines),
``.csv``/``.txt`` (UTF-8 or GB18030), ``.xlsx``/``.xlsm``, ``duckdb:PATH::TABLE`` and
``sqlite:PATH::TABLE``. Parquet and DuckDB tables keep their types; CSV, Excel and SQLite
cells are text (Excel numbers written exactly, never through binary floats; blank
cells and rows left out). A missing, damaged or unsupported source is a Chinese
:class:`~huiqi.errors.InputError` naming the file.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from huiqi.errors import InputError

__all__ = ["SourceSpec", "attach", "cell_text", "parse_source", "read_excel", "read_sqlite", "read_table"]

SUFFIX_KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv", ".xlsx": "xlsx",
                ".xlsm": "xlsx"}
KIND_LABELS = {"parquet": "Parquet", "csv": "CSV", "xlsx": "Excel", "duckdb": "DuckDB", "sqlite": "SQLite"}
_SUPPORTED = "支持 .parquet、.csv、.xlsx,或 duckdb:文件::表名、sqlite:文件::表名"


@dataclass(frozen=True)
class SourceSpec:
    """Where a population comes from: a file, or ``duckdb:``/``sqlite:`` PATH::TABLE."""

    kind: str  # parquet | csv | xlsx | duckdb | sqlite
    path: Path
    table: str | None = None
    # Read through the registry (huiqi.registry): only this year's rows; 亩均 classes from this evaluation file.
    year: int | None = None
    classes: Path | None = None

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.path}::{self.table}" if self.table else str(self.path)


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def parse_source(spec: str | Path | SourceSpec, *, directories: bool = False) -> SourceSpec:
    """``pop.csv`` → csv; ``duckdb:pop.duckdb::firms`` → duckdb table firms; the file must exist.

    ``directories``: a directory is a Parquet dataset (the engines read ``**/*.parquet``).
    """
    if isinstance(spec, SourceSpec):
        return spec
    text = str(spec)
    for kind in ("duckdb", "sqlite"):
        if text.startswith(kind + ":"):
            db, sep, table = text[len(kind) + 1:].rpartition("::")
            if not sep or not db or not table:
                raise InputError(f"无法识别的数据源 {text}",
                                 hint=f"写法:{kind}:文件路径::表名,如 {kind}:pop.db::enterprises")
            if not Path(db).is_file():
                raise InputError("企业名录数据库文件不存在", file=db)
            return SourceSpec(kind, Path(db), table)
    path = Path(text)
    if not path.exists():
        raise InputError("企业名录文件不存在", file=text)
    if path.is_dir():
        if directories:
            return SourceSpec("parquet", path)
        raise InputError("企业名录应是一个文件,而这是目录", file=text, hint=_SUPPORTED)
    suffix = path.suffix.lower()
    if suffix not in SUFFIX_KINDS:
        raise InputError(f"不支持的企业名录格式 {suffix or '(无扩展名)'}", file=text, hint=_SUPPORTED)
    return SourceSpec(SUFFIX_KINDS[suffix], path)


# -- registering in DuckDB / reading as Arrow --------------------------------------------------------


def attach(con: duckdb.DuckDBPyConnection, src: SourceSpec, name: str, tmp: list[Any]) -> None:
    """Make ``src`` the view (or registered table) ``name`` of ``con``.

    Parquet, CSV and DuckDB tables are scanned lazily; Excel and SQLite are read into
    Arrow first. A transcoded CSV copy's temporary directory is appended to ``tmp``:
    the caller cleans it up once it no longer reads the view.
    """
    try:
        READERS.get(src.kind, _attach_arrow)(con, src, name, tmp)
    except duckdb.Error as exc:
        raise read_error(src, exc) from None


def _attach_parquet(con: duckdb.DuckDBPyConnection, src: SourceSpec, name: str, tmp: list[Any]) -> None:
    pattern = src.path / "**" / "*.parquet" if src.path.is_dir() else src.path
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({sql_text(str(pattern))})")


def _attach_csv(con: duckdb.DuckDBPyConnection, src: SourceSpec, name: str, tmp: list[Any]) -> None:
    csv_path = utf8_csv(src.path, tmp)
    # Every cell as text: amounts are parsed exactly afterwards, never through DOUBLE.
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_csv({sql_text(str(csv_path))}, "
                "header = true, all_varchar = true, auto_detect = true)")


def _attach_duckdb(con: duckdb.DuckDBPyConnection, src: SourceSpec, name: str, tmp: list[Any]) -> None:
    # TYPE duckdb: a file of another kind is an error, not a cue to download a DuckDB extension.
    con.execute(f"ATTACH {sql_text(str(src.path))} AS __huiqi_src (TYPE duckdb, READ_ONLY)")
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM __huiqi_src.{sql_ident(src.table or '')}")


def _attach_arrow(con: duckdb.DuckDBPyConnection, src: SourceSpec, name: str, tmp: list[Any]) -> None:
    """Excel and SQLite: read into Arrow first, then registered."""
    con.register(name, _arrow_source(src))


# The registry of input readers, by source kind: Parquet, CSV and DuckDB are scanned lazily.
READERS: dict[str, Callable[[duckdb.DuckDBPyConnection, SourceSpec, str, list[Any]], None]] = {
    "parquet": _attach_parquet,
    "csv": _attach_csv,
    "duckdb": _attach_duckdb,
    "xlsx": _attach_arrow,
    "sqlite": _attach_arrow,
}


def read_table(src: SourceSpec, *, limit: int | None = None, columns: Sequence[str] | None = None) -> pa.Table:
    """The source as an Arrow table, cells exactly as :func:`attach` presents them to the engines.

    ``limit``: only the first rows; ``columns``: only those of them the source has.
    """
    if src.kind in ("xlsx", "sqlite"):
        table = _arrow_source(src)
        if columns is not None:
            table = table.select([c for c in columns if c in table.schema.names])
        return table if limit is None else table.slice(0, limit)
    tmp: list[Any] = []
    con = duckdb.connect()
    try:
        attach(con, src, "__huiqi_raw", tmp)
        select = "*"
        if columns is not None:
            names = {str(r[0]) for r in con.execute("DESCRIBE SELECT * FROM __huiqi_raw").fetchall()}
            wanted = [sql_ident(c) for c in columns if c in names]
            if not wanted:
                return pa.table({})
            select = ", ".join(wanted)
        rows = f" LIMIT {int(limit)}" if limit is not None else ""
        return con.sql(f"SELECT {select} FROM __huiqi_raw{rows}").to_arrow_table()
    except duckdb.Error as exc:
        raise read_error(src, exc) from None
    finally:
        con.close()
        for holder in tmp:
            holder.cleanup()


def read_error(src: SourceSpec, exc: BaseException) -> InputError:
    """The Chinese error for a source DuckDB could not read."""
    if src.kind == "duckdb":
        return InputError(f"无法读取 DuckDB 数据库中的表 {src.table}:{first_line(exc)}", file=str(src.path))
    return InputError(f"无法读取企业名录({KIND_LABELS.get(src.kind, src.kind)} 文件):{first_line(exc)}",
                      file=str(src.path), hint="文件可能已损坏,或扩展名与内容不符")


def _arrow_source(src: SourceSpec) -> pa.Table:
    return read_excel(src.path) if src.kind == "xlsx" else read_sqlite(src.path, src.table or "")


# -- formats -------------------------------------------------------------------------------------------


def utf8_csv(path: Path, tmp: list[Any]) -> Path:
    """DuckDB reads UTF-8 only; a GB18030 file (Excel's Chinese CSV) is transcoded to a temp copy.

    The encoding is decided on the first megabyte (a character cut at its end is tolerated).
    """
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
        return path
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:
            return path
    holder = tempfile.TemporaryDirectory(prefix="huiqi-csv-")
    tmp.append(holder)
    out = Path(holder.name) / "population.csv"
    try:
        with path.open("r", encoding="gb18030") as src, out.open("w", encoding="utf-8") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except UnicodeDecodeError:
        raise InputError("CSV 文件既不是 UTF-8 也不是 GB18030 编码", file=str(path)) from None
    return out


def cell_text(value: Any) -> str | None:
    """An Excel cell as the text a CSV would hold (exact for numbers, ISO for dates)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel stores numbers as binary floats; repr is the shortest exact decimal text.
        d = Decimal(repr(value))
        return format(d.quantize(Decimal(1)) if d == d.to_integral_value() else d, "f")
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10]
    return str(value)


def read_excel(path: Path) -> pa.Table:
    """The first worksheet: header row, then every cell as stripped text (blank → null).

    Entirely blank rows (Excel's formatted but empty rows) are left out; a column without
    a header is kept as ``column<n>`` only when it holds something.
    """
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(f"无法读取 Excel 文件:{first_line(exc)}", file=str(path), hint="文件可能已损坏") from None
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError("Excel 工作表为空", file=str(path))
        names = [str(h).strip() if h is not None else "" for h in header]
        cols: list[list[str | None]] = [[] for _ in names]
        for row in rows:
            cells = [_excel_text(row[i]) if i < len(row) else None for i in range(len(names))]
            if any(c is not None for c in cells):
                for col, cell in zip(cols, cells, strict=True):
                    col.append(cell)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"无法读取 Excel 文件:{first_line(exc)}", file=str(path), hint="文件可能已损坏") from None
    finally:
        wb.close()
    kept: dict[str, list[str | None]] = {}
    for i, (name, col) in enumerate(zip(names, cols, strict=True)):
        if not name and all(v is None for v in col):
            continue
        name = name or f"column{i + 1}"
        if name in kept:
            raise InputError(f"Excel 表头有重复的列名 {name}", file=str(path), field=name)
        kept[name] = col
    return pa.table({n: pa.array(c, pa.string()) for n, c in kept.items()})


def _excel_text(value: Any) -> str | None:
    text = cell_text(value)
    return (text.strip() or None) if text is not None else None


def read_sqlite(path: Path, table: str) -> pa.Table:
    """Every cell of a SQLite table as text (integers as written, NULL as null)."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            cur = db.execute(f"SELECT * FROM {sql_ident(table)}")
            names = [c[0] for c in cur.description]
            cols: list[list[str | None]] = [[] for _ in names]
            for row in cur:
                for col, v in zip(cols, row, strict=True):
                    col.append(None if v is None else str(v))
    except sqlite3.Error as exc:
        raise InputError(f"无法读取 SQLite 数据库中的表 {table}:{exc}", file=str(path)) from None
    return pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cols, strict=True)})
