"""Result of a calculation: what applies, how much, why, what is missing, whom to ask.

The JSON form of :class:`CalcReport` is a public structure (``huiqi schema result``);
money is always integer yuan so that totals add up exactly.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RESULT_SCHEMA_VERSION = "1.1"

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


class Stage(_Model):
    label: str = Field(description="阶段说明,如 2022年已拨付、待拨付(后续阶段)")
    amount: int = Field(description="金额(元)")
    year: int | None = Field(None, description="拨付年度(已拨付阶段)")
    paid: bool = Field(description="是否已拨付")


class StagedPayment(_Model):
    """A fixed total paid in instalments (分阶段补助300万元)."""

    total: int = Field(description="分阶段补助总额(元)")
    paid: int = Field(description="已拨付合计(元),取自画像 history")
    remaining: int = Field(description="尚未拨付(元),即本次结果的金额")
    stages: list[Stage] = Field(default_factory=list)
    note: str | None = None


class ClassEffect(_Model):
    """What a granted rule does to the enterprise's 亩均 evaluation class."""

    class_override: str | None = Field(None, description="直接列入的类别,如 A(列入亩均评价A类)")
    class_floor: str | None = Field(None, description="不低于的类别,如 C(不列入D类)")
    quota_exempt: bool = Field(False, description="不占该类比例")
    rule: str = Field(description="规则 id")
    label: str = Field("", description="中文说明")


def apply_class_effects(cls: str | None, effects: list[ClassEffect],
                        order: tuple[str, ...] = ("A", "B", "C", "D")) -> str | None:
    """The class after the effects: an override wins (the best one if several), then floors lift.

    ``order`` runs from best to worst. An unknown class stays unknown unless overridden.
    """
    overrides = [e.class_override for e in effects if e.class_override in order]
    if overrides:
        return min(overrides, key=order.index)
    floors = [e.class_floor for e in effects if e.class_floor in order]
    if cls not in order or not floors:
        return cls
    best_floor = min(floors, key=order.index)
    return best_floor if order.index(cls) > order.index(best_floor) else cls


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
    stages: StagedPayment | None = Field(None, description="分阶段拨付的固定总额:已拨付与待拨付的阶段")
    class_effect: ClassEffect | None = Field(None, description="可享受时对亩均评价类别的影响")


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

    def class_effects(self) -> list[ClassEffect]:
        """Effects on the 亩均 class of the rules that are granted (for the evaluation)."""
        return [r.class_effect for r in self.results if r.status == "granted" and r.class_effect is not None]

    def find(self, rule: str, subject: str | None = None) -> RuleResult | None:
        for r in self.results:
            if r.rule == rule and (subject is None or r.subject == subject):
                return r
        return None
