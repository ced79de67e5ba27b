"""Reading a population table (docs/simulation-contract.md) for the Python-side tools.

The set-based engines (``huiqi.engines``) open populations themselves; this module is
what the per-row reference loop, the fund allocation (population order) and the
reports (enterprise names) use. Every problem is a Chinese :class:`InputError` naming
the file, the row and the column.

Formats: ``.parquet``, ``.csv`` (UTF-8 or GB18030), ``.xlsx``, ``duckdb:PATH::TABLE``
and ``sqlite:PATH::TABLE``. CSV and Excel cells are read as text/cells and converted
by the field registry (``600万元``, ``12%``, ``是/否`` are understood); Parquet keeps
its types (money must be integers: a float money column is rejected, never rounded).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from huiqi.engines.population import cell_text
from huiqi.errors import HuiqiError, InputError
from huiqi.profile import FieldRegistry, FieldSpec, closest, default_registry

__all__ = [
    "BASE_COLUMNS",
    "PopulationSource",
    "applies_to_region",
    "check_population_columns",
    "parse_source",
    "population_order",
    "read_population",
]

BASE_COLUMNS = ("id", "name", "province", "city", "county", "district", "project_id")
REGION_COLUMNS = ("province", "city", "county", "district")


@dataclass(frozen=True)
class PopulationSource:
    """Where a population comes from: a file, or ``duckdb:``/``sqlite:`` PATH::TABLE."""

    kind: str  # parquet | csv | xlsx | duckdb | sqlite
    path: Path
    table: str | None = None

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.path}::{self.table}" if self.table else str(self.path)


def parse_source(spec: str | Path) -> PopulationSource:
    text = str(spec)
    for kind in ("duckdb", "sqlite"):
        if text.startswith(kind + ":"):
            rest = text[len(kind) + 1:]
            path, sep, table = rest.rpartition("::")
            if not sep or not table:
                raise InputError(f"{kind} 数据源应写成 {kind}:文件路径::表名", file=text)
            return _existing(PopulationSource(kind, Path(path), table))
    p = Path(text)
    suffix = p.suffix.lower()
    kinds = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
    if suffix not in kinds:
        raise InputError(f"不支持的企业人口格式 {suffix or '(无扩展名)'}", file=text,
                         hint="请用 .parquet、.csv、.xlsx,或 duckdb:文件::表名、sqlite:文件::表名")
    return _existing(PopulationSource(kinds[suffix], p))


def _existing(src: PopulationSource) -> PopulationSource:
    if not src.path.is_file():
        raise InputError("企业人口文件不存在", file=str(src.path))
    return src


# -- reading ------------------------------------------------------------------------------------


def _raw_table(src: PopulationSource, limit: int | None = None) -> pa.Table:
    """The table as stored (Parquet/DuckDB typed; CSV as text; Excel as Python cells); ``limit`` first rows."""
    try:
        if src.kind == "parquet":
            import pyarrow.parquet as pq

            if limit is None:
                return pq.read_table(src.path)
            pf = pq.ParquetFile(src.path)
            batches = []
            got = 0
            for batch in pf.iter_batches(batch_size=min(limit, 65536)):
                batches.append(batch.slice(0, limit - got))
                got += batches[-1].num_rows
                if got >= limit:
                    break
            return pa.Table.from_batches(batches, schema=pf.schema_arrow)
        if src.kind == "csv":
            return _read_csv(src.path)
        if src.kind == "xlsx":
            return _read_xlsx(src.path)
        if src.kind == "duckdb":
            import duckdb

            con = duckdb.connect(str(src.path), read_only=True)
            try:
                return con.sql(f'SELECT * FROM "{_ident(src.table or "")}"').to_arrow_table()
            finally:
                con.close()
        return _read_sqlite(src.path, src.table or "")
    except HuiqiError:
        raise
    except Exception as exc:  # pyarrow/duckdb/openpyxl raise many types for a damaged file
        kind = {"parquet": "Parquet", "csv": "CSV", "xlsx": "Excel", "duckdb": "DuckDB", "sqlite": "SQLite"}[src.kind]
        raise InputError(f"无法读取 {kind} 文件(文件损坏或格式不符):{str(exc).splitlines()[0][:200]}",
                         file=src.text) from None


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _read_csv(path: Path) -> pa.Table:
    import pyarrow.csv as pcsv

    # Decide the encoding on the first megabyte (a cut multi-byte character at the end is tolerated).
    with path.open("rb") as fh:
        raw = fh.read(1 << 20)
    encoding = "utf-8"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(raw) - 4:
            try:
                raw.decode("gb18030")
                encoding = "gb18030"
            except UnicodeDecodeError as exc2:
                if exc2.start < len(raw) - 4:
                    raise InputError("CSV 文件既不是 UTF-8 也不是 GB18030 编码", file=str(path)) from None
                encoding = "gb18030"
    header = _csv_header(raw, encoding)
    # Every cell as text: the registry converts it exactly (no float guessing by the CSV reader).
    return pcsv.read_csv(
        path,
        read_options=pcsv.ReadOptions(encoding=encoding),
        convert_options=pcsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                            strings_can_be_null=True, null_values=[""]),
    )


def _csv_header(raw: bytes, encoding: str) -> list[str]:
    import csv
    import io

    text = raw[: 1 << 16].decode(encoding, errors="ignore").lstrip("\ufeff")
    first = next(csv.reader(io.StringIO(text)), [])
    return [h.strip() for h in first]


def _read_xlsx(path: Path) -> pa.Table:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()
    if not rows:
        raise InputError("Excel 工作表为空", file=str(path))
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    cols: dict[str, list[Any]] = {h: [] for h in header if h}
    for row in rows[1:]:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        for h, v in zip(header, row, strict=False):
            if h:
                cols[h].append(_excel_text(v))
        for h in header[len(row):]:
            if h:
                cols[h].append(None)
    return pa.table({h: pa.array(v, type=pa.string()) for h, v in cols.items()})


def _excel_text(value: Any) -> str | None:
    text = cell_text(value)
    return (text.strip() or None) if text is not None else None


def _read_sqlite(path: Path, table: str) -> pa.Table:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = con.execute(f'SELECT * FROM "{_ident(table)}"')
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except sqlite3.Error as exc:
        raise InputError(f"无法读取 SQLite 表 {table}:{exc}", file=str(path)) from None
    finally:
        con.close()
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({n: pa.array([None if v is None else str(v) for v in c], type=pa.string())
                     for n, c in zip(names, cols, strict=True)})


# -- checking and converting --------------------------------------------------------------------


@dataclass
class ColumnReport:
    """What the columns say before any row is read."""

    fields: dict[str, FieldSpec] = field(default_factory=dict)  # column → spec
    unknown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_population_columns(names: list[str], registry: FieldRegistry, source: str) -> ColumnReport:
    """``id`` is required; field columns must be registered (unknown ones are reported and ignored)."""
    if "id" not in names:
        near = closest("id", names)
        raise InputError("企业人口缺少必需的列 id(企业编号)", file=source, field="id",
                         hint=f"是否应把列 {near[0]} 改名为 id?" if near else
                         "列名应为 id、name、province、city、county、district、project_id、enterprise.<字段>、project.<字段>")
    report = ColumnReport()
    for name in names:
        if name in BASE_COLUMNS:
            continue
        spec = registry.get(name)
        if spec is None or spec.scope == "region":
            report.unknown.append(name)
            hint = registry.suggest(name) if "." in name else None
            report.warnings.append(f"未知的列 {name},已忽略" + (f"({hint})" if hint else ""))
            continue
        report.fields[name] = spec
    return report


def read_population(population: str | Path | PopulationSource | pa.Table,
                    registry: FieldRegistry | None = None, limit: int | None = None) -> tuple[pa.Table, list[str]]:
    """(table with registry-typed Python-convertible columns, warnings). For small/medium populations."""
    reg = registry or default_registry()
    if isinstance(population, pa.Table):
        raw, source = population, "Arrow 表"
    else:
        src = population if isinstance(population, PopulationSource) else parse_source(population)
        raw, source = _raw_table(src, limit), src.text
    if limit is not None:
        raw = raw.slice(0, limit)
    report = check_population_columns(raw.schema.names, reg, source)
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in raw.schema.names:
        col = raw.column(name)
        if name in BASE_COLUMNS:
            out[name] = col if pa.types.is_string(col.type) else pa.array(
                [None if v is None else str(v) for v in col.to_pylist()], type=pa.string())
            continue
        spec = report.fields.get(name)
        if spec is None:
            continue
        out[name] = _convert(col, spec, name, source)
    if "id" in out and out["id"].null_count:
        first = out["id"].to_pylist().index(None)
        raise InputError(f"第{first + 2}行的企业编号 id 为空", file=source, line=first + 2, field="id")
    return pa.table(out), report.warnings


_ARROW_OK = {
    "money": lambda t: pa.types.is_integer(t),
    "integer": lambda t: pa.types.is_integer(t),
    "number": lambda t: pa.types.is_decimal(t) or pa.types.is_integer(t),
    "percent": lambda t: pa.types.is_decimal(t) or pa.types.is_integer(t),
    "boolean": lambda t: pa.types.is_boolean(t),
    "enum": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "text": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
}


def _convert(col: pa.ChunkedArray, spec: FieldSpec, name: str, source: str) -> pa.Array:
    """Column → Python values the rules read (int yuan, Decimal, bool, str), checked cell by cell."""
    ok = _ARROW_OK.get(spec.type)
    values = col.to_pylist()
    if ok is not None and ok(col.type) and spec.type != "enum":
        converted = [None if v is None else (Decimal(v) if spec.type in ("number", "percent") else v) for v in values]
    else:
        if pa.types.is_floating(col.type) and spec.type == "money":
            bad = next((i for i, v in enumerate(values) if v is not None and v != int(v)), None)
            if bad is not None:
                raise InputError(f"第{bad + 2}行 列 {name}({spec.label})的值 {values[bad]} 不是整数元", file=source,
                                 line=bad + 2, field=name, hint="金额列须为整数元(如 6000000 或 600万元)")
        converted = []
        for i, v in enumerate(values):
            if v is None or (isinstance(v, str) and not v.strip()):
                converted.append(None)
                continue
            try:
                converted.append(spec.coerce(v, where=name))
            except HuiqiError as exc:
                raise InputError(f"第{i + 2}行 {exc.message}", file=source, line=i + 2, field=name,
                                 hint=exc.hint) from None
    return _typed_array(converted, spec)


def _typed_array(values: list[Any], spec: FieldSpec) -> pa.Array:
    if spec.type in ("money", "integer"):
        return pa.array(values, type=pa.int64())
    if spec.type in ("number", "percent"):
        return pa.array(values, type=pa.decimal128(38, 10))
    if spec.type == "boolean":
        return pa.array(values, type=pa.bool_())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def applies_to_region(rule: Any, province: str | None, city: str | None, county: str | None) -> bool:
    """Could the rule's province/city/county jurisdiction cover this place? (districts not checked)"""
    from huiqi.rules.calculator import _same_place

    j = rule.jurisdiction
    for want, have in ((j.province, province), (j.city, city), (j.county, county)):
        if want and have and not _same_place(str(have), str(want)):
            return False
    return True


def population_order(population: str | Path | PopulationSource) -> Iterator[pa.RecordBatch]:
    """``id``/``project_id`` in file order (first come = population order), streamed for big Parquet."""
    src = population if isinstance(population, PopulationSource) else parse_source(population)
    if src.kind == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(src.path)
            cols = [c for c in ("id", "project_id") if c in pf.schema_arrow.names]
            yield from pf.iter_batches(batch_size=1 << 20, columns=cols)
        except Exception as exc:
            raise InputError(f"无法读取 Parquet 文件:{str(exc).splitlines()[0][:200]}", file=src.text) from None
        return
    table = _raw_table(src)
    cols = [c for c in ("id", "project_id") if c in table.schema.names]
    yield from table.select(cols).to_batches()
