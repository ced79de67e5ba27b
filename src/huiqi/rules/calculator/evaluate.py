"""One rule for one subject: conditions (three-valued), amount, award caps, rounding.

Everything here is independent of the other rules of the calculation; the mechanisms
between rules (history, group stacking, shared caps) work on the :class:`Work` items
this produces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from huiqi.rules.calculator.environment import Subject
from huiqi.rules.calculator.explain import condition_outcome
from huiqi.rules.calculator.formatting import chain_step, fmt_money
from huiqi.rules.calculator.plan import PCond, PExpr, Plan, PRule
from huiqi.rules.expr_ast import Field, Num, Unit
from huiqi.rules.result import NearMiss, Status

__all__ = ["Core", "PopulationDecision", "Work", "evaluate_core", "key_text", "round_amount",
           "strip_class"]

_ONE = Decimal(1)

@dataclass(slots=True)
class Work:
    """Mutable state of one (rule, subject) while the calculation proceeds."""

    pr: PRule
    subject: Subject
    status: Status
    reason: str = ""
    amount: Decimal | None = None  # before rounding until finalized; int after
    raw_amount: Decimal | None = None
    conds: list[dict[str, Any]] = field(default_factory=list)
    failed: list[PCond] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    formula: str | None = None
    caps_applied: list[str] = field(default_factory=list)
    stacking: list[str] = field(default_factory=list)
    near_miss: NearMiss | None = None
    levels: dict[str, str | None] = field(default_factory=dict)
    max_possible: Decimal | None = None
    population: bool = False
    stages: dict[str, Any] | None = None


@dataclass(slots=True)
class PopulationDecision:
    """Outcome of a rank/quota rule for one applicant, decided by huiqi.rules.cohort."""

    status: Status
    reason: str
    award: Decimal | None = None  # rank: the positional award
    position: int | None = None  # 1-based place in its group (ranked applicants only)
    group: str | None = None
    group_size: int | None = None
    key: Decimal | str | None = None  # the value it was ordered by


def round_amount(value: Decimal, mode: Literal["half_up", "floor"]) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_FLOOR if mode == "floor" else ROUND_HALF_UP))


@dataclass(slots=True)
class Core:
    """Result of conditions + amount + award caps, independent of other rules."""

    status: Status
    reason: str = ""
    amount: int | None = None
    raw: Decimal | None = None
    formula: str | None = None
    caps: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[PCond] = field(default_factory=list)
    conds: list[dict[str, Any]] = field(default_factory=list)
    below_tiers: Decimal | None = None  # value of tiers.on when under the lowest band


def evaluate_core(pr: PRule, env: Mapping[str, object], plan: Plan, *, explain: bool,
                   override_amount: Decimal | None = None, skip_amount: bool = False) -> Core:
    missing: list[str] = []
    failed: list[PCond] = []
    conds: list[dict[str, Any]] = []
    for pc in pr.conds:
        value, miss = pc.pexpr.evaluate(env)
        if value is False:
            failed.append(pc)
        elif value is not True:
            missing.extend(miss)
        if explain:
            conds.append(condition_outcome(pc, env, value, plan))
    if failed:
        n = len(failed)
        first = conds[pr.conds.index(failed[0])]["text"].lstrip("✗ ") if explain else ""
        reason = f"不满足条件:{first}" + (f" 等{n}项" if n > 1 else "")
        return Core("not_eligible", reason, missing=[], failed=failed, conds=conds)
    core = Core("granted", conds=conds)
    if missing:
        core.status, core.missing = "undecided", list(dict.fromkeys(missing))
    if skip_amount:
        return core
    amount_missing: list[str] = []
    raw: Decimal | None
    if override_amount is not None:
        raw, core.formula = override_amount, f"按排名奖励 {fmt_money(override_amount)}"
    else:
        raw = _amount(pr, env, core, amount_missing, explain)
        if core.status == "not_eligible":
            return core
    if raw is None and not amount_missing and pr.rule.amount is None:
        # Non-monetary measure (优先保障用地 …): eligible, no amount.
        return core
    # Award caps: single-award ceilings (单个项目最高 …). Shared caps come later.
    if raw is not None:
        core.raw = raw
        for pcap in pr.caps:
            if pcap.cap.scope != "award":
                continue
            cap_value, cap_miss = pcap.pexpr.evaluate(env)
            if not isinstance(cap_value, Decimal):
                amount_missing.extend(cap_miss)
                raw = None
                break
            label = pcap.cap.label or f"最高{fmt_money(cap_value)}"
            if raw > cap_value:
                if explain:
                    core.caps.append(f"按公式 {fmt_money(raw)},受{label}上限限制,按 {fmt_money(cap_value)} 计")
                    # The cap belongs in the formula chain, which ends in the granted amount.
                    core.formula = chain_step(core.formula, f"受{label}限制", cap_value)
                raw = cap_value
            elif explain:
                core.caps.append(f"未超过{label}上限({fmt_money(cap_value)})")
    if raw is None:
        if amount_missing:
            core.missing = list(dict.fromkeys([*core.missing, *amount_missing]))
        if core.status == "granted":
            core.status = "undecided"
        return core
    if raw <= 0:
        core.status, core.reason = "not_eligible", "按规则计算金额为0"
        core.amount = 0
        return core
    mode = pr.rule.amount.rounding if pr.rule.amount is not None else "half_up"
    core.amount = round_amount(raw, mode)
    if explain and Decimal(core.amount) != raw:
        word = "向下取整" if mode == "floor" else "四舍五入"
        core.caps.append(f"{fmt_money(raw)} {word}到元为 {fmt_money(core.amount)}")
        core.formula = chain_step(core.formula, f"{word}到元", Decimal(core.amount))
    return core


def _amount(pr: PRule, env: Mapping[str, object], core: Core, missing: list[str], explain: bool) -> Decimal | None:
    if pr.formula is not None:
        value, miss = pr.formula.evaluate(env)
        if isinstance(value, Decimal):
            if explain:
                body = pr.formula.explain(env)
                core.formula = (f"定额 {fmt_money(value)}" if isinstance(pr.formula.expr.ast, Num)
                                else f"{body} = {fmt_money(value)}")
            return value
        missing.extend(miss)
        if explain:
            core.formula = f"{pr.formula.explain(env)} = 待定"
        return None
    if pr.tiers_on is not None:
        x, miss = pr.tiers_on.evaluate(env)
        if not isinstance(x, Decimal):
            missing.extend(miss)
            if explain:
                core.formula = f"按{pr.tiers_on.explain(env)}分档 = 待定"
            return None
        for band in pr.bands:
            if band.contains(x):
                value, miss = band.amount.evaluate(env)
                if explain:
                    on_text = pr.tiers_on.explain(env)
                    amt = band.amount.explain(env)
                    shown = fmt_money(value) if isinstance(value, Decimal) else "待定"
                    core.formula = (f"{on_text},属于「{band.describe(_top_unit(pr.tiers_on))}」档:"
                                    + (shown if isinstance(band.amount.expr.ast, Num) else f"{amt} = {shown}"))
                if isinstance(value, Decimal):
                    return value
                missing.extend(miss)
                return None
        lows = [b.lower for b in pr.bands if b.lower is not None]
        if lows and x < min(lows):
            core.below_tiers = x
        core.status = "not_eligible"
        core.reason = f"{pr.tiers_on.explain(env)},不在任何档次内"
        return None
    if pr.lookup_on is not None:
        key, miss = pr.lookup_on.evaluate(env)
        if key is None:
            missing.extend(miss)
            if explain:
                core.formula = f"按{pr.lookup_on.explain(env)}查表 = 待定"
            return None
        key_str = key_text(key)
        entry = pr.table.get(key_str)
        if entry is None:
            for k, v in pr.table.items():
                if strip_class(k) == strip_class(key_str):
                    entry = v
                    break
        if entry is None:
            core.status = "not_eligible"
            listed = "、".join(pr.table)
            core.reason = f"{pr.lookup_on.explain(env)},不在可享受的范围({listed})内"
            return None
        value, miss = entry.evaluate(env)
        if explain:
            shown = fmt_money(value) if isinstance(value, Decimal) else "待定"
            core.formula = f"{pr.lookup_on.explain(env)} → " + (
                shown if isinstance(entry.expr.ast, Num) else f"{entry.explain(env)} = {shown}")
        if isinstance(value, Decimal):
            return value
        missing.extend(miss)
        return None
    return None


def _top_unit(pe: PExpr) -> Unit | None:
    ast = pe.expr.ast
    if isinstance(ast, Field):
        return pe.units.get(ast.name)
    return "money" if any(pe.units.get(f) == "money" for f in pe.expr.fields) else None


def key_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def strip_class(text: str) -> str:
    return text[:-1] if text.endswith("类") and len(text) > 1 else text
