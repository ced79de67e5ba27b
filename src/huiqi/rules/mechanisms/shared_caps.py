"""Mechanism: enterprise-level ceilings shared by several rules (and earlier years' awards).

Python (calculator): :func:`apply_shared_caps` allocates each ceiling in rule order,
less what earlier years used; :func:`capped_ceiling` is what a grant can pay after them
(group stacking compares that). SQL (engines): :func:`cap_passes` groups the ceilings,
:func:`shared_cap_sql` allocates them with a cumulative window in rule order, and
:func:`row_local_cap_sql` applies a ceiling only one row can use inside the rule's own
projection. The engines see no award history: earlier years count as nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from huiqi.errors import RuleError
from huiqi.rules.calculator.environment import ProfileView
from huiqi.rules.calculator.evaluate import Work
from huiqi.rules.calculator.formatting import chain_step, fmt_money
from huiqi.rules.calculator.plan import Plan, PRule, cap_group
from huiqi.rules.expr import Expr
from huiqi.rules.mechanisms.context import Calculation
from huiqi.rules.mechanisms.history import as_int, history_matches, money_value
from huiqi.rules.mechanisms.sql import DEC, SqlCompiler, SqlDialect, WindowFlow, WindowPlan, status_code

__all__ = ["CapPass", "apply", "apply_shared_caps", "cap_passes", "capped_ceiling", "check_cap_order", "prior_awards",
           "row_local_cap_sql", "shared_cap_sql", "stacking_ceilings", "window_sql"]

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


def apply(works: list[Work], calc: Calculation) -> None:
    """The calculator's half: shared ceilings in rule order."""
    apply_shared_caps(works, calc.view, calc.on, calc.plan)


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


# -- SQL ---------------------------------------------------------------------------------------


@dataclass
class CapPass:
    """One shared ceiling: its group, scope, member rules and each member's ceiling (a constant).

    Members normally declare the same ceiling; a reform may change one rule's (``--set
    rule.caps.0.amount=…``). As in the calculator, each award is then limited by its own
    rule's ceiling less what the group's earlier awards used.
    """

    group: str
    scope: str
    values: dict[int, Decimal]
    members: list[int]

    def ceiling_sql(self, d: SqlDialect) -> str:
        distinct = set(self.values.values())
        if len(distinct) == 1:
            return d.decimal(next(iter(distinct)))
        arms = " ".join(f"WHEN {i} THEN {d.decimal(v)}" for i, v in self.values.items())
        return f"CASE __ri {arms} END"


def cap_passes(rules: Sequence[PRule], const_value: Callable[[Expr, str, PRule], Decimal | None],
               ) -> tuple[list[CapPass], dict[int, list[CapPass]]]:
    """(ceilings several rows can use: window passes, ceilings of one enterprise rule: row-local).

    The population engines need constant ceilings (``const_value`` raises otherwise).
    """
    by_index = {pr.index: pr for pr in rules}
    groups: dict[str, list[tuple[int, Decimal | None, str]]] = {}
    for pr in rules:
        for pc in pr.caps:
            if pc.cap.scope in ("enterprise_year", "enterprise"):
                value = const_value(pc.pexpr.expr, "共享上限", pr)
                groups.setdefault(cap_group(pc.cap, pr.rule), []).append((pr.index, value, pc.cap.scope))
    passes: list[CapPass] = []
    local: dict[int, list[CapPass]] = {}
    for group, entries in groups.items():
        usable = [(i, v, s) for i, v, s in entries if v is not None]  # an unknown cap is skipped
        if not usable:
            continue
        members = list(dict.fromkeys(i for i, _, _ in usable))
        values: dict[int, Decimal] = {}
        for i, v, _ in usable:
            assert v is not None
            values[i] = min(values.get(i, v), v)  # a rule naming the group twice: the lower ceiling
        cp = CapPass(group, usable[0][2], values, members)
        if len(members) == 1 and not by_index[members[0]].per_project:
            local.setdefault(members[0], []).append(cp)  # one row per enterprise: row-local
        else:
            passes.append(cp)
    return passes, local


def check_cap_order(passes: list[CapPass], rules: Sequence[PRule]) -> None:
    """Sort the passes into the one order every rule follows, or refuse the rule base.

    Passes run group by group; the calculator runs rule by rule, each rule's caps in its
    own order. Both agree when the groups can be put in one order that every rule
    follows: groups sorted by the first rule declaring them, then checked.
    """
    passes.sort(key=lambda cp: min(cp.members))
    order = {cp.group: k for k, cp in enumerate(passes)}
    for pr in rules:
        seq = [order[g] for g in (cap_group(pc.cap, pr.rule) for pc in pr.caps)
               if g in order and pr.index in passes[order[g]].members]
        if seq != sorted(seq):
            raise RuleError(f"规则 {pr.rule.id} 的共享上限组顺序与其他规则不一致,人口引擎暂不支持",
                            hint="请在各规则的 caps 中按相同顺序列出共享上限组")


def stacking_ceilings(passes: Sequence[CapPass]) -> dict[int, Decimal]:
    """Per rule index, the lowest shared ceiling it is under (SQL twin of :func:`capped_ceiling`)."""
    ceilings: dict[int, Decimal] = {}
    for cp in passes:
        for i in cp.members:
            ceilings[i] = min(ceilings.get(i, cp.values[i]), cp.values[i])
    return ceilings


def row_local_cap_sql(d: SqlDialect, status: str, amount: str, rounded: str,
                      caps: Sequence[CapPass]) -> tuple[str, str]:
    """(status, amount) SQL after ceilings whose only user is this enterprise rule's row."""
    for cp in caps:
        value = min(cp.values.values())  # one member: its own ceiling
        if value <= 0:
            status = (f"CASE WHEN {status} = {status_code('granted')} AND {rounded} IS NOT NULL "
                      f"THEN {status_code('stacked_out')} ELSE {status} END")
        else:
            amount = f"CASE WHEN {amount} IS NULL THEN NULL ELSE LEAST({amount}, {d.decimal(value)}) END"
    return status, amount


def shared_cap_sql(d: SqlDialect, flow: WindowFlow, name: str, cp: CapPass) -> None:
    """SQL twin of :func:`apply_shared_caps` for one ceiling over the enterprise's rows."""
    granted = status_code("granted")
    member = f"(__ri IN ({', '.join(map(str, cp.members))}) AND __st = {granted} AND __amt IS NOT NULL)"
    # Allocation in rule order: with one ceiling C for the group, what is left for
    # the i-th award is C − (sum of the earlier awards), never below zero.
    used = (f"SUM(CASE WHEN {member} THEN __amt ELSE 0 END) OVER (PARTITION BY {member}, {d.ident('id')} "
            f"ORDER BY __ri, __pid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)")
    alloc = f"LEAST(__amt, GREATEST({cp.ceiling_sql(d)} - COALESCE(__used, 0), 0))"
    body = f"SELECT *, {member} AS __m, {used} AS __used FROM {flow.prev}"
    flow.add(name, body, {
        "__st": f"CASE WHEN __m AND {alloc} <= 0 THEN {status_code('stacked_out')} ELSE __st END AS __st",
        "__amt": f"CASE WHEN __m THEN CAST({alloc} AS {DEC}) ELSE __amt END AS __amt",
    }, "c")


def window_sql(compiler: SqlCompiler, flow: WindowFlow, plan: WindowPlan) -> None:
    """The engines' half: one pass per ceiling several rows share, last of the window passes."""
    for k, cp in enumerate(plan.cap_passes):
        shared_cap_sql(compiler.d, flow, f"c{k}", cp)
