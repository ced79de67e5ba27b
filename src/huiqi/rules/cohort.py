"""Population rules over a cohort of applicants: 排名奖励 (rank) and 名额 (quota).

Some measures cannot be decided for one enterprise alone: "排全市前三名的分别奖励
50万元、30万元、10万元" (rank) or "各县市区可推荐两家" (quota). Given every applicant
(``huiqi calc --cohort applicants.csv``) this module decides, per rule and subject:

* only applicants that are in force, in jurisdiction and meet every condition (all
  true — an applicant with an unknown condition is not ranked) take part;
* they are grouped by ``rank.within`` / ``quota.per`` (no ``within`` = one group);
* inside a group they are ordered by ``by`` (descending unless ``rank.descending`` is
  false; quotas always favour the larger value). **Ties** are broken by applicant
  name, then subject id (Unicode order) — deterministic and documented, since a
  policy text never says how ties are split; the reason text says 并列 when a tie
  decided who got a place;
* rank: position k (1-based) gets ``awards[k-1]``; beyond the list → not_eligible
  "未进入前N名"; quota: the first ``limit`` keep the rule's own amount, the others →
  not_eligible "名额已满".

``apply_cohort`` returns one full CalcReport per applicant; ``calculate(...,
cohort=...)`` uses the same decisions for a single profile; ``cohort_report`` is the
officials' view (``huiqi calc --cohort-report``): for every rank and quota rule, every
applicant's status, place and amount, decided in one run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from huiqi.errors import RuleError
from huiqi.rules.calculator import (
    PopulationDecision,
    ProfileLike,
    PRule,
    build_envs,
    calculate,
    evaluate_core,
    param_env,
    plan_for,
    rule_gate,
    selected_rules,
    view_profile,
)
from huiqi.rules.expr import format_value, unit_of
from huiqi.rules.result import STATUS_LABELS, CalcReport, Status

if TYPE_CHECKING:
    from huiqi.rules.packs import RuleBase

__all__ = ["COHORT_SCHEMA_VERSION", "CohortEntry", "CohortReport", "CohortRule", "apply_cohort", "cohort_report",
           "population_decisions"]

COHORT_SCHEMA_VERSION = "1.0"

Decisions = dict[tuple[str, str], PopulationDecision]


@dataclass(slots=True)
class _Entry:
    owner: int  # id() of the profile
    name: str
    subject: str
    key: Decimal | str
    group: str


def _sort_key(value: Decimal | str) -> tuple[int, Any]:
    # Numbers before text, so a mistyped cell cannot crash the sort.
    return (0, value) if isinstance(value, Decimal) else (1, value)


def population_decisions(
    rulebase: RuleBase,
    profiles: Sequence[ProfileLike],
    on: date,
    *,
    policies: list[str] | None = None,
    params: dict[str, str] | None = None,
) -> dict[int, Decisions]:
    """Rank/quota outcome per applicant: ``{id(profile): {(rule id, subject id): decision}}``."""
    plan = plan_for(rulebase)
    rules = [pr for pr in selected_rules(plan, rulebase, policies) if pr.rank_by is not None or pr.quota_by is not None]
    out: dict[int, Decisions] = {id(p): {} for p in profiles}
    if not rules:
        return out
    param_values, _ = param_env(plan, on, params)
    envs = []
    for p in profiles:
        view = view_profile(p)
        base, projects = build_envs(plan, p, view, on, param_values)
        envs.append((p, view, base, projects))
    for pr in rules:
        entries: list[_Entry] = []
        for p, view, base, projects in envs:
            gate = rule_gate(pr, view, on, {})
            if gate[0] is not None:
                continue  # not in force / not here / region unknown: calculate() says so
            subjects = projects if pr.per_project else []
            pairs = [(s.id, s.env) for s in subjects] if pr.per_project else [("enterprise", base)]
            for subject_id, env in pairs:
                try:
                    core = evaluate_core(pr, env, plan, explain=False, skip_amount=True)
                except RuleError:
                    continue
                if core.status != "granted":
                    continue  # calculate() reports not_eligible / undecided from the conditions
                entry = _entry(pr, env, id(p), view.name, subject_id)
                if isinstance(entry, PopulationDecision):
                    out[id(p)][(pr.rule.id, subject_id)] = entry
                else:
                    entries.append(entry)
        _decide(pr, entries, out)
    return out


def _entry(pr: PRule, env: Mapping[str, Any], owner: int, name: str, subject: str) -> _Entry | PopulationDecision:
    by = pr.rank_by or pr.quota_by
    assert by is not None
    key, missing = by.evaluate(env)
    if not isinstance(key, Decimal | str) or isinstance(key, bool):
        labels = "、".join(by.labels.get(m, m) for m in missing) or by.text
        return PopulationDecision("undecided", f"缺少排序依据:{labels},无法参与排名")
    group_expr = pr.rank_within if pr.rank_by is not None else pr.quota_per
    group = "全部申报企业"
    if group_expr is not None:
        g, gmiss = group_expr.evaluate(env)
        if g is None:
            labels = "、".join(group_expr.labels.get(m, m) for m in gmiss) or group_expr.text
            return PopulationDecision("undecided", f"缺少分组依据:{labels},无法参与排名")
        group = str(g)
    return _Entry(owner, name, subject, key, group)


def _decide(pr: PRule, entries: list[_Entry], out: dict[int, Decisions]) -> None:
    groups: dict[str, list[_Entry]] = {}
    for e in entries:
        groups.setdefault(e.group, []).append(e)
    descending = pr.rule.rank.descending if pr.rule.rank is not None else True
    by = pr.rank_by or pr.quota_by
    assert by is not None
    for group, members in groups.items():
        # Two stable sorts: tie-breakers (name, subject) ascending first, then the key.
        members.sort(key=lambda e: (e.name, e.subject))
        members.sort(key=lambda e: _sort_key(e.key), reverse=descending)
        n = len(members)
        places = len(pr.rank_awards) if pr.rank_by is not None else (pr.rule.quota.limit if pr.rule.quota else 0)
        for pos, e in enumerate(members):
            tie = _tie_note(members, pos, places)
            where = f"在{group}的{n}家符合条件的申报企业中排第{pos + 1}名{tie}"
            if pr.rank_by is not None:
                if pos < places:
                    decision = PopulationDecision("granted", where, pr.rank_awards[pos])
                else:
                    decision = PopulationDecision("not_eligible", f"未进入前{places}名:{where}")
            else:
                if pos < places:
                    decision = PopulationDecision("granted", f"名额内(每组限{places}家):{where}")
                else:
                    decision = PopulationDecision("not_eligible", f"名额已满(每组限{places}家):{where}")
            decision.position, decision.group, decision.group_size, decision.key = pos + 1, group, n, e.key
            out[e.owner][(pr.rule.id, e.subject)] = decision


def _tie_note(members: list[_Entry], pos: int, places: int) -> str:
    """Say so when equal keys straddle the cut line and the name decided."""
    if not 0 < places < len(members):
        return ""
    inside, outside = members[places - 1], members[places]
    if inside.key != outside.key:
        return ""
    if members[pos].key == inside.key:
        return "(与其他企业并列,按企业名称排序决定名次)"
    return ""


def apply_cohort(
    rulebase: RuleBase,
    profiles: Sequence[ProfileLike],
    on: date,
    *,
    policies: list[str] | None = None,
    params: dict[str, str] | None = None,
) -> list[CalcReport]:
    """One report per applicant, rank/quota rules decided over the whole cohort."""
    decisions = population_decisions(rulebase, profiles, on, policies=policies, params=params)
    return [calculate(rulebase, p, on, policies, params, population=decisions[id(p)]) for p in profiles]



# -- the officials' view: every applicant of every rank/quota rule --------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CohortEntry(_Model):
    applicant: str = Field(description="申报企业名称")
    subject: str = Field(description="enterprise 或项目 id")
    subject_name: str | None = None
    status: Status
    status_label: str = Field(description="状态的中文,如 可享受、不符合")
    group: str | None = Field(None, description="排名/名额分组,如 临海市;未参与排序为 null")
    rank: int | None = Field(None, description="组内名次(1 起);未参与排序为 null")
    group_size: int | None = Field(None, description="组内参与排序的申报企业数")
    ordered_by: str | None = Field(None, description="排序依据的值(已格式化)")
    amount: int | None = Field(None, description="可获金额(元);不可享受为 null")
    upper_bound: bool = False
    reason: str = ""


class CohortRule(_Model):
    rule: str
    title: str
    document: str
    doc_number: str | None = None
    clause: str
    kind: str = Field(description="rank(按名次奖励)或 quota(名额)")
    places: int = Field(description="名次奖励个数或每组名额")
    ordered_by: str = Field(description="排序依据表达式")
    entries: list[CohortEntry] = Field(default_factory=list)


class CohortReport(_Model):
    schema_version: str = COHORT_SCHEMA_VERSION
    date: date
    applicants: int = Field(description="申报企业数")
    rules: list[CohortRule] = Field(default_factory=list)

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)


def cohort_report(
    rulebase: RuleBase,
    profiles: Sequence[ProfileLike],
    on: date,
    *,
    policies: list[str] | None = None,
    params: dict[str, str] | None = None,
) -> CohortReport:
    """Every applicant's status, place and amount for each rank and quota rule.

    The decisions are made once over the whole cohort; each applicant's status and
    amount come from its full calculation (caps and stacking included), so the table
    says exactly what ``calc --cohort`` would say for that applicant.
    """
    plan = plan_for(rulebase)
    rules = [pr for pr in selected_rules(plan, rulebase, policies) if pr.rank_by is not None or pr.quota_by is not None]
    decisions = population_decisions(rulebase, profiles, on, policies=policies, params=params)
    reports = [calculate(rulebase, p, on, policies, params, population=decisions[id(p)]) for p in profiles]
    out = CohortReport(date=on, applicants=len(profiles))
    for pr in rules:
        by = pr.rank_by or pr.quota_by
        assert by is not None
        unit = unit_of(by.expr.ast, by.units)
        entries: list[CohortEntry] = []
        for p, report in zip(profiles, reports, strict=True):
            for r in report.results:
                if r.rule != pr.rule.id:
                    continue
                d = decisions[id(p)].get((pr.rule.id, r.subject))
                ranked = d if d is not None and d.position is not None else None
                entries.append(CohortEntry(
                    applicant=report.profile, subject=r.subject, subject_name=r.subject_name, status=r.status,
                    status_label=STATUS_LABELS[r.status],
                    group=ranked.group if ranked else None, rank=ranked.position if ranked else None,
                    group_size=ranked.group_size if ranked else None,
                    ordered_by=format_value(ranked.key, unit) if ranked and ranked.key is not None else None,
                    amount=r.amount if r.status == "granted" else None,
                    upper_bound=r.upper_bound if r.status == "granted" else False, reason=r.reason))
        # Ranked applicants by group and place, then the others (undecided first: they may still enter).
        order = {"granted": 0, "stacked_out": 1, "undecided": 2, "not_eligible": 3}
        entries.sort(key=lambda e: (e.rank is None, e.group or "", e.rank or 0, order.get(e.status, 4), e.applicant))
        places = len(pr.rank_awards) if pr.rank_by is not None else (pr.rule.quota.limit if pr.rule.quota else 0)
        out.rules.append(CohortRule(
            rule=pr.rule.id, title=pr.rule.title, document=pr.pack.document.id, doc_number=pr.pack.document.doc_number,
            clause=pr.rule.citation.clause, kind="rank" if pr.rank_by is not None else "quota", places=places,
            ordered_by=by.text, entries=entries))
    return out
