"""The one list of mechanisms, in the order the calculator and the engines apply them.

Both sides iterate :data:`MECHANISMS`:

* the calculator (``huiqi.rules.calculator.report``) runs every ``apply`` over the
  results of one profile, in order, after each rule has been evaluated alone;
* the SQL compiler (``huiqi.engines.compile``) runs every ``window_sql`` to chain the
  window passes over the rows of rules that other rows can change.

The gate (validity/jurisdiction) and rank/quota decide single results rather than
adjust finished ones: the calculator calls their Python halves while it evaluates a
rule (``rule_gate``; the cohort's decisions from ``huiqi.rules.cohort``), so their
``apply`` is None. A mechanism without an SQL twin says what the engines do instead
(``engines``). Adding a mechanism: one module with both halves, its tests, and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from huiqi.rules.calculator.evaluate import Work
from huiqi.rules.mechanisms import history, rank_quota, shared_caps, stacking
from huiqi.rules.mechanisms.context import Calculation
from huiqi.rules.mechanisms.sql import SqlCompiler, WindowFlow, WindowPlan

__all__ = ["MECHANISMS", "Mechanism", "by_name"]

Stage = Literal["gate", "cohort", "between"]


@dataclass(frozen=True)
class Mechanism:
    name: str
    stage: Stage  # gate: before a rule's conditions; cohort: decides a rule over applicants; between: adjusts results
    summary: str
    python: str  # the calculator's half (module.function), for the reader
    sql: str | None  # the engines' half, or None: no SQL twin
    engines: str  # what the population engines do
    apply: Callable[[list[Work], Calculation], None] | None = None
    window_sql: Callable[[SqlCompiler, WindowFlow, WindowPlan], None] | None = None

    @property
    def has_sql(self) -> bool:
        return self.sql is not None


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism(
        "jurisdiction", "gate", "validity window, then the rule's area (levels, districts, excluded areas)",
        "huiqi.rules.mechanisms.jurisdiction.rule_gate", "huiqi.rules.mechanisms.jurisdiction.jurisdiction_sql",
        "one gate per distinct jurisdiction, evaluated per distinct region (region_gates) and joined"),
    Mechanism(
        "rank_quota", "cohort", "排名奖励 / 名额: places decided over every applicant",
        "huiqi.rules.cohort.population_decisions", "huiqi.rules.mechanisms.rank_quota.rank_quota_sql",
        "the population is the cohort: a window numbers each rule's entrants per group",
        window_sql=rank_quota.window_sql),
    Mechanism(
        "history", "between", "once / once_per_level / exclusive against awards already received; staged payments",
        "huiqi.rules.mechanisms.history.apply", None,
        "no SQL twin: a population carries no award history, so the engines treat it as none "
        "(once/once_per_level only among the results of the same run; staged totals paid in full)",
        apply=history.apply),
    Mechanism(
        "stacking", "between", "max_in_group / exclusive / once / once_per_level among this run's grants, "
        "winner on its amount after caps",
        "huiqi.rules.mechanisms.stacking.apply", "huiqi.rules.mechanisms.stacking.stacking_sql",
        "one window pass per group whose members can meet within an enterprise",
        apply=stacking.apply, window_sql=stacking.window_sql),
    Mechanism(
        "shared_caps", "between", "enterprise / enterprise_year ceilings shared by rules and projects, in rule order",
        "huiqi.rules.mechanisms.shared_caps.apply", "huiqi.rules.mechanisms.shared_caps.shared_cap_sql",
        "a cumulative window per ceiling (row-local when one enterprise rule is its only user); constant ceilings only",
        apply=shared_caps.apply, window_sql=shared_caps.window_sql),
)


def by_name(name: str) -> Mechanism:
    for m in MECHANISMS:
        if m.name == name:
            return m
    raise KeyError(name)
