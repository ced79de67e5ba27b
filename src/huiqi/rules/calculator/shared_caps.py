"""Enterprise-level ceilings shared by several rules (and earlier years' awards)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from huiqi.rules.calculator.environment import ProfileView
from huiqi.rules.calculator.evaluate import Work
from huiqi.rules.calculator.formatting import chain_step, fmt_money
from huiqi.rules.calculator.history import as_int, history_matches, money_value
from huiqi.rules.calculator.plan import Plan, cap_group

__all__ = ["apply_shared_caps", "capped_ceiling", "prior_awards"]

_ZERO = Decimal(0)

def prior_awards(view: ProfileView, on: date, plan: Plan, group: str, scope: str) -> Decimal:
    """Awards already received that count against a shared ceiling (this year, or ever)."""
    prior = Decimal(0)
    for h in history_matches(view, plan.cap_groups.get(group, set()), group):
        if scope == "enterprise" or as_int(h.get("year")) == on.year:
            prior += money_value(h.get("amount"))
    return prior


def capped_ceiling(w: Work, view: ProfileView, on: date, plan: Plan) -> Decimal:
    """The most ``w`` can pay once every cap that applies to it has bitten.

    Award caps are already inside ``w.amount``; the enterprise-level ceilings of its
    shared-cap groups (less what earlier years used) are applied here, so that a group
    winner is chosen on what it would really pay (临海 二/十: 5% of 7000万 = 350万 is
    capped at 200万 and loses to 10% capped at 300万).
    """
    amount = w.amount or _ZERO
    for pc in w.pr.caps:
        scope = pc.cap.scope
        if scope not in ("enterprise_year", "enterprise"):
            continue
        cap_value, _ = pc.pexpr.evaluate(w.subject.env)
        if not isinstance(cap_value, Decimal):
            continue
        room = max(cap_value - prior_awards(view, on, plan, cap_group(pc.cap, w.pr.rule), scope), _ZERO)
        amount = min(amount, room)
    return amount


def apply_shared_caps(works: list[Work], view: ProfileView, on: date, plan: Plan) -> None:
    """enterprise_year / enterprise caps, allocated in rule order; fund caps only noted."""
    used: dict[str, Decimal] = {}
    for w in works:
        for pc in w.pr.caps:
            scope = pc.cap.scope
            if scope == "fund" and w.status == "granted":
                v, _ = pc.pexpr.evaluate(w.subject.env)
                w.caps_applied.append(f"{pc.cap.label or '资金总额'}上限 {fmt_money(v if isinstance(v, Decimal) else None)}"
                                      "(按全部申报统筹,单企业计算不扣减)")
                continue
            if scope not in ("enterprise_year", "enterprise") or w.status != "granted" or w.amount is None:
                continue
            group = cap_group(pc.cap, w.pr.rule)
            if group not in used:
                # Awards already received count against the same ceiling.
                used[group] = prior_awards(view, on, plan, group, scope)
            cap_value, _ = pc.pexpr.evaluate(w.subject.env)
            if not isinstance(cap_value, Decimal):
                continue
            remaining = max(cap_value - used[group], _ZERO)
            label = pc.cap.label or ("同一企业同一年度" if scope == "enterprise_year" else "同一企业") + f"最高{fmt_money(cap_value)}"
            if w.amount > remaining:
                w.caps_applied.append(
                    f"{label}:已分配 {fmt_money(used[group])},本项由 {fmt_money(w.amount)} 调减为 {fmt_money(remaining)}")
                w.formula = chain_step(w.formula, f"受{label}限制(已分配 {fmt_money(used[group])})", remaining)
                w.amount = remaining
            else:
                w.caps_applied.append(f"{label}:已分配 {fmt_money(used[group])},本项未受限")
            used[group] += w.amount
            if w.amount <= 0:
                w.status = "stacked_out"
                w.reason = f"{label}已用完"
