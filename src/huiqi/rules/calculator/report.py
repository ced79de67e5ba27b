"""calculate(): one profile against a RuleBase, assembled into a CalcReport.

Per rule and subject: validity → jurisdiction → conditions → amount → award caps →
rounding (:mod:`.evaluate`); then, across results, history-based stacking, staged
payments, near misses, in-calculation stacking and shared enterprise caps, in that
order; finally ask-next questions and leads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from huiqi.errors import RuleError
from huiqi.rules.calculator.ask_next import ask_next_questions, near_miss, settle_near_misses
from huiqi.rules.calculator.environment import (
    ENTERPRISE,
    ProfileLike,
    ProfileView,
    Subject,
    build_envs,
    param_env,
    profile_field,
    view_profile,
)
from huiqi.rules.calculator.evaluate import PopulationDecision, Work, evaluate_core
from huiqi.rules.calculator.explain import explanation_text, field_label
from huiqi.rules.calculator.formatting import fmt_money
from huiqi.rules.calculator.plan import Plan, PRule, all_pexprs, plan_for
from huiqi.rules.mechanisms.context import Calculation
from huiqi.rules.mechanisms.jurisdiction import jurisdiction_status, rule_gate
from huiqi.rules.mechanisms.registry import MECHANISMS
from huiqi.rules.model import Lead, Rule, RulePack
from huiqi.rules.result import CalcReport, LeadResult, Status

if TYPE_CHECKING:
    from huiqi.rules.packs import RuleBase

__all__ = ["calculate", "selected_documents", "selected_rules"]

def selected_rules(plan: Plan, rulebase: RuleBase, policies: Sequence[str] | None) -> list[PRule]:
    """Rules of the named documents (id, 文号 or a piece of the title) or rule ids/prefixes."""
    chosen = rulebase.select(policies)
    return [pr for pr in plan.rules if chosen.has_rule(pr.rule.id)]


def selected_documents(plan: Plan, rulebase: RuleBase, policies: Sequence[str] | None) -> set[str] | None:
    """Documents whose pack-level leads are shown: ``None`` = all; named by id, 文号 or title.

    Naming only rule ids selects no document (the user asked for those rules, not the pack).
    """
    documents = rulebase.select(policies).documents
    return None if documents is None else set(documents)


def _subjects(pr: PRule, view: ProfileView, base: dict[str, Any], project_envs: list[Subject]) -> list[Subject]:
    if not pr.per_project:
        return [Subject(ENTERPRISE, None, base)]
    return project_envs


def calculate(
    rulebase: RuleBase,
    profile: ProfileLike,
    on: date,
    policies: list[str] | None = None,
    params: dict[str, str] | None = None,
    cohort: Sequence[ProfileLike] | None = None,
    *,
    population: Mapping[tuple[str, str], PopulationDecision] | None = None,
) -> CalcReport:
    """Every rule of ``rulebase`` against ``profile`` on date ``on``.

    ``policies`` limits to document ids (or rule ids / id prefixes); ``params``
    overrides parameters (``{"lpr_1y": "3.45%"}``); ``cohort`` is the list of
    applicants for rank/quota rules (the profile is ranked among them).
    ``population`` is the precomputed cohort decision (used by huiqi.rules.cohort).
    """
    plan = plan_for(rulebase)
    if cohort and population is None:
        from huiqi.rules.cohort import population_decisions

        # The profile competes as itself: a cohort row with the same name is taken to
        # be the same applicant (e.g. the CSV also lists the enterprise being checked).
        name = profile_field(profile, "name")
        applicants = [a for a in cohort if a is not profile and not (name and profile_field(a, "name") == name)]
        applicants.append(profile)
        population = population_decisions(rulebase, applicants, on, policies=policies, params=params)[id(profile)]
    view = view_profile(profile)
    param_values, shown = param_env(plan, on, params)
    base, projects = build_envs(plan, profile, view, on, param_values)
    works: list[Work] = []
    region_cache: dict[tuple[Any, ...], tuple[Status | None, str, list[str]]] = {}
    for pr in selected_rules(plan, rulebase, policies):
        subjects = _subjects(pr, view, base, projects)
        gate = rule_gate(pr, view, on, region_cache)
        if gate[0] in ("not_in_force", "out_of_jurisdiction"):
            for subject in subjects or [Subject("project", None, base)]:
                works.append(Work(pr, subject, gate[0], reason=gate[1]))  # type: ignore[arg-type]
            continue
        if pr.per_project and not subjects:
            w = Work(pr, Subject("project", "待填写的项目", base), "undecided", reason="档案中没有填写项目信息")
            w.missing = [f for pe in all_pexprs(pr) for f in pe.expr.fields if f.startswith("project.")]
            w.missing = list(dict.fromkeys(w.missing))
            w.max_possible = pr.static_max
            works.append(w)
            continue
        for subject in subjects:
            works.append(_evaluate(pr, subject, gate, plan, population))
    # History, group stacking, shared caps: the registry's order (huiqi.rules.mechanisms.registry).
    calc = Calculation(view, on, plan)
    for mechanism in MECHANISMS:
        if mechanism.apply is not None:
            mechanism.apply(works, calc)
    # Near misses only ever concern not-eligible results, which stacking and shared caps
    # leave alone: settling them after every mechanism sees the same history and ceilings.
    settle_near_misses(works, view, on, plan)
    results = [_to_result(w, plan) for w in works]
    total = sum(r["amount"] or 0 for r in results if r["status"] == "granted" and not r["upper_bound"])
    ceiling = sum(r["amount"] or 0 for r in results if r["status"] == "granted" and r["upper_bound"])
    return CalcReport.model_validate({
        "profile": view.name,
        "date": on,
        "results": results,
        "total_granted": total,
        "total_upper_bound": ceiling,
        "ask_next": ask_next_questions(works, plan),
        "leads": _leads(plan, works, view, on, selected_documents(plan, rulebase, policies)),
        "parameters": shown,
    })


def _evaluate(pr: PRule, subject: Subject, gate: tuple[Status | None, str, list[str]], plan: Plan,
              population: Mapping[tuple[str, str], PopulationDecision] | None) -> Work:
    rule = pr.rule
    _, reason, region_missing = gate
    env = subject.env
    is_population = pr.rank_by is not None or pr.quota_by is not None
    decision = population.get((rule.id, subject.id)) if population is not None and is_population else None
    override = decision.award if decision is not None and pr.rank_by is not None else None
    try:
        core = evaluate_core(pr, env, plan, explain=True, override_amount=override,
                              skip_amount=pr.rank_by is not None and override is None)
    except RuleError as exc:
        return Work(pr, subject, "undecided", reason=f"计算出错:{exc.message}")
    w = Work(pr, subject, core.status, reason=core.reason, amount=Decimal(core.amount) if core.amount is not None else None,
             raw_amount=core.raw, conds=core.conds, failed=core.failed, missing=core.missing,
             formula=core.formula, caps_applied=core.caps, population=is_population)
    if region_missing and w.status != "not_eligible":
        w.status, w.reason = "undecided", reason
        w.missing = list(dict.fromkeys([*region_missing, *w.missing]))
    if w.status == "not_eligible":
        try:
            w.near_miss = near_miss(pr, env, core, plan)
        except RuleError:
            w.near_miss = None
        w.amount = None
        return w
    if not rule.computable or (rule.kind != "非资金" and rule.amount is None and rule.rank is None):
        w.status = "lead"
        w.reason = rule.note or "一事一议/给予一定支持,需与责任部门沟通"
        w.amount = None
        return w
    if is_population and w.status == "granted":
        if decision is None:
            w.status = "undecided"
            w.reason = "需在申报企业中排名" if pr.rank_by is not None else "需在申报企业中按名额排序"
            w.max_possible = max(pr.rank_awards) if pr.rank_awards else (w.amount or pr.static_max)
            w.amount = None
            return w
        if decision.status != "granted":
            w.status, w.reason, w.amount = decision.status, decision.reason, None
            return w
        if pr.rank_by is not None and decision.award is not None:
            w.formula = f"{decision.reason},按名次奖励 {fmt_money(decision.award)}"
        else:
            w.stacking.append(decision.reason)
    if w.status == "undecided":
        w.max_possible = w.amount if w.amount is not None else _undecided_max(pr, env)
        w.amount = None
        if not w.reason:
            names = "、".join(plan.fields[m].label if m in plan.fields else m for m in w.missing)
            w.reason = f"缺少信息:{names}" if names else "无法判定"
        return w
    for ps in pr.stacks:
        if ps.level is not None:
            lv, _ = ps.level.evaluate(env)
            w.levels[ps.stacking.group] = None if lv is None else str(lv)
    if w.amount is None:
        w.reason = w.reason or "符合条件(非资金支持)"
    return w


def _undecided_max(pr: PRule, env: Mapping[str, Any]) -> Decimal | None:
    """Most the rule could pay once the missing data arrive (caps, tiers, table)."""
    best = pr.static_max
    if pr.bands or pr.table:
        values = []
        for pe in [b.amount for b in pr.bands] + list(pr.table.values()):
            v, _ = pe.evaluate(env)
            values.append(v if isinstance(v, Decimal) else None)
        if values and None not in values:
            top = max(v for v in values if v is not None)
            best = top if best is None else min(best, top)
    return best


def _to_result(w: Work, plan: Plan) -> dict[str, Any]:
    """The result as a plain dict (validated with the whole report in one go)."""
    rule, pack = w.pr.rule, w.pr.pack
    upper = bool(rule.amount and rule.amount.upper_bound)
    amount = int(w.amount) if w.amount is not None and w.status == "granted" else None
    if w.status == "granted":
        if amount is None:
            w.reason = w.reason or "符合条件"
        else:
            w.reason = f"可获{'最高 ' if upper else ''}{fmt_money(amount)}" + ("(上限)" if upper else "")
    near = w.near_miss if w.status == "not_eligible" else None
    if near is not None:
        w.reason = f"{w.reason};{near.text}" if w.reason else near.text
    missing = [{"field": m, "label": field_label(plan, m)} for m in w.missing]
    doc = pack.document
    result: dict[str, Any] = {
        "document": doc.id,
        "document_title": doc.title,
        "doc_number": doc.doc_number,
        "clause": rule.citation.clause,
        "quote": rule.citation.quote,
        "rule": rule.id,
        "title": rule.title,
        "department": list(rule.department or pack.department),
        "kind": rule.kind,
        "subject": w.subject.id,
        "subject_name": w.subject.name,
        "status": w.status,
        "reason": w.reason,
        "amount": amount,
        "upper_bound": upper and amount is not None,
        "conditions": w.conds,
        "formula": w.formula,
        "caps_applied": w.caps_applied,
        "stacking": w.stacking,
        "missing": missing,
        "near_miss": near,
        "benefit": rule.benefit,
        "stages": w.stages,
        "class_effect": _class_effect(rule) if w.status == "granted" else None,
    }
    result["explanation"] = explanation_text(result)
    return result


def _class_effect(rule: Rule) -> dict[str, Any] | None:
    effect = rule.class_effect
    if effect is None:
        return None
    return {"class_override": effect.class_ if effect.action == "set" else None,
            "class_floor": effect.class_ if effect.action == "not_below" else None,
            "quota_exempt": effect.quota == "exempt", "rule": rule.id, "label": rule.benefit or rule.title}


def _leads(plan: Plan, works: list[Work], view: ProfileView, on: date, documents: set[str] | None) -> list[LeadResult]:
    out: list[LeadResult] = []
    for w in works:
        if w.status == "lead":
            rule, pack = w.pr.rule, w.pr.pack
            out.append(LeadResult(
                document=pack.document.id, document_title=pack.document.title,
                doc_number=pack.document.doc_number, clause=rule.citation.clause, quote=rule.citation.quote,
                rule=rule.id, title=rule.title, department=list(rule.department or pack.department),
                reason=w.reason, benefit=rule.benefit))
    for pack in plan.packs:
        if documents is not None and pack.document.id not in documents:
            continue
        if (pack.validity.from_ and on < pack.validity.from_) or (pack.validity.to and on > pack.validity.to):
            continue
        probe = PRule(0, _LEAD_PROBE, pack, None, None, (pack.jurisdiction,), False, [])
        status, _, _ = jurisdiction_status(probe, view.region)
        if status == "out_of_jurisdiction":
            continue
        for lead in pack.leads:
            out.append(_lead_result(pack, lead))
    return out


def _lead_result(pack: RulePack, lead: Lead) -> LeadResult:
    return LeadResult(
        document=pack.document.id, document_title=pack.document.title, doc_number=pack.document.doc_number,
        clause=lead.citation.clause, quote=lead.citation.quote, rule=None, title=lead.title,
        department=list(lead.department or pack.department), reason=lead.reason)


# A stand-in rule so pack-level jurisdiction checks can reuse jurisdiction_status.
_LEAD_PROBE = Rule.model_validate({
    "id": "lead.probe", "title": "线索", "kind": "非资金", "computable": False,
    "citation": {"document": "x", "clause": "-", "quote": "-"},
})
