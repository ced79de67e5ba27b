"""Result of a calculation: what applies, how much, why, what is missing, whom to ask.

The JSON form of :class:`CalcReport` is a public structure (``huiqi schema result``);
money is always integer yuan so that totals add up exactly.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RESULT_SCHEMA_VERSION = "1.0"

Status = Literal[
    "granted",
    "stacked_out",
    "not_eligible",
    "undecided",
    "not_in_force",
    "out_of_jurisdiction",
    "lead",
]
ConditionStatus = Literal["true", "false", "unknown"]

STATUS_LABELS: dict[str, str] = {
    "granted": "可享受",
    "stacked_out": "不可叠加",
    "not_eligible": "不符合",
    "undecided": "无法判定",
    "not_in_force": "不在有效期",
    "out_of_jurisdiction": "不适用地区",
    "lead": "线索",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConditionOutcome(_Model):
    label: str = Field(description="条件的中文说明(规则作者所写,或由表达式生成)")
    expr: str = Field(description="条件表达式原文")
    status: ConditionStatus
    actual: str | None = Field(None, description="实际值(已格式化),如 150万元;未提供为 null")
    required: str | None = Field(None, description="要求值,如 ≥ 200万元(含)")
    text: str = Field("", description="一行中文解释,如 ✗ 设备投资额 150万元 < 要求 200万元(含)")


class MissingField(_Model):
    field: str = Field(description="字段路径,如 project.equipment_investment")
    label: str


class NearMiss(_Model):
    field: str
    label: str
    gap: int | Decimal = Field(description="差距:金额为整数元,其他为精确小数")
    gap_text: str = Field("", description="差距的中文写法,如 50万元")
    direction: Literal["increase", "decrease"] = "increase"
    threshold: int | Decimal | None = Field(None, description="达到条件所需的值")
    amount_if_met: int | None = Field(None, description="达到门槛后可获金额(元);无法确定为 null")
    text: str = ""


class RuleResult(_Model):
    document: str = Field(description="规则包 document.id")
    document_title: str
    doc_number: str | None = None
    clause: str
    quote: str
    rule: str = Field(description="规则 id")
    title: str
    department: list[str] = Field(default_factory=list)
    kind: str
    subject: str = Field(description="enterprise 或项目 id")
    subject_name: str | None = Field(None, description="项目名称(项目类规则)")
    status: Status
    reason: str = Field("", description="一句话结论")
    amount: int | None = Field(None, description="金额(元);upper_bound 时为上限")
    upper_bound: bool = False
    explanation: str = ""
    conditions: list[ConditionOutcome] = Field(default_factory=list)
    formula: str | None = Field(None, description="代入数值后的公式")
    caps_applied: list[str] = Field(default_factory=list)
    stacking: list[str] = Field(default_factory=list)
    missing: list[MissingField] = Field(default_factory=list)
    near_miss: NearMiss | None = None
    benefit: str | None = Field(None, description="非资金支持内容")


class Question(_Model):
    field: str
    label: str
    type: str
    subject: str = Field(description="enterprise 或项目 id")
    subject_name: str | None = None
    description: str | None = None
    rules: list[str] = Field(default_factory=list, description="该信息可判定的规则 id")
    rule_titles: list[str] = Field(default_factory=list)
    money_at_stake: int = Field(0, description="可能解锁的最高金额合计(元)")
    amount_pending: bool = Field(False, description="部分规则金额待定")
    text: str = ""


class LeadResult(_Model):
    document: str
    document_title: str
    doc_number: str | None = None
    clause: str
    quote: str
    rule: str | None = None
    title: str
    department: list[str] = Field(default_factory=list)
    reason: str
    benefit: str | None = None


class CalcReport(_Model):
    schema_version: str = RESULT_SCHEMA_VERSION
    profile: str = Field(description="企业名称")
    date: date
    results: list[RuleResult] = Field(default_factory=list)
    total_granted: int = Field(0, description="确定金额合计(元,不含上限类)")
    total_upper_bound: int = Field(0, description="上限类(最高/不超过)金额合计(元)")
    ask_next: list[Question] = Field(default_factory=list)
    leads: list[LeadResult] = Field(default_factory=list)
    parameters: dict[str, str] = Field(default_factory=dict, description="计算所用参数值")
    notes: list[str] = Field(default_factory=list, description="输入来源说明,如 亩均评价类别取自最近一次评价")

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def by_status(self, *statuses: str) -> list[RuleResult]:
        return [r for r in self.results if r.status in statuses]

    def find(self, rule: str, subject: str | None = None) -> RuleResult | None:
        for r in self.results:
            if r.rule == rule and (subject is None or r.subject == subject):
                return r
        return None
