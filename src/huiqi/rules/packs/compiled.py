"""A loaded pack and its rules with every expression compiled and pack defaults resolved."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from huiqi.rules.expr import Expr
from huiqi.rules.model import (
    Amount,
    Band,
    Cap,
    Condition,
    Jurisdiction,
    Lead,
    Quota,
    Rank,
    Rule,
    RulePack,
    Stacking,
    Validity,
)

__all__ = ["CompiledAmount", "CompiledBand", "CompiledCap", "CompiledCondition", "CompiledQuota", "CompiledRank",
           "CompiledRule", "CompiledStacking", "LoadedLead", "LoadedPack"]

@dataclass(frozen=True)
class LoadedPack:
    """One validated pack file."""

    pack: RulePack
    path: Path
    line: int | None = None

    @property
    def id(self) -> str:
        return self.pack.document.id

    @property
    def document(self) -> Any:
        return self.pack.document

    @property
    def file(self) -> str:
        return str(self.path)

    @property
    def tests_path(self) -> Path:
        return self.path.with_name(self.path.name.removesuffix(".yaml").removesuffix(".yml") + ".tests.yaml")


@dataclass(frozen=True)
class CompiledCondition:
    condition: Condition
    expr: Expr
    line: int | None

    @property
    def label(self) -> str:
        return self.condition.label or self.condition.when


@dataclass(frozen=True)
class CompiledBand:
    band: Band
    lower: Decimal | None
    upper: Decimal | None
    amount: Expr

    def contains(self, x: Decimal) -> bool:
        if self.lower is not None and (x < self.lower or (x == self.lower and not self.band.lower_inclusive)):
            return False
        return not (self.upper is not None and
                    (x > self.upper or (x == self.upper and not self.band.upper_inclusive)))


@dataclass(frozen=True)
class CompiledAmount:
    amount: Amount
    formula: Expr | None = None
    tiers_on: Expr | None = None
    bands: tuple[CompiledBand, ...] = ()
    lookup_on: Expr | None = None
    lookup_table: Mapping[str, Expr] = field(default_factory=dict)

    @property
    def upper_bound(self) -> bool:
        return self.amount.upper_bound

    @property
    def rounding(self) -> str:
        return self.amount.rounding

    def band_for(self, x: Decimal) -> CompiledBand | None:
        """The first band containing x (bands never overlap: checked at load)."""
        return next((b for b in self.bands if b.contains(x)), None)

    def exprs(self) -> Iterator[Expr]:
        for e in (self.formula, self.tiers_on, self.lookup_on):
            if e is not None:
                yield e
        for b in self.bands:
            yield b.amount
        yield from self.lookup_table.values()


@dataclass(frozen=True)
class CompiledCap:
    cap: Cap
    amount: Expr

    @property
    def scope(self) -> str:
        return self.cap.scope

    @property
    def group(self) -> str | None:
        return self.cap.group


@dataclass(frozen=True)
class CompiledStacking:
    stacking: Stacking
    level: Expr | None

    @property
    def group(self) -> str:
        return self.stacking.group

    @property
    def mode(self) -> str:
        return self.stacking.mode


@dataclass(frozen=True)
class CompiledRank:
    rank: Rank
    by: Expr
    within: Expr | None
    awards: tuple[int, ...]  # integer yuan, 1st, 2nd …


@dataclass(frozen=True)
class CompiledQuota:
    quota: Quota
    per: Expr
    by: Expr


@dataclass(frozen=True)
class CompiledRule:
    """A rule with every expression compiled and its pack's defaults resolved."""

    rule: Rule
    pack: LoadedPack
    line: int | None
    conditions: tuple[CompiledCondition, ...]
    amount: CompiledAmount | None
    caps: tuple[CompiledCap, ...]
    stacking: tuple[CompiledStacking, ...]
    rank: CompiledRank | None
    quota: CompiledQuota | None

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def title(self) -> str:
        return self.rule.title

    @property
    def beneficiary(self) -> str:
        return self.rule.beneficiary

    @property
    def per_project(self) -> bool:
        return self.rule.beneficiary == "project"

    @property
    def file(self) -> str:
        return self.pack.file

    @property
    def source(self) -> str:
        return f"{self.pack.file}:{self.line}" if self.line else self.pack.file

    @property
    def validity(self) -> Validity:
        """The rule's own validity window replaces the pack's (contract)."""
        return self.rule.validity or self.pack.pack.validity

    def in_force(self, on: date) -> bool:
        v = self.validity
        return (v.from_ is None or v.from_ <= on) and (v.to is None or on <= v.to)

    @property
    def jurisdiction(self) -> Jurisdiction:
        """Pack jurisdiction with the rule's non-empty keys laid over it; exclusions add up."""
        base = self.pack.pack.jurisdiction
        own = self.rule.jurisdiction
        if own is None:
            return base
        return Jurisdiction(
            province=own.province or base.province,
            city=own.city or base.city,
            county=own.county or base.county,
            districts=own.districts if own.districts is not None else base.districts,
            excluded_areas=[*base.excluded_areas, *[a for a in own.excluded_areas if a not in base.excluded_areas]],
            note=own.note or base.note,
        )

    @property
    def department(self) -> list[str]:
        return self.rule.department or self.pack.pack.department

    @property
    def population(self) -> bool:
        """Rank/quota rules need a cohort of applicants."""
        return self.rank is not None or self.quota is not None

    def exprs(self) -> Iterator[Expr]:
        """Every compiled expression of the rule (for SQL translation, field listings …)."""
        for c in self.conditions:
            yield c.expr
        if self.amount is not None:
            yield from self.amount.exprs()
        for cap in self.caps:
            yield cap.amount
        for s in self.stacking:
            if s.level is not None:
                yield s.level
        if self.rank is not None:
            yield self.rank.by
            if self.rank.within is not None:
                yield self.rank.within
        if self.quota is not None:
            yield self.quota.per
            yield self.quota.by

    @property
    def fields(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for e in self.exprs():
            for name in e.fields:
                seen.setdefault(name, None)
        return tuple(seen)


@dataclass(frozen=True)
class LoadedLead:
    lead: Lead
    pack: LoadedPack
    line: int | None

    @property
    def title(self) -> str:
        return self.lead.title

    @property
    def department(self) -> list[str]:
        return self.lead.department or self.pack.pack.department
