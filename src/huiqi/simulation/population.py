"""A population table (docs/simulation-contract.md) typed for the Python-side tools.

The per-row reference loop, the fund allocation (population order) and the reports
(enterprise names) use this module; the set-based engines (``huiqi.engines``) type
populations in SQL instead. Sources are parsed and files read by
:mod:`huiqi.engines.sources` for both, so both see the same cells; what is here is the
per-row side: cells converted to profile values by the field registry (``600万元``,
``12%``, ``是/否`` are understood; Parquet keeps its types and money must be integers:
a float money column is rejected, never rounded), the column checks and the region
filter. Every problem is a Chinese :class:`InputError` naming the file, the row and the
column.

Formats: ``.parquet``, ``.csv`` (UTF-8 or GB18030), ``.xlsx``, ``duckdb:PATH::TABLE``
and ``sqlite:PATH::TABLE``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from huiqi import limits
from huiqi.engines.sources import SourceSpec, parse_source
from huiqi.errors import HuiqiError, InputError
from huiqi.profile import FieldRegistry, FieldSpec, closest, default_registry
from huiqi.registry.reader import ClassSource, RegistryView, read_registry_table

__all__ = [
    "BASE_COLUMNS",
    "PopulationSource",
    "applies_to_region",
    "check_population_columns",
    "parse_source",
    "population_order",
    "read_population",
]

BASE_COLUMNS = ("id", "name", "province", "city", "county", "district", "project_id", "credit_code", "industry",
                "project.name")
YEAR_COLUMN = "year"
# Where a population comes from: a file, or ``duckdb:``/``sqlite:`` PATH::TABLE (see parse_source).
PopulationSource = SourceSpec


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
        if name in BASE_COLUMNS or name == YEAR_COLUMN:
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
    table, _view, warnings = read_typed(population, registry, limit=limit)
    return table, warnings


def read_typed(population: str | Path | PopulationSource | pa.Table, registry: FieldRegistry | None = None, *,
               limit: int | None = None, year: int | Literal["latest"] | None = None,
               classes: ClassSource | None = None) -> tuple[pa.Table, RegistryView, list[str]]:
    """(typed table, how the registry read it, warnings); the year and classes of a SourceSpec apply."""
    reg = registry or default_registry()
    src = population if isinstance(population, pa.Table) else parse_source(population)
    if isinstance(src, SourceSpec):
        year = year if year is not None else src.year
        if classes is None and src.classes is not None:
            classes = ClassSource(src.classes, f"亩均评价类别取自 {src.classes}")
    raw, view = read_registry_table(src, fields=reg, year=year, classes=classes, limit=limit)
    source = view.description
    most = limits.per_row_rows()
    if raw.num_rows > most:
        raise InputError(f"逐行计算最多处理 {most:,} 行,企业名录有 {raw.num_rows:,} 行", file=source,
                         hint=f"请用 --engine duckdb(默认),或用环境变量 {limits.PER_ROW_ROWS_ENV} 调整上限")
    report = check_population_columns(raw.schema.names, reg, source)
    report.warnings[:0] = view.warnings
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in raw.schema.names:
        col = raw.column(name)
        if name == YEAR_COLUMN:
            out[name] = col.cast(pa.int32())
            continue
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
    return pa.table(out), view, report.warnings


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
    if ok is not None and ok(col.type) and spec.type in ("boolean", "text"):
        converted = values
    else:
        # Every other cell goes through the value vocabulary (huiqi.values): ranges included.
        if pa.types.is_floating(col.type) and spec.type == "money":
            bad = next((i for i, v in enumerate(values) if v is not None
                        and (not math.isfinite(v) or v != int(v))), None)
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
    from huiqi.rules.calculator import same_place

    j = rule.jurisdiction
    for want, have in ((j.province, province), (j.city, city), (j.county, county)):
        if want and have and not same_place(str(have), str(want)):
            return False
    return True


def population_order(population: str | Path | PopulationSource) -> Iterator[pa.RecordBatch]:
    """``id``/``project_id`` in file order (first come = population order)."""
    table, _ = read_registry_table(parse_source(population), columns=("id", "project_id"))
    yield from table.to_batches(1 << 20)
