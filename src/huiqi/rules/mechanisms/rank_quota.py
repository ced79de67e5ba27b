"""Mechanism: rank (排名奖励) and quota (名额) — rules decided over a cohort of applicants.

Python (calculator): :mod:`huiqi.rules.cohort` decides every applicant of a cohort
(``population_decisions``) and the calculator applies the decision to the rule's result
(``calculate(..., population=...)``). SQL (engines): :func:`rank_quota_sql` numbers the
entrants of each rule and group with a window over the whole population — the
population is the cohort. Entrants: in force, in jurisdiction, every condition true,
key and group known; order: key descending (ascending when the rank says so), ties by
enterprise name, then subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from huiqi.rules.calculator.evaluate import round_amount
from huiqi.rules.calculator.plan import PRule
from huiqi.rules.mechanisms.sql import SqlCompiler, WindowFlow, WindowPlan, status_code

__all__ = ["rank_award_outcome", "rank_quota_sql", "window_sql"]


def rank_award_outcome(compiler: SqlCompiler, pr: PRule, award: Decimal) -> tuple[str, Decimal | None, list[str]]:
    """Status/amount for a ranked place: award → award caps (constants) → rounding."""
    raw: Decimal | None = award
    missing: list[str] = []
    for pc in pr.caps:
        if pc.cap.scope != "award":
            continue
        value = compiler.const_value(pc.pexpr.expr, "排名奖励的上限", pr)
        if value is None:
            missing = [f for f in pc.pexpr.expr.fields if compiler.always_missing(f)]
            raw = None
            break
        raw = value if raw is None else min(raw, value)
    if raw is None:
        return ("undecided" if pr.rule.computable else "lead"), None, missing
    if raw <= 0:
        return "not_eligible", None, []
    mode = pr.rule.amount.rounding if pr.rule.amount is not None else "half_up"
    return "granted", Decimal(round_amount(raw, mode)), []


def rank_quota_sql(compiler: SqlCompiler, flow: WindowFlow, name: str, rules: Sequence[PRule]) -> None:
    """Rank/quota decisions over the whole population (calculator: huiqi.rules.cohort).

    A row the calculator would grant takes its decision; every other row keeps its status.
    """
    d, S = compiler.d, status_code
    ranked = "(__pe AND __pk IS NOT NULL AND __pg IS NOT NULL)"
    desc = [pr.index for pr in rules if not (pr.rule.rank is not None and not pr.rule.rank.descending)]
    key = f"CASE WHEN __ri IN ({', '.join(map(str, desc))}) THEN __pk ELSE -__pk END" if desc else "-__pk"
    pos = (f"CASE WHEN {ranked} THEN row_number() OVER (PARTITION BY __ri, {ranked}, __pg "
           f"ORDER BY {key} DESC, __nm, __pid) END AS __pos")
    st_arms, amt_arms, miss_arms = [], [], []
    for pr in rules:
        granted = f"__ri = {pr.index} AND __st = {S('granted')}"
        # A key or group that is unknown: the applicant cannot be ranked (no missing list).
        st_arms.append(f"WHEN {granted} AND NOT {ranked} THEN {S('undecided')}")
        miss_arms.append(f"WHEN {granted} AND NOT {ranked} THEN CAST(0 AS BIGINT)")
        if pr.rank_by is not None:
            for k, award in enumerate(pr.rank_awards, start=1):
                status, amount, missing = rank_award_outcome(compiler, pr, award)
                place = f"{granted} AND __pos = {k}"
                st_arms.append(f"WHEN {place} THEN {S(status)}")
                if amount is not None:
                    amt_arms.append(f"WHEN {place} THEN {d.decimal(amount)}")
                if status == "undecided":
                    bits = compiler.field_bits(pr.index)
                    mask = sum(1 << bits.index(f) for f in missing if f in bits)
                    miss_arms.append(f"WHEN {place} THEN CAST({mask} AS BIGINT)")
            st_arms.append(f"WHEN {granted} THEN {S('not_eligible')}")  # 未进入前N名
        else:
            assert pr.rule.quota is not None
            st_arms.append(f"WHEN {granted} AND __pos > {pr.rule.quota.limit} THEN {S('not_eligible')}")  # 名额已满
    body = f"SELECT *, {pos} FROM {flow.prev}"
    replaced = {
        "__st": f"CASE {' '.join(st_arms)} ELSE __st END AS __st",
        "__mm": f"CASE {' '.join(miss_arms)} ELSE __mm END AS __mm",
    }
    if amt_arms:
        replaced["__amt"] = f"CASE {' '.join(amt_arms)} ELSE __amt END AS __amt"
    flow.add(name, body, replaced, "r")


def window_sql(compiler: SqlCompiler, flow: WindowFlow, plan: WindowPlan) -> None:
    """The engines' half: the first window pass, before stacking and shared caps see the grants."""
    if plan.population_rules:
        rank_quota_sql(compiler, flow, "u1", plan.population_rules)
