"""Mechanism: group stacking inside one calculation — max_in_group / exclusive / once / once_per_level.

Python (calculator): :func:`apply_group_stacking` over the grants of one profile. SQL
(engines): :func:`stack_passes` decides which groups can meet within an enterprise and
:func:`stacking_sql` keeps one winner per (group, enterprise, scope) with a window. Both
choose the winner on its amount after every cap (award caps, then shared ceilings), ties
to the earlier rule, then the subject. Against awards of earlier years see
:mod:`huiqi.rules.mechanisms.history` (calculator only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from huiqi.rules.calculator.environment import ENTERPRISE
from huiqi.rules.calculator.evaluate import Work
from huiqi.rules.calculator.formatting import fmt_money, quote_suffix
from huiqi.rules.calculator.plan import PRule
from huiqi.rules.mechanisms.context import Calculation
from huiqi.rules.mechanisms.shared_caps import capped_ceiling, stacking_ceilings
from huiqi.rules.mechanisms.sql import SqlCompiler, SqlDialect, WindowFlow, WindowPlan, status_code
from huiqi.rules.model import Stacking

__all__ = ["StackPass", "apply", "apply_group_stacking", "stack_passes", "stacking_sql", "window_sql"]

def apply(works: list[Work], calc: Calculation) -> None:
    """The calculator's half: group stacking, each grant valued after all its caps."""
    apply_group_stacking(works, lambda w: capped_ceiling(w, calc.view, calc.on, calc.plan))


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


# -- SQL ---------------------------------------------------------------------------------------


@dataclass
class StackPass:
    """One stacking group that needs a window pass (its members can meet within an enterprise)."""

    mode: str
    group: str
    members: list[int]
    level_column: str | None


def stack_passes(rules: Sequence[PRule]) -> list[StackPass]:
    """The groups whose members can compete, in the calculator's order (first declaration)."""
    by_index = {pr.index: pr for pr in rules}
    groups: dict[tuple[str, str], list[int]] = {}
    for pr in rules:
        for ps in pr.stacks:
            groups.setdefault((ps.stacking.mode, ps.stacking.group), []).append(pr.index)
    passes: list[StackPass] = []
    for (mode, group), members in groups.items():
        projects = [i for i in members if by_index[i].per_project]
        firms = [i for i in members if not by_index[i].per_project]
        if mode in ("max_in_group", "exclusive"):
            # The scope is the subject: enterprise rules meet on the enterprise, project
            # rules on the same project; a lone member per scope never competes.
            needed = len(projects) > 1 or len(firms) > 1
        else:
            needed = len(members) > 1 or bool(projects)
        if needed:
            level = f"__lv{len(passes)}" if mode == "once_per_level" else None
            passes.append(StackPass(mode, group, members, level))
    return passes


def stacking_sql(d: SqlDialect, flow: WindowFlow, name: str, sp: StackPass, ceilings: Mapping[int, Decimal]) -> None:
    """SQL twin of :func:`apply_group_stacking` for one group: every member but the winner is stacked out.

    ``ceilings``: the shared ceiling of each rule that has one (the calculator's
    ``capped_ceiling``; award caps are already inside ``__amt``).
    """
    granted = status_code("granted")
    member = f"(__ri IN ({', '.join(map(str, sp.members))}) AND __st = {granted})"
    if sp.mode in ("max_in_group", "exclusive"):
        scope = "CASE WHEN __pid IS NULL THEN 'e' ELSE concat('p:', __pid) END"
    elif sp.mode == "once":
        scope = "''"
    else:
        assert sp.level_column is not None
        scope = f"COALESCE({sp.level_column}, '')"
    # Highest amount after caps wins; ties go to the earlier rule, then project.
    arms = [f"WHEN {i} THEN LEAST(__amt, {d.decimal(ceilings[i])})" for i in sp.members if i in ceilings]
    capped = f"CASE __ri {' '.join(arms)} ELSE __amt END" if arms else "__amt"
    rn = (f"row_number() OVER (PARTITION BY {member}, {d.ident('id')}, {scope} "
          f"ORDER BY COALESCE({capped}, 0) DESC, __ri, __pid) AS __rn")
    body = f"SELECT *, {member} AS __m, {rn} FROM {flow.prev}"
    replaced = {"__st": f"CASE WHEN __m AND __rn > 1 THEN {status_code('stacked_out')} ELSE __st END AS __st"}
    flow.add(name, body, replaced, "s")


def window_sql(compiler: SqlCompiler, flow: WindowFlow, plan: WindowPlan) -> None:
    """The engines' half: one pass per stacking group, after rank/quota and before shared caps."""
    ceilings = stacking_ceilings(plan.cap_passes)
    for k, sp in enumerate(plan.stack_passes):
        stacking_sql(compiler.d, flow, f"s{k}", sp, ceilings)
