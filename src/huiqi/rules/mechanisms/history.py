"""Mechanism: awards already received — once / once_per_level / exclusive, and staged payments.

Python only. The population engines have no SQL twin: a population carries no award
history, so the engines treat every enterprise as having none (stacking ``once`` and
``once_per_level`` act only among the results of the same run, as in a calculation
without history). See the registry entry in :mod:`huiqi.rules.mechanisms.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from huiqi.rules.calculator.environment import ProfileView
from huiqi.rules.calculator.evaluate import Work
from huiqi.rules.calculator.formatting import chain_step, fmt_money, quote_suffix
from huiqi.rules.calculator.plan import Plan, PRule, parse_param_value
from huiqi.rules.mechanisms.context import Calculation

__all__ = ["apply", "apply_history_stacking", "apply_staged_payments", "as_int", "history_blocks", "history_matches",
           "money_value", "rule_title"]

_ZERO = Decimal(0)

def as_int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def money_value(v: Any) -> Decimal:
    if v is None:
        return _ZERO
    if isinstance(v, int | Decimal) and not isinstance(v, bool):
        return Decimal(v)
    parsed = parse_param_value(str(v))
    return parsed if isinstance(parsed, Decimal) else _ZERO


def rule_title(plan: Plan, rule_id: str) -> str:
    for pr in plan.rules:
        if pr.rule.id == rule_id:
            return pr.rule.title
    return rule_id


def history_matches(view: ProfileView, rule_ids: set[str], group: str | None = None) -> list[dict[str, Any]]:
    # A history entry names the rule it came from, or (for awards that predate the
    # rule packs) the stacking/cap group itself.
    return [h for h in view.history if str(h.get("rule")) in rule_ids or (group and str(h.get("rule")) == group)]


def history_blocks(pr: PRule, env: Mapping[str, Any], view: ProfileView, on: date, plan: Plan) -> bool:
    """Would awards already received rule this grant out (the tests of apply_history_stacking)?"""
    for ps in pr.stacks:
        st = ps.stacking
        hits = history_matches(view, plan.stack_groups.get(st.group, set()), st.group)
        if not hits:
            continue
        if st.mode == "once":
            return True
        if st.mode == "once_per_level" and ps.level is not None:
            level, _ = ps.level.evaluate(env)
            if level is not None and any(str(h.get("level")) == str(level) for h in hits):
                return True
        if st.mode == "exclusive" and any(as_int(h.get("year")) == on.year for h in hits):
            return True
    return False


def apply(works: list[Work], calc: Calculation) -> None:
    """The calculator's half (the only one): stacking against earlier awards, then staged payments."""
    apply_history_stacking(works, calc.view, calc.on, calc.plan)
    apply_staged_payments(works, calc.view)


def apply_history_stacking(works: list[Work], view: ProfileView, on: date, plan: Plan) -> None:
    """once / once_per_level / exclusive against awards already received."""
    if not view.history:
        return
    for w in works:
        if w.status not in ("granted", "undecided"):
            continue
        for ps in w.pr.stacks:
            st = ps.stacking
            group_rules = plan.stack_groups.get(st.group, set())
            hits = history_matches(view, group_rules, st.group)
            if not hits:
                continue
            if st.mode == "once":
                h = hits[0]
                w.status, w.amount = "not_eligible", None
                w.reason = f"已享受:{h.get('year', '')}年已获「{rule_title(plan, str(h.get('rule')))}」,同类支持只享受一次"
                w.stacking.append(w.reason + quote_suffix(st))
                break
            if st.mode == "once_per_level":
                level = w.levels.get(st.group)
                if ps.level is not None and level is None and w.status == "granted":
                    lv, _ = ps.level.evaluate(w.subject.env)
                    level = None if lv is None else str(lv)
                same = [h for h in hits if level is not None and str(h.get("level")) == level]
                if same:
                    h = same[0]
                    w.status, w.amount = "not_eligible", None
                    w.reason = (f"已享受:{h.get('year', '')}年已获{level}「{rule_title(plan, str(h.get('rule')))}」,"
                                "同一企业同一级别只享受一次")
                    w.stacking.append(w.reason + quote_suffix(st))
                    break
            if st.mode == "exclusive":
                same_year = [h for h in hits if as_int(h.get("year")) == on.year]
                if same_year and w.status == "granted":
                    h = same_year[0]
                    w.status, w.amount = "stacked_out", None
                    w.reason = (f"本年度已享受「{rule_title(plan, str(h.get('rule')))}」,"
                                f"{st.note or '同一项目只能享受一次补助'}")
                    w.stacking.append(w.reason + quote_suffix(st))
                    break


def apply_staged_payments(works: list[Work], view: ProfileView) -> None:
    """A fixed total paid in stages (分阶段补助300万元): the stages already paid (history
    entries of the rule) are listed and deducted; the result is what is still to be paid."""
    for w in works:
        amount = w.pr.rule.amount
        if amount is None or amount.paid_in_stages is None or w.status != "granted" or w.amount is None:
            continue
        total = int(w.amount)
        history = sorted((h for h in view.history if str(h.get("rule")) == w.pr.rule.id),
                         key=lambda h: as_int(h.get("year")) or 0)
        stages: list[dict[str, Any]] = [
            {"label": f"{h.get('year', '')}年已拨付" if h.get("year") else "已拨付",
             "amount": int(money_value(h.get("amount"))), "year": as_int(h.get("year")), "paid": True}
            for h in history]
        paid = sum(int(st["amount"]) for st in stages)
        remaining = max(total - paid, 0)
        if remaining:
            stages.append({"label": "待拨付(后续阶段)", "amount": remaining, "year": None, "paid": False})
        w.stages = {"total": total, "paid": paid, "remaining": remaining, "stages": stages,
                    "note": amount.paid_in_stages.note}
        if paid:
            w.formula = chain_step(w.formula, "减去已拨付的阶段", Decimal(remaining))
        if remaining <= 0:
            w.status, w.amount = "not_eligible", None
            w.reason = f"分阶段补助合计 {fmt_money(total)} 已全部拨付"
        else:
            w.amount = Decimal(remaining)
