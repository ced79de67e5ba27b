"""The indicator catalog (data) and the link from a document's targets to indicator series."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from huiqi.document import Comparator, Document, Target
from huiqi.errors import InputError
from huiqi.governance.tasks import document_identity

SeriesKind = Literal["flow", "level"]


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    unit: str
    kind: SeriesKind
    aliases: list[str] = Field(default_factory=list)
    accepts: list[str] = Field(default_factory=list, description="target units meaning the same as `unit`")


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    indicators: list[Indicator]

    def find(self, text: str) -> Indicator | None:
        """An indicator by code or name (as an actuals file writes it)."""
        key = text.strip()
        for ind in self.indicators:
            if key in (ind.code, ind.name):
                return ind
        return None

    def by_code(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    def link(self, indicator_text: str) -> Indicator | None:
        """The indicator whose longest alias occurs in a target's indicator text."""
        best: tuple[int, Indicator] | None = None
        for ind in self.indicators:
            for alias in ind.aliases:
                if alias in indicator_text and (best is None or len(alias) > best[0]):
                    best = (len(alias), ind)
        return None if best is None else best[1]


def load_catalog(path: str | Path | None = None) -> Catalog:
    if path is None:
        return _builtin_catalog()
    return _parse_catalog(Path(path).read_text("utf-8"), str(path))


@lru_cache(maxsize=1)
def _builtin_catalog() -> Catalog:
    text = resources.files("huiqi.data").joinpath("governance/indicators.yaml").read_text("utf-8")
    return _parse_catalog(text, "huiqi/data/governance/indicators.yaml")


def _parse_catalog(text: str, source: str) -> Catalog:
    try:
        data = yaml.safe_load(text)
        catalog = Catalog.model_validate(data)
    except yaml.YAMLError as exc:
        raise InputError(f"指标目录不是合法的 YAML:{exc}", file=source) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"指标目录格式错误:{first['msg']}", file=source,
                         field=".".join(str(p) for p in first["loc"])) from None
    codes = [i.code for i in catalog.indicators]
    dup = {c for c in codes if codes.count(c) > 1}
    if dup:
        raise InputError(f"指标代码重复:{'、'.join(sorted(dup))}", file=source)
    return catalog


# ---- monitored targets -------------------------------------------------------------------

_ANNUAL = re.compile(r"每年|全年|年均|当年")


class MonitoredTarget(BaseModel):
    """A document's target as the office monitors it: a series, a region and a time window."""

    model_config = ConfigDict(extra="forbid")

    id: str
    document_identity: str
    document_title: str
    measure_key: str | None
    indicator_text: str
    text: str
    series: str | None = Field(None, description="indicator code, None when no series is linked")
    region: str
    comparator: Comparator
    value: Decimal
    unit: str
    stretch_value: Decimal | None = None
    annual: bool = Field(False, description="the goal repeats every calendar year (每年/全年/年均)")
    start: date = Field(description="first day of the monitoring window")
    deadline: date = Field(description="last day of the monitoring window")
    link_note: str = ""

    def window(self, as_of: date) -> tuple[date, date]:
        """The window in force on ``as_of``: for an annual goal ("全年完成投资"), the whole
        calendar year, whatever day the document was issued (not after ``deadline``)."""
        if not self.annual:
            return self.start, self.deadline
        year = min(max(as_of.year, self.start.year), self.deadline.year)
        return date(year, 1, 1), min(self.deadline, date(year, 12, 31))


def region_of(document: Document) -> str:
    r = document.region
    return r.county or r.city or r.province or "全市"


def _target_id(identity: str, target: Target, ordinal: int) -> str:
    raw = f"{identity}\x1f{target.measure or ''}\x1f{target.indicator}\x1f{ordinal}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def monitored_targets(document: Document, catalog: Catalog | None = None) -> list[MonitoredTarget]:
    """The document's targets that have a year to be reached by, linked to the catalog.

    The deadline is the target's own year, else the end of the document's validity, else (for
    an annual goal) the year the document was issued; a target with none is not monitored.
    """
    catalog = catalog or load_catalog()
    identity = document_identity(document)
    base = document.effective_from or document.signed_date or document.published_date
    out: list[MonitoredTarget] = []
    seen: dict[tuple[str | None, str], int] = {}
    for target in document.targets:
        annual = bool(_ANNUAL.search(target.indicator) or _ANNUAL.search(target.text))
        year = target.year
        if year is None and document.effective_to is not None:
            year = document.effective_to.year
        if year is None and annual and base is not None:
            year = base.year
        if year is None:
            continue
        deadline = date(year, 12, 31)
        if document.effective_to is not None and target.year is None:
            deadline = min(deadline, document.effective_to)
        start = base if base is not None and base <= deadline else date(year, 1, 1)
        indicator = catalog.link(target.indicator)
        note = ""
        series: str | None = None
        if indicator is None:
            note = "指标目录中没有对应的监测指标"
        elif target.unit not in (indicator.unit, *indicator.accepts):
            note = f"目标单位 {target.unit} 与指标 {indicator.name} 的单位 {indicator.unit} 不一致"
        else:
            series = indicator.code
        ordinal = seen.get((target.measure, target.indicator), 0)
        seen[(target.measure, target.indicator)] = ordinal + 1
        out.append(
            MonitoredTarget(
                id=_target_id(identity, target, ordinal),
                document_identity=identity,
                document_title=document.title,
                measure_key=target.measure,
                indicator_text=target.indicator,
                text=target.text,
                series=series,
                region=region_of(document),
                comparator=target.comparator or Comparator.GE,
                value=target.value,
                unit=indicator.unit if series and indicator else target.unit,
                stretch_value=target.stretch_value,
                annual=annual,
                start=start,
                deadline=deadline,
                link_note=note,
            )
        )
    return out
