"""The one value vocabulary: how a cell or a profile value is read, in Python and in SQL.

Every path that turns user text into a typed value goes through here: profiles and
cohorts (:mod:`huiqi.profile`), the per-row population reader, the DuckDB/Spark
population view (:mod:`huiqi.engines.population`, through the SQL twins below), money
literals in rule expressions and the money units of policy text. ``is_2513=t`` and
``5千万元`` therefore mean the same thing everywhere.

The grammar of a text cell, after removing blanks (space, tab, ideographic space,
no-break space) and folding full-width digits and marks to ASCII:

* number: ``[+-]`` digits (at most 18, thousands separators in groups of three allowed)
  and at most 6 decimals — no exponent, no Chinese numerals (``三百万`` is refused with a
  hint): the SQL engines must read a cell exactly as Python does;
* money: a number, optionally prefixed by 人民币 and followed by one unit of
  :data:`MONEY_UNITS` (元, 万元, 千万元, 亿元, bare 万/千万/亿 …); integer yuan;
* percent: ``12%`` / ``百分之12`` → 0.12, a bare number is the fraction itself;
* boolean: :data:`TRUE_WORDS` / :data:`FALSE_WORDS` (case-insensitive);
* date: ``YYYY-MM-DD`` that exists on the calendar (2023-02-30 is refused);
* integer / number: a number, optionally followed by the field's unit (``12辆``).

Ranges: money, integers and numbers are ≥ 0 unless the field registry declares another
``min``; percentages lie in [-100%, 10000%]; every magnitude is below
:data:`MAX_MAGNITUDE` (10^15). A value outside its range is refused with the field's name.

:func:`sql_value` generates the SQL that reads a text column the same way (value and
"invalid" condition); ``tests/test_values.py`` checks with hypothesis that Python and
DuckDB agree on arbitrary text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "FALSE_WORDS",
    "MAX_MAGNITUDE",
    "MONEY_MULTIPLIERS",
    "MONEY_UNITS",
    "TRUE_WORDS",
    "Bounds",
    "SqlValue",
    "ValueProblem",
    "check_range",
    "default_bounds",
    "money_multiplier",
    "parse_bool",
    "parse_date",
    "parse_decimal",
    "parse_money",
    "parse_percent",
    "prepare_text",
    "sql_value",
]

Kind = Literal["money", "number", "integer", "percent", "boolean", "date", "enum", "text"]
Dialect = Literal["duckdb", "spark"]

# Unit → yuan. Bare 万/亿 forms are read as 万元/亿元 (4500亿, 5千万).
MONEY_MULTIPLIERS: dict[str, int] = {
    "元": 1, "十元": 10, "百元": 100, "千元": 1000, "万元": 10**4, "十万元": 10**5, "百万元": 10**6,
    "千万元": 10**7, "亿元": 10**8, "十亿元": 10**9, "百亿元": 10**10, "千亿元": 10**11, "万亿元": 10**12,
    "万": 10**4, "十万": 10**5, "百万": 10**6, "千万": 10**7, "亿": 10**8, "十亿": 10**9, "百亿": 10**10,
    "千亿": 10**11, "万亿": 10**12,
}
# Longest first, so that 千万元 wins over 万元 and 万元 over 元.
MONEY_UNITS: tuple[str, ...] = tuple(sorted(MONEY_MULTIPLIERS, key=lambda u: (-len(u), u)))

TRUE_WORDS: tuple[str, ...] = ("是", "true", "t", "yes", "y", "有", "对", "1", "真")
FALSE_WORDS: tuple[str, ...] = ("否", "false", "f", "no", "n", "无", "没有", "不是", "0", "假")

MAX_MAGNITUDE = Decimal(10) ** 15
MAX_INT_DIGITS = 18
MAX_DECIMALS = 6
BLANKS = " \t\r\n\u3000\u00a0"
_FULL = "０１２３４５６７８９．，％－＋"
_HALF = "0123456789.,%-+"
_FOLD = str.maketrans({**{f: h for f, h in zip(_FULL, _HALF, strict=True)}, **{b: None for b in BLANKS}})

NUMBER_RE = (r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3}){1,5}|[0-9]{1,INT})(?:\.[0-9]{1,DEC})?"
             .replace("INT", str(MAX_INT_DIGITS)).replace("DEC", str(MAX_DECIMALS)))
_UNITS_RE = "|".join(re.escape(u) for u in MONEY_UNITS)
MONEY_RE = f"(?:人民币)?({NUMBER_RE})({_UNITS_RE})?"
PERCENT_RE = f"(百分之)?({NUMBER_RE})(%)?"
DATE_RE = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"
_CN_NUMERAL = re.compile("[零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]")


class ValueProblem(ValueError):
    """A value that does not fit the field; ``reason`` (and ``hint``) are Chinese."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class Bounds:
    """Inclusive range of a numeric field; None = unbounded on that side (within MAX_MAGNITUDE)."""

    low: Decimal | None
    high: Decimal | None

    def describe(self, kind: str) -> str:
        def show(v: Decimal) -> str:
            return f"{v * 100:f}%".replace(".000000", "") if kind == "percent" else f"{v:f}"

        if self.low is not None and self.high is not None:
            return f"{show(self.low)} 至 {show(self.high)}"
        if self.low is not None:
            return f"不小于 {show(self.low)}"
        if self.high is not None:
            return f"不大于 {show(self.high)}"
        return "不限"


def default_bounds(kind: str) -> Bounds:
    """Money, counts and quantities are never negative; a percentage lies in [-100%, 10000%]."""
    if kind in ("money", "integer", "number"):
        return Bounds(Decimal(0), None)
    if kind == "percent":
        return Bounds(Decimal(-1), Decimal(100))
    return Bounds(None, None)


def check_range(value: Decimal | int, kind: str, bounds: Bounds | None = None) -> None:
    b = bounds or default_bounds(kind)
    v = Decimal(value)
    if abs(v) >= MAX_MAGNITUDE:
        raise ValueProblem("数值过大(绝对值须小于 10 的 15 次方)")
    if b.low is not None and v < b.low:
        reason = "不能为负数" if b.low == 0 else f"小于下限({b.describe(kind)})"
        raise ValueProblem(reason, hint=f"取值范围:{b.describe(kind)}")
    if b.high is not None and v > b.high:
        raise ValueProblem(f"超过上限({b.describe(kind)})", hint=f"取值范围:{b.describe(kind)}")


# -- Python side ------------------------------------------------------------------------------


def prepare_text(text: str) -> str:
    """Blanks removed, full-width digits and marks folded to ASCII (the SQL ``pre`` step)."""
    return text.translate(_FOLD)


def _number(text: str, whole: str) -> Decimal:
    if not re.fullmatch(NUMBER_RE, text):
        raise _number_problem(whole)
    return Decimal(text.replace(",", ""))


def _number_problem(whole: str) -> ValueProblem:
    if _CN_NUMERAL.search(whole) and not any(c.isdigit() for c in whole):
        return ValueProblem("无法识别的数字", hint="请用阿拉伯数字书写,如 300万元、12%")
    digits = re.sub(r"[^0-9]", "", whole.split(".")[0])
    if len(digits) > MAX_INT_DIGITS:
        return ValueProblem(f"数字位数过多(整数部分最多 {MAX_INT_DIGITS} 位)")
    if re.search(r"\.[0-9]{" + str(MAX_DECIMALS + 1) + ",}", whole):
        return ValueProblem(f"小数位数过多(最多 {MAX_DECIMALS} 位)")
    if re.search(r"[eE][+-]?[0-9]", whole):
        return ValueProblem("不支持科学计数法", hint="请直接写出数字,如 1500000")
    return ValueProblem("无法识别的数字")


def _from_object(raw: Any) -> Decimal:
    """A number that YAML/JSON/Excel already typed (never a bool, never a non-finite value)."""
    if isinstance(raw, bool):
        raise ValueProblem("应为数值,而不是真假值")
    if isinstance(raw, int):
        if abs(raw) >= MAX_MAGNITUDE:
            raise ValueProblem("数值过大(绝对值须小于 10 的 15 次方)")
        return Decimal(raw)
    if isinstance(raw, float):
        raw = Decimal(repr(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueProblem("数值必须是有限数")
        if abs(raw) >= MAX_MAGNITUDE:
            raise ValueProblem("数值过大(绝对值须小于 10 的 15 次方)")
        return raw
    raise ValueProblem("应为数值")


def parse_decimal(raw: Any, unit: str = "") -> Decimal:
    """A plain number (``12``, ``1,200.5``, ``12辆`` when ``unit`` is 辆)."""
    if not isinstance(raw, str):
        return _from_object(raw)
    text = prepare_text(raw)
    unit = prepare_text(unit)
    if unit and text.endswith(unit) and len(text) > len(unit):
        text = text[: -len(unit)]
    return _number(text, raw)


def money_multiplier(unit: str) -> int:
    """元 → 1, 万元 → 10000, 千万 → 10^7 …; raises ValueProblem for an unknown unit."""
    u = unit.strip()
    if u not in MONEY_MULTIPLIERS:
        raise ValueProblem(f"无法识别的金额单位:“{unit}”")
    return MONEY_MULTIPLIERS[u]


def parse_money(raw: Any, bounds: Bounds | None = None) -> int:
    """Integer yuan from 600万元 / 1.5亿元 / 5千万元 / 6,000,000 / 6000000 (never via float)."""
    if isinstance(raw, str):
        text = prepare_text(raw)
        m = re.fullmatch(MONEY_RE, text)
        if m is None:
            if not text:
                raise ValueProblem("无法识别的数字(缺少数字)")
            unit = next((u for u in MONEY_UNITS if text.endswith(u)), "")
            raise _number_problem(text[: len(text) - len(unit)] if unit else text)
        value = Decimal(m.group(1).replace(",", "")) * MONEY_MULTIPLIERS.get(m.group(2) or "元", 1)
    else:
        value = _from_object(raw)
    if value != value.to_integral_value():
        raise ValueProblem("金额须精确到元(整数元)")
    check_range(value, "money", bounds)
    return int(value)


def parse_percent(raw: Any, bounds: Bounds | None = None) -> Decimal:
    """12% / 百分之12 → 0.12; a bare number is taken as the fraction itself (0.12)."""
    if isinstance(raw, str):
        text = prepare_text(raw)
        m = re.fullmatch(PERCENT_RE, text)
        if m is None or (m.group(1) and m.group(3)):
            body = text.removeprefix("百分之").removesuffix("%")
            raise _number_problem(body) if body else ValueProblem("无法识别的数字(缺少数字)")
        value = Decimal(m.group(2).replace(",", ""))
        if m.group(1) or m.group(3):
            value = value / 100
            if value != round(value, MAX_DECIMALS):
                raise ValueProblem(f"百分比换算为小数后超过 {MAX_DECIMALS} 位小数")
    else:
        value = _from_object(raw)
    check_range(value, "percent", bounds)
    return value


def parse_number_value(raw: Any, kind: Literal["number", "integer"], unit: str = "",
                       bounds: Bounds | None = None) -> Decimal | int:
    value = parse_decimal(raw, unit)
    if kind == "integer":
        if value != value.to_integral_value():
            raise ValueProblem("应为整数")
        check_range(value, kind, bounds)
        return int(value)
    check_range(value, kind, bounds)
    return value


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if not isinstance(raw, str):
        raise ValueProblem("应为 是/否(或 true/false)")
    text = raw.strip(BLANKS).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueProblem("应为 是/否(或 true/false)", hint="可写:" + "、".join(TRUE_WORDS[:3]) + " 或 "
                       + "、".join(FALSE_WORDS[:3]))


def parse_date(raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip(BLANKS)
    if not re.fullmatch(DATE_RE, text):
        raise ValueProblem("日期格式应为 YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueProblem(f"日期 {text} 不存在(月份或日子超出范围)") from None


def parse_text(raw: Any) -> str:
    if isinstance(raw, (list, dict, bool)):
        raise ValueProblem("应为文字")
    return str(raw).strip(BLANKS)


def parse_value(kind: str, raw: Any, *, unit: str = "", bounds: Bounds | None = None,
                values: Sequence[str] = ()) -> Any:
    """The typed value of ``raw`` for a field of ``kind`` (None stays None)."""
    if raw is None:
        return None
    if kind == "money":
        return parse_money(raw, bounds)
    if kind == "percent":
        return parse_percent(raw, bounds)
    if kind in ("number", "integer"):
        return parse_number_value(raw, kind, unit, bounds)  # type: ignore[arg-type]
    if kind == "boolean":
        return parse_bool(raw)
    if kind == "date":
        return parse_date(raw)
    if kind == "enum":
        if isinstance(raw, (bool, list, dict)):
            raise ValueProblem("应为以下之一:" + "、".join(values))
        text = parse_text(raw)
        if text not in values:
            raise ValueProblem("不在可选值之中,可选:" + "、".join(values))
        return text
    return parse_text(raw)


# -- SQL side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlValue:
    """SQL over a prepared text column: ``pre`` (applied to the raw column), then ``value`` and
    ``bad`` over the prepared column (``{c}`` placeholders)."""

    pre: str
    value: str
    bad: str


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _regex_lit(pattern: str, dialect: Dialect) -> str:
    # Spark string literals treat backslash as an escape; DuckDB's do not.
    return _lit(pattern.replace("\\", "\\\\") if dialect == "spark" else pattern)


def _full_match(col: str, pattern: str, dialect: Dialect) -> str:
    if dialect == "spark":
        return f"({col} RLIKE {_regex_lit('^(?:' + pattern + ')$', dialect)})"
    return f"regexp_full_match({col}, {_regex_lit(pattern, dialect)})"


def _extract(col: str, pattern: str, group: int, dialect: Dialect) -> str:
    return f"regexp_extract({col}, {_regex_lit('^(?:' + pattern + ')$', dialect)}, {group})"


def _try_decimal(text: str, dialect: Dialect) -> str:
    if dialect == "spark":
        return f"CAST({text} AS DECIMAL(38,6))"
    return f"TRY_CAST({text} AS DECIMAL(38,6))"


def _prepare_sql(raw: str, dialect: Dialect, *, fold: bool) -> str:
    """The SQL twin of :func:`prepare_text` (``fold``) or of stripping blanks (text cells)."""
    text = f"CAST({raw} AS {'STRING' if dialect == 'spark' else 'VARCHAR'})"
    if fold:
        # translate() drops characters without a counterpart: blanks disappear, full-width folds.
        return f"NULLIF(translate({text}, {_lit(_FULL + BLANKS)}, {_lit(_HALF)}), '')"
    if dialect == "spark":
        return f"NULLIF(trim(BOTH {_lit(BLANKS)} FROM {text}), '')"
    return f"NULLIF(trim({text}, {_lit(BLANKS)}), '')"


def range_violation_sql(value: str, kind: str, bounds: Bounds | None) -> str:
    """SQL that is true when a typed value lies outside the field's range (or is absurdly large)."""
    b = bounds or default_bounds(kind)
    parts = [f"abs({value}) >= {MAX_MAGNITUDE:f}"]
    if b.low is not None:
        parts.append(f"{value} < {b.low:f}")
    if b.high is not None:
        parts.append(f"{value} > {b.high:f}")
    return " OR ".join(parts)


def sql_value(kind: str, raw: str, *, unit: str = "", bounds: Bounds | None = None,
              values: Sequence[str] = (), dialect: Dialect = "duckdb") -> SqlValue:
    """SQL reading the text column ``raw`` as :func:`parse_value` reads a string.

    ``value`` is NULL for an empty cell and for an invalid one; ``bad`` is true exactly
    when :func:`parse_value` would raise for the same text.
    """
    c = "{c}"
    if kind == "money":
        units = " ".join(f"WHEN {_lit(u)} THEN {m}" for u, m in MONEY_MULTIPLIERS.items())
        number = _try_decimal(f"replace({_extract(c, MONEY_RE, 1, dialect)}, ',', '')", dialect)
        scaled = f"({number} * CASE {_extract(c, MONEY_RE, 2, dialect)} {units} ELSE 1 END)"
        ok = _full_match(c, MONEY_RE, dialect)
        value = f"CASE WHEN {ok} THEN {scaled} END"
        bad = (f"{c} IS NOT NULL AND (NOT {ok} OR {scaled} <> floor({scaled}) OR "
               f"{range_violation_sql(scaled, kind, bounds)})")
        return SqlValue(_prepare_sql(raw, dialect, fold=True), value, bad)
    if kind == "percent":
        number = _try_decimal(f"replace({_extract(c, PERCENT_RE, 2, dialect)}, ',', '')", dialect)
        marked = f"({_extract(c, PERCENT_RE, 1, dialect)} <> '' OR {_extract(c, PERCENT_RE, 3, dialect)} <> '')"
        both = f"({_extract(c, PERCENT_RE, 1, dialect)} <> '' AND {_extract(c, PERCENT_RE, 3, dialect)} <> '')"
        # * 0.01 keeps DECIMAL arithmetic exact (/ 100 would turn it into DOUBLE).
        scaled = f"(CASE WHEN {marked} THEN {number} * 0.01 ELSE {number} END)"
        ok = f"({_full_match(c, PERCENT_RE, dialect)} AND NOT {both})"
        value = f"CASE WHEN {ok} THEN CAST({scaled} AS DECIMAL(38,6)) END"
        bad = (f"{c} IS NOT NULL AND (NOT {ok} OR {scaled} <> round({scaled}, {MAX_DECIMALS}) OR "
               f"{range_violation_sql(scaled, kind, bounds)})")
        return SqlValue(_prepare_sql(raw, dialect, fold=True), value, bad)
    if kind in ("number", "integer"):
        pattern = f"({NUMBER_RE})" + (f"(?:{re.escape(prepare_text(unit))})?" if unit else "")
        number = _try_decimal(f"replace({_extract(c, pattern, 1, dialect)}, ',', '')", dialect)
        ok = _full_match(c, pattern, dialect)
        value = f"CASE WHEN {ok} THEN {number} END"
        integral = f" OR {number} <> floor({number})" if kind == "integer" else ""
        bad = f"{c} IS NOT NULL AND (NOT {ok}{integral} OR {range_violation_sql(number, kind, bounds)})"
        return SqlValue(_prepare_sql(raw, dialect, fold=True), value, bad)
    if kind == "boolean":
        value = (f"CASE WHEN lower({c}) IN ({', '.join(map(_lit, TRUE_WORDS))}) THEN TRUE "
                 f"WHEN lower({c}) IN ({', '.join(map(_lit, FALSE_WORDS))}) THEN FALSE END")
        return SqlValue(_prepare_sql(raw, dialect, fold=False), value, f"{c} IS NOT NULL AND ({value}) IS NULL")
    if kind == "date":
        cast = f"CAST({c} AS DATE)" if dialect == "spark" else f"TRY_CAST({c} AS DATE)"
        ok = f"({_full_match(c, DATE_RE, dialect)} AND {cast} IS NOT NULL)"
        value = f"CASE WHEN {ok} THEN {cast} END"
        return SqlValue(_prepare_sql(raw, dialect, fold=False), value, f"{c} IS NOT NULL AND NOT {ok}")
    if kind == "enum":
        bad = f"{c} IS NOT NULL AND {c} NOT IN ({', '.join(map(_lit, values))})" if values else "FALSE"
        return SqlValue(_prepare_sql(raw, dialect, fold=False), c, bad)
    return SqlValue(_prepare_sql(raw, dialect, fold=False), c, "FALSE")
