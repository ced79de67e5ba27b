"""The one reader of enterprise registries (企业名录).

:func:`open_registry` registers a registry file in a DuckDB connection as a view with
canonical columns, which the rule engines, the simulation, the evaluation and the cohort
loader all read:

* headers by field id, Chinese label or alias, units in brackets applied
  (``税收(万元)`` → ``enterprise.tax_paid`` in yuan);
* ``统一社会信用代码`` checked (GB 32100-2015) and used as the key ``id`` when the file
  has no ``id`` column;
* a ``年度`` column: the years present are listed, one year (or the latest) selected;
* ``enterprise.muju_class`` filled from an evaluation result where the file leaves it
  empty (see :mod:`huiqi.registry.classes`);
* a header the registry does not know: a warning naming the column and the closest
  known column (an error with ``strict``); nothing is dropped without a word.

Cell typing (money text such as ``600万元``, booleans, enums) stays with the readers of
the canonical view; here only the header's unit is applied. Every problem is a Chinese
:class:`~huiqi.errors.InputError` naming the file, the row and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

import duckdb
import pyarrow as pa

from huiqi.engines.sources import (
    SourceSpec,
    attach,
    first_line,
    parse_source,
    read_error,
    sql_ident,
    sql_text,
)
from huiqi.errors import InputError
from huiqi.profile import FieldRegistry
from huiqi.registry.credit_code import check_sql, count_invalid
from huiqi.registry.schema import Catalogue, Header, catalogue

__all__ = ["ClassSource", "RegistrySource", "RegistryView", "open_registry", "read_registry_table", "to_spec"]

RegistrySource: TypeAlias = str | Path | SourceSpec | pa.Table
YearChoice: TypeAlias = int | Literal["latest"] | None
D6 = "DECIMAL(38,6)"
CLASS_COLUMN = "enterprise.muju_class"
CODE_BATCH = 1 << 18  # credit codes checked per batch


@dataclass(frozen=True)
class ClassSource:
    """An evaluation result (Parquet with ``id`` and ``class``) the 亩均 classes come from."""

    path: Path
    note: str  # said in outputs: where the classes came from


@dataclass
class RegistryView:
    """A registry opened in a DuckDB connection: the canonical view and what was learned reading it."""

    name: str
    description: str
    kind: str  # parquet | csv | xlsx | duckdb | sqlite | arrow
    path: Path | None
    headers: dict[str, Header]  # canonical column → the header it came from
    columns: dict[str, str]  # canonical column → DuckDB type in the view
    warnings: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    year: int | None = None
    classes: ClassSource | None = None
    identity: bool = False  # the view is the raw source unchanged (callers may read the file directly)
    header_rows: int = 0  # 1 for CSV/Excel: row numbers in messages count the header


def to_spec(source: RegistrySource) -> SourceSpec | pa.Table:
    """A file, ``duckdb:``/``sqlite:`` spec, ``pop.duckdb::table`` (evaluation style) or Arrow table."""
    if isinstance(source, (SourceSpec, pa.Table)):
        return source
    text = str(source)
    if not text.startswith(("duckdb:", "sqlite:")):
        base, sep, table = text.rpartition("::")
        path = Path(base if sep else text)
        if path.suffix.lower() in (".duckdb", ".db"):
            if not path.is_file():
                raise InputError("企业名录数据库文件不存在", file=str(path))
            return SourceSpec("duckdb", path, table if sep else "population")
    return parse_source(text, directories=True)


def describe(source: RegistrySource) -> str:
    if isinstance(source, pa.Table):
        return f"Arrow 表({source.num_rows} 行)"
    return source.text if isinstance(source, SourceSpec) else str(source)


def open_registry(
    con: duckdb.DuckDBPyConnection,
    source: RegistrySource,
    name: str,
    tmp: list[Any],
    *,
    fields: FieldRegistry | None = None,
    year: YearChoice = None,
    classes: ClassSource | None = None,
    synonyms: bool = False,
    strict: bool = False,
) -> RegistryView:
    """Register ``source`` as the canonical view ``name`` of ``con`` (see the module docstring).

    ``year``: None keeps every year; ``"latest"`` the latest present; a year that one.
    ``synonyms``: also expose the other name of a column with two (营业收入 → both
    ``enterprise.annual_revenue`` and ``enterprise.revenue``). ``strict``: an unknown
    header is an error instead of a warning. Temporary files to remove once the view is
    no longer read are appended to ``tmp``.
    """
    cat = catalogue(fields)
    spec = to_spec(source)
    where = describe(source)
    raw = f"{name}__raw"
    if isinstance(spec, pa.Table):
        con.register(raw, spec)
        kind, path = "arrow", None
    else:
        attach(con, spec, raw, tmp)
        kind, path = spec.kind, spec.path
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()
    except duckdb.Error as exc:
        raise (read_error(spec, exc) if isinstance(spec, SourceSpec) else
               InputError(f"无法读取企业名录:{first_line(exc)}", file=where)) from None
    types = {str(r[0]): str(r[1]) for r in described}
    plan = _Plan(cat, where, kind, types, strict)
    view = RegistryView(name, where, kind, path, plan.headers, {}, plan.warnings,
                        header_rows=1 if kind in ("csv", "xlsx") else 0)
    plan.validate(con, raw)
    selects = plan.selects(synonyms)
    view.identity = plan.identity and not (synonyms and plan.synonym_selects())
    if "year" in plan.headers:
        view.years = _years(con, raw, plan, where)
        view.year = _choose_year(view.years, year, where)
    elif isinstance(year, int):
        view.warnings.append(f"企业名录没有年度列,--year {year} 未用于筛选(全部行视为该年度的数据)")
    # One year in the file: nothing to filter (and Parquet stays readable directly).
    filters = [f"{sql_ident('year')} = {int(view.year)}"] if view.year is not None and len(view.years) > 1 else []
    body = f"SELECT {', '.join(selects)} FROM {raw}"
    if classes is not None:
        body = _with_classes(body, classes, CLASS_COLUMN in plan.headers)
        view.classes = classes
    if filters:
        body = f"SELECT * FROM ({body}) AS __r WHERE {' AND '.join(filters)}"
    view.identity = view.identity and not filters and classes is None
    try:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
        view.columns = {str(r[0]): str(r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()}
    except duckdb.Error as exc:
        raise InputError(f"读取企业名录时出错:{first_line(exc)}", file=where, hint="文件可能已损坏") from None
    return view


def read_registry_table(source: RegistrySource, *, fields: FieldRegistry | None = None, year: YearChoice = None,
                        classes: ClassSource | None = None, columns: Sequence[str] | None = None,
                        limit: int | None = None, synonyms: bool = False) -> tuple[pa.Table, RegistryView]:
    """The canonical registry as an Arrow table (cells as in the file, headers and units applied)."""
    tmp: list[Any] = []
    con = duckdb.connect()
    try:
        view = open_registry(con, source, "registry", tmp, fields=fields, year=year, classes=classes,
                             synonyms=synonyms)
        select = "*"
        if columns is not None:
            wanted = [sql_ident(c) for c in columns if c in view.columns]
            select = ", ".join(wanted) if wanted else "NULL AS __none"
        rows = f" LIMIT {int(limit)}" if limit is not None else ""
        try:
            table = con.sql(f"SELECT {select} FROM registry{rows}").to_arrow_table()
        except duckdb.Error as exc:
            raise InputError(f"读取企业名录时出错:{first_line(exc)}", file=view.description,
                             hint="文件可能已损坏,或扩展名与内容不符") from None
        if columns is not None and select.startswith("NULL"):
            table = pa.table({})
        return table, view
    finally:
        con.close()
        for holder in tmp:
            holder.cleanup()


# -- the plan: headers → canonical columns -----------------------------------------------------------


@dataclass
class _Check:
    """A cell check over the raw source: ``pre`` prepares the cell, ``bad`` (over ``@c``) is TRUE when invalid."""

    header: str
    column: str
    pre: str
    bad: str
    expected: str


class _Plan:
    def __init__(self, cat: Catalogue, where: str, kind: str, types: dict[str, str], strict: bool) -> None:
        self.cat, self.where, self.kind, self.types = cat, where, kind, types
        self.headers: dict[str, Header] = {}
        self.warnings: list[str] = []
        self.checks: list[_Check] = []
        self.identity = True
        unknown: list[tuple[int, str]] = []
        for position, (header, _t) in enumerate(types.items(), start=1):
            if not header.strip():
                continue
            try:
                resolved = cat.resolve(header)
            except InputError as exc:
                raise InputError(f"第1行第{position}列:{exc.message}", file=where, line=1, field=header,
                                 hint=exc.hint) from None
            if resolved is None:
                unknown.append((position, header))
                continue
            if resolved.id in self.headers:
                other = self.headers[resolved.id].header
                raise InputError(f"列 {other} 与列 {header} 都是{resolved.column.label}({resolved.id})",
                                 file=where, line=1, field=header, hint="请删除或改名其中一列")
            self.headers[resolved.id] = resolved
            if resolved.header != resolved.id or resolved.factor != 1:
                self.identity = False
        if "id" not in self.headers and "credit_code" not in self.headers:
            if kind == "csv" and len(types) == 1:
                # DuckDB's sniffer falls back to one column when rows have different field counts.
                raise InputError("无法把 CSV 拆成列:只识别出一列,各行的字段数可能不一致或分隔符不是逗号", file=where,
                                 hint="请检查是否有行多出或缺少分隔符(如未加引号的逗号),首行应为列名")
            near = cat.suggest(next(iter(types), "")) if types else None
            raise InputError("企业名录缺少企业的标识列:统一社会信用代码(credit_code)或企业编号(id)", file=where,
                             field="id", hint=near or "首行应为列名,如 统一社会信用代码、企业名称、所在区县 …")
        for position, header in unknown:
            hint = cat.suggest(header)
            message = (f"第1行第{position}列的列名 {header} 不是企业名录的字段,该列未读入"
                       + (f"({hint})" if hint else "(见 docs/registry.md 与 huiqi schema registry)"))
            if strict:
                raise InputError(message, file=where, line=1, field=header)
            self.warnings.append(f"{where}:{message}")
        if unknown:
            self.identity = False
        self._plan_checks()

    # -- cell checks over the raw source

    def _plan_checks(self) -> None:
        for cid, h in self.headers.items():
            src_type = self.types[h.header]
            raw = sql_ident(h.header)
            if cid == "credit_code":
                pre = f"NULLIF(upper(trim(CAST({raw} AS VARCHAR))), '')"
                key = "id" not in self.headers
                bad = f"(@c IS NOT NULL AND NOT {check_sql('@c')})" + (" OR @c IS NULL" if key else "")
                self.checks.append(_Check(h.header, cid, pre, bad, "18位统一社会信用代码(GB 32100-2015)"))
                self.identity = False
            elif cid == "year" and _is_text(src_type):
                pre = f"NULLIF(regexp_replace(trim(CAST({raw} AS VARCHAR)), '年(度)?$', ''), '')"
                bad = "(@c IS NOT NULL AND coalesce(TRY_CAST(@c AS INTEGER) NOT BETWEEN 1900 AND 2100, TRUE))"
                self.checks.append(_Check(h.header, cid, pre, bad, "四位年份,如 2023"))
                self.identity = False
            elif h.factor != 1 and _is_text(src_type):
                pre = self._number_text(h)
                self.checks.append(_Check(h.header, cid, pre, f"(@c IS NOT NULL AND TRY_CAST(@c AS {D6}) IS NULL)",
                                          f"数值(单位 {h.unit})"))

    def _number_text(self, h: Header) -> str:
        text = f"replace(replace(replace(trim(CAST({sql_ident(h.header)} AS VARCHAR)), ',', ''), ' ', ''), '％', '%')"
        if h.unit:
            # A cell may repeat the header's unit (“12万元” under 税收(万元)).
            text = f"regexp_replace({text}, {sql_text(_regex_escape(h.unit) + '$')}, '')"
        return f"NULLIF({text}, '')"

    def validate(self, con: duckdb.DuckDBPyConnection, raw: str) -> None:
        if not self.checks:
            return
        # Credit codes are checked over Arrow (registry.credit_code.count_invalid): the SQL
        # check costs seventeen strpos per row. Only a file with a bad code runs the SQL
        # check below, which locates the first one for the message.
        checks = [c for c in self.checks if c.column != "credit_code" or self._codes_invalid(con, raw, c)]
        if not checks:
            return
        inner = ", ".join(f"{c.pre} AS c{i}" for i, c in enumerate(checks))
        counts = ", ".join(f"count(*) FILTER (WHERE {c.bad.replace('@c', f'c{i}')})" for i, c in enumerate(checks))
        sql = f"SELECT {counts} FROM (SELECT {inner} FROM {raw}) AS a"
        try:
            found = con.execute(sql).fetchall()[0]
        except duckdb.Error as exc:
            raise InputError(f"读取企业名录时出错:{first_line(exc)}", file=self.where, hint="文件可能已损坏") from None
        for i, (check, k) in enumerate(zip(checks, found, strict=True)):
            if not k:
                continue
            cond = check.bad.replace("@c", f"c{i}")
            row = con.execute(
                f"SELECT n, v FROM (SELECT row_number() OVER () AS n, CAST({sql_ident(check.header)} AS VARCHAR) AS v,"
                f" {check.pre} AS c{i} FROM {raw}) AS a WHERE {cond} ORDER BY n LIMIT 1").fetchall()
            n, value = (int(row[0][0]), row[0][1]) if row else (0, None)
            line = n + (1 if self.kind in ("csv", "xlsx") else 0)
            reason = self._reason(check, value)
            raise InputError(f"第{line}行 列 {check.header} 的值 “{value if value is not None else ''}”{reason}"
                             + (f"(共 {k} 行有此问题)" if k > 1 else ""),
                             file=self.where, line=line, field=check.header, hint=f"应为{check.expected}")

    def _codes_invalid(self, con: duckdb.DuckDBPyConnection, raw: str, check: _Check) -> bool:
        """Whether some credit code is invalid (or missing where it is the key).

        Streamed in batches: ten million codes at once held a gigabyte outside DuckDB's
        memory limit.
        """
        key = "id" not in self.headers
        try:
            for batch in con.sql(f"SELECT {check.pre} AS c FROM {raw}").to_arrow_reader(CODE_BATCH):
                codes = batch.column(0)
                if count_invalid(codes) > 0 or (key and codes.null_count > 0):
                    return True
        except duckdb.Error as exc:
            raise InputError(f"读取企业名录时出错:{first_line(exc)}", file=self.where, hint="文件可能已损坏") from None
        return False

    @staticmethod
    def _reason(check: _Check, value: Any) -> str:
        if check.column == "credit_code":
            from huiqi.registry.credit_code import credit_code_problem

            if value is None or not str(value).strip():
                return "为空:统一社会信用代码是企业的标识,不能为空"
            return "不是有效的统一社会信用代码:" + (credit_code_problem(str(value)) or "格式不符")
        return "无法读作" + check.expected

    # -- the SELECT of the canonical view

    def selects(self, synonyms: bool) -> list[str]:
        out: list[str] = []
        for cid, h in self.headers.items():
            out.append(f"{self.value_sql(cid, h)} AS {sql_ident(cid)}")
        if "id" not in self.headers:
            out.append(f"{self.value_sql('credit_code', self.headers['credit_code'])} AS {sql_ident('id')}")
        if synonyms:
            out += self.synonym_selects()
        return out

    def synonym_selects(self) -> list[str]:
        out = []
        for a, b in self.cat.synonyms.items():
            for have, missing in ((a, b), (b, a)):
                if have in self.headers and missing not in self.headers:
                    out.append(f"{self.value_sql(have, self.headers[have])} AS {sql_ident(missing)}")
        return out

    def value_sql(self, cid: str, h: Header) -> str:
        raw = sql_ident(h.header)
        src_type = self.types[h.header]
        if cid == "credit_code":
            return f"NULLIF(upper(trim(CAST({raw} AS VARCHAR))), '')"
        if cid == "year":
            if _is_text(src_type):
                return f"TRY_CAST(NULLIF(regexp_replace(trim(CAST({raw} AS VARCHAR)), '年(度)?$', ''), '') AS INTEGER)"
            return f"CAST({raw} AS INTEGER)"
        if h.factor != 1:
            factor = format(h.factor, "f")
            number = f"TRY_CAST({self._number_text(h)} AS {D6})" if _is_text(src_type) else f"CAST({raw} AS {D6})"
            return f"CAST({number} * CAST({factor} AS {D6}) AS {D6})"
        return raw


def _is_text(t: str) -> bool:
    return t.startswith("VARCHAR") or t in ("BLOB", '"NULL"', "NULL")


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in r".^$*+?()[]{}|\\" else c for c in text)


def _years(con: duckdb.DuckDBPyConnection, raw: str, plan: _Plan, where: str) -> list[int]:
    value = plan.value_sql("year", plan.headers["year"])
    rows = con.execute(f"SELECT DISTINCT {value} AS y FROM {raw} WHERE y IS NOT NULL ORDER BY y").fetchall()
    return [int(r[0]) for r in rows]


def _choose_year(years: list[int], year: YearChoice, where: str) -> int | None:
    if year is None or not years:
        return None
    if year == "latest":
        return years[-1]
    if year not in years:
        shown = "、".join(str(y) for y in years[-8:])
        raise InputError(f"企业名录中没有 {year} 年度的数据", file=where, field="--year",
                         hint=f"名录中的年度:{shown}")
    return int(year)


def _with_classes(body: str, classes: ClassSource, has_column: bool) -> str:
    """Fill 亩均评价类别 from an evaluation where the registry leaves it empty (the registry wins)."""
    src = f"read_parquet({sql_text(str(classes.path))})"
    cls = f"(SELECT DISTINCT ON (id) CAST(id AS VARCHAR) AS __cid, class AS __class FROM {src})"
    col = sql_ident(CLASS_COLUMN)
    value = f"coalesce(NULLIF(trim(CAST(r.{col} AS VARCHAR)), ''), e.__class)" if has_column else "e.__class"
    exclude = f" EXCLUDE ({col})" if has_column else ""
    return (f"SELECT r.*{exclude}, {value} AS {col} FROM ({body}) AS r "
            f"LEFT JOIN {cls} AS e ON e.__cid = trim(CAST(r.id AS VARCHAR))")

