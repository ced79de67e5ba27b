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
cohort=...)`` uses the same decisions for a single profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from huiqi.errors import RuleError
from huiqi.rules.calculator import (
    PopulationDecision,
    PRule,
    _evaluate_core,
    _gate,
    _param_env,
    _selected,
    build_envs,
    calculate,
    plan_for,
    view_profile,
)
from huiqi.rules.result import CalcReport

__all__ = ["apply_cohort", "population_decisions"]

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
    rulebase: Any,
    profiles: Sequence[Any],
    on: date,
    *,
    policies: list[str] | None = None,
    params: dict[str, str] | None = None,
) -> dict[int, Decisions]:
    """Rank/quota outcome per applicant: ``{id(profile): {(rule id, subject id): decision}}``."""
    plan = plan_for(rulebase)
    rules = [pr for pr in _selected(plan, rulebase, policies) if pr.rank_by is not None or pr.quota_by is not None]
    out: dict[int, Decisions] = {id(p): {} for p in profiles}
    if not rules:
        return out
    param_values, _ = _param_env(plan, on, params)
    envs = []
    for p in profiles:
        view = view_profile(p)
        base, projects = build_envs(plan, p, view, on, param_values)
        envs.append((p, view, base, projects))
    for pr in rules:
        entries: list[_Entry] = []
        for p, view, base, projects in envs:
            gate = _gate(pr, view, on, {})
            if gate[0] is not None:
                continue  # not in force / not here / region unknown: calculate() says so
            subjects = projects if pr.per_project else []
            pairs = [(s.id, s.env) for s in subjects] if pr.per_project else [("enterprise", base)]
            for subject_id, env in pairs:
                try:
                    core = _evaluate_core(pr, env, plan, explain=False, skip_amount=True)
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


def _entry(pr: PRule, env: Any, owner: int, name: str, subject: str) -> _Entry | PopulationDecision:
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
                    award = pr.rank_awards[pos]
                    decision = PopulationDecision("granted", where, award)
                else:
                    decision = PopulationDecision("not_eligible", f"未进入前{places}名:{where}")
            else:
                if pos < places:
                    decision = PopulationDecision("granted", f"名额内(每组限{places}家):{where}")
                else:
                    decision = PopulationDecision("not_eligible", f"名额已满(每组限{places}家):{where}")
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
    rulebase: Any,
    profiles: Sequence[Any],
    on: date,
    *,
    policies: list[str] | None = None,
    params: dict[str, str] | None = None,
) -> list[CalcReport]:
    """One report per applicant, rank/quota rules decided over the whole cohort."""
    decisions = population_decisions(rulebase, profiles, on, policies=policies, params=params)
    return [calculate(rulebase, p, on, policies, params, population=decisions[id(p)]) for p in profiles]

