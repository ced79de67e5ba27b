"""AST of the rule expression language (see ``huiqi.rules.expr`` for the grammar).

Nodes are frozen dataclasses so a compiled rule can be shared between threads and
cached; ``depth`` is computed once at construction so the parser can refuse deep
trees before any recursive pass (compiler, SQL generator) could overflow the stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Literal

from huiqi.errors import RuleError

# Limits are part of the language definition: a rule file that loads on one machine
# must load on every machine, so they are constants, not settings.
MAX_TEXT_LENGTH = 4000
MAX_STRING_LENGTH = 1000
MAX_DEPTH = 64
MAX_INT_DIGITS = 30
# Every number is a fixed-point decimal with this many places, which is what the SQL
# backends store (DECIMAL(38, 6)); percentages like 0.035% still fit.
SCALE = 6
# DECIMAL(38,6) × DECIMAL(38,6) is DECIMAL(38,12) in DuckDB and overflows from 10^26
# on; keeping the Python backend to the same range keeps the backends in agreement.
MAX_ABS = Decimal(10) ** 26
# Wide enough that + - * of in-range values are exact; rounding happens only where the
# language says so (quantize to SCALE places, half away from zero like SQL's CAST).
CTX = Context(prec=100, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])
QUANTUM = Decimal(1).scaleb(-SCALE)


def tidy(value: Decimal) -> Decimal:
    """Canonical form: integers without exponent or trailing zeros, fractions normalized."""
    if value == value.to_integral_value(None, CTX):
        return value.quantize(Decimal(1), None, CTX)
    return value.normalize(CTX)

Unit = Literal["money", "percent", "number"]
Value = Decimal | bool | str | None

FUNCTIONS: tuple[str, ...] = ("if", "min", "max", "floor", "round_yuan", "abs", "coalesce", "tier")
# ``lookup`` is how the project brief names the tier table; both spell the same function.
FUNCTION_ALIASES: dict[str, str] = {"lookup": "tier"}


class ExprEvalError(RuleError):
    """Evaluating a valid expression failed on particular data (e.g. division by zero)."""


@dataclass(frozen=True, slots=True)
class Node:
    pos: int = field(compare=False)
    depth: int = field(init=False, compare=False, repr=False, default=1)

    def children(self) -> tuple[Node, ...]:
        return ()

    def __post_init__(self) -> None:
        kids = self.children()
        if kids:
            object.__setattr__(self, "depth", 1 + max(k.depth for k in kids))


@dataclass(frozen=True, slots=True)
class Num(Node):
    value: Decimal
    unit: Unit = "number"
    # Source spelling ("500万元") so explanations quote the rule as its author wrote it.
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Str(Node):
    value: str


@dataclass(frozen=True, slots=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True, slots=True)
class Null(Node):
    pass


@dataclass(frozen=True, slots=True)
class Field(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Neg(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


ArithOp = Literal["+", "-", "*", "/"]
CmpOp = Literal["<", "<=", ">", ">=", "==", "!="]


@dataclass(frozen=True, slots=True)
class Arith(Node):
    op: ArithOp
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Cmp(Node):
    op: CmpOp
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Logic(Node):
    """``and`` / ``or`` over two or more operands (chains are flattened, not nested)."""

    op: Literal["and", "or"]
    operands: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True, slots=True)
class In(Node):
    needle: Node
    items: tuple[Node, ...]
    negated: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.needle, *self.items)


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A whitelisted function other than ``tier``; ``func`` is the canonical name."""

    func: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(frozen=True, slots=True)
class Tier(Node):
    """Step function: the value of the last row whose lower bound is <= x."""

    x: Node
    bounds: tuple[Decimal, ...]
    values: tuple[Node, ...]
    default: Node
    bound_texts: tuple[str, ...] = field(default=(), compare=False)
    bound_units: tuple[Unit, ...] = field(default=(), compare=False)

    def children(self) -> tuple[Node, ...]:
        return (self.x, *self.values, self.default)


def walk(node: Node) -> list[Node]:
    """All nodes, parents first (iterative: depth is bounded, but be frugal anyway)."""
    out: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children()))
    return out


def field_names(node: Node) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for n in walk(node):
        if isinstance(n, Field):
            seen.setdefault(n.name, None)
    return tuple(seen)
