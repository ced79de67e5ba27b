"""Typed inputs of the workflow: a round (申报批次), its fund pool and quota, an application.

Money is integer yuan; an amount may be written as text (``3000万元``) and is parsed exactly.
These models are the request bodies of the API and the inputs of the CLI, so a bad value
gets the same located Chinese message on every surface.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from huiqi.errors import InputError
from huiqi.simulation.allocation import METHOD_LABELS

__all__ = [
    "ActionRequest",
    "ApplicationCreate",
    "PoolSpec",
    "QuotaSpec",
    "RoundSpec",
    "money",
]

QuotaPer = Literal["county", "district", "region"]
QUOTA_PER_LABELS = {"county": "每个县(市)", "district": "每个区", "region": "每个县(市、区)"}


def money(raw: Any, field: str) -> int:
    """Integer yuan from 3000万元 / 30000000 / "30,000,000"; never float."""
    from huiqi.profile import parse_money_value

    if isinstance(raw, bool) or isinstance(raw, float):
        raise InputError("金额须为整数元或带单位的文字(如 3000万元),不能是小数", field=field)
    try:
        value = parse_money_value(raw)
    except Exception as exc:  # the profile parser raises its own private error type
        raise InputError(f"无法识别的金额 {raw!r}:{exc}", field=field) from None
    if value < 0:
        raise InputError("金额不能为负数", field=field)
    return value


def _money_field(raw: Any, field: str) -> int:
    # pydantic locates a ValueError by field; an InputError would escape its error list.
    try:
        return money(raw, field)
    except InputError as exc:
        raise ValueError(exc.message) from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PoolSpec(_Model):
    """资金池:金额、年度、名称。"""

    name: str = Field(min_length=1, description="资金池名称,如 市级工业转型升级专项资金")
    amount: int = Field(description="资金总额(元);可写 3000万元")
    year: int = Field(ge=2000, le=2100, description="资金年度")

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> int:
        return _money_field(v, "pool.amount")


class QuotaSpec(_Model):
    """名额:如 每个县(市)推荐两家。"""

    per: QuotaPer = Field("region", description="分组:county 县(市)/ district 区 / region 县(市、区)")
    limit: int = Field(ge=1, description="每组最多几家")


class RoundSpec(_Model):
    """开一个申报批次(或免申即享批次)。"""

    title: str = Field(min_length=1, max_length=200)
    rules: list[str] = Field(min_length=1, description="规则 id 列表(来自规则包)")
    opens_on: date = Field(description="申报开始日期")
    closes_on: date = Field(description="申报截止日期")
    policy_date: date | None = Field(None, description="按哪一天的政策计算(默认申报开始日期)")
    regions: list[str] = Field(default_factory=list, description="可申报的县(市、区);空 = 规则辖区内均可")
    pool: PoolSpec
    method: Literal["pro_rata", "rank", "first_come"] = Field(
        "pro_rata", description="资金超额时的分配方法:" + ";".join(f"{k} {v}" for k, v in METHOD_LABELS.items()))
    quota: QuotaSpec | None = None
    required_documents: list[str] = Field(default_factory=list, description="须上传的材料名称")
    publicity_days: int = Field(7, ge=0, le=60, description="公示天数")
    kind: Literal["application", "proactive"] = "application"

    @model_validator(mode="after")
    def _dates(self) -> RoundSpec:
        if self.closes_on < self.opens_on:
            raise ValueError("申报截止日期早于开始日期")
        if len(set(self.rules)) != len(self.rules):
            raise ValueError("规则 id 重复")
        return self

    @property
    def calc_date(self) -> date:
        return self.policy_date or self.opens_on


class ApplicationCreate(_Model):
    """企业申报:批次、企业画像(与计算器同一格式)、可选的项目编号与规则。"""

    round: int = Field(description="批次 id")
    profile: dict[str, Any] = Field(description="企业画像(huiqi schema profile)")
    project: str | None = Field(None, description="项目类规则:画像中项目的 id")
    rule: str | None = Field(None, description="申报的规则;批次只有一条规则时可省略")
    bank_account: str | None = Field(None, max_length=64, description="收款账户")


class ActionRequest(_Model):
    action: str = Field(description="submit|approve|reject|return|adjust|publicize|pay|withdraw|confirm|object|resolve")
    reason: str | None = Field(None, max_length=2000, description="原因(不通过、退回、调整、异议时必填)")
    amount: int | None = Field(None, description="调整后的金额(元),只在 adjust 时使用")
    voucher: str | None = Field(None, max_length=64, description="拨付凭证号(pay 时必填)")
    bank_account: str | None = Field(None, max_length=64, description="收款账户(confirm 时必填)")

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> int | None:
        return None if v is None else _money_field(v, "amount")
