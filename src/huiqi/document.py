"""The structured policy document: what ingestion produces and the policy base stores.

Offsets (``start``/``end``) are Python string indices, end exclusive. Measure-level
offsets index ``Document.text`` (the cleaned, simplified text); provision and target
offsets index ``Measure.text``. ``Document.offset_map`` maps simplified offsets back
to ``Document.original_text`` so a citation can always quote the text as published.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DOCUMENT_SCHEMA_VERSION = "1.1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Comparator(StrEnum):
    """How a number bounds a quantity. 以上/以下/以内 include the number, 超过/不满/低于 exclude it
    (民法典 第1259条)."""

    GE = "ge"  # 以上, 及以上, 不低于, 不少于, (含)以上, 达到
    GT = "gt"  # 超过, 高于, 大于, (不含)以上
    LE = "le"  # 以下, 以内, 不超过, 不高于, 最高, 最多, 封顶
    LT = "lt"  # 不满, 低于, 少于, 不足, 未达到
    EQ = "eq"  # an exact figure
    APPROX = "approx"  # 左右, 约


class ProvisionKind(StrEnum):
    AMOUNT = "amount"  # money granted, fixed: 奖补200万元 (upper_bound=True for 最高/不超过)
    CAP = "cap"  # an upper limit on a computed amount: 最高300万元, 单户企业最高500万元
    THRESHOLD = "threshold"  # a condition on a quantity: 设备投资额500万元以上
    RANGE = "range"  # a band: 10亿元(含)至20亿元
    RATE = "rate"  # a percentage or share: 按10%给予补助, 三成, 百分之十, 85折
    PER_UNIT = "per_unit"  # money per unit: 60元/平方米, 18万元/亩, 5.04万元/辆
    TIME_LIMIT = "time_limit"  # 20个工作日, 3个月内
    COUNT = "count"  # 182个项目, 4家, 前三名
    RATIO = "ratio"  # 5:5, 1/3
    QUANTITY = "quantity"  # any other measured quantity: 10亩, 25万吨, 容积率提高20%


class Provision(_Model):
    """One quantitative fact of a measure, with the exact span it was read from."""

    kind: ProvisionKind
    text: str = Field(description="the exact span in Measure.text")
    start: int
    end: int
    value: Decimal | None = Field(None, description="the number as written, in `unit` (e.g. 500 for 500万元)")
    unit: str = Field("", description="unit as written: 万元, 元, %, 元/平方米, 个工作日, 亩 ...")
    yuan: int | None = Field(None, description="money in integer yuan (amount/cap/threshold/range bounds in money)")
    comparator: Comparator | None = None
    upper_bound: bool = Field(False, description="最高/不超过/以内: the figure is a ceiling, not a promise")
    low: Decimal | None = Field(None, description="range/threshold lower bound in `unit`")
    high: Decimal | None = None
    low_inclusive: bool | None = None
    high_inclusive: bool | None = None
    low_yuan: int | None = None
    high_yuan: int | None = None
    per: str | None = Field(None, description="per-unit denominator: 平方米, 亩, 辆, 千瓦时, 人, 场 ...")
    subject: str | None = Field(None, description="what the number measures, when recognisable: 设备投资额")
    scope: str | None = Field(None, description="who/what a cap applies to: 单户企业, 单个项目, 每场, 每年")
    band_yuan: int | None = Field(
        None, description="for one band of a tier table (a range or an open-ended threshold): the money granted in it"
    )
    note: str | None = None
    currency: str | None = Field(
        None, description="ISO 4217 code of money in a foreign currency (USD for 美元); None for 人民币 and non-money"
    )
    currency_amount: int | None = Field(
        None,
        description="money in whole units of `currency` (5000万美元 → 50000000); `yuan` stays empty for "
        "foreign money, as no exchange rate is assumed",
    )


class Target(_Model):
    """A quantified goal: 到2023年底 规上工业亩均税收超过20.3万元."""

    indicator: str
    value: Decimal
    unit: str = ""
    comparator: Comparator | None = None
    stretch_value: Decimal | None = Field(None, description="力争 value when both a base and a stretch goal are given")
    year: int | None = None
    text: str
    start: int = Field(description="offset in the measure text (or document text when measure is null)")
    end: int
    measure: str | None = Field(None, description="label path of the measure holding the target, joined by '/'")


class Units(_Model):
    """Responsible units of a measure, names normalised and simplified."""

    all: list[str] = Field(default_factory=list)
    lead: list[str] = Field(default_factory=list, description="牵头单位")
    support: list[str] = Field(default_factory=list, description="配合单位")
    text: str | None = Field(None, description="the responsibility clause as written")


class Measure(_Model):
    label: str = Field(description="number as written without punctuation: 十, 3, 一")
    path: list[str] = Field(default_factory=list, description="labels of the ancestors, outermost first")
    level: int = Field(description="nesting depth, 0 = top")
    style: str = Field(description="numbering style: 一、 (一) 1. 1、 (1) ① ——")
    title: str = ""
    text: str = Field(description="full text of the measure (simplified), including its title")
    original_text: str = Field("", description="the same span in the original script")
    start: int
    end: int
    units: Units = Field(default_factory=Units)
    provisions: list[Provision] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return "/".join([*self.path, self.label])


class Region(_Model):
    province: str | None = None
    city: str | None = None
    county: str | None = None


class Span(_Model):
    start: int
    end: int
    text: str
    reason: str = ""


class RepairedSpan(_Model):
    start: int = Field(description="offset in the decoded source text, before boilerplate removal")
    end: int
    original: str = Field(description="the mangled text as received")
    repaired: str
    confidence: float = Field(ge=0, le=1)
    method: str


class SourceInfo(_Model):
    path: str
    sha256: str
    bytes: int
    encoding: str
    format: Literal["txt", "html", "docx", "pdf"]


class Quality(_Model):
    boilerplate_removed: list[Span] = Field(default_factory=list)
    repaired: list[RepairedSpan] = Field(default_factory=list)
    unreadable: list[Span] = Field(default_factory=list)
    unparsed_numbers: list[Span] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class Document(_Model):
    schema_version: str = DOCUMENT_SCHEMA_VERSION
    id: str = Field(description="stable id: hash of the cleaned text, so re-ingesting is idempotent")
    title: str
    doc_number: str | None = Field(None, description="文号 as written: 滨发改工业〔2022〕156号")
    issuers: list[str] = Field(default_factory=list)
    region: Region = Field(default_factory=Region)
    signed_date: date | None = Field(None, description="成文日期 / date under the signature")
    published_date: date | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    validity_text: str | None = Field(None, description="the sentence the validity was derived from")
    status: Literal["final", "draft"] = "final"
    status_label: str | None = Field(None, description="征求意见稿 / 送审稿 / 试行 as written")
    script: Literal["simplified", "traditional", "mixed"] = "simplified"
    source: SourceInfo
    text: str = Field(description="cleaned body text, simplified script")
    original_text: str = Field(description="cleaned body text in the original script (mojibake repaired)")
    offset_map: list[int] | None = Field(
        None, description="original offset of each simplified char; null when the two texts align 1:1"
    )
    measures: list[Measure] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    quality: Quality = Field(default_factory=Quality)

    def measure(self, key: str) -> Measure | None:
        for m in self.measures:
            if m.key == key or m.label == key:
                return m
        return None
