"""The decision at round close: who is supported and with how much.

Three steps, each reusing existing code and each leaving a reason the enterprise sees:

1. **Rules over the cohort** (:func:`evaluate_claims`): every application still standing
   (审核通过) is calculated with :func:`huiqi.rules.cohort.apply_cohort`, so rank rules
   (全市前三名) and rule quotas (每县推荐两家) are decided over all applicants of the round.
   The claim is the calculator's amount for the application's rule and subject, lowered to
   the amount the department fixed when it adjusted (never raised: adjust is bounded).
2. **The round's own quota** (:func:`apply_round_quota`): e.g. two per county. Inside a
   group the larger claims keep their place; ties go to the earlier submission.
3. **The fund pool** (:func:`allocate_pool`): :func:`huiqi.simulation.allocation.allocate`
   shares the pool's remaining balance by the round's method (pro rata with the largest
   remainder, by rank, first come). A claim that gets nothing is declined with the reason
   资金池余额不足; a partial one is supported with the reduced amount and says so.

Pure functions over plain data: the service runs them inside the close transaction and
writes their result (decisions + ledger rows) all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from huiqi.rules.calculator import fmt_money
from huiqi.rules.cohort import apply_cohort
from huiqi.simulation.allocation import METHOD_LABELS, allocate
from huiqi.workflow.model import QUOTA_PER_LABELS, QuotaSpec

__all__ = ["Candidate", "Claim", "RoundDecision", "allocate_pool", "apply_round_quota", "decide_round",
           "evaluate_claims"]


@dataclass
class Candidate:
    """One application standing at close."""

    key: int  # application id
    profile: Any  # huiqi.profile.Profile
    rule: str
    subject: str  # "enterprise" or a project id
    county: str | None
    district: str | None
    order: int  # submission order (first come)
    approved: int | None = None  # amount fixed by the department (adjust), None = the calculator's


@dataclass
class Claim:
    """A candidate's outcome so far: the amount claimed and, once decided, allocated."""

    key: int
    rule: str
    county: str | None
    district: str | None
    order: int
    claim: int = 0
    allocated: int = 0
    supported: bool = True
    reason: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class RoundDecision:
    claims: list[Claim]
    balance_before: int
    method: str

    @property
    def demand(self) -> int:
        return sum(c.claim for c in self.claims if c.supported or c.allocated)

    @property
    def allocated(self) -> int:
        return sum(c.allocated for c in self.claims)

    @property
    def balance_after(self) -> int:
        return self.balance_before - self.allocated


def evaluate_claims(rulebase: Any, candidates: Sequence[Candidate], on: date) -> list[Claim]:
    """Calculate every candidate with rank/quota rules decided over the whole cohort."""
    if not candidates:
        return []
    rules = sorted({c.rule for c in candidates})
    reports = apply_cohort(rulebase, [c.profile for c in candidates], on, policies=rules)
    out: list[Claim] = []
    for cand, report in zip(candidates, reports, strict=True):
        claim = Claim(cand.key, cand.rule, cand.county, cand.district, cand.order)
        result = report.find(cand.rule, cand.subject)
        if result is None:
            claim.supported, claim.reason = False, f"计算结果中没有规则 {cand.rule} 的项目 {cand.subject}"
        elif result.status != "granted" or result.amount is None:
            claim.supported = False
            claim.reason = f"批次评审:{result.reason or '不符合条件'}"
        else:
            amount = result.amount
            if cand.approved is not None and cand.approved < amount:
                claim.notes.append(f"按主管部门核定金额 {fmt_money(cand.approved)}(计算金额 {fmt_money(amount)})")
                amount = cand.approved
            claim.claim = amount
            if result.upper_bound:
                claim.notes.append(f"计算金额为上限(最高 {fmt_money(result.amount)})")
            if result.formula:
                claim.notes.append(result.formula)
            claim.reason = result.reason
            if amount <= 0:
                claim.supported, claim.reason = False, "核定金额为0"
        out.append(claim)
    return out


def _group(claim: Claim, per: str) -> str | None:
    if per == "county":
        return claim.county
    if per == "district":
        return claim.district
    return claim.county or claim.district


def apply_round_quota(claims: list[Claim], quota: QuotaSpec | None) -> None:
    """Keep at most ``quota.limit`` supported claims per group (larger claim first, then earlier)."""
    if quota is None:
        return
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        if c.supported:
            g = _group(c, quota.per)
            if g is None:
                if quota.per != "region":
                    continue  # quota per county does not touch the city's own districts
                g = "未填写地区"
            groups.setdefault(g, []).append(c)
    label = QUOTA_PER_LABELS[quota.per]
    for g, members in groups.items():
        members.sort(key=lambda c: (-c.claim, c.order))
        for pos, c in enumerate(members):
            if pos >= quota.limit:
                c.supported = False
                c.reason = (f"名额已满:本批次{label}限{quota.limit}家,{g}共{len(members)}家,"
                            f"按金额排第{pos + 1}名")


def allocate_pool(claims: list[Claim], balance: int, method: str) -> RoundDecision:
    """Share ``balance`` among the supported claims by ``method`` (exact to the yuan)."""
    live = sorted((c for c in claims if c.supported), key=lambda c: c.order)
    shares = allocate([c.claim for c in live], balance, method, None)  # type: ignore[arg-type]
    demand = sum(c.claim for c in live)
    for c, share in zip(live, shares, strict=True):
        c.allocated = share
        if share == 0:
            c.supported = False
            c.reason = (f"资金池余额不足:需求合计 {fmt_money(demand)},余额 {fmt_money(balance)},"
                        f"分配方法:{METHOD_LABELS[method]},未分到资金")
        elif share < c.claim:
            c.notes.append(f"资金池超额(需求 {fmt_money(demand)},余额 {fmt_money(balance)}),"
                           f"分配方法:{METHOD_LABELS[method]},分得 {fmt_money(share)}(申请 {fmt_money(c.claim)})")
    return RoundDecision(claims, balance, method)


def decide_round(rulebase: Any, candidates: Sequence[Candidate], on: date, *, quota: QuotaSpec | None,
                 method: str, balance: int) -> RoundDecision:
    """Steps 1–3 for an application round."""
    claims = evaluate_claims(rulebase, candidates, on)
    apply_round_quota(claims, quota)
    return allocate_pool(claims, balance, method)
