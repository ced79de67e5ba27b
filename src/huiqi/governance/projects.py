"""项目库: key projects, their 要素保障 needs, monthly completed investment, and progress.

Money is integer yuan everywhere; the ledgers offices keep are in 万元, so import and export
convert exactly (a 万元 figure with more than four decimals is refused, not rounded).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from huiqi.governance.monitoring import month_of, months_between

WAN = 10_000


class ProjectLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]


LEVEL_LABELS = {ProjectLevel.PROVINCE: "省重点", ProjectLevel.CITY: "市重点", ProjectLevel.COUNTY: "县重点"}


class FactorStatus(StrEnum):
    SECURED = "secured"
    PARTIAL = "partial"
    PENDING = "pending"
    NONE = "none"  # no need

    @property
    def label(self) -> str:
        return FACTOR_LABELS[self]


FACTOR_LABELS = {
    FactorStatus.SECURED: "已保障",
    FactorStatus.PARTIAL: "部分保障",
    FactorStatus.PENDING: "待保障",
    FactorStatus.NONE: "无需求",
}


class Stage(StrEnum):
    PLANNED = "planned"
    SIGNED = "signed"
    BUILDING = "building"
    PRODUCING = "producing"
    FULL = "full"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {
    Stage.PLANNED: "谋划",
    Stage.SIGNED: "已签约",
    Stage.BUILDING: "在建",
    Stage.PRODUCING: "已投产",
    Stage.FULL: "已达产",
}
MILESTONES = (("signed_on", "签约"), ("started_on", "开工"), ("production_on", "投产"), ("full_production_on", "达产"))


class Project(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, description="项目编号")
    name: str = Field(min_length=1)
    enterprise: str = ""
    region: str = Field(min_length=1)
    industry: str = ""
    level: ProjectLevel
    total_investment: int = Field(ge=0, description="总投资,元")
    annual_plan: int = Field(ge=0, description="年度计划投资,元")
    plan_year: int
    signed_on: date | None = None
    start_planned: date | None = None
    started_on: date | None = None
    production_planned: date | None = None
    production_on: date | None = None
    full_production_planned: date | None = None
    full_production_on: date | None = None
    land_mu: Decimal | None = Field(None, ge=0, description="用地需求,亩")
    land_status: FactorStatus = FactorStatus.NONE
    energy_tce: Decimal | None = Field(None, ge=0, description="用能需求,吨标准煤")
    energy_status: FactorStatus = FactorStatus.NONE
    funding: int | None = Field(None, ge=0, description="资金需求,元")
    funding_status: FactorStatus = FactorStatus.NONE
    note: str = ""

    @model_validator(mode="after")
    def _milestones_in_order(self) -> Project:
        previous: tuple[str, date] | None = None
        for attr, label in MILESTONES:
            value = getattr(self, attr)
            if value is None:
                continue
            if previous is not None and value < previous[1]:
                raise ValueError(f"{label}日期 {value} 早于{previous[0]}日期 {previous[1]}")
            previous = (label, value)
        if self.annual_plan > self.total_investment:
            raise ValueError("年度计划投资不能大于总投资")
        return self

    def stage(self, as_of: date) -> Stage:
        def done(d: date | None) -> bool:
            return d is not None and d <= as_of

        if done(self.full_production_on):
            return Stage.FULL
        if done(self.production_on):
            return Stage.PRODUCING
        if done(self.started_on):
            return Stage.BUILDING
        if done(self.signed_on):
            return Stage.SIGNED
        return Stage.PLANNED

    @property
    def factors_pending(self) -> int:
        return sum(s in (FactorStatus.PENDING, FactorStatus.PARTIAL)
                   for s in (self.land_status, self.energy_status, self.funding_status))


class MonthlyInvestment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project_code: str
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    amount: int = Field(ge=0, description="当月完成投资,元")


def months_from(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return months


class ProjectProgress(BaseModel):
    """The facts the 调出/预警 rules and the report read, for one project at one month end."""

    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    region: str
    industry: str
    level: str
    stage: str
    as_of: date
    total_investment: int
    annual_plan: int
    cumulative_investment: int
    year_to_date: int
    cumulative_ratio: Decimal | None
    annual_ratio: Decimal | None
    time_share: Decimal
    started: bool
    in_production: bool
    months_since_signing: int | None
    months_past_planned_start: int | None
    months_past_planned_production: int | None
    months_without_investment: int | None
    factors_pending: int

    def env(self) -> dict[str, object]:
        """The rule expressions' view: ``project.<field>``."""
        return {"project": self.model_dump(mode="python")}


def _ratio(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def progress(project: Project, investments: Iterable[MonthlyInvestment], as_of_month: str) -> ProjectProgress:
    """A project's progress at the end of ``as_of_month`` ("YYYY-MM")."""
    from huiqi.governance.deadlines import month_end

    as_of = month_end(int(as_of_month[:4]), int(as_of_month[5:7]))
    amounts = {i.period: i.amount for i in investments if i.project_code == project.code and i.period <= as_of_month}
    cumulative = sum(amounts.values())
    ytd = sum(v for p, v in amounts.items() if p.startswith(f"{as_of.year:04d}-"))
    started = project.started_on is not None and project.started_on <= as_of
    idle: int | None = None
    if started and project.started_on is not None:
        idle = 0
        for month in reversed(months_between(month_of(project.started_on), as_of_month)):
            if amounts.get(month, 0) > 0:
                break
            idle += 1

    def past(planned: date | None, actual: date | None) -> int | None:
        if planned is None:
            return None
        if actual is not None and actual <= as_of:
            return 0
        return max(0, months_from(planned, as_of))

    return ProjectProgress(
        code=project.code, name=project.name, region=project.region, industry=project.industry,
        level=project.level.label, stage=project.stage(as_of).label, as_of=as_of,
        total_investment=project.total_investment, annual_plan=project.annual_plan,
        cumulative_investment=cumulative, year_to_date=ytd,
        cumulative_ratio=_ratio(cumulative, project.total_investment),
        annual_ratio=_ratio(ytd, project.annual_plan) if project.plan_year == as_of.year else None,
        time_share=(Decimal(as_of.month) / Decimal(12)).quantize(Decimal("0.0001")),
        started=started,
        in_production=project.production_on is not None and project.production_on <= as_of,
        months_since_signing=None if project.signed_on is None else months_from(project.signed_on, as_of),
        months_past_planned_start=past(project.start_planned, project.started_on),
        months_past_planned_production=past(project.production_planned, project.production_on),
        months_without_investment=idle,
        factors_pending=project.factors_pending,
    )


class GroupProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str
    projects: int
    started: int
    total_investment: int
    annual_plan: int
    year_to_date: int
    annual_ratio: Decimal | None
    flagged: int = 0


def progress_by(rows: list[ProjectProgress], key: str, flagged: set[str] | None = None) -> list[GroupProgress]:
    """Progress summed by ``key`` ("region" or "industry"), best annual completion first."""
    groups: dict[str, list[ProjectProgress]] = {}
    for r in rows:
        groups.setdefault(getattr(r, key) or "(未填)", []).append(r)
    out = [
        GroupProgress(
            group=g, projects=len(rs), started=sum(r.started for r in rs),
            total_investment=sum(r.total_investment for r in rs), annual_plan=sum(r.annual_plan for r in rs),
            year_to_date=sum(r.year_to_date for r in rs),
            annual_ratio=_ratio(sum(r.year_to_date for r in rs), sum(r.annual_plan for r in rs)),
            flagged=sum(r.code in (flagged or set()) for r in rs),
        )
        for g, rs in groups.items()
    ]
    out.sort(key=lambda g: (-(g.annual_ratio or Decimal(-1)), g.group))
    return out


def wan(yuan: int | None) -> Decimal | None:
    """Integer yuan as 万元, exact."""
    return None if yuan is None else (Decimal(yuan) / WAN).normalize()


def fmt_wan(yuan: int | None) -> str:
    if yuan is None:
        return ""
    return f"{Decimal(yuan) / WAN:,.2f}"
