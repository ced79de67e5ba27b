"""Python backend: the AST is compiled once into nested closures (no eval/exec).

Each closure takes ``(env, missing)`` and returns a value, ``None`` standing for
UNKNOWN; ``missing`` collects the names of absent fields as they are read.

Evaluation order mirrors the SQL backends so that both fail on the same data:
``and``/``or``/comparisons/arithmetic evaluate every operand (DuckDB evaluates both
sides of AND in a projection, so a division by zero there is an error even when the
other side is false), while ``if``, ``tier`` and ``coalesce`` evaluate lazily like
SQL's CASE and COALESCE.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from huiqi.rules.expr_ast import (
    CTX,
    MAX_ABS,
    QUANTUM,
    SCALE,
    Arith,
    Bool,
    Call,
    Cmp,
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
    Value,
)

Env = Mapping[str, object]
Fn = Callable[[Env, list[str]], Value]

ABSENT = object()
_ONE = Decimal(1)
_SCALE_FACTOR = 10**SCALE


class EvalFailure(Exception):
    """Internal: carries a message and position up to ``Expr.evaluate``."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _same_kind(a: object, b: object) -> bool:
    # bool is an int subclass and Decimal(1) == True in Python; rules must not
    # accidentally compare a flag with a number.
    return type(a) is type(b)


def _describe(v: object) -> str:
    if isinstance(v, bool):
        return "真假值"
    if isinstance(v, Decimal):
        return "数值"
    if isinstance(v, str):
        return "字符串"
    return type(v).__name__


def _checked(value: Decimal, pos: int) -> Decimal:
    if not -MAX_ABS < value < MAX_ABS:
        raise EvalFailure("计算结果超出允许范围(绝对值须小于10的26次方)", pos)
    return value


def normalize_input(name: str, v: object, pos: int) -> Value:
    """Bring a field value into the language's value domain."""
    if isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise EvalFailure(f"字段 {name} 的值 {v} 不是有限数", pos)
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise EvalFailure(f"字段 {name} 的值 {v} 不是有限数", pos)
        # repr() is the shortest text that round-trips, i.e. what a JSON file said;
        # Decimal(v) would drag in the binary expansion (0.1 → 0.1000000000000000055…).
        return Decimal(repr(v))
    raise EvalFailure(f"字段 {name} 的值类型 {type(v).__name__} 不受支持(应为数值、字符串或真假值)", pos)


def lookup(env: Env, name: str, parts: tuple[str, ...]) -> object:
    """Flat key first ("project.x"), then nested mappings; never attributes."""
    v = env.get(name, ABSENT)
    if v is ABSENT and len(parts) > 1:
        cur: object = env
        for part in parts:
            if not isinstance(cur, Mapping):
                return ABSENT
            cur = cur.get(part, ABSENT)
            if cur is ABSENT:
                return ABSENT
        v = cur
    return v


def compile_node(node: Node) -> Fn:
    if isinstance(node, Num):
        num = node.value
        return lambda env, miss: num
    if isinstance(node, Str):
        text = node.value
        return lambda env, miss: text
    if isinstance(node, Bool):
        flag = node.value
        return lambda env, miss: flag
    if isinstance(node, Null):
        return lambda env, miss: None
    if isinstance(node, Field):
        return _field(node)
    if isinstance(node, Neg):
        return _neg(node)
    if isinstance(node, Not):
        return _not(node)
    if isinstance(node, Arith):
        return _arith(node)
    if isinstance(node, Cmp):
        return _cmp(node)
    if isinstance(node, Logic):
        return _logic(node)
    if isinstance(node, In):
        return _in(node)
    if isinstance(node, Tier):
        return _tier(node)
    if isinstance(node, Call):
        return _call(node)
    raise AssertionError(f"unhandled node {type(node).__name__}")  # pragma: no cover


def _field(node: Field) -> Fn:
    name, pos = node.name, node.pos
    parts = tuple(name.split("."))

    def f(env: Env, miss: list[str]) -> Value:
        v = lookup(env, name, parts)
        if type(v) is Decimal:
            if not v.is_finite():
                raise EvalFailure(f"字段 {name} 的值 {v} 不是有限数", pos)
            return v
        if type(v) is str or type(v) is bool:
            return v
        if v is None or v is ABSENT:
            miss.append(name)
            return None
        return normalize_input(name, v, pos)

    return f


def _number(v: Value, pos: int, what: str) -> Decimal:
    if type(v) is not Decimal:
        raise EvalFailure(f"{what}需要数值,实际是{_describe(v)} {v!r}", pos)
    return v


def _boolean(v: Value, pos: int, what: str) -> bool | None:
    if v is None or type(v) is bool:
        return v  # type: ignore[return-value]
    raise EvalFailure(f"{what}需要真假值,实际是{_describe(v)} {v!r}", pos)


def _neg(node: Neg) -> Fn:
    inner, pos = compile_node(node.operand), node.pos

    def f(env: Env, miss: list[str]) -> Value:
        v = inner(env, miss)
        if v is None:
            return None
        return CTX.minus(_number(v, pos, "负号"))

    return f


def _not(node: Not) -> Fn:
    inner, pos = compile_node(node.operand), node.pos

    def f(env: Env, miss: list[str]) -> Value:
        v = _boolean(inner(env, miss), pos, "not ")
        return None if v is None else not v

    return f


def divide(a: Decimal, b: Decimal, pos: int) -> Decimal:
    """a / b rounded half away from zero to SCALE places, in integers (no double rounding)."""
    ia = int(a.quantize(QUANTUM, None, CTX).scaleb(SCALE, CTX))
    ib = int(b.quantize(QUANTUM, None, CTX).scaleb(SCALE, CTX))
    if ib == 0:
        raise EvalFailure("除数为零", pos)
    q = (2 * abs(ia) * _SCALE_FACTOR + abs(ib)) // (2 * abs(ib))
    if (ia < 0) != (ib < 0):
        q = -q
    return Decimal(q).scaleb(-SCALE, CTX)


def _arith(node: Arith) -> Fn:
    left, right, pos, op = compile_node(node.left), compile_node(node.right), node.pos, node.op
    what = f"运算 {op} "

    def f(env: Env, miss: list[str]) -> Value:
        a = left(env, miss)
        b = right(env, miss)
        if op == "/" and b is not None and _number(b, pos, what).quantize(QUANTUM, None, CTX) == 0:
            # A zero divisor is an error even when the dividend is unknown: no value
            # of the missing field could make the rule meaningful (and SQL agrees).
            raise EvalFailure("除数为零", pos)
        if a is None or b is None:
            return None
        a = _number(a, pos, what)
        b = _number(b, pos, what)
        if op == "+":
            r = CTX.add(a, b)
        elif op == "-":
            r = CTX.subtract(a, b)
        elif op == "*":
            r = CTX.multiply(a, b)
        else:
            return _checked(divide(a, b, pos), pos)
        return _checked(r.quantize(QUANTUM, None, CTX), pos)

    return f


def _cmp(node: Cmp) -> Fn:
    left, right, pos, op = compile_node(node.left), compile_node(node.right), node.pos, node.op
    what = f"比较 {op} "

    def f(env: Env, miss: list[str]) -> Value:
        a = left(env, miss)
        b = right(env, miss)
        if a is None or b is None:
            return None
        if op == "==" or op == "!=":
            if not _same_kind(a, b):
                raise EvalFailure(f"{what}两边类型不同:{_describe(a)} {a!r} 与 {_describe(b)} {b!r}", pos)
            return (a == b) if op == "==" else (a != b)
        x = _number(a, pos, what)
        y = _number(b, pos, what)
        if op == "<":
            return x < y
        if op == "<=":
            return x <= y
        if op == ">":
            return x > y
        return x >= y

    return f


def _logic(node: Logic) -> Fn:
    parts = tuple(compile_node(o) for o in node.operands)
    pos, is_and = node.pos, node.op == "and"
    what = f"{node.op} "
    # Kleene logic: for and, false dominates and unknown beats true; or is the dual.
    dominant = not is_and

    def f(env: Env, miss: list[str]) -> Value:
        unknown = False
        decided = False
        for part in parts:
            v = _boolean(part(env, miss), pos, what)
            if v is None:
                unknown = True
            elif v is dominant:
                decided = True
        if decided:
            return dominant
        return None if unknown else not dominant

    return f


def _in(node: In) -> Fn:
    needle = compile_node(node.needle)
    items = tuple(compile_node(i) for i in node.items)
    pos, negated = node.pos, node.negated

    def f(env: Env, miss: list[str]) -> Value:
        x = needle(env, miss)
        values = [item(env, miss) for item in items]
        if x is None:
            return None
        found = False
        saw_null = False
        for v in values:
            if v is None:
                saw_null = True
                continue
            if not _same_kind(x, v):
                raise EvalFailure(f"in 两边类型不同:{_describe(x)} {x!r} 与 {_describe(v)} {v!r}", pos)
            if x == v:
                found = True
        # SQL: x IN (…, NULL) is NULL unless x matched, and NOT IN is its negation.
        if found:
            return not negated
        if saw_null:
            return None
        return negated

    return f


def _tier(node: Tier) -> Fn:
    x_fn = compile_node(node.x)
    bounds = list(node.bounds)
    values = tuple(compile_node(v) for v in node.values)
    default = compile_node(node.default)
    pos = node.pos

    def f(env: Env, miss: list[str]) -> Value:
        x = x_fn(env, miss)
        if x is None:
            return None
        idx = bisect_right(bounds, _number(x, pos, "tier 的第一个参数")) - 1
        return default(env, miss) if idx < 0 else values[idx](env, miss)

    return f


def _call(node: Call) -> Fn:
    args = tuple(compile_node(a) for a in node.args)
    pos, func = node.pos, node.func
    what = f"函数 {func} "

    if func == "if":
        cond, then, other = args

        def f_if(env: Env, miss: list[str]) -> Value:
            c = _boolean(cond(env, miss), pos, "if 的条件")
            if c is True:
                return then(env, miss)
            if c is False:
                return other(env, miss)
            a = then(env, miss)
            b = other(env, miss)
            if a is not None and b is not None and _same_kind(a, b) and a == b:
                return a
            return None

        return f_if

    if func == "coalesce":

        def f_coalesce(env: Env, miss: list[str]) -> Value:
            for arg in args:
                v = arg(env, miss)
                if v is not None:
                    return v
            return None

        return f_coalesce

    if func in ("min", "max"):
        pick = min if func == "min" else max

        def f_minmax(env: Env, miss: list[str]) -> Value:
            values = [arg(env, miss) for arg in args]
            if any(v is None for v in values):
                return None
            return pick(_number(v, pos, what) for v in values)

        return f_minmax

    (only,) = args
    if func == "floor":
        rounding = ROUND_FLOOR
    elif func == "round_yuan":
        rounding = ROUND_HALF_UP
    else:

        def f_abs(env: Env, miss: list[str]) -> Value:
            v = only(env, miss)
            return None if v is None else CTX.abs(_number(v, pos, what))

        return f_abs

    def f_round(env: Env, miss: list[str]) -> Value:
        v = only(env, miss)
        if v is None:
            return None
        return _number(v, pos, what).quantize(_ONE, rounding, CTX)

    return f_round
