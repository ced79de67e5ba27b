"""规则表达式语言 — the small, safe expression language of Huiqi rule files.

Rule packs say things like ``project.equipment_investment >= 500万元`` or
``min(project.equipment_investment * 10%, 300万元)``. This module compiles such text
once (``compile_expr``) into an :class:`Expr` that can be

* evaluated in Python for one enterprise (``Expr.evaluate`` → :class:`Result`, with
  the fields whose absence left the answer undecided),
* rendered with the actual values substituted (``explain``),
* translated into one SQL expression for DuckDB or Spark SQL (``to_sql``), so the
  population simulator runs the very same rule set-based.

Grammar 语法 (precedence from loosest to tightest)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [ CMP sum | ["not"] "in" list ]      -- no chaining: a < b < c is rejected
    CMP        := ">=" | ">" | "<=" | "<" | "==" | "!="
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | primary
    primary    := NUMBER | STRING | "true" | "false" | "是" | "否" | "null"
                | NAME | FUNC "(" args ")" | "(" expr ")"
    list       := "[" expr ("," expr)* [","] "]"            -- only after in / inside tier
    NUMBER     := DIGITS ["." DIGITS] [UNIT]                 -- exact Decimal, never float
    UNIT       := "元" | "万元" | "万" | "亿元" | "亿" | "%"  -- 500万元 = 5000000, 10% = 0.1
    STRING     := "…" | '…' | “…” | ‘…’                      -- escapes \\\\ \\" \\' \\n \\t
    NAME       := SEGMENT ("." SEGMENT)*                     -- project.equipment_investment, 企业.亩均税收
    FUNC       := if | min | max | floor | round_yuan | abs | coalesce | tier (alias lookup)

Keywords (and/or/not/in/true/false/null) and function names are case-insensitive.
Full-width ( ) [ ] , < > = ! + - * / % outside strings are read as their ASCII forms.
Chinese comparison words (以上, 不满 …) are deliberately not operators: the rule author
turns 以上 into ``>=`` and 超过 into ``>`` (民法典 第1259条).

Values: exact ``Decimal`` numbers (money in yuan), ``bool``, ``str``, and ``None`` for
UNKNOWN. Every arithmetic result is rounded to 6 decimal places, half away from zero
(the SQL side stores DECIMAL(38,6)); values must stay below 10^26 in magnitude.

Functions:

* ``if(c, a, b)`` — a when c is true, b when false; when c is unknown, the common
  value if a == b, else unknown.
* ``min(a, b, …)`` / ``max(a, b, …)`` — unknown if any argument is unknown.
* ``floor(x)`` — down to an integer (whole yuan); ``round_yuan(x)`` — half away from
  zero to an integer; ``abs(x)``.
* ``coalesce(a, b, …)`` — the first known argument (this is how a rule supplies a
  default for an optional field).
* ``tier(x, [[lo1, v1], [lo2, v2], …] [, below])`` — step function with INCLUSIVE
  lower bounds: the value of the last row with ``lo <= x``; lower bounds are numeric
  constants, strictly increasing; ``below`` (default null) applies when x < lo1.

Three-valued logic: ``false and UNKNOWN`` is false, ``true or UNKNOWN`` is true,
everything else touching UNKNOWN is UNKNOWN (``x in [..]`` follows SQL, including
NULL list items). ``Result.missing`` names the absent fields when the result is UNKNOWN.

Safety: the text never reaches Python's parser or ``eval``; names are looked up only
as mapping keys (flat ``"project.x"`` or nested ``{"project": {"x": …}}``), never as
attributes. Rejected at load time with a positioned Chinese message: ``**``/``^``,
subscripts, calls of anything but the whitelist, method calls (``x.f()``), dunders and
leading underscores, Python keywords (import, lambda, …), strings over 1000
characters, text over 4000 characters, nesting over 64, integers over 30 digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from huiqi.errors import RuleError
from huiqi.rules.expr_ast import (
    CTX,
    Arith,
    Bool,
    Call,
    Cmp,
    ExprEvalError,
    Field,
    In,
    Logic,
    Neg,
    Node,
    Not,
    Null,
    Num,
    Str,
    Tier,
    Unit,
    Value,
    field_names,
    tidy,
    walk,
)
from huiqi.rules.expr_eval import ABSENT, EvalFailure, Fn, compile_node, lookup, normalize_input
from huiqi.rules.expr_parse import ErrorSite, StaticType, check_types, parse
from huiqi.rules.expr_sql import Dialect, SqlGenerator

__all__ = [
    "Expr",
    "ExprEvalError",
    "Result",
    "compile_expr",
    "explain",
    "format_value",
    "render_node",
    "to_sql",
    "unit_of",
]


@dataclass(frozen=True, slots=True)
class Result:
    """Outcome of one evaluation; ``value is None`` means UNKNOWN (or an explicit null)."""

    value: Value
    # Absent fields read while evaluating, in reading order; only filled when the
    # value is unknown, because a decided result did not need them.
    missing: tuple[str, ...] = ()

    @property
    def unknown(self) -> bool:
        return self.value is None

    @property
    def is_true(self) -> bool:
        return self.value is True

    @property
    def is_false(self) -> bool:
        return self.value is False


@dataclass(frozen=True, slots=True)
class Expr:
    """A compiled expression; immutable and safe to share."""

    text: str
    ast: Node
    type: StaticType
    fields: tuple[str, ...]
    file: str | None = None
    line: int | None = None
    field: str | None = None
    clause: str | None = None
    _fn: Fn = dc_field(repr=False, compare=False, default=lambda env, miss: None)

    def evaluate(self, env: Mapping[str, object]) -> Result:
        missing: list[str] = []
        try:
            value = self._fn(env, missing)
        except EvalFailure as exc:
            raise self._eval_error(exc.message, exc.pos) from None
        if type(value) is Decimal:
            value = tidy(value)
        return Result(value, tuple(dict.fromkeys(missing)) if value is None else ())

    def to_sql(self, column_of: Callable[[str], str], dialect: Dialect = "duckdb") -> str:
        return to_sql(self, column_of, dialect)

    def explain(
        self,
        env: Mapping[str, object],
        *,
        labels: Mapping[str, str] | None = None,
        units: Mapping[str, Unit] | None = None,
        with_result: bool = False,
    ) -> str:
        return explain(self, env, labels=labels, units=units, with_result=with_result)

    def _eval_error(self, message: str, pos: int) -> ExprEvalError:
        return ExprEvalError(
            f"计算表达式「{self.text}」时出错(第{pos + 1}个字符处):{message}",
            file=self.file,
            line=self.line,
            field=self.field,
            clause=self.clause,
        )

    def __str__(self) -> str:
        return self.text


_SOURCE_WITH_LINE = re.compile(r"^(?P<file>.*?):(?P<line>\d+)$")


def compile_expr(
    text: str,
    *,
    source: str | None = None,
    line: int | None = None,
    field: str | None = None,
    clause: str | None = None,
) -> Expr:
    """Parse, type-check and compile; raises RuleError naming the position.

    ``source`` is the rule file ("packs/zj.yaml") or "file:line"; ``line``, ``field``
    and ``clause`` end up on the error so the CLI can point at the YAML entry.
    """
    file = source
    if source is not None and line is None:
        m = _SOURCE_WITH_LINE.match(source)
        if m:
            file, line = m.group("file"), int(m.group("line"))
    if not isinstance(text, str):
        raise RuleError(f"表达式必须是字符串,实际是 {type(text).__name__}",
                        file=file, line=line, field=field, clause=clause)
    return _compile(text, file, line, field, clause)


@lru_cache(maxsize=4096)
def _compile(text: str, file: str | None, line: int | None, field: str | None,
             clause: str | None) -> Expr:
    node = parse(text, file=file, line=line, field=field, clause=clause)
    static_type = check_types(node, ErrorSite(text, file, line, field, clause))
    return Expr(text=text, ast=node, type=static_type, fields=field_names(node), file=file,
                line=line, field=field, clause=clause, _fn=compile_node(node))


def to_sql(
    expr: Expr | str,
    column_of: Callable[[str], str],
    dialect: Dialect = "duckdb",
) -> str:
    """One SQL scalar expression; ``column_of`` maps a field name to a column reference.

    ``column_of`` must return SQL the caller trusts (typically a quoted identifier);
    everything else in the output comes from literals this module escapes itself.
    """
    compiled = compile_expr(expr) if isinstance(expr, str) else expr
    try:
        where = " ".join(part for part in (Path(compiled.file).name if compiled.file else "",
                                           f"第{compiled.line}行" if compiled.line else "", compiled.field or "") if part)
        return SqlGenerator(column_of, dialect, compiled.text, where).gen(compiled.ast)
    except RuleError as exc:
        exc.file = exc.file or compiled.file
        exc.line = exc.line if exc.line is not None else compiled.line
        exc.field = exc.field or compiled.field
        exc.clause = exc.clause or compiled.clause
        raise


# -- explanations ----------------------------------------------------------------------

_WAN = Decimal(10_000)
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "add": 5, "mul": 6, "neg": 7, "atom": 8}
_MISSING_TEXT = "〈未提供〉"


def format_value(value: object, unit: Unit | None = None) -> str:
    """Human text for a value: money as 万元 when that is exact to the 元·百, else 元."""
    if value is None:
        return "空"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal):
        return str(value)
    if unit == "money":
        if abs(value) >= _WAN and CTX.remainder(value, Decimal(100)) == 0:
            return _plain(CTX.divide(value, _WAN)) + "万元"
        return _plain(value) + "元"
    if unit == "percent":
        return _plain(CTX.multiply(value, Decimal(100))) + "%"
    return _plain(value)


def _plain(value: Decimal) -> str:
    return format(tidy(value), "f")


def infer_units(node: Node, given: Mapping[str, Unit] | None = None) -> dict[str, Unit]:
    """Guess which fields are money or percentages from the literals they meet.

    ``x >= 500万元`` makes x money, and so does ``min(x * 10%, 300万元)``; explanations
    then print x as 万元 instead of a bare number. Units the caller knows always win.
    """
    return _Units(given).run(node)


class _Units:
    def __init__(self, given: Mapping[str, Unit] | None) -> None:
        self.units: dict[str, Unit] = dict(given or {})
        self.changed = False

    def run(self, node: Node) -> dict[str, Unit]:
        nodes = walk(node)
        for _ in range(8):
            self.changed = False
            for n in nodes:
                for group in self.peers(n):
                    known = next((u for u in map(self.unit_of, group) if u), None)
                    if known is not None:
                        for member in group:
                            self.push(member, known)
            if not self.changed:
                break
        return self.units

    def unit_of(self, n: Node) -> Unit | None:
        if isinstance(n, Num):
            return n.unit if n.unit != "number" else None
        if isinstance(n, Field):
            return self.units.get(n.name)
        if isinstance(n, Neg):
            return self.unit_of(n.operand)
        if isinstance(n, Arith):
            left, right = self.unit_of(n.left), self.unit_of(n.right)
            if n.op in "+-":
                return left or right
            if n.op == "*":
                return "money" if "money" in (left, right) else None
            if left == "money" and right == "money":
                return "number"
            return "money" if left == "money" else None
        if isinstance(n, Call):
            args = n.args[1:] if n.func == "if" else n.args
            return next((u for u in map(self.unit_of, args) if u), None)
        if isinstance(n, Tier):
            return next((u for u in map(self.unit_of, (*n.values, n.default)) if u), None)
        return None

    def peers(self, n: Node) -> list[tuple[Node, ...]]:
        """Groups of sub-expressions that must carry the same unit."""
        if isinstance(n, Cmp) or (isinstance(n, Arith) and n.op in "+-"):
            return [(n.left, n.right)]
        if isinstance(n, In):
            return [(n.needle, *n.items)]
        if isinstance(n, Call) and n.func in ("min", "max", "coalesce"):
            return [n.args]
        if isinstance(n, Call) and n.func == "if":
            return [n.args[1:]]
        if isinstance(n, Tier):
            bound_unit = next((u for u in n.bound_units if u != "number"), None)
            if bound_unit is not None:
                self.push(n.x, bound_unit)
            return [(*n.values, n.default)]
        return []

    def push(self, n: Node, unit: Unit) -> None:
        """Propagate a unit known for ``n`` down to the fields inside it."""
        if isinstance(n, Field):
            if n.name not in self.units:
                self.units[n.name] = unit
                self.changed = True
        elif isinstance(n, Neg):
            self.push(n.operand, unit)
        elif isinstance(n, Arith) and n.op in "+-":
            self.push(n.left, unit)
            self.push(n.right, unit)
        elif isinstance(n, Arith) and unit == "money":
            # money = money × rate, money = money ÷ count: the unit-less side is the factor.
            if n.op == "*" and self.unit_of(n.right) != "money" and not isinstance(n.left, Num):
                if isinstance(n.right, Num) or self.unit_of(n.right) == "percent":
                    self.push(n.left, unit)
            if n.op == "*" and self.unit_of(n.left) != "money" and not isinstance(n.right, Num):
                if isinstance(n.left, Num) or self.unit_of(n.left) == "percent":
                    self.push(n.right, unit)
            if n.op == "/" and isinstance(n.right, Num):
                self.push(n.left, unit)
        elif isinstance(n, Call) and n.func != "if":
            for arg in n.args:
                self.push(arg, unit)
        elif isinstance(n, Call):
            self.push(n.args[1], unit)
            self.push(n.args[2], unit)
        elif isinstance(n, Tier):
            for value in (*n.values, n.default):
                self.push(value, unit)


class _Explainer:
    def __init__(self, env: Mapping[str, object], labels: Mapping[str, str], units: dict[str, Unit]):
        self.env = env
        self.labels = labels
        self.units = units

    def field_text(self, node: Field) -> str:
        label = self.labels.get(node.name, node.name)
        raw = lookup(self.env, node.name, tuple(node.name.split(".")))
        if raw is None or raw is ABSENT:
            return f"{label} {_MISSING_TEXT}"
        try:
            value = normalize_input(node.name, raw, node.pos)
        except EvalFailure:
            return f"{label} {raw!r}"
        return f"{label} {format_value(value, self.units.get(node.name))}"

    def render(self, node: Node) -> tuple[str, int]:
        if isinstance(node, Num):
            return (node.text or _plain(node.value)), _PREC["atom"]
        if isinstance(node, Str):
            return format_value(node.value), _PREC["atom"]
        if isinstance(node, Bool):
            return format_value(node.value), _PREC["atom"]
        if isinstance(node, Null):
            return "空", _PREC["atom"]
        if isinstance(node, Field):
            return self.field_text(node), _PREC["atom"]
        if isinstance(node, Neg):
            return "-" + self.sub(node.operand, _PREC["neg"]), _PREC["neg"]
        if isinstance(node, Not):
            return "非 " + self.sub(node.operand, _PREC["not"]), _PREC["not"]
        if isinstance(node, Arith):
            prec = _PREC["add"] if node.op in "+-" else _PREC["mul"]
            symbol = {"+": "+", "-": "-", "*": "×", "/": "÷"}[node.op]
            left = self.sub(node.left, prec)
            right = self.sub(node.right, prec + 1)
            return f"{left} {symbol} {right}", prec
        if isinstance(node, Cmp):
            prec = _PREC["cmp"]
            return f"{self.sub(node.left, prec + 1)} {node.op} {self.sub(node.right, prec + 1)}", prec
        if isinstance(node, Logic):
            prec = _PREC[node.op]
            joiner = " 且 " if node.op == "and" else " 或 "
            return joiner.join(self.sub(o, prec + 1) for o in node.operands), prec
        if isinstance(node, In):
            prec = _PREC["cmp"]
            items = ", ".join(self.sub(i, 0) for i in node.items)
            word = "不属于" if node.negated else "属于"
            return f"{self.sub(node.needle, prec + 1)} {word} [{items}]", prec
        if isinstance(node, Tier):
            rows = ", ".join(f"[{text or _plain(bound)}, {self.sub(value, 0)}]"
                             for bound, text, value in zip(node.bounds, node.bound_texts or
                                                           ("",) * len(node.bounds), node.values,
                                                           strict=True))
            extra = "" if isinstance(node.default, Null) else ", " + self.sub(node.default, 0)
            return f"tier({self.sub(node.x, 0)}, [{rows}]{extra})", _PREC["atom"]
        if isinstance(node, Call):
            return f"{node.func}({', '.join(self.sub(a, 0) for a in node.args)})", _PREC["atom"]
        raise AssertionError(f"unhandled node {type(node).__name__}")  # pragma: no cover

    def sub(self, node: Node, min_prec: int) -> str:
        text, prec = self.render(node)
        return f"({text})" if prec < min_prec else text


def unit_of(node: Node, units: Mapping[str, Unit]) -> Unit | None:
    """The unit of a (sub-)expression's value given the units of its fields."""
    return _Units(units).unit_of(node)


def render_node(node: Node, env: Mapping[str, object], labels: Mapping[str, str],
                units: Mapping[str, Unit]) -> str:
    """One (sub-)expression with each field shown as "label value"; units as given, not inferred."""
    return _Explainer(env, labels, dict(units)).sub(node, 0)


def explain(
    expr: Expr | str,
    env: Mapping[str, object],
    *,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, Unit] | None = None,
    with_result: bool = False,
) -> str:
    """The expression with each field replaced by "label value".

    ``explain("project.equipment_investment < 200万元", {...}, labels={...})`` gives
    "设备投资额 150万元 < 200万元". With ``with_result`` the outcome is appended
    (" → 成立", " = 30万元", " → 无法判定,缺少:…").
    """
    compiled = compile_expr(expr) if isinstance(expr, str) else expr
    unit_map = infer_units(compiled.ast, units)
    text = _Explainer(env, labels or {}, unit_map).sub(compiled.ast, 0)
    if not with_result:
        return text
    result = compiled.evaluate(env)
    if result.value is None:
        if result.missing:
            names = "、".join((labels or {}).get(m, m) for m in result.missing)
            return f"{text} → 无法判定,缺少:{names}"
        return f"{text} → 空"
    if isinstance(result.value, bool):
        return f"{text} → {'成立' if result.value else '不成立'}"
    top_unit = _Units(unit_map).unit_of(compiled.ast)
    return f"{text} = {format_value(result.value, top_unit)}"
