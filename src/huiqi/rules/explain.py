"""Condition lines that state only what is true.

A rule says ``enterprise.layoff_rate < param.registered_unemployment_rate``. When an
enterprise's rate is 3% and the parameter 2.5%, the explanation must not print
"裁员率 3% < 失业率 2.5%": that sentence is false. :func:`state_condition` renders a
condition for one environment so that every comparison it prints holds for the values
it prints:

1. the condition is brought into negation normal form while it is rendered — ``not``
   is pushed down to the comparisons (``not (a < b)`` requires ``a >= b``, De Morgan
   for ``and``/``or``, ``in`` ↔ ``not in``, a flag required true ↔ false);
2. each comparison (a *fact*) is evaluated on the actual values and printed with the
   relation that actually holds: the required operator when it is met, its negation
   (``<`` ↔ ``≥``, ``=`` ↔ ``≠``, 属于 ↔ 不属于) when it is not, marked "要求 …";
3. a comparison with an unknown side states no relation at all, only the requirement
   ("要求 …,无法判定");
4. ``and``/``or`` join facts that are each true, so the joined sentence is true too,
   whatever the nesting.

Every fact carries a *claim*: the same relation written with the displayed values only
("3% >= 2.5%"), in the expression language. ``tests/test_condition_statements.py``
evaluates those claims over every condition of every rule pack on random values: each
must come out true, and the values shown must be the actual values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from huiqi.rules.expr import format_value, render_node, unit_of
from huiqi.rules.expr_ast import Bool, Call, Cmp, Field, In, Logic, Node, Not, Null, Num, Str, Unit
from huiqi.rules.expr_eval import EvalFailure, Fn, compile_node

__all__ = ["SYMBOL", "Fact", "Group", "Statement", "state_condition"]

# Display symbols (≥/≤ read better than >=/<= in Chinese text).
SYMBOL = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}
NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
MIRRORED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}
# 民法典 第1259条: 以上/以下 include the number, 超过/不满 do not; say which, every time.
INCLUSIVE = {">=": "(含)", "<=": "(含)", ">": "(不含)", "<": "(不含)", "==": "", "!=": ""}
MISSING = "〈未提供〉"


@dataclass(frozen=True, slots=True)
class Fact:
    """One comparison as it stands for these values.

    ``claim`` is the relation printed in ``text`` written with the printed values only
    (``"150万元 < 200万元"``), or None when a value is unknown and nothing is claimed.
    ``shown`` pairs each field whose value the text prints with that printed value.
    """

    text: str
    claim: str | None
    met: bool | None
    shown: tuple[tuple[str, str], ...] = ()
    kind: Literal["compare", "member", "flag"] = "compare"
    # The text without the requirement note: "处于项目建设期内 为否".
    bare: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    op: Literal["and", "or"]
    parts: tuple[Fact | Group, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    """A rendered condition: its text, the facts in it, and whether it is met."""

    text: str
    root: Fact | Group
    met: bool | None

    @property
    def facts(self) -> list[Fact]:
        out: list[Fact] = []
        stack: list[Fact | Group] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Fact):
                out.append(node)
            else:
                stack.extend(reversed(node.parts))
        return out

    @property
    def single(self) -> Fact | None:
        """The one fact of a condition that is a single comparison, membership or flag."""
        return self.root if isinstance(self.root, Fact) else None


_FNS: dict[int, tuple[Node, Fn]] = {}


def _value(node: Node, env: Mapping[str, object]) -> object:
    """The value of a sub-expression; None when unknown or when it cannot be computed."""
    hit = _FNS.get(id(node))
    if hit is None or hit[0] is not node:
        hit = _FNS[id(node)] = (node, compile_node(node))
    try:
        return hit[1](env, [])
    except EvalFailure:
        return None


def _fmt(value: object, unit: Unit | None) -> str:
    return format_value(value, unit)


def _is_const(node: Node) -> bool:
    return isinstance(node, Num | Str | Bool)


class _Renderer:
    def __init__(self, env: Mapping[str, object], labels: Mapping[str, str], units: Mapping[str, Unit]):
        self.env = env
        self.labels = labels
        self.units = units

    # -- one side of a comparison ------------------------------------------------------

    def side(self, node: Node, peer_unit: Unit | None) -> tuple[str, str | None, object, tuple[tuple[str, str], ...]]:
        """(display, value as a literal, value, shown fields) of one operand."""
        unit = unit_of(node, self.units) or peer_unit
        value = _value(node, self.env)
        literal = None if value is None else _fmt(value, unit)
        if isinstance(node, Num | Str | Bool):
            return literal or "", literal, value, ()
        if isinstance(node, Field):
            label = self.labels.get(node.name, node.name)
            if value is None:
                return f"{label} {MISSING}", None, None, ()
            return f"{label} {literal}", literal, value, ((node.name, literal or ""),)
        default = self._coalesced_field(node)
        if default is not None:
            field, _ = default
            label = self.labels.get(field.name, field.name)
            raw = _value(field, self.env)
            if raw is not None:
                shown = _fmt(raw, unit)
                return f"{label} {shown}", literal, value, ((field.name, shown),)
            if value is None:
                return f"{label} {MISSING}", None, None, ()
            return f"{label} 未提供(按 {literal} 计)", literal, value, ()
        body = render_node(node, self.env, self.labels, self.units)
        if value is None:
            return body, None, None, ()
        return f"{body} = {literal}", literal, value, ()

    @staticmethod
    def _coalesced_field(node: Node) -> tuple[Field, Node] | None:
        if isinstance(node, Call) and node.func == "coalesce" and len(node.args) == 2 \
                and isinstance(node.args[0], Field) and _is_const(node.args[1]):
            return node.args[0], node.args[1]
        return None

    # -- facts -------------------------------------------------------------------------

    def render(self, node: Node, want: bool) -> Fact | Group:
        """``node`` rendered as required to be ``want`` (negations pushed inward)."""
        if isinstance(node, Not):
            return self.render(node.operand, not want)
        if isinstance(node, Logic):
            op: Literal["and", "or"] = node.op if want else ("or" if node.op == "and" else "and")
            return Group(op, tuple(self.render(o, want) for o in node.operands))
        if isinstance(node, Cmp):
            if isinstance(node.right, Bool) and not isinstance(node.left, Bool | Num | Str):
                return self.flag(node.left, node.right.value == (node.op == "==") if want
                                 else node.right.value != (node.op == "=="))
            if isinstance(node.left, Bool) and not isinstance(node.right, Bool | Num | Str):
                return self.flag(node.right, node.left.value == (node.op == "==") if want
                                 else node.left.value != (node.op == "=="))
            return self.compare(node, node.op if want else NEGATED[node.op])
        if isinstance(node, In):
            return self.member(node, node.negated if want else not node.negated)
        return self.flag(node, want)

    def compare(self, node: Cmp, required: str) -> Fact:
        left, right = node.left, node.right
        if _is_const(left) and not _is_const(right):
            left, right, required = right, left, MIRRORED[required]
        unit = unit_of(left, self.units) or unit_of(right, self.units)
        ld, lc, lv, lshown = self.side(left, unit)
        rd, rc, rv, rshown = self.side(right, unit)
        threshold = _is_const(right)
        incl = INCLUSIVE[required] if threshold and isinstance(right, Num) else ""
        if lv is None or rv is None or isinstance(lv, bool) != isinstance(rv, bool):
            if threshold and isinstance(left, Field):
                label = self.labels.get(left.name, left.name)
                return Fact(f"{label} 未提供,要求 {SYMBOL[required]} {rd}{incl}", None, None)
            return Fact(f"要求 {ld} {SYMBOL[required]} {rd}(无法判定)", None, None)
        holds = _holds(lv, required, rv)
        if holds is None:
            return Fact(f"要求 {ld} {SYMBOL[required]} {rd}(无法判定)", None, None)
        actual = required if holds else NEGATED[required]
        claim = f"{lc} {actual} {rc}"
        shown = lshown + rshown
        if threshold:
            text = f"{ld} {SYMBOL[actual]} {'' if holds else '要求 '}{rd}{incl}"
        elif holds:
            text = f"{ld} {SYMBOL[actual]} {rd}"
        else:
            text = f"{ld} {SYMBOL[actual]} {rd}(未满足,要求 {SYMBOL[required]})"
        return Fact(text, claim, holds, shown, "compare", text)

    def member(self, node: In, negated: bool) -> Fact:
        unit = unit_of(node.needle, self.units)
        nd, nc, nv, shown = self.side(node.needle, unit)
        items = [(_value(i, self.env), i) for i in node.items]
        shown_items = "、".join(_fmt(v, unit) if v is not None else render_node(i, self.env, self.labels, self.units)
                                for v, i in items)
        want = "不属于" if negated else "属于"
        if nv is None:
            return Fact(f"{nd},要求{want} {shown_items}(无法判定)", None, None, kind="member")
        found = any(v is not None and type(v) is type(nv) and v == nv for v, _ in items)
        if not found and any(v is None for v, _ in items):
            return Fact(f"{nd},要求{want} {shown_items}(无法判定)", None, None, kind="member")
        met = found != negated
        word = "属于" if found else "不属于"
        literals = ", ".join(_fmt(v, unit) for v, _ in items)
        claim = f"{nc} {'in' if found else 'not in'} [{literals}]"
        bare = f"{nd} {word} {shown_items}"
        return Fact(bare + ("" if met else f"(要求{want})"), claim, met, shown, "member", bare)

    def flag(self, node: Node, want: bool) -> Fact:
        value = _value(node, self.env)
        required = format_value(want)
        if isinstance(node, Field):
            name = self.labels.get(node.name, node.name)
        elif self._coalesced_field(node) is not None:
            field, _ = self._coalesced_field(node)  # type: ignore[misc]
            name = self.labels.get(field.name, field.name)
            if _value(field, self.env) is None and isinstance(value, bool):
                name += f"(未提供,按 {format_value(value)} 计)"
        elif isinstance(node, Bool | Null):
            name = format_value(node.value if isinstance(node, Bool) else None)
        else:
            name = render_node(node, self.env, self.labels, self.units)
        if not isinstance(value, bool):
            return Fact(f"{name} {MISSING},要求为{required}", None, None, kind="flag")
        actual = format_value(value)
        shown = ((node.name, actual),) if isinstance(node, Field) else ()
        met = value == want
        bare = f"{name} 为{actual}"
        return Fact(bare + ("" if met else f"(要求为{required})"), f"{actual} == {actual}", met, shown, "flag", bare)


def _holds(left: object, op: str, right: object) -> bool | None:
    if op == "==":
        return type(left) is type(right) and left == right
    if op == "!=":
        return not (type(left) is type(right) and left == right)
    if not (isinstance(left, Decimal) and isinstance(right, Decimal)):
        return None
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _text(node: Fact | Group, parent: str | None = None) -> str:
    if isinstance(node, Fact):
        return node.text
    joiner = " 且 " if node.op == "and" else " 或 "
    body = joiner.join(_text(p, node.op) for p in node.parts)
    return f"({body})" if parent is not None and parent != node.op else body


def state_condition(node: Node, env: Mapping[str, object], labels: Mapping[str, str],
                    units: Mapping[str, Unit], met: bool | None) -> Statement:
    """The condition ``node`` as true statements about ``env`` (``met``: its evaluated value)."""
    root = _Renderer(env, labels, units).render(node, True)
    return Statement(_text(root), root, met)
