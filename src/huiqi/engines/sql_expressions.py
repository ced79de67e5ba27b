"""Rule expressions → SQL over the typed population: values, and the mask of missing fields.

Values go through ``huiqi.rules.expr.to_sql`` (the same generator for every expression);
the missing-field mask mirrors what ``huiqi.rules.expr_eval`` lists as missing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from huiqi.engines.compiled_sql import COLUMN_TYPES, field_kind
from huiqi.rules.expr import Expr, to_sql
from huiqi.rules.expr_ast import (
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
)
from huiqi.rules.expr_sql import SqlGenerator
from huiqi.rules.mechanisms.sql import SqlDialect, or_masks

__all__ = ["SqlColumns", "SqlTranslator"]


class SqlColumns:
    """How expression names map to SQL: population columns, parameter constants, the date."""

    def __init__(self, d: SqlDialect, registry: Any, present: Collection[str] | None,
                 params: Mapping[str, Any], on: date) -> None:
        self.d = d
        self.registry = registry
        self.present = None if present is None else set(present)
        self.params = params
        self.on = on
        self.absent_reads: dict[str, list[str]] = {}
        self.current_rule: str | None = None

    def has(self, name: str) -> bool:
        return self.present is None or name in self.present

    def __call__(self, name: str) -> str:
        if name == "date":
            return self.d.string(self.on.isoformat())
        scope, _, rest = name.partition(".")
        if scope == "param":
            return self.d.literal(self.params.get(rest))
        if scope == "region":
            return self.d.ident(rest)
        if not self.has(name):
            if self.current_rule is not None:
                readers = self.absent_reads.setdefault(name, [])
                if self.current_rule not in readers:
                    readers.append(self.current_rule)
            sql_type = COLUMN_TYPES.get(field_kind(self.registry, name), "VARCHAR")
            return f"CAST(NULL AS {self.d.type(sql_type)})"
        return self.d.ident(name)

    def always_missing(self, name: str) -> bool:
        """Fields that are unknown for every row: absent parameters and absent columns."""
        if name == "date":
            return False
        scope, _, rest = name.partition(".")
        if scope == "param":
            return self.params.get(rest) is None
        if scope == "region":
            return False
        return not self.has(name)

    def never_missing(self, name: str) -> bool:
        if name == "date":
            return True
        scope, _, rest = name.partition(".")
        return scope == "param" and self.params.get(rest) is not None


class SqlTranslator:
    """Value SQL (via to_sql) and the SQL list of missing fields, per expression."""

    def __init__(self, d: SqlDialect, cols: SqlColumns) -> None:
        self.d = d
        self.cols = cols

    def value(self, expr: Expr) -> str:
        return to_sql(expr, self.cols, self.d.name)  # type: ignore[arg-type]

    def node(self, node: Node, text: str) -> str:
        # Sub-expressions (an if's condition, a coalesce argument) through the same
        # generator that to_sql uses for whole expressions.
        return SqlGenerator(self.cols, self.d.name, text).gen(node)  # type: ignore[arg-type]

    def missing(self, expr: Expr, bits: Mapping[str, int]) -> str:
        """BIGINT mask of the absent fields the evaluator reads (Result.missing), bit ``bits[name]``.

        Mirrors huiqi.rules.expr_eval: every operand is read, except that ``if`` reads only
        the branch its (known) condition selects, ``coalesce`` stops at the first known
        argument and ``tier`` reads only the row x falls in. Callers use it only where the
        expression's value is NULL, as the calculator lists missing fields only then.
        """
        return or_masks(self._parts(expr.ast, expr.text, bits))

    def _parts(self, n: Node, text: str, bits: Mapping[str, int]) -> list[str]:
        d = self.d
        if isinstance(n, Field):
            if self.cols.never_missing(n.name):
                return []
            bit = str(1 << bits[n.name])
            if self.cols.always_missing(n.name):
                return [bit]
            return [f"CASE WHEN {self.cols(n.name)} IS NULL THEN {bit} ELSE 0 END"]
        if isinstance(n, Num | Str | Bool | Null):
            return []
        if isinstance(n, Neg | Not):
            return self._parts(n.operand, text, bits)
        if isinstance(n, Arith | Cmp):
            return self._parts(n.left, text, bits) + self._parts(n.right, text, bits)
        if isinstance(n, Logic):
            return [p for o in n.operands for p in self._parts(o, text, bits)]
        if isinstance(n, In):
            return self._parts(n.needle, text, bits) + [p for i in n.items for p in self._parts(i, text, bits)]
        if isinstance(n, Tier):
            head = self._parts(n.x, text, bits)
            branches = [(b, self._parts(v, text, bits)) for b, v in zip(n.bounds, n.values, strict=True)]
            below = self._parts(n.default, text, bits)
            if not below and not any(p for _, p in branches):
                return head
            x = self.node(n.x, text)
            arms = [f"WHEN {x} IS NULL THEN 0"]
            for bound, parts in reversed(branches):
                arms.append(f"WHEN {x} >= {d.decimal(bound)} THEN {or_masks(parts)}")
            return [*head, f"CASE {' '.join(arms)} ELSE {or_masks(below)} END"]
        if isinstance(n, Call):
            if n.func == "if":
                cond, then, other = n.args
                head = self._parts(cond, text, bits)
                a, b = self._parts(then, text, bits), self._parts(other, text, bits)
                if not a and not b:
                    return head
                c = self.node(cond, text)
                return [*head, f"CASE WHEN {d.is_true(c)} THEN {or_masks(a)} WHEN {d.is_false(c)} "
                               f"THEN {or_masks(b)} ELSE {or_masks(a + b)} END"]
            if n.func == "coalesce":
                return self._coalesce(list(n.args), text, bits)
            return [p for a in n.args for p in self._parts(a, text, bits)]
        raise AssertionError(f"unhandled node {type(n).__name__}")  # pragma: no cover

    def _coalesce(self, args: list[Node], text: str, bits: Mapping[str, int]) -> list[str]:
        head = self._parts(args[0], text, bits)
        if len(args) == 1:
            return head
        rest = self._coalesce(args[1:], text, bits)
        if not rest:
            return head
        first = self.node(args[0], text)
        return [*head, f"CASE WHEN {first} IS NULL THEN {or_masks(rest)} ELSE 0 END"]
