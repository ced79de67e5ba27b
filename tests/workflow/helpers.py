"""Shared test data: a 十堰 round and enterprise profiles written for these tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

SMART_COUNTY = "shiyan.tech_upgrade.smart_county"
PARTS_RANK = "shiyan.auto.parts_passenger"
DEPARTMENT = "市经信委"
PDF = b"%PDF-1.4\n% test attachment\n"


def round_spec(rules: list[str] | None = None, **over: Any) -> dict[str, Any]:
    today = date.today()
    spec = {
        "title": "2019年智能化改造补贴(县市)", "rules": rules or [SMART_COUNTY],
        "opens_on": (today - timedelta(days=1)).isoformat(), "closes_on": (today + timedelta(days=30)).isoformat(),
        "policy_date": "2019-06-01", "regions": [],
        "pool": {"name": "市级工业转型升级专项资金", "amount": "50万元", "year": 2019},
        "method": "pro_rata", "required_documents": [], "publicity_days": 0,
    }
    spec.update(over)
    return spec


def county_profile(name: str, county: str, equipment: int, smart: int, fixed: int = 18_000_000) -> dict[str, Any]:
    """A county enterprise with one smart-upgrade project (amounts in yuan)."""
    return {
        "name": name,
        "region": {"province": "湖北省", "city": "十堰市", "county": county},
        "projects": [{"id": "p1", "name": "产线智能化改造", "fixed_asset_investment": fixed,
                      "within_construction_period": True, "equipment_investment": equipment,
                      "smart_equipment_investment": smart, "equipment_in_use": True}],
    }


def smart_amount(equipment: int, smart: int) -> int:
    """(智能装备 + 普通设备 × 50%) × 4.35%, to the yuan (round half up)."""
    from decimal import ROUND_HALF_UP, Decimal

    value = (Decimal(smart) + (Decimal(equipment) - Decimal(smart)) / 2) * Decimal("0.0435")
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
