"""Validity and jurisdiction: the gate every subject of a rule passes first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from huiqi.rules.calculator.environment import ProfileView
from huiqi.rules.calculator.plan import PRule
from huiqi.rules.result import Status

__all__ = ["PLACE_SUFFIXES", "jurisdiction_status", "norm_place", "rule_gate", "same_place"]

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
