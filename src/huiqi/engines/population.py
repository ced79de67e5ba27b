"""Enterprise populations: open a table, check it, and present it typed to the engines.

A population has one row per (enterprise, project): ``id``, ``name``, ``province``,
``city``, ``county``, ``district``, ``project_id`` (empty when the enterprise has no
project) and field columns named as in the rules (``enterprise.annual_revenue``,
``project.equipment_investment``, list members as ``enterprise.<list>.<value>`` flags).

Sources: ``.parquet`` (file or directory), ``.csv`` (UTF-8 or GB18030), ``.xlsx``,
``duckdb:PATH::TABLE``, ``sqlite:PATH::TABLE``, or a ``pyarrow.Table``.

:func:`open_population` registers the source in a DuckDB connection and creates the
view ``population`` with exact types — money and integers BIGINT, numbers and
percentages DECIMAL(38,6) (never DOUBLE), booleans, text — after one checking scan:

* a column that is not a known field → warning (ignored), with the closest field name;
* a field column with values of the wrong type (``“巨型”`` for 企业规模, ``abc`` for an
  amount, 1.5 yuan) → :class:`~huiqi.errors.InputError` in Chinese naming the column,
  its label, the expected type and the first offending row;
* an unreadable or corrupt file → InputError; nothing is written anywhere.

Text cells (CSV, Excel) are parsed exactly: ``600万元``/``1.5亿元``/``6,000,000`` for
money, ``12%`` or ``0.12`` for percentages, 是/否/true/false/1/0 for booleans.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa

from huiqi.engines.compile import COLUMN_TYPES, REGION_COLUMNS, STANDARD_COLUMNS, field_kind
from huiqi.errors import InputError
from huiqi.profile import TYPE_LABELS, FieldRegistry, closest, default_registry

__all__ = ["Population", "PopulationSource", "open_population"]

PopulationSource: TypeAlias = str | Path | pa.Table
# Columns the engines tolerate but do not read.
IGNORED_COLUMNS = ("project.name", "project_name", "year", "industry")
RAW = "__huiqi_raw"
_TRUE = ("是", "true", "yes", "y", "有", "对", "1", "真", "t")
_FALSE = ("否", "false", "no", "n", "无", "没有", "不是", "0", "假", "f")
_MONEY_UNITS = (("亿元", 100_000_000), ("万元", 10_000), ("亿", 100_000_000), ("万", 10_000), ("元", 1))
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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- sources ---------------------------------------------------------------------------------


def _describe(source: PopulationSource) -> str:
    if isinstance(source, pa.Table):
        return f"Arrow 表({source.num_rows} 行)"
    return str(source)


def _split_spec(text: str) -> tuple[str, Path, str]:
    """``duckdb:pop.duckdb::firms`` → ("duckdb", pop.duckdb, "firms")."""
    kind, _, rest = text.partition(":")
    path, sep, table = rest.rpartition("::")
    if not sep or not path or not table:
        raise InputError(f"无法识别的数据源 {text}", hint=f"写法:{kind}:文件路径::表名,如 {kind}:pop.db::enterprises")
    return kind, Path(path), table


def _attach(con: duckdb.DuckDBPyConnection, source: PopulationSource, tmp: list[Any]) -> tuple[str, Path | None]:
    """Register the source as view RAW; returns (kind, local path)."""
    if isinstance(source, pa.Table):
        con.register(RAW, source)
        return "arrow", None
    text = str(source)
    if text.startswith(("duckdb:", "sqlite:")) and "::" in text:
        kind, path, table = _split_spec(text)
        if not path.is_file():
            raise InputError("企业名录数据库文件不存在", file=str(path))
        if kind == "duckdb":
            try:
                con.execute(f"ATTACH {_s(str(path))} AS __huiqi_src (READ_ONLY)")
                con.execute(f"CREATE OR REPLACE VIEW {RAW} AS SELECT * FROM __huiqi_src.{_q(table)}")
            except duckdb.Error as exc:
                raise InputError(f"无法读取 DuckDB 数据库中的表 {table}:{_first_line(exc)}", file=str(path)) from None
            return "duckdb", path
        con.register(RAW, _read_sqlite(path, table))
        return "sqlite", path
    path = Path(text)
    if not path.exists():
        raise InputError("企业名录文件不存在", file=str(path))
    suffix = path.suffix.lower()
    try:
        if path.is_dir() or suffix == ".parquet":
            pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
            con.execute(f"CREATE OR REPLACE VIEW {RAW} AS SELECT * FROM read_parquet({_s(pattern)})")
            return "parquet", path
        if suffix in (".csv", ".txt"):
            csv_path = _utf8_csv(path, tmp)
            # Every cell as text: amounts are parsed exactly here, never through DOUBLE.
            con.execute(f"CREATE OR REPLACE VIEW {RAW} AS SELECT * FROM read_csv({_s(str(csv_path))}, "
                        "header = true, all_varchar = true, auto_detect = true)")
            return "csv", path
        if suffix in (".xlsx", ".xlsm"):
            con.register(RAW, _read_excel(path))
            return "xlsx", path
    except duckdb.Error as exc:
        raise InputError(f"无法读取企业名录:{_first_line(exc)}", file=str(path),
                         hint="文件可能已损坏,或扩展名与内容不符") from None
    raise InputError(f"不支持的企业名录格式 {suffix or '(无扩展名)'}", file=str(path),
                     hint="支持 .parquet、.csv、.xlsx、duckdb:文件::表、sqlite:文件::表")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _utf8_csv(path: Path, tmp: list[Any]) -> Path:
    """DuckDB reads UTF-8 only; a GB18030 file (Excel's Chinese CSV) is transcoded to a temp copy."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
        return path
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a character cut at the end of the sample
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


def _read_excel(path: Path) -> pa.Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(f"无法读取 Excel 文件:{exc}", file=str(path), hint="文件可能已损坏") from None
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError("Excel 工作表为空", file=str(path))
        names = [str(h).strip() if h is not None else f"column{i + 1}" for i, h in enumerate(header)]
        cols: list[list[str | None]] = [[] for _ in names]
        for row in rows:
            for i in range(len(names)):
                cols[i].append(cell_text(row[i]) if i < len(row) else None)
    finally:
        wb.close()
    return pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cols, strict=True)})


def _read_sqlite(path: Path, table: str) -> pa.Table:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            cur = db.execute(f"SELECT * FROM {_q(table)}")
            names = [c[0] for c in cur.description]
            cols: list[list[Any]] = [[] for _ in names]
            for row in cur:
                for i, v in enumerate(row):
                    cols[i].append(None if v is None else str(v) if not isinstance(v, int) else v)
    except sqlite3.Error as exc:
        raise InputError(f"无法读取 SQLite 数据库中的表 {table}:{exc}", file=str(path)) from None
    arrays = {}
    for n, c in zip(names, cols, strict=True):
        ints = all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in c)
        arrays[n] = pa.array(c, pa.int64() if ints and any(v is not None for v in c) else pa.string())
    return pa.table(arrays)


# -- typing and checks ------------------------------------------------------------------------


def _is_text(t: str) -> bool:
    return t.startswith("VARCHAR") or t in ("BLOB",)


def _is_int(t: str) -> bool:
    return t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT")


def _is_num(t: str) -> bool:
    return _is_int(t) or t.startswith("DECIMAL") or t in ("FLOAT", "DOUBLE")


def _clean(col: str) -> str:
    """Text of a cell without blanks; '' is a missing value."""
    return f"NULLIF(TRIM(CAST({col} AS VARCHAR)), '')"


def _number_text(col: str) -> str:
    """Cell text ready for number parsing: no blanks, thousands separators or 人民币."""
    return f"NULLIF(replace(replace(replace(replace(TRIM(CAST({col} AS VARCHAR)), ',', ''), ' ', ''), '人民币', ''), '％', '%'), '')"


def _decimal_text(t: str, units: Iterable[tuple[str, int]] = ()) -> str:
    """Exact DECIMAL from prepared text ``t`` (a column) with optional unit suffixes (万元 …)."""
    arms = [f"WHEN ends_with({t}, {_s(u)}) THEN TRY_CAST(left({t}, length({t}) - {len(u)}) AS DECIMAL(38,6)) * {m}"
            for u, m in units]
    if not arms:
        return f"TRY_CAST({t} AS DECIMAL(38,6))"
    return f"CASE {' '.join(arms)} ELSE TRY_CAST({t} AS DECIMAL(38,6)) END"


def _convert(col: str, src_type: str, kind: str, spec: Any) -> _Conv | str:
    """SQL converting a raw column to the field's type; a str is a column-level type error."""
    raw, c = _q(col), _q(col)
    expected = _KIND_LABELS.get(kind, kind)
    if kind in ("money", "integer", "number", "percent") and src_type == "BOOLEAN":
        return "是真假值"
    if kind in ("money", "integer"):
        if _is_int(src_type):
            return _Conv(raw, f"CAST({c} AS BIGINT)", None, expected)
        if _is_num(src_type):
            value = f"CAST({c} AS DECIMAL(38,6))"
            pre = raw
        else:
            units = _MONEY_UNITS if kind == "money" else ((spec.unit, 1),) if spec is not None and spec.unit else ()
            value = _decimal_text(c, units)
            pre = _number_text(raw)
        bad = f"{c} IS NOT NULL AND ({value} IS NULL OR {value} <> trunc({value}))"
        return _Conv(pre, f"CAST({value} AS BIGINT)", bad, expected + ("(须为整数元)" if kind == "money" else ""))
    if kind in ("number", "percent"):
        if _is_num(src_type):
            return _Conv(raw, f"CAST({c} AS DECIMAL(38,6))", None, expected)
        if kind == "percent":
            value = (f"CASE WHEN ends_with({c}, '%') THEN "
                     f"CAST(TRY_CAST(left({c}, length({c}) - 1) AS DECIMAL(38,6)) / 100 AS DECIMAL(38,6)) "
                     f"ELSE TRY_CAST({c} AS DECIMAL(38,6)) END")
        else:
            value = _decimal_text(c, ((spec.unit, 1),) if spec is not None and spec.unit else ())
        return _Conv(_number_text(raw), value, f"{c} IS NOT NULL AND ({value}) IS NULL", expected)
    if kind in ("boolean", "flag"):
        if src_type == "BOOLEAN":
            return _Conv(raw, c, None, expected)
        value = (f"CASE WHEN {c} IN ({', '.join(map(_s, _TRUE))}) THEN TRUE "
                 f"WHEN {c} IN ({', '.join(map(_s, _FALSE))}) THEN FALSE END")
        return _Conv(f"lower({_clean(raw)})", value, f"{c} IS NOT NULL AND ({value}) IS NULL", expected)
    if kind == "date":
        if src_type in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
            return _Conv(raw, f"strftime(CAST({c} AS DATE), '%Y-%m-%d')", None, expected)
        value = f"strftime(TRY_CAST({c} AS DATE), '%Y-%m-%d')"
        return _Conv(_clean(raw), value, f"{c} IS NOT NULL AND ({value}) IS NULL", expected)
    if kind == "enum":
        values = tuple(spec.values) if spec is not None else ()
        invalid = f"{c} IS NOT NULL AND {c} NOT IN ({', '.join(map(_s, values))})" if values else None
        return _Conv(_clean(raw), c, invalid, expected + (":" + "/".join(values) if values else ""))
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
        kind, path = _attach(con, source, tmp)
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {RAW}").fetchall()
        except duckdb.Error as exc:
            raise InputError(f"无法读取企业名录:{_first_line(exc)}", file=_describe(source),
                             hint="文件可能已损坏,或不是所声明的格式") from None
        return _build(con, registry, source, kind, path, {str(r[0]): str(r[1]) for r in described}, tmp)
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
    # One scan: row counts, empty ids and every invalid cell, counted per column.
    aggregates = ["count(*)", "count(project_id)", "count(*) FILTER (WHERE id IS NULL)"]
    aggregates += [f"count(*) FILTER (WHERE {convs[c].bad})" for c in checks]
    pres = ", ".join(f"{convs[c].pre} AS {_q(c)}" for c in ("id", "project_id", *checks))
    try:
        counts = con.execute(f"SELECT {', '.join(aggregates)} FROM (SELECT {pres} FROM {RAW}) AS a").fetchall()[0]
    except duckdb.Error as exc:
        raise InputError(f"读取企业名录时出错:{_first_line(exc)}", file=where, hint="文件可能已损坏") from None
    rows, project_rows, empty_ids = int(counts[0]), int(counts[1]), int(counts[2])
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
