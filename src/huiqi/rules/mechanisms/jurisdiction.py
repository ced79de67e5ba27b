"""Mechanism: validity and jurisdiction, the gate every subject of a rule passes first.

Python (calculator): :func:`rule_gate` per rule and profile. SQL (engines):
:func:`jurisdiction_sql` per distinct jurisdiction, evaluated once per distinct region
of the population (``region_gates``) and joined back to its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from huiqi.rules.calculator.environment import ProfileView
from huiqi.rules.calculator.plan import PRule
from huiqi.rules.mechanisms.sql import SqlDialect, or_masks
from huiqi.rules.model import Jurisdiction
from huiqi.rules.result import Status

__all__ = ["PLACE_SUFFIXES", "Gate", "jurisdiction_key", "jurisdiction_sql", "jurisdiction_status", "norm_place",
           "normalized_place_sql", "place_column", "rule_gate", "same_place"]

# Administrative suffixes a place name may carry or omit (checked in this order).
PLACE_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "新区", "省", "市", "县", "区")


def norm_place(name: str) -> str:
    for suffix in PLACE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def same_place(a: str, b: str) -> bool:
    return a == b or norm_place(a) == norm_place(b)


def jurisdiction_status(pr: PRule, region: Mapping[str, Any]) -> tuple[Status | None, str, list[str]]:
    """(status or None when it applies, reason, missing region fields)."""
    missing: list[str] = []
    for j in pr.jurisdictions:
        for level in ("province", "city", "county"):
            want = getattr(j, level)
            if not want:
                continue
            have = region.get(level)
            if not have:
                missing.append(f"region.{level}")
            elif not same_place(str(have), want):
                return "out_of_jurisdiction", f"适用地区为{want},企业所在地为{have}", []
        places = [str(region.get(k)) for k in ("county", "district") if region.get(k)]
        for area in j.excluded_areas:
            if any(same_place(p, area) for p in places):
                return "out_of_jurisdiction", f"{area}不在适用范围内(明确排除)", []
        if j.districts:
            if any(same_place(p, d) for p in places for d in j.districts):
                continue
            if not region.get("district"):
                missing.append("region.district")
            else:
                allowed = "、".join(j.districts)
                return "out_of_jurisdiction", f"仅适用于{allowed},企业所在{region.get('district')}不在其中", []
    if missing:
        return "undecided", "无法判断是否属于适用地区", list(dict.fromkeys(missing))
    return None, "", []


def rule_gate(pr: PRule, view: ProfileView, on: date,
          cache: dict[tuple[Any, ...], tuple[Status | None, str, list[str]]]) -> tuple[Status | None, str, list[str]]:
    """Validity, then jurisdiction: the same for every subject of a rule."""
    if (pr.valid_from and on < pr.valid_from) or (pr.valid_to and on > pr.valid_to):
        start = pr.valid_from.isoformat() if pr.valid_from else "不限"
        end = pr.valid_to.isoformat() if pr.valid_to else "不限"
        return "not_in_force", f"有效期 {start} 至 {end},计算日期 {on.isoformat()} 不在有效期内", []
    # Most rules share their pack's jurisdiction: decide each distinct one once per calculation.
    key = pr.jurisdiction_key
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = jurisdiction_status(pr, view.region)
    return hit


# -- SQL ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    out: str  # BOOLEAN SQL: out_of_jurisdiction
    undecided: str  # BOOLEAN SQL: region fields missing (and not out)
    mask: str  # BIGINT: missing region fields, bits 0.. in the order of ``fields``
    fields: tuple[str, ...]


def place_column(column: str) -> str:
    """The column holding ``column``'s place names normalized like :func:`norm_place`."""
    return f"__place_{column}"


def normalized_place_sql(d: SqlDialect, column: str) -> str:
    """SQL twin of :func:`norm_place`: strip the first suffix (in order) that leaves ≥ 2 characters.

    ``same_place(a, b)`` is ``a == b or norm(a) == norm(b)``, i.e. ``norm(a) == norm(b)``, so
    jurisdiction tests compare the normalized column with ``norm(want)`` — one string
    comparison per test, computed once per row (lists of spellings became hash joins).
    """
    col = d.ident(column)
    arms = [f"WHEN right({col}, {len(sfx)}) = {d.string(sfx)} AND length({col}) > {len(sfx) + 1} "
            f"THEN left({col}, length({col}) - {len(sfx)})" for sfx in PLACE_SUFFIXES]
    return f"CASE {' '.join(arms)} ELSE {col} END"


def jurisdiction_sql(d: SqlDialect, jurisdictions: Iterable[Jurisdiction]) -> Gate:
    """SQL twin of :func:`jurisdiction_status` (same levels, exclusions, district lists, order).

    Reads the normalized place columns (:func:`place_column`) the region table adds.
    """
    outs: list[str] = []
    missing: list[tuple[str, str]] = []  # (condition, field)

    def same(column: str, want: str) -> str:
        return f"{place_column(column)} = {d.string(norm_place(want))}"

    for j in jurisdictions:
        for level in ("province", "city", "county"):
            want = getattr(j, level)
            if not want:
                continue
            col = d.ident(level)
            missing.append((f"{col} IS NULL", f"region.{level}"))
            outs.append(f"({col} IS NOT NULL AND NOT {same(level, want)})")
        places = ("county", "district")
        areas = list(j.excluded_areas)
        if areas:
            outs.extend(f"COALESCE({' OR '.join(same(p, a) for a in areas)}, FALSE)" for p in places)
        if j.districts:
            match = " OR ".join(f"COALESCE({same(p, x)}, FALSE)" for p in places for x in j.districts)
            district = d.ident("district")
            missing.append((f"(NOT ({match}) AND {district} IS NULL)", "region.district"))
            outs.append(f"(NOT ({match}) AND {district} IS NOT NULL)")
    out = " OR ".join(outs) if outs else "FALSE"
    if not missing:
        return Gate(out, "FALSE", "CAST(0 AS BIGINT)", ())
    undecided = " OR ".join(c for c, _ in missing)
    names = list(dict.fromkeys(f for _, f in missing))
    mask = or_masks([f"CASE WHEN {c} THEN {1 << names.index(f)} ELSE 0 END" for c, f in missing])
    return Gate(out, f"(NOT ({out}) AND ({undecided}))", mask, tuple(names))


def jurisdiction_key(jurisdictions: Iterable[Jurisdiction]) -> tuple[Any, ...]:
    """Rules with equal keys share one gate (most rules share their pack's jurisdiction)."""
    return tuple((j.province, j.city, j.county, tuple(j.districts or ()), tuple(j.excluded_areas))
                 for j in jurisdictions)
