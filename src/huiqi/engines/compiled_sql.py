"""What the SQL compiler produces: the compiled queries, the rules they stand for, the output contract."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from huiqi.rules.expr_sql import sql_string
from huiqi.rules.mechanisms.sql import DEC, STATUSES, Dialect

__all__ = ["COLUMN_TYPES", "CORE_COLUMNS", "OUTPUT_COLUMNS", "REGION_COLUMNS", "STAGE_PLACEHOLDER",
           "STANDARD_COLUMNS", "CompiledSql", "RuleInfo", "Staged", "field_kind"]

REGION_COLUMNS = ("province", "city", "county", "district")
STANDARD_COLUMNS = ("id", "name", "project_id", *REGION_COLUMNS)
CORE_COLUMNS = ("id", "project_id", "ri", "sc", "amount", "upper_bound", "mm", *REGION_COLUMNS)
STAGE_PLACEHOLDER = "__huiqi_stage__"
# The result relation handed to the simulation (contract: docs/simulation-contract.md).
OUTPUT_COLUMNS: tuple[str, ...] = (
    "id", "project_id", "rule", "document", "clause", "department", "kind", "beneficiary", "status",
    "amount", "upper_bound", "missing", *REGION_COLUMNS,
)

# SQL type of a field column in the typed population, by field type (fields.yaml).
COLUMN_TYPES: dict[str, str] = {
    "money": "BIGINT", "integer": "BIGINT", "number": DEC, "percent": DEC, "boolean": "BOOLEAN",
    "enum": "VARCHAR", "text": "VARCHAR", "date": "VARCHAR", "flag": "BOOLEAN",
}


def field_kind(registry: Any, path: str) -> str:
    """Column kind of a field path: money, integer, number, percent, boolean, enum, text, date, flag."""
    spec = registry.get(path) if registry is not None else None
    if spec is None:
        return "text"
    if getattr(spec, "member_of", None):
        return "flag"
    kind = str(spec.type)
    return "text" if kind == "list" else kind


# -- rule metadata -------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInfo:
    """One output rule (or pack lead) and the constants every result row of it carries."""

    index: int
    rule: str
    title: str
    document: str
    clause: str
    department: str | None
    kind: str | None
    beneficiary: str
    upper_bound: bool
    per_project: bool
    lead: bool = False
    complex: bool = False
    fields: tuple[str, ...] = ()  # reading order: bit k of the missing mask is fields[k]
    project_fields: tuple[str, ...] = ()  # missing list when an enterprise has no project


@dataclass(frozen=True)
class Staged:
    """One scan of the population, results stored compactly.

    ``first`` writes every result row except "out of the rule's area" ones, with ``__act``
    marking rows that window passes decide and their window inputs; ``windows`` (None when
    no rule needs one) reads those rows back from the table named by STAGE_PLACEHOLDER and
    decides them (rank, quota, stacking, shared caps); ``out_of_area`` produces the
    "out of area" rows from the population and the region gates whenever they are read —
    most rows of a mixed population, and nothing to compute, so they are never stored.
    """

    first: str
    windows: str | None
    out_of_area: str | None


@dataclass
class CompiledSql:
    """The SQL of one rule base for one date, dialect and population layout.

    ``parts`` are SELECTs producing ``CORE_COLUMNS``; run them one by one (INSERT) or
    together (:attr:`sql`). ``infos`` maps ``ri`` to the rule (or lead) it stands for.
    ``regions_sql`` builds the table ``region_gates`` the parts join (jurisdiction tests
    per distinct region of ``population``); engines create it before running the parts.
    """

    dialect: Dialect
    on: date
    parts: list[tuple[str, str]]
    rules: list[RuleInfo]
    leads: list[RuleInfo]
    # population column → ids of the rules that read it, for columns the population lacks
    missing_columns: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    regions_sql: str | None = None
    # The DuckDB engine's one-scan plan (see Staged); None for other layouts.
    staged: Staged | None = None

    @property
    def sql(self) -> str:
        """Everything as one statement (UNION ALL of the parts)."""
        return "\nUNION ALL\n".join(f"SELECT * FROM ({sql}) AS part{i}" for i, (_, sql) in enumerate(self.parts))

    @property
    def infos(self) -> list[RuleInfo]:
        return sorted([*self.rules, *self.leads], key=lambda i: i.index)

    def results_view(self, core: str) -> str:
        """DuckDB SELECT turning stored core rows into the contract columns (constant lists indexed by ri)."""
        size = max((i.index for i in self.infos), default=-1) + 1
        table: list[RuleInfo | None] = [None] * size
        for info in self.infos:
            table[info.index] = info

        def lst(get: Callable[[RuleInfo], str | None]) -> str:
            items = ["NULL" if i is None or get(i) is None else sql_string(str(get(i)), "duckdb") for i in table]
            return f"CAST([{', '.join(items)}] AS VARCHAR[])" if items else "CAST([] AS VARCHAR[])"

        def lists(get: Callable[[RuleInfo], Sequence[str]]) -> str:
            items = ["[" + ", ".join(sql_string(f, "duckdb") for f in (get(i) if i else ())) + "]" for i in table]
            return f"CAST([{', '.join(items)}] AS VARCHAR[][])" if items else "CAST([] AS VARCHAR[][])"

        status = "[" + ", ".join(sql_string(s, "duckdb") for s in STATUSES) + "]"
        missing = (f"CASE WHEN mm IS NULL THEN NULL WHEN mm = -1 THEN {lists(lambda i: i.project_fields)}[ri + 1] "
                   f"ELSE list_filter({lists(lambda i: i.fields)}[ri + 1], "
                   f"lambda __f, __i: (mm >> (__i - 1)) & 1 = 1) END")
        cols = [
            "id", "project_id",
            f"{lst(lambda i: i.rule)}[ri + 1] AS rule", f"{lst(lambda i: i.document)}[ri + 1] AS document",
            f"{lst(lambda i: i.clause)}[ri + 1] AS clause", f"{lst(lambda i: i.department)}[ri + 1] AS department",
            f"{lst(lambda i: i.kind)}[ri + 1] AS kind", f"{lst(lambda i: i.beneficiary)}[ri + 1] AS beneficiary",
            f"{status}[sc + 1] AS status", "amount", "upper_bound", f"{missing} AS missing", *REGION_COLUMNS,
        ]
        return f"SELECT {', '.join(cols)} FROM {core}"
