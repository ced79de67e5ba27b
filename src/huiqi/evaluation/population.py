"""Population input: one row per enterprise, from Parquet, CSV, Excel, DuckDB or Arrow.

Column layout: ``id``, ``name``, ``province``, ``city``, ``county``, ``district``,
``industry``, optionally ``year``, and enterprise fields as ``enterprise.<name>``
(``enterprise.tax_paid`` in integer yuan …). CSV and Excel cells are read as text and
converted exactly (DECIMAL, never binary floating point); Parquet/Arrow keep their types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias, Union

import pyarrow as pa

from huiqi.errors import InputError
from huiqi.evaluation.methodology import STANDARD_COLUMNS, Methodology
from huiqi.evaluation.sql import SourceKind

# A file path (Parquet / CSV / Excel / DuckDB), an Arrow table or row dicts.
Population: TypeAlias = Union[str, Path, "pa.Table", Sequence[Mapping[str, Any]]]
FILE_SUFFIXES = (".parquet", ".csv", ".xlsx", ".duckdb", ".db")


@dataclass
class SourceInfo:
    """What the engines need to know about a population before grading it."""

    description: str
    columns: dict[str, SourceKind]
    warnings: list[str] = field(default_factory=list)
    file: str | None = None


def describe(population: Population) -> str:
    if isinstance(population, (str, Path)):
        return str(population)
    if isinstance(population, pa.Table):
        return f"Arrow 表({population.num_rows} 行)"
    return f"内存数据({len(population)} 行)"


def split_duckdb_path(path: str | Path) -> tuple[Path, str]:
    """``pop.duckdb`` → (pop.duckdb, "population"); ``pop.duckdb::t2023`` → (pop.duckdb, "t2023")."""
    text = str(path)
    if "::" in text:
        file, table = text.rsplit("::", 1)
        return Path(file), table
    return Path(text), "population"


def check_path(population: Population) -> None:
    if not isinstance(population, (str, Path)):
        return
    file, _ = split_duckdb_path(population)
    if not file.exists():
        raise InputError(f"企业名录文件不存在:{file}")
    if file.is_dir():
        if not any(file.glob("*.parquet")):
            raise InputError(f"目录中没有 .parquet 文件:{file}")
        return
    if file.suffix.lower() not in FILE_SUFFIXES:
        raise InputError(f"不支持的企业名录格式 {file.suffix or '(无后缀)'}",
                         file=str(file), hint="支持 .parquet、.csv、.xlsx、.duckdb(文件::表名)")


def kind_of_arrow(t: pa.DataType) -> SourceKind:
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return "string"
    if pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_floating(t):
        return "numeric"
    if pa.types.is_boolean(t):
        return "boolean"
    return "other"


def kind_of_sql(type_name: str) -> SourceKind:
    t = type_name.upper()
    if t.startswith(("VARCHAR", "STRING", "CHAR", "TEXT")) or t == '"NULL"' or t == "NULL":
        return "string"
    if t.startswith(("DECIMAL", "NUMERIC")) or t in (
            "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "BYTE", "SHORT", "LONG"):
        return "numeric"
    if t.startswith("DECIMAL") or t.startswith("INT"):
        return "numeric"
    if t in ("BOOLEAN", "BOOL"):
        return "boolean"
    return "other"


def read_excel(path: Path) -> pa.Table:
    """First sheet of an .xlsx, header in row 1, every cell as text (exact numbers)."""
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - openpyxl is a core dependency
        raise InputError("读取 Excel 需要 openpyxl") from exc
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds; all mean "unreadable"
        raise InputError(f"无法读取 Excel 文件:{exc}", file=str(path)) from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise InputError("Excel 工作表为空", file=str(path))
    names = [str(h).strip() if h is not None else "" for h in header]
    columns: dict[str, list[str | None]] = {n: [] for n in names if n}
    for row in rows:
        if row is None or all(v is None for v in row):
            continue
        for name, value in zip(names, row, strict=False):
            if name:
                columns[name].append(_cell_text(value))
        for name in names[len(row):]:
            if name:
                columns[name].append(None)
    wb.close()
    return pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel stores numbers as doubles; repr is the shortest text that round-trips.
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def to_arrow(population: Population) -> pa.Table:
    """The population as an Arrow table (CSV/Excel columns as text)."""
    if isinstance(population, pa.Table):
        return population
    if not isinstance(population, (str, Path)):
        return pa.Table.from_pylist([dict(r) for r in population])
    check_path(population)
    file, table = split_duckdb_path(population)
    suffix = file.suffix.lower()
    if file.is_dir() or suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(file)
    if suffix == ".csv":
        import pyarrow.csv as pacsv

        header = _csv_header(file)
        opts = pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                    strings_can_be_null=True, null_values=[""])
        return pacsv.read_csv(file, convert_options=opts)
    if suffix == ".xlsx":
        return read_excel(file)
    import duckdb

    con = duckdb.connect(str(file), read_only=True)
    try:
        from huiqi.evaluation.engine_duckdb import query_arrow

        return query_arrow(con, f'SELECT * FROM "{table}"')
    finally:
        con.close()


def _csv_header(file: Path) -> list[str]:
    import csv

    with open(file, encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def check_columns(m: Methodology, columns: Iterable[str], file: str | None) -> list[str]:
    """Raise on missing required columns (naming what needs them); return warnings."""
    present = set(columns)
    needs = m.compiled.needs()
    missing: list[str] = []
    warnings: list[str] = []
    if "id" not in present:
        missing.append("id(企业编号)")
    for name in m.compiled.fields:
        if name in present:
            continue
        short = name.removeprefix("enterprise.")
        spec = m.inputs.get(short) if name.startswith("enterprise.") else None
        if spec is not None and spec.optional:
            warnings.append(f"人口表没有列 {name}({spec.label}),按全部缺失处理")
            continue
        label = spec.label if spec is not None else STANDARD_COLUMNS.get(name, name)
        users = "、".join(dict.fromkeys(needs.get(name, [])))
        missing.append(f"{name}({label};{users}需要)" if users else f"{name}({label})")
    if missing:
        raise InputError("企业名录缺少列:" + ";".join(missing), file=file,
                         hint="列名应为 id、name、district、industry 等,企业字段写作 enterprise.<名称>")
    # Descriptive columns (name, district …) that no expression reads may be absent: NULL.
    return warnings
