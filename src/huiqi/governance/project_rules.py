"""调出 and 预警 rules for key projects, kept as data and evaluated without ``eval``.

Each rule's ``when`` is an expression of the policy rules' language (huiqi.rules.expr): parsed
by a hand-written parser, compiled to closures, three-valued. A rule whose facts are unknown
(no signing date, say) does not fire; the hit list says which facts were missing instead.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from huiqi.errors import InputError
from huiqi.governance.projects import ProjectProgress
from huiqi.rules.expr import Expr, compile_expr

RuleKind = Literal["调出", "预警"]
FIELD_LABELS = {
    "project.started": "是否开工",
    "project.in_production": "是否投产",
    "project.months_since_signing": "签约后月数",
    "project.months_past_planned_start": "超过计划开工月数",
    "project.months_past_planned_production": "超过计划投产月数",
    "project.months_without_investment": "连续无投资月数",
    "project.cumulative_ratio": "累计投资完成率",
    "project.annual_ratio": "年度投资完成率",
    "project.time_share": "时序进度",
    "project.factors_pending": "待保障要素数",
    "project.total_investment": "总投资",
    "project.annual_plan": "年度计划投资",
    "project.cumulative_investment": "累计完成投资",
    "project.year_to_date": "本年完成投资",
    "project.level": "项目级别",
    "project.stage": "项目阶段",
    "project.region": "所在地区",
    "project.industry": "所属行业",
}


class ProjectRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: RuleKind
    title: str
    when: str


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    rules: list[ProjectRule]


class CompiledRule(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    rule: ProjectRule
    expr: Expr


class RuleHit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_code: str
    project_name: str
    rule_id: str
    kind: RuleKind
    title: str
    explanation: str


class RuleOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hits: list[RuleHit] = Field(default_factory=list)
    undecided: dict[str, list[str]] = Field(default_factory=dict, description="project → rules lacking facts")

    def codes(self, kind: RuleKind) -> set[str]:
        return {h.project_code for h in self.hits if h.kind == kind}


def load_rules(path: str | Path | None = None) -> list[CompiledRule]:
    if path is None:
        return _builtin_rules()
    return _compile_rules(Path(path).read_text("utf-8"), str(path))


@lru_cache(maxsize=1)
def _builtin_rules() -> list[CompiledRule]:
    text = resources.files("huiqi.data").joinpath("governance/project-rules.yaml").read_text("utf-8")
    return _compile_rules(text, "huiqi/data/governance/project-rules.yaml")


def _compile_rules(text: str, source: str) -> list[CompiledRule]:
    try:
        data = yaml.safe_load(text)
        ruleset = RuleSet.model_validate(data)
    except yaml.YAMLError as exc:
        raise InputError(f"项目规则不是合法的 YAML:{exc}", file=source) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"项目规则格式错误:{first['msg']}", file=source,
                         field=".".join(str(p) for p in first["loc"])) from None
    ids = [r.id for r in ruleset.rules]
    if len(ids) != len(set(ids)):
        raise InputError("项目规则 id 重复", file=source)
    known = set(ProjectProgress.model_fields)
    compiled: list[CompiledRule] = []
    for rule in ruleset.rules:
        expr = compile_expr(rule.when, source=source, field=f"{rule.id}.when")
        unknown = [f for f in expr.fields if not f.startswith("project.") or f.split(".", 1)[1] not in known]
        if unknown:
            raise InputError(f"规则 {rule.id} 使用了未知字段:{'、'.join(unknown)}", file=source,
                             field=f"{rule.id}.when", hint="可用字段见 docs/governance.md")
        if expr.type not in ("bool", "any"):
            raise InputError(f"规则 {rule.id} 的 when 必须是真假判断", file=source, field=f"{rule.id}.when")
        compiled.append(CompiledRule(rule=rule, expr=expr))
    return compiled


def evaluate_rules(rows: list[ProjectProgress], rules: list[CompiledRule] | None = None) -> RuleOutcome:
    rules = rules if rules is not None else load_rules()
    outcome = RuleOutcome()
    for row in rows:
        env = row.env()
        for compiled in rules:
            result = compiled.expr.evaluate(env)
            if result.is_true:
                outcome.hits.append(
                    RuleHit(
                        project_code=row.code, project_name=row.name, rule_id=compiled.rule.id,
                        kind=compiled.rule.kind, title=compiled.rule.title,
                        explanation=compiled.expr.explain(env, labels=FIELD_LABELS),
                    )
                )
            elif result.unknown:
                outcome.undecided.setdefault(row.code, []).append(compiled.rule.id)
    return outcome
