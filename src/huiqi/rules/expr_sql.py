"""SQL backend: one scalar SQL expression per rule expression, for DuckDB or Spark SQL.

SQL NULL stands for UNKNOWN. SQL's AND/OR/NOT, comparisons and IN already follow the
same three-valued (Kleene) logic as the Python backend; the places where SQL differs
are rewritten here:

* min/max: LEAST/GREATEST skip NULLs in both engines, ours propagate them → CASE.
* if with unknown condition: ours yields the branch value when both branches agree
  → an extra ``WHEN a IS NOT DISTINCT FROM b`` arm.
* tier: a NULL x would fall through every WHEN to the ELSE → explicit ``IS NULL`` arm.
* division: DuckDB turns DECIMAL/DECIMAL into DOUBLE, so the quotient is computed in
  HUGEINT fixed point with half-away-from-zero rounding; Spark's DECIMAL division
  already rounds HALF_UP to scale 6 for DECIMAL(38,6) operands. Division by zero
  raises (``error()`` / ``raise_error()``) instead of SQL's silent NULL.
* every arithmetic result is ``CAST(… AS DECIMAL(38,6))``, the rounding point the
  Python backend mirrors with ``quantize``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from huiqi.errors import RuleError
from huiqi.rules.expr_ast import (
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
)

Dialect = Literal["duckdb", "spark"]
DECIMAL = f"DECIMAL(38,{SCALE})"
# Operands are repeated inside CASE arms; a hostile 4000-character rule could
# otherwise expand exponentially.
MAX_SQL_LENGTH = 200_000
_SIMPLE_COLUMN = re.compile(r'^(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+"|`(?:[^`]|``)+`)'
                            r'(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+"|`(?:[^`]|``)+`))*$')
_CMP_SQL = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


def sql_string(value: str, dialect: Dialect) -> str:
    if dialect == "spark":
        # Spark SQL treats backslash as an escape character inside string literals.
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + value.replace("'", "''") + "'"


class SqlGenerator:
    def __init__(self, column_of: Callable[[str], str], dialect: Dialect, text: str, where: str = "") -> None:
        if dialect not in ("duckdb", "spark"):
            raise RuleError(f"不支持的 SQL 方言 {dialect!r}(可用:duckdb、spark)")
        self.column_of = column_of
        self.dialect = dialect
        self.text = text
        self.where = where  # rule file, line and field, for run-time errors
        self.columns: dict[str, str] = {}

    def gen(self, node: Node) -> str:
        sql = self._gen(node)
        if len(sql) > MAX_SQL_LENGTH:
            raise RuleError(
                f"表达式展开为 SQL 后超过{MAX_SQL_LENGTH}个字符,无法用于人口模拟",
                hint="请减少嵌套的 min/max/if/除法,或拆成多个中间参数",
            )
        return sql

    def column(self, name: str) -> str:
        if name not in self.columns:
            col = self.column_of(name)
            self.columns[name] = col if _SIMPLE_COLUMN.match(col) else f"({col})"
        return self.columns[name]

    def _gen(self, node: Node) -> str:
        if isinstance(node, Num):
            return f"CAST({format(node.value, 'f')} AS {DECIMAL})"
        if isinstance(node, Str):
            return sql_string(node.value, self.dialect)
        if isinstance(node, Bool):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node, Null):
            return "NULL"
        if isinstance(node, Field):
            return self.column(node.name)
        if isinstance(node, Neg):
            return f"(-{self.gen(node.operand)})"
        if isinstance(node, Not):
            return f"(NOT {self.gen(node.operand)})"
        if isinstance(node, Arith):
            if node.op == "/":
                return self.divide(node)
            return f"CAST(({self.gen(node.left)} {node.op} {self.gen(node.right)}) AS {DECIMAL})"
        if isinstance(node, Cmp):
            return f"({self.gen(node.left)} {_CMP_SQL[node.op]} {self.gen(node.right)})"
        if isinstance(node, Logic):
            joiner = " AND " if node.op == "and" else " OR "
            return "(" + joiner.join(self.gen(o) for o in node.operands) + ")"
        if isinstance(node, In):
            items = ", ".join(self.gen(i) for i in node.items)
            op = "NOT IN" if node.negated else "IN"
            return f"({self.gen(node.needle)} {op} ({items}))"
        if isinstance(node, Tier):
            return self.tier(node)
        if isinstance(node, Call):
            return self.call(node)
        raise AssertionError(f"unhandled node {type(node).__name__}")  # pragma: no cover

    def raise_error(self, message: str) -> str:
        func = "raise_error" if self.dialect == "spark" else "error"
        return f"{func}({sql_string(message, self.dialect)})"

    def decimal(self, node: Node) -> str:
        sql = self.gen(node)
        # Literals and arithmetic results are already DECIMAL(38,6).
        return sql if isinstance(node, Num | Arith) else f"CAST({sql} AS {DECIMAL})"

    def divide(self, node: Arith) -> str:
        a, b = self.decimal(node.left), self.decimal(node.right)
        place = f"({self.where})" if self.where else ""
        message = f"除数为零{place}:{self.text[:200]}(某企业的除数字段为 0,请检查名录中的该字段)"
        if self.dialect == "spark":
            return (f"CASE WHEN {b} = 0 THEN {self.raise_error(message)} "
                    f"ELSE CAST({a} / {b} AS {DECIMAL}) END")
        factor = 10**SCALE
        big_a = f"CAST({a} * {factor} AS HUGEINT)"
        unit = f"CAST({format(QUANTUM, 'f')} AS {DECIMAL})"
        if isinstance(node.right, Num):
            # The parser already refused a literal zero divisor; fold |B| and its sign.
            big = int(node.right.value.scaleb(SCALE))
            sign = "-" if big < 0 else ""
            quotient = (f"{sign}sign({big_a}) * "
                        f"((2 * abs({big_a}) * {factor} + {abs(big)}) // {2 * abs(big)})")
            return f"CAST(CAST({quotient} AS DECIMAL(38,0)) * {unit} AS {DECIMAL})"
        big_b = f"CAST({b} * {factor} AS HUGEINT)"
        # round half away from zero of (A·10^s)/B, in integers: ⌊(2|A|·10^s + |B|) / 2|B|⌋
        quotient = (f"sign({big_a}) * sign({big_b}) * "
                    f"((2 * abs({big_a}) * {factor} + abs({big_b})) // (2 * abs({big_b})))")
        return (f"CASE WHEN {big_b} = 0 THEN {self.raise_error(message)} "
                f"ELSE CAST(CAST({quotient} AS DECIMAL(38,0)) * {unit} AS {DECIMAL}) END")

    def null_safe_equal(self, a: str, b: str) -> str:
        if self.dialect == "spark":
            return f"({a} <=> {b})"
        return f"({a} IS NOT DISTINCT FROM {b})"

    def call(self, node: Call) -> str:
        args = [self.gen(a) for a in node.args]
        func = node.func
        if func == "if":
            cond, then, other = args
            arms = f"WHEN {cond} THEN {then} WHEN NOT {cond} THEN {other}"
            if not isinstance(node.args[1], Null) and not isinstance(node.args[2], Null):
                arms += f" WHEN {self.null_safe_equal(then, other)} THEN {then}"
            return f"CASE {arms} END"
        if func in ("min", "max"):
            any_null = " OR ".join(f"{a} IS NULL" for a in args)
            sql_func = "LEAST" if func == "min" else "GREATEST"
            return f"CASE WHEN {any_null} THEN NULL ELSE {sql_func}({', '.join(args)}) END"
        if func == "floor":
            return f"CAST(FLOOR({args[0]}) AS {DECIMAL})"
        if func == "round_yuan":
            return f"CAST(ROUND({args[0]}, 0) AS {DECIMAL})"
        if func == "abs":
            return f"ABS({args[0]})"
        if func == "coalesce":
            return f"COALESCE({', '.join(args)})"
        raise AssertionError(f"unhandled function {func}")  # pragma: no cover

    def tier(self, node: Tier) -> str:
        x = self.gen(node.x)
        arms = [f"WHEN {x} IS NULL THEN NULL"]
        for bound, value in reversed(list(zip(node.bounds, node.values, strict=True))):
            arms.append(f"WHEN {x} >= CAST({format(bound, 'f')} AS {DECIMAL}) THEN {self.gen(value)}")
        return f"CASE {' '.join(arms)} ELSE {self.gen(node.default)} END"
