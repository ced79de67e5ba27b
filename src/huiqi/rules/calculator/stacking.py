"""Stacking inside one calculation: max_in_group / exclusive / once / once_per_level."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from huiqi.rules.calculator.environment import ENTERPRISE
from huiqi.rules.calculator.evaluate import Work
from huiqi.rules.calculator.formatting import fmt_money, quote_suffix
from huiqi.rules.model import Stacking

__all__ = ["apply_group_stacking"]

def apply_group_stacking(works: list[Work], capped: Callable[[Work], Decimal]) -> None:
    """max_in_group / exclusive / once / once_per_level among this calculation's grants.

    ``capped(w)`` is what ``w`` pays after all its caps: the winner is chosen on that,
    never on the amount before a shared ceiling.
    """
    groups: dict[tuple[str, ...], list[tuple[Work, Stacking]]] = {}
    for w in works:
        if w.status != "granted":
            continue
        for ps in w.pr.stacks:
            st = ps.stacking
            if st.mode in ("max_in_group", "exclusive"):
                scope = w.subject.id if w.pr.per_project else ENTERPRISE
                key: tuple[str, ...] = (st.mode, st.group, scope)
            elif st.mode == "once":
                key = (st.mode, st.group)
            else:
                key = (st.mode, st.group, w.levels.get(st.group) or "")
            groups.setdefault(key, []).append((w, st))
    for members in groups.values():
        alive = [(w, st) for w, st in members if w.status == "granted"]
        if len(alive) < 2:
            continue
        # Highest amount after caps wins; ties go to the earlier rule (pack order), then subject.
        value = {id(w): capped(w) for w, _ in alive}
        winner, _ = max(alive, key=lambda ws: (value[id(ws[0])], -ws[0].pr.index))
        compared = "、".join(f"「{w.pr.rule.title}」{fmt_money(value[id(w)])}" for w, _ in alive)
        for w, st in alive:
            if w is winner:
                w.stacking.append(f"与同组({st.group})其他支持不叠加,按各项受上限约束后的金额比较({compared}),"
                                  "本项金额最高,予以保留")
                continue
            w.status = "stacked_out"
            who = winner.pr.rule.title + (f"(项目 {winner.subject.id})" if winner.pr.per_project else "")
            if st.mode == "exclusive":
                why = st.note or "同一项目只能享受一次补助"
            elif st.mode == "max_in_group":
                why = st.note or "不重复享受,按就高原则"
            else:
                why = st.note or "同类支持只享受一次"
            w.reason = f"{why}:已按「{who}」{fmt_money(value[id(winner)])} 享受(按受上限约束后的金额比较)"
            w.stacking.append(w.reason + quote_suffix(st))
