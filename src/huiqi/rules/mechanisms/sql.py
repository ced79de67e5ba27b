"""SQL vocabulary shared by the compiler and the mechanisms' SQL halves: dialect, status codes, masks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from huiqi.errors import RuleError
from huiqi.rules.expr_sql import sql_string

if TYPE_CHECKING:
    from huiqi.rules.calculator.plan import PRule
    from huiqi.rules.mechanisms.shared_caps import CapPass
    from huiqi.rules.mechanisms.stacking import StackPass

__all__ = ["DEC", "STATUSES", "Dialect", "SqlCompiler", "SqlDialect", "WindowFlow", "WindowPlan", "or_masks", "status_code"]

Dialect = Literal["duckdb", "spark"]
DEC = "DECIMAL(38,6)"
# Status codes of the stored results (one byte per row instead of a string).
STATUSES = ("granted", "stacked_out", "not_eligible", "undecided", "not_in_force", "out_of_jurisdiction", "lead")


def status_code(status: str) -> str:
    """The status code literal (``status_code('granted')`` → ``0``)."""
    return str(STATUSES.index(status))


def or_masks(parts: Sequence[str]) -> str:
    """Bitwise OR of BIGINT masks (a field read twice sets its bit once)."""
    if not parts:
        return "CAST(0 AS BIGINT)"
    return "CAST(" + " | ".join(f"({p})" for p in parts) + " AS BIGINT)"


class SqlDialect:
    """What differs between DuckDB and Spark SQL in the generated queries."""

    def __init__(self, dialect: Dialect) -> None:
        if dialect not in ("duckdb", "spark"):
            raise RuleError(f"不支持的 SQL 方言 {dialect!r}(可用:duckdb、spark)")
        self.name = dialect
        self.spark = dialect == "spark"

    def ident(self, name: str) -> str:
        if self.spark:
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def string(self, value: str) -> str:
        return sql_string(value, self.name)

    def type(self, sql_type: str) -> str:
        if self.spark:
            return {"VARCHAR": "STRING", "VARCHAR[]": "ARRAY<STRING>"}.get(sql_type, sql_type)
        return sql_type

    def decimal(self, value: Decimal) -> str:
        return f"CAST({format(value, 'f')} AS {DEC})"

    def literal(self, value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | Decimal):
            return self.decimal(Decimal(value))
        return self.string(str(value))

    @staticmethod
    def is_false(x: str) -> str:
        # Spark has no ``IS FALSE`` in every version; COALESCE works in both engines.
        return f"COALESCE(NOT ({x}), FALSE)"

    @staticmethod
    def is_true(x: str) -> str:
        return f"COALESCE({x}, FALSE)"

    def to_bigint(self, x: str) -> str:
        """Truncate toward zero like Python's int() (DuckDB's cast would round)."""
        return f"CAST({x} AS BIGINT)" if self.spark else f"CAST(trunc({x}) AS BIGINT)"

    def array(self, items: Sequence[str]) -> str:
        body = ", ".join(items)
        return f"array({body})" if self.spark else f"[{body}]"

    def struct(self, fields: Sequence[tuple[str, str]]) -> str:
        if self.spark:
            return "named_struct(" + ", ".join(f"'{k}', {v}" for k, v in fields) + ")"
        return "struct_pack(" + ", ".join(f"{k} := {v}" for k, v in fields) + ")"

    @property
    def explode(self) -> str:
        return "explode" if self.spark else "unnest"


class SqlCompiler(Protocol):
    """What a mechanism's SQL half may ask of the compiler (huiqi.engines.compile)."""

    d: SqlDialect

    def const_value(self, expr: Any, what: str, pr: Any) -> Decimal | None: ...

    def field_bits(self, index: int) -> tuple[str, ...]: ...

    def always_missing(self, name: str) -> bool: ...


class WindowFlow:
    """The window passes as a chain of CTEs over the active rows.

    Every pass reads the previous CTE and keeps the same columns (``cols``): ``__st`` status
    code, ``__amt`` amount, ``__mm`` missing mask, ``__ri`` rule index, ``__pid`` project,
    ``__nm`` name, ``__pe``/``__pk``/``__pg`` rank entrant/key/group, level columns.
    """

    def __init__(self, source: str, cols: list[str]) -> None:
        self.ctes = [f"u0 AS ({source})"]
        self.prev = "u0"
        self.cols = cols

    def add(self, name: str, body: str, replaced: dict[str, str], alias: str) -> None:
        """A pass: ``body`` selects ``*`` plus helper columns from :attr:`prev`; ``replaced`` rewrites columns."""
        select = [replaced.get(c, c) for c in self.cols]
        self.ctes.append(f"{name} AS (SELECT {', '.join(select)} FROM ({body}) AS {alias})")
        self.prev = name


@dataclass
class WindowPlan:
    """Which rules and groups need the window passes (the compiler's classification)."""

    population_rules: list[PRule] = field(default_factory=list)
    stack_passes: list[StackPass] = field(default_factory=list)
    cap_passes: list[CapPass] = field(default_factory=list)
