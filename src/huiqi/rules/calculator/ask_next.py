"""What is missing and what is close: near misses and ask-next questions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from huiqi.rules.calculator.environment import ENTERPRISE, ProfileView, lookup_field, normalize_value
from huiqi.rules.calculator.evaluate import Core, Work, evaluate_core, round_amount
from huiqi.rules.calculator.explain import field_label
from huiqi.rules.calculator.formatting import fmt_money, format_quantity
from huiqi.rules.calculator.plan import FieldInfo, Plan, PRule
from huiqi.rules.expr_ast import Unit
from huiqi.rules.mechanisms.history import history_blocks
from huiqi.rules.mechanisms.shared_caps import capped_ceiling
from huiqi.rules.result import NearMiss, Question

__all__ = ["ASK_NEXT_LIMIT", "ask_next_questions", "near_miss", "settle_near_misses", "with_hint_text"]

_ONE = Decimal(1)
_ZERO = Decimal(0)

ASK_NEXT_LIMIT = 5


def _smallest_unit(info: FieldInfo | None, unit: Unit | None) -> Decimal:
    type_name = info.type if info else None
    if type_name in ("money", "integer") or unit == "money":
        return _ONE
    if type_name == "percent" or unit == "percent":
        return Decimal("0.0001")
    return Decimal("0.01")


def _set_field(env: Mapping[str, Any], name: str, value: Decimal) -> dict[str, Any]:
    out = dict(env)
    head, _, rest = name.partition(".")
    if rest and isinstance(out.get(head), Mapping):
        inner = dict(out[head])
        inner[rest] = value
        out[head] = inner
    else:
        out[name] = value
    return out


def near_miss(pr: PRule, env: Mapping[str, Any], core: Core, plan: Plan) -> NearMiss | None:
    target: tuple[str, str, Decimal] | None = None  # field, op, threshold
    unit: Unit | None = None
    if len(core.failed) == 1 and core.failed[0].threshold is not None:
        th = core.failed[0].threshold
        target = (th.field, th.op, th.value)
        unit = core.failed[0].pexpr.units.get(th.field)
    elif not core.failed and core.below_tiers is not None and pr.tier_threshold_field is not None:
        low = min((b for b in pr.bands if b.lower is not None), key=lambda b: b.lower or _ZERO)
        assert low.lower is not None
        target = (pr.tier_threshold_field, ">=" if low.lower_inclusive else ">", low.lower)
        unit = pr.tiers_on.units.get(pr.tier_threshold_field) if pr.tiers_on else None
    if target is None:
        return None
    name, op, c = target
    info = plan.fields.get(name)
    actual = lookup_field(env, name)
    actual = normalize_value(actual, info)
    if not isinstance(actual, Decimal | int) or isinstance(actual, bool):
        return None
    actual = Decimal(actual)
    step = _smallest_unit(info, unit)
    if op in (">=", ">"):
        needed = c if op == ">=" else c + step
        gap = needed - actual
        direction: Literal["increase", "decrease"] = "increase"
    else:
        needed = c if op == "<=" else c - step
        gap = actual - needed
        direction = "decrease"
    if gap <= 0:
        return None
    label = info.label if info else name
    what = unit or (info.unit if info else None)
    gap_value: int | Decimal = int(gap) if what == "money" and gap == gap.to_integral_value() else gap
    gap_text = format_quantity(gap, what)
    met = evaluate_core(pr, _set_field(env, name, needed), plan, explain=False)
    non_monetary = pr.rule.kind == "非资金" and pr.rule.amount is None
    if met.status != "granted" or (not met.amount and not non_monetary):
        # A hint promises money: none when the amount would be 0 or cannot be known
        # (滨州 担保费: 1元 more guarantee pays 0.005元, i.e. nothing).
        return None
    threshold_value: int | Decimal = int(needed) if what == "money" and needed == needed.to_integral_value() else needed
    hint = NearMiss(field=name, label=label, gap=gap_value, gap_text=gap_text, direction=direction,
                    threshold=threshold_value, amount_if_met=met.amount)
    return with_hint_text(hint, pr)


def with_hint_text(hint: NearMiss, pr: PRule) -> NearMiss:
    verb = "再增加" if hint.direction == "increase" else "需减少"
    if hint.amount_if_met is None:  # a non-monetary measure (列入亩均评价A类 …)
        gain = f":{pr.rule.benefit}" if pr.rule.benefit else "该项支持"
    else:
        prefix = "最高" if pr.rule.amount is not None and pr.rule.amount.upper_bound else "约"
        gain = f"{prefix} {fmt_money(hint.amount_if_met)}"
    return hint.model_copy(update={"text": f"{verb} {hint.gap_text} {hint.label}即可获得{gain}"})


def settle_near_misses(works: list[Work], view: ProfileView, on: date, plan: Plan) -> None:
    """Promise only what the grant would pay: history stacking and shared caps apply too.

    ``near_miss`` already ran the rule (conditions, formula, award caps, rounding) with
    the threshold met; here awards already received can rule it out (once, once per
    level, exclusive this year) or use up an enterprise ceiling.
    """
    for w in works:
        hint = w.near_miss
        if hint is None or w.status != "not_eligible":
            continue
        env = _set_field(w.subject.env, hint.field, Decimal(hint.threshold if hint.threshold is not None else 0))
        if history_blocks(w.pr, env, view, on, plan):
            w.near_miss = None
            continue
        if hint.amount_if_met is None:
            continue
        probe = Work(w.pr, w.subject, "granted", amount=Decimal(hint.amount_if_met))
        promised = round_amount(min(Decimal(hint.amount_if_met), capped_ceiling(probe, view, on, plan)), "half_up")
        if promised <= 0:
            w.near_miss = None
        elif promised != hint.amount_if_met:
            w.near_miss = with_hint_text(hint.model_copy(update={"amount_if_met": promised}), w.pr)


@dataclass(slots=True)
class _Ask:
    path: str
    subject: str
    subject_name: str | None
    order: int
    rules: list[PRule] = field(default_factory=list)
    stake: Decimal = _ZERO
    pending: bool = False


def ask_next_questions(works: list[Work], plan: Plan) -> list[Question]:
    """Missing fields ranked by the most money their answer could unlock.

    A rule's stake is its maximum possible amount (see ``_undecided_max``); a field
    that decides several rules adds their stakes. Stacking between those rules is not
    subtracted, so the figure is an upper bound — it is for ordering questions.
    """
    asks: dict[tuple[str, str], _Ask] = {}
    for w in works:
        if w.status != "undecided" or not w.missing:
            continue
        for m in w.missing:
            subject = w.subject.id if m.startswith("project.") else ENTERPRISE
            key = (m, subject)
            a = asks.get(key)
            if a is None:
                a = asks[key] = _Ask(m, subject, w.subject.name if subject != ENTERPRISE else None, len(asks))
            if w.pr not in a.rules:
                a.rules.append(w.pr)
            if w.max_possible is None:
                a.pending = True
            else:
                a.stake += w.max_possible
    ranked = sorted(asks.values(), key=lambda a: (-a.stake, -len(a.rules), a.order))
    out = []
    for a in ranked[:ASK_NEXT_LIMIT]:
        info = plan.fields.get(a.path)
        label = field_label(plan, a.path)
        money_at_stake = round_amount(a.stake, "half_up")
        who = f"(项目 {a.subject_name or a.subject})" if a.subject != ENTERPRISE else ""
        if money_at_stake:
            money = f"最高涉及 {fmt_money(money_at_stake)}" + (",另有金额待定的支持" if a.pending else "")
        else:
            money = "金额待定"
        out.append(Question(
            field=a.path, label=label, type=info.type if info else "text", subject=a.subject,
            subject_name=a.subject_name, description=(info.description or None) if info else None,
            rules=[pr.rule.id for pr in a.rules], rule_titles=[pr.rule.title for pr in a.rules],
            money_at_stake=money_at_stake, amount_pending=a.pending,
            text=f"请补充{label}{who}:可判定 {len(a.rules)} 项政策,{money}"))
    return out
