"""Population input: the enterprise registry (企业名录), one row per enterprise and year.

Files are read by the registry (:mod:`huiqi.registry`, docs/registry.md), the same
reader as the rule engines and the simulation: headers by field id or Chinese label
(``税收(万元)`` → ``enterprise.tax_paid`` in yuan), 统一社会信用代码 as the key, a 年度
column. CSV and Excel cells are read as text and converted exactly (DECIMAL, never
binary floating point); Parquet/Arrow keep their types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, Union

import pyarrow as pa

from huiqi.engines.sources import first_line
from huiqi.errors import InputError
from huiqi.evaluation.methodology import STANDARD_COLUMNS, Methodology
from huiqi.evaluation.sql import SourceKind
from huiqi.registry.reader import RegistrySource, RegistryView, open_registry

# A file path (Parquet / CSV / Excel / DuckDB), an Arrow table or row dicts.
Population: TypeAlias = Union[str, Path, "pa.Table", Sequence[Mapping[str, Any]]]


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


def registry_source(population: Population) -> RegistrySource:
    """What the registry reader takes: a path or an Arrow table (row dicts become one)."""
    if isinstance(population, (str, Path, pa.Table)):
        return population
    return pa.Table.from_pylist([dict(r) for r in population])


def open_source(con: Any, population: Population, name: str, tmp: list[Any], year: int | None = None) -> RegistryView:
    """Register the population, read through the enterprise registry, as view ``name`` of ``con``.

    The registry applies Chinese headers and units, checks credit codes and presents
    营业收入 under both its names (the methods call it ``enterprise.revenue``).
    """
    view = open_registry(con, registry_source(population), f"{name}_rows", tmp, year=year, synonyms=True)
    rows = f"{name}_rows"
    if "project_id" in view.columns:
        # A registry with projects repeats the enterprise on each project row: grade it once
        # (rows without a project stay, so a repeated enterprise row is still reported).
        part = "id, year" if "year" in view.columns else "id"
        project_cols = [c for c in view.columns if c == "project_id" or c.startswith("project.")]
        excluded = ", ".join('"' + c.replace('"', '""') + '"' for c in project_cols)
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * EXCLUDE ({excluded}) FROM {rows} "
                    f"QUALIFY project_id IS NULL OR project_id = min(project_id) OVER (PARTITION BY {part})")
        view.columns = {c: t for c, t in view.columns.items() if c not in project_cols}
    else:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {rows}")
    view.name = name
    return view


def registry_years(population: Population) -> list[int]:
    """The years present in the population's 年度 column (empty when it has none)."""
    import duckdb

    tmp: list[Any] = []
    con = duckdb.connect()
    try:
        return open_source(con, population, "registry", tmp).years
    finally:
        con.close()
        for holder in tmp:
            holder.cleanup()


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


def to_arrow(population: Population) -> pa.Table:
    """The population as an Arrow table, read through the registry (CSV/Excel cells as text)."""
    import duckdb

    tmp: list[Any] = []
    con = duckdb.connect()
    try:
        view = open_source(con, population, "registry", tmp)
        try:
            return con.sql("SELECT * FROM registry").to_arrow_table()
        except duckdb.Error as exc:
            raise InputError(f"读取企业名录时出错:{first_line(exc)}", file=view.description,
                             hint="文件可能已损坏,或扩展名与内容不符") from None
    finally:
        con.close()
        for holder in tmp:
            holder.cleanup()


def to_parquet(population: Population, target: Path) -> str:
    """The registry's canonical view written to ``target`` (streamed: Spark reads it from there)."""
    import duckdb

    tmp: list[Any] = []
    con = duckdb.connect()
    try:
        view = open_source(con, population, "registry", tmp)
        try:
            con.execute(f"COPY (SELECT * FROM registry) TO '{str(target).replace(chr(39), chr(39) * 2)}' "
                        "(FORMAT parquet)")
        except duckdb.Error as exc:
            raise InputError(f"读取企业名录时出错:{first_line(exc)}", file=view.description,
                             hint="文件可能已损坏,或扩展名与内容不符") from None
        return view.description
    finally:
        con.close()
        for holder in tmp:
            holder.cleanup()


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
