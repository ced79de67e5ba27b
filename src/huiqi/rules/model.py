"""Rule packs: one human-editable YAML file per policy document.

A rule is data. Conditions and formulas are strings in the expression language of
``huiqi.rules.expr`` (compiled, never evaluated as Python). Money literals such as
``500万元`` are allowed wherever an amount is expected.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

RULES_SCHEMA_VERSION = "1.1"


def _number_as_text(value: object) -> object:
    """YAML reads ``amount: 100000`` as a number; amounts and formulas are expression text.

    Numbers become their exact decimal text (the rule loader reads YAML floats as
    Decimal, so nothing is rounded through binary floating point). Booleans are left
    alone so that ``amount: true`` still fails validation.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return value


def _fraction_as_text(value: object) -> object:
    """Money bounds: keep integers (yuan), turn Decimal/float (1.5) into text for the loader."""
    if isinstance(value, bool) or isinstance(value, int):
        return value
    return _number_as_text(value)


Text = Annotated[str, BeforeValidator(_number_as_text)]

RuleKind = Literal["补助", "奖励", "贴息", "返还", "股权投资", "资助", "奖补", "补贴", "非资金"]
Beneficiary = Literal["enterprise", "project", "guarantee_institution", "institution", "individual"]
Money = Annotated[str | int, BeforeValidator(_fraction_as_text)]  # "300万元", "1.5亿元" or integer yuan


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Citation(_Model):
    document: str = Field(description="规则包 document.id")
    clause: str = Field(description="条款路径,如 二/十 或 三/三/1/—2")
    quote: str = Field(description="逐字引用的原文(简体),`huiqi rules check` 会核对")


class Validity(_Model):
    from_: date | None = Field(None, alias="from")
    to: date | None = None


class Jurisdiction(_Model):
    province: str | None = None
    city: str | None = None
    county: str | None = None
    districts: list[str] | None = Field(None, description="适用的区(县、开发区);空 = 全域")
    excluded_areas: list[str] = Field(default_factory=list, description="明确排除的区域")
    note: str | None = None


class Condition(_Model):
    when: str = Field(description="条件表达式,如 project.equipment_investment >= 500万元")
    label: str | None = Field(None, description="中文说明,如 设备投资额500万元及以上")


class Band(_Model):
    """One row of a tier table: applies when lower <= x (< upper); inclusivity explicit."""

    lower: Money | None = None
    lower_inclusive: bool = True
    upper: Money | None = None
    upper_inclusive: bool = False
    amount: Text = Field(description="该档金额或公式")
    label: str | None = None


class Tiers(_Model):
    on: str = Field(description="分档依据表达式")
    bands: list[Band]


class Lookup(_Model):
    on: str = Field(description="取值依据字段,如 enterprise.muju_class")
    table: dict[Text, Text] = Field(description="取值 → 金额或公式;未列出的值 = 不符合")


class PaidInStages(_Model):
    """A fixed total paid in instalments (分阶段补助300万元): not an upper bound.

    What was paid is read from the profile's ``history`` (entries of this rule); the
    result lists those stages and the part still to be paid.
    """

    note: str | None = Field(None, description="各阶段的划分与拨付方式(原文未列明时说明)")


class Amount(_Model):
    formula: Text | None = Field(None, description="金额公式,如 project.equipment_investment * 10%")
    tiers: Tiers | None = None
    lookup: Lookup | None = None
    upper_bound: bool = Field(False, description="原文为 最高/不超过:结果只是上限")
    rounding: Literal["half_up", "floor"] = "half_up"
    paid_in_stages: PaidInStages | None = Field(None, description="固定总额分阶段拨付:扣除已拨付阶段,列出各阶段")

    @model_validator(mode="after")
    def _exactly_one(self) -> Amount:
        given = [x for x in (self.formula, self.tiers, self.lookup) if x is not None]
        if len(given) != 1:
            raise ValueError("amount 必须且只能有 formula、tiers、lookup 之一")
        if self.paid_in_stages is not None and self.upper_bound:
            raise ValueError("分阶段拨付的是确定总额,不能同时标为上限(upper_bound)")
        return self


class Cap(_Model):
    amount: Text = Field(description="上限金额或公式,如 300万元")
    scope: Literal["award", "enterprise_year", "enterprise", "fund"] = "award"
    group: str | None = Field(None, description="enterprise_year/fund 上限所共享的组名")
    label: str | None = None


class Stacking(_Model):
    group: str = Field(description="叠加组名")
    mode: Literal["max_in_group", "once_per_level", "exclusive", "once"] = "max_in_group"
    level: str | None = Field(None, description="once_per_level 时的级别表达式")
    note: str | None = None
    quote: str | None = None


class Rank(_Model):
    """Population rule: rank applicants and award by position (排全市前三名分别奖励…)."""

    by: str = Field(description="排序表达式")
    descending: bool = True
    awards: list[Money] = Field(description="第1名、第2名…的金额")
    within: str | None = Field(None, description="排名范围字段(如 enterprise.county);空 = 全体")


class Quota(_Model):
    """Population rule: at most N beneficiaries per group (各县市可分别推荐两家)."""

    per: str = Field(description="名额分组字段")
    limit: int
    by: str = Field(description="名额内的排序表达式(大者优先)")


class ClassEffect(_Model):
    """A consequence for the 亩均 evaluation class (临海 二/八 列入A类 / 不列入D类).

    Same vocabulary as an evaluation methodology's ``class_rules``: ``set`` puts the
    enterprise in the class, ``not_below`` keeps it at that class or better (不列入D类 =
    not_below C); ``quota: exempt`` = 不占比例.
    """

    action: Literal["set", "not_below"]
    class_: str = Field(alias="class", description="亩均评价类别,如 A、C")
    quota: Literal["counted", "exempt"] = "counted"


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z0-9_.\-]+$")
    title: str
    citation: Citation
    department: list[str] = Field(default_factory=list)
    kind: RuleKind
    beneficiary: Beneficiary = "enterprise"
    computable: bool = Field(True, description="false = 一事一议/给予一定支持:只作为线索展示")
    benefit: str | None = Field(None, description="非资金支持内容,如 优先保障用地")
    class_effect: ClassEffect | None = Field(None, description="对亩均评价类别的影响(列入A类、不列入D类)")
    validity: Validity | None = None
    jurisdiction: Jurisdiction | None = None
    conditions: list[Condition] = Field(default_factory=list)
    amount: Amount | None = None
    caps: list[Cap] = Field(default_factory=list)
    stacking: list[Stacking] = Field(default_factory=list)
    rank: Rank | None = None
    quota: Quota | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _amount_when_computable(self) -> Rule:
        if self.computable and self.kind != "非资金" and self.amount is None and self.rank is None:
            raise ValueError("可计算的资金类规则必须给出 amount 或 rank")
        return self


class Parameter(_Model):
    """A named, date-versioned value (LPR, 基准利率, 登记失业率)."""

    label: str
    unit: str = ""
    values: list[ParameterValue]


class ParameterValue(_Model):
    from_: date = Field(alias="from")
    value: Text


class DocumentRef(_Model):
    id: str = Field(pattern=r"^[a-z0-9_.\-]+$", description="规则包内引用的文件简称,如 linhai-2022-22")
    title: str
    doc_number: str | None = None
    source_file: str | None = Field(None, description="种子/原文文件名,供 rules check 核对引文")


class RulePack(_Model):
    schema_version: str = RULES_SCHEMA_VERSION
    document: DocumentRef
    jurisdiction: Jurisdiction = Field(default_factory=Jurisdiction)
    validity: Validity = Field(default_factory=Validity)
    department: list[str] = Field(default_factory=list, description="默认责任部门")
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rules: list[Rule]
    leads: list[Lead] = Field(default_factory=list, description="不可计算的措施线索")


class Lead(_Model):
    """A measure that cannot be computed (一事一议, 给予一定资金奖励) but must still be shown."""

    title: str
    citation: Citation
    department: list[str] = Field(default_factory=list)
    reason: str = Field(description="不可计算的原因,如 一事一议")


Parameter.model_rebuild()
RulePack.model_rebuild()
