"""Enterprise populations: open a table, check it, and present it typed to the engines.

A population has one row per (enterprise, project): ``id``, ``name``, ``province``,
``city``, ``county``, ``district``, ``project_id`` (empty when the enterprise has no
project) and field columns named as in the rules (``enterprise.annual_revenue``,
``project.equipment_investment``, list members as ``enterprise.<list>.<value>`` flags).

Sources: ``.parquet`` (file or directory), ``.csv`` (UTF-8 or GB18030), ``.xlsx``,
``duckdb:PATH::TABLE``, ``sqlite:PATH::TABLE``, or a ``pyarrow.Table``; files are read by
:mod:`huiqi.engines.sources` and presented by the enterprise registry
(:mod:`huiqi.registry`: Chinese headers, units, credit codes, years, 亩均 classes from
an evaluation), shared with the per-row reference, the evaluation and cohorts.

:func:`open_population` registers the source in a DuckDB connection and creates the
view ``population`` with exact types — money and integers BIGINT, numbers and
percentages DECIMAL(38,6) (never DOUBLE), booleans, text — after one checking scan:

* a column that is not a known field → warning (ignored), with the closest field name
  (said by the registry, which reads the headers);
* a field column with values of the wrong type (``“巨型”`` for 企业规模, ``abc`` for an
  amount, 1.5 yuan) → :class:`~huiqi.errors.InputError` in Chinese naming the column,
  its label, the expected type and the first offending row;
* an unreadable or corrupt file → InputError; nothing is written anywhere.

Text cells (CSV, Excel) are parsed exactly by the SQL twin of :mod:`huiqi.values` — the
same vocabulary as profiles and the per-row path: ``600万元``/``5千万元``/``6,000,000`` for
money, ``12%`` or ``0.12`` for percentages, 是/否/true/false/t/f/1/0 for booleans — and
checked against the field's range (money ≥ 0 unless the registry says otherwise).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb
import pyarrow as pa

from huiqi.engines.compile import COLUMN_TYPES, REGION_COLUMNS, STANDARD_COLUMNS, field_kind
from huiqi.engines.sources import SourceSpec, parse_source
from huiqi.engines.sources import cell_text as cell_text  # re-exported for older imports
from huiqi.engines.sources import first_line as _first_line
from huiqi.engines.sources import sql_ident as _q
from huiqi.errors import InputError
from huiqi.profile import TYPE_LABELS, FieldRegistry, closest, default_registry
from huiqi.values import range_violation_sql, sql_value

if TYPE_CHECKING:
    from huiqi.registry.reader import RegistryView

__all__ = ["Population", "PopulationSource", "open_population"]

PopulationSource: TypeAlias = str | Path | pa.Table | SourceSpec
# Columns the engines tolerate but do not read.
IGNORED_COLUMNS = ("project.name", "project_name", "year", "industry", "credit_code")
RAW = "__huiqi_raw"
_KIND_LABELS = {**TYPE_LABELS, "flag": TYPE_LABELS["boolean"]}


@dataclass
class _Conv:
    """A column in two steps: ``pre`` over the raw source, then ``sql``/``bad`` over ``pre``'s column.

    Two levels keep each cell's text cleaning in one place; repeating it inside every
    CASE arm made DuckDB's binder the bottleneck of small runs.
    """

    pre: str
    sql: str  # typed value ("" = the pre column itself)
    bad: str | None  # condition of an invalid cell (None = cannot be invalid)
    expected: str


@dataclass
class Population:
    """A checked population: the DuckDB view ``population`` plus what the engines need to know."""

    con: duckdb.DuckDBPyConnection
    description: str
    kind: str
    columns: dict[str, str]  # field column present → kind (money, percent, boolean …)
    rows: int
    project_rows: int
    warnings: list[str] = field(default_factory=list)
    path: Path | None = None
    name: str = "population"
    columns_sql: dict[str, _Conv] = field(default_factory=dict)  # typed column → SQL over the raw source
    registry: RegistryView | None = None  # how the registry read the file (year, classes, headers)
    _tmp: Any = None  # keeps a temporary directory (transcoded CSV) alive

    def select_sql(self, columns: Iterable[str]) -> str:
        """A narrow typed SELECT of ``columns`` straight from the source.

        Binding the full view costs milliseconds per field column and per reference; each
        rule reads a handful of columns, so the engine uses this instead of the view.
        """
        wanted = [c for c in dict.fromkeys(columns) if c in self.columns_sql]
        pres = ", ".join(f"{self.columns_sql[c].pre} AS {_q(c)}" for c in wanted)
        posts = ", ".join(f"{self.columns_sql[c].sql or _q(c)} AS {_q(c)}" for c in wanted)
        return f"(SELECT {posts} FROM (SELECT {pres} FROM {RAW}) AS __raw)"

    @property
    def has_projects(self) -> bool:
        return self.project_rows > 0

    @property
    def relation(self) -> duckdb.DuckDBPyRelation:
        return self.con.view(self.name)

    def regions(self, limit: int = 1000) -> list[dict[str, str | None]]:
        """Distinct (province, city, county, district) tuples, most frequent first."""
        rows = self.con.execute(
            f"SELECT province, city, county, district, count(*) AS n FROM {self.name} "
            f"GROUP BY ALL ORDER BY n DESC LIMIT {int(limit) + 1}").fetchall()
        return [dict(zip(REGION_COLUMNS, r[:4], strict=True)) for r in rows]


# -- sources (parsed and read by huiqi.engines.sources) ---------------------------------------


def _describe(source: PopulationSource) -> str:
    if isinstance(source, pa.Table):
        return f"Arrow 表({source.num_rows} 行)"
    return source.text if isinstance(source, SourceSpec) else str(source)


def _attach(con: duckdb.DuckDBPyConnection, source: PopulationSource, tmp: list[Any],
            fields: FieldRegistry) -> RegistryView:
    """Register the source, read through the enterprise registry, as view RAW."""
    # Imported here: the registry reads files through huiqi.engines.sources (this package).
    from huiqi.registry.reader import ClassSource, open_registry

    src = source if isinstance(source, pa.Table) else parse_source(source, directories=True)
    classes = None
    if isinstance(src, SourceSpec) and src.classes is not None:
        classes = ClassSource(src.classes, f"亩均评价类别取自 {src.classes}")
    year = src.year if isinstance(src, SourceSpec) else None
    return open_registry(con, src, RAW, tmp, fields=fields, year=year, classes=classes)


# -- typing and checks ------------------------------------------------------------------------


def _is_text(t: str) -> bool:
    return t.startswith("VARCHAR") or t in ("BLOB",)


def _is_int(t: str) -> bool:
    return t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT")


def _is_num(t: str) -> bool:
    return _is_int(t) or t.startswith("DECIMAL") or t in ("FLOAT", "DOUBLE")


def _clean(col: str) -> str:
    """Text of a cell without surrounding blanks; '' is a missing value."""
    return sql_value("text", col).pre


def _range_bad(c: str, kind: str, spec: Any) -> str:
    """A typed numeric cell outside the field's range (money ≥ 0 unless the registry says otherwise)."""
    return range_violation_sql(c, kind, spec.range if spec is not None else None)


def _convert(col: str, src_type: str, kind: str, spec: Any) -> _Conv | str:
    """SQL converting a raw column to the field's type; a str is a column-level type error.

    Text cells are read by the SQL twin of huiqi.values (the per-row path reads them with
    the Python side), so both paths accept and refuse the same cells.
    """
    raw, c = _q(col), _q(col)
    expected = _KIND_LABELS.get(kind, kind)
    if spec is not None and kind in ("money", "integer", "number", "percent"):
        expected += f",{spec.range.describe(kind)}" if spec.range.low is not None or spec.range.high is not None \
            else ""
    if kind in ("money", "integer", "number", "percent") and src_type == "BOOLEAN":
        return "是真假值"
    if kind in ("money", "integer") and _is_int(src_type):
        return _Conv(raw, f"CAST({c} AS BIGINT)", f"{c} IS NOT NULL AND ({_range_bad(c, kind, spec)})", expected)
    if kind in ("number", "percent") and (_is_int(src_type) or src_type.startswith("DECIMAL")):
        return _Conv(raw, f"CAST({c} AS DECIMAL(38,6))", f"{c} IS NOT NULL AND ({_range_bad(c, kind, spec)})",
                     expected)
    if kind in ("money", "integer", "number", "percent") and _is_num(src_type):
        # DOUBLE cells may hold 1e308 or NaN: TRY_CAST turns those into NULL, counted as invalid.
        value = f"TRY_CAST({c} AS DECIMAL(38,6))"
        whole = f" OR {value} <> trunc({value})" if kind in ("money", "integer") else ""
        bad = f"{c} IS NOT NULL AND ({value} IS NULL{whole} OR {_range_bad(value, kind, spec)})"
        cast = f"CAST({value} AS BIGINT)" if kind in ("money", "integer") else value
        return _Conv(raw, cast, bad, expected + ("(须为整数元)" if kind == "money" else ""))
    if kind in ("money", "integer", "number", "percent", "date", "enum"):
        unit = spec.unit if spec is not None and kind in ("integer", "number") else ""
        if kind == "date" and src_type in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
            return _Conv(raw, f"strftime(CAST({c} AS DATE), '%Y-%m-%d')", None, expected)
        sv = sql_value(kind, raw, unit=unit, bounds=spec.range if spec is not None else None,
                       values=tuple(spec.values) if spec is not None else ())
        value = sv.value.replace("{c}", c)
        if kind in ("money", "integer"):
            value = f"CAST({value} AS BIGINT)"
        elif kind == "date":
            value = f"strftime({value}, '%Y-%m-%d')"
        values = tuple(spec.values) if spec is not None else ()
        suffix = (":" + "/".join(values) if kind == "enum" and values else
                  "(须为整数元)" if kind == "money" else "")
        bad = sv.bad.replace("{c}", c)
        return _Conv(sv.pre, value, None if bad == "FALSE" else bad, expected + suffix)
    if kind in ("boolean", "flag"):
        if src_type == "BOOLEAN":
            return _Conv(raw, c, None, expected)
        sv = sql_value("boolean", raw)
        return _Conv(sv.pre, sv.value.replace("{c}", c), sv.bad.replace("{c}", c), expected)
    return _Conv(_clean(raw), c, None, expected)


def _standard(col: str | None) -> _Conv:
    if col is None:
        return _Conv("CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)", None, "文字")
    return _Conv(_clean(_q(col)), "", None, "文字")


def open_population(
    source: PopulationSource | Population,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    fields: FieldRegistry | None = None,
) -> Population:
    """Open, check and type a population; see the module docstring for formats and checks."""
    if isinstance(source, Population):
        return source
    registry = fields or default_registry()
    own = con is None
    con = con or duckdb.connect()
    tmp: list[Any] = []
    try:
        view = _attach(con, source, tmp, registry)
        population = _build(con, registry, source, view.kind, view.path, view.columns, tmp)
        population.warnings[:0] = view.warnings
        population.registry = view
        return population
    except BaseException:
        for holder in tmp:
            holder.cleanup()
        if own:
            con.close()
        raise


def _build(con: duckdb.DuckDBPyConnection, registry: FieldRegistry, source: PopulationSource, kind: str,
           path: Path | None, types: Mapping[str, str], tmp: list[Any]) -> Population:
    where = _describe(source)
    by_lower = {name.strip().lower(): name for name in types}
    if "id" not in by_lower:
        near = closest("id", list(types))
        if kind == "csv" and len(types) == 1:
            # DuckDB's sniffer falls back to one column when rows have different field counts.
            raise InputError("无法把 CSV 拆成列:只识别出一列,各行的字段数可能不一致或分隔符不是逗号", file=where,
                             hint="请检查是否有行多出或缺少分隔符(如未加引号的逗号),首行应为列名,含 id 列")
        raise InputError("企业名录缺少必需的列 id(企业编号)", file=where,
                         hint=f"您是否要写 {near[0]}?" if near else "列名:id、name、province、city、county、district、"
                         "project_id、enterprise.<字段>、project.<字段>")
    warnings: list[str] = []
    convs: dict[str, _Conv] = {}
    for std in STANDARD_COLUMNS:
        col = by_lower.get(std)
        convs[std] = _standard(col)
        if std in REGION_COLUMNS and col is None:
            warnings.append(f"企业名录没有 {std} 列:所在地区视为未知,有地区限定的规则可能无法判定")
    present: dict[str, str] = {}
    checks: list[str] = []
    unknown: list[str] = []
    for col, src_type in types.items():
        if col.strip().lower() in STANDARD_COLUMNS or col in IGNORED_COLUMNS:
            continue
        spec = registry.get(col)
        if spec is None or spec.scope == "region" or (spec.type == "list" and not spec.member_of):
            unknown.append(col)
            continue
        kind_of = field_kind(registry, col)
        conv = _convert(col, src_type, kind_of, spec)
        if isinstance(conv, str):
            raise InputError(f"企业名录的列 {col}({spec.label})类型不对:{conv},应为{_KIND_LABELS.get(kind_of)}",
                             file=where, field=col)
        present[col] = kind_of
        conv.sql = f"CAST({conv.sql} AS {COLUMN_TYPES[kind_of]})"
        convs[col] = conv
        if conv.bad is not None:
            checks.append(col)
    for col in unknown:
        hint = registry.suggest(col) if "." in col else None
        warnings.append(f"企业名录的列 {col} 不是已登记的字段,已忽略" + (f"({hint})" if hint else ""))
    # One scan: row counts, empty ids and every invalid cell, counted per column; and which
    # text columns have a cell that cleaning changes (blank, or spaces around it).
    # Only columns this scan cleans anyway (keys, checked enums) and the regions every run
    # reads: comparing the others would cost more than it saves.
    read = ("id", "project_id", *checks)
    cleaned = [c for c in dict.fromkeys([*read, *REGION_COLUMNS])
               if c in types and types[c] == "VARCHAR" and convs[c].pre == _clean(_q(c))]
    aggregates = ["count(*)", "count(project_id)", "count(*) FILTER (WHERE id IS NULL)"]
    aggregates += [f"count(*) FILTER (WHERE {convs[c].bad})" for c in checks]
    aggregates += [f"count(*) FILTER (WHERE __raw{i} IS DISTINCT FROM __clean{i})" for i, _ in enumerate(cleaned)]
    pres = ", ".join([*(f"{convs[c].pre} AS {_q(c)}" for c in read),
                      *(f"{_q(c)} AS __raw{i}, {convs[c].pre} AS __clean{i}" for i, c in enumerate(cleaned))])
    try:
        counts = con.execute(f"SELECT {', '.join(aggregates)} FROM (SELECT {pres} FROM {RAW}) AS a").fetchall()[0]
    except duckdb.Error as exc:
        raise InputError(f"读取企业名录时出错:{_first_line(exc)}", file=where, hint="文件可能已损坏") from None
    rows, project_rows, empty_ids = int(counts[0]), int(counts[1]), int(counts[2])
    for col, changed in zip(cleaned, counts[3 + len(checks):], strict=True):
        if not changed:
            # Cleaning would return every cell unchanged: every later scan reads the column as it is
            # (trimming the id, region and enum columns was a tenth of a simulation's time).
            convs[col].pre = _q(col)
    counts = counts[:3 + len(checks)]
    header = 1 if kind in ("csv", "xlsx") else 0  # CSV/Excel line numbers count the header row
    if empty_ids:
        n, _, _ = _sample(con, convs, "id", "id IS NULL", by_lower["id"])
        raise InputError(f"企业名录有 {empty_ids} 行缺少 id(企业编号),如第{n + header}行", file=where, field="id")
    bad = [(col, int(k)) for col, k in zip(checks, counts[3:], strict=True) if k]
    if bad:
        col, k = bad[0]
        conv = convs[col]
        n, ident, value = _sample(con, convs, col, conv.bad or "FALSE", by_lower["id"])
        spec = registry.get(col)
        label = spec.label if spec is not None else col
        others = ";另有列 " + "、".join(c for c, _ in bad[1:4]) + " 也有无效值" if len(bad) > 1 else ""
        raise InputError(
            f"企业名录的列 {col}({label})有 {k} 个无效值,如第{n + header}行(id={ident})的值 “{value}”:"
            f"应为{conv.expected}{others}",
            file=where, field=col, hint=TYPE_LABELS.get(spec.type) if spec is not None else None)
    population = Population(con, where, kind, present, rows, project_rows, warnings, path, columns_sql=convs)
    con.execute(f"CREATE OR REPLACE VIEW population AS SELECT * FROM {population.select_sql(list(convs))}")
    if tmp:
        population._tmp = tmp
        for holder in tmp:
            weakref.finalize(population, holder.cleanup)
    if rows == 0:
        population.warnings.append("企业名录为空(0 行)")
    return population


def _sample(con: duckdb.DuckDBPyConnection, convs: Mapping[str, _Conv], col: str, condition: str,
            id_col: str) -> tuple[int, Any, Any]:
    """(row number, id, raw value) of the first row meeting ``condition`` — only on the error path."""
    rows = con.execute(
        f"SELECT __n, __id, __v FROM (SELECT row_number() OVER () AS __n, {_q(id_col)} AS __id, "
        f"{_q(col) if col != 'id' else 'NULL'} AS __v, {convs[col].pre} AS {_q(col)} FROM {RAW}) AS a "
        f"WHERE {condition} ORDER BY __n LIMIT 1").fetchall()
    return (int(rows[0][0]), rows[0][1], rows[0][2]) if rows else (0, None, None)
