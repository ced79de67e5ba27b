"""Amounts in explanations (issue 16 §1): near-miss promises and the formula chain."""

from __future__ import annotations

from datetime import date

import pytest

from huiqi.rules.calculator import calculate, fmt_money
from huiqi.rules.packs import load_packs
from huiqi.rules.testing import collect_cases

RULEBASE = load_packs()
BINZHOU = {"province": "山东省", "city": "滨州市"}
LINHAI = {"province": "浙江省", "city": "台州市", "county": "临海市"}


def _one(profile: dict, rule: str, on: date, subject: str | None = None, **kw):
    report = calculate(RULEBASE, profile, on, policies=[rule], **kw)
    r = report.find(rule, subject)
    assert r is not None
    return r


def test_no_hint_when_the_promised_amount_rounds_to_zero() -> None:
    # 1元 more guarantee would pay 0.5% × 1元 = 0.005元 → 0元: no "即可获得最高0元".
    profile = {"name": "担保公司", "region": BINZHOU,
               "enterprise": {"is_guarantee_institution": True, "guaranteed_tech_upgrade_amount": 0}}
    r = _one(profile, "binzhou.tech_upgrade.guarantee_fee", date(2022, 9, 1))
    assert r.status == "not_eligible"
    assert r.near_miss is None
    assert "即可获得" not in r.reason and "差一点" not in r.explanation


def test_no_hint_when_the_promised_amount_is_unknown() -> None:
    # Equipment short of 500万, but the rest of the formula's inputs are fine; a rule whose
    # amount needs a missing field promises nothing.
    profile = {"name": "某公司", "region": {"province": "湖北省", "city": "十堰市", "county": "张湾区",
                                         "district": "张湾区"},
               "projects": [{"id": "p1", "fixed_asset_investment": "1500万元", "within_construction_period": True,
                             "equipment_investment": "150万元", "equipment_in_use": True}]}
    r = _one(profile, "shiyan.tech_upgrade.smart", date(2019, 6, 1), "p1")
    assert r.status == "not_eligible"
    assert r.near_miss is None  # smart_equipment_investment is unknown: no amount to promise


def test_hint_for_a_rule_already_received_once_is_not_shown() -> None:
    # DCMM 首次申请 only once: the history rules the grant out, so no promise either.
    base = {"name": "某公司", "region": BINZHOU,
            "enterprise": {"dcmm_level": "二级", "dcmm_first_application": True, "dcmm_assessment_fee": "20万元"}}
    r = _one(base, "binzhou.dcmm", date(2022, 9, 1))
    assert r.status == "granted"  # sanity: the rule pays without history
    with_history = {**base, "history": [{"rule": "binzhou.dcmm", "year": 2021, "amount": "5万元"}]}
    r = _one(with_history, "binzhou.dcmm", date(2022, 9, 1))
    assert r.status == "not_eligible" and r.near_miss is None


def test_hint_amount_applies_the_enterprise_ceiling_left_this_year() -> None:
    # 普通技改 5%, 单家企业最高200万元 per year; 150万 already received this year.
    profile = {"name": "某公司", "region": LINHAI,
               "projects": [{"id": "p1", "project_type": "普通技改", "equipment_investment": "1990万元"}],
               "history": [{"rule": "linhai.tech_upgrade.ordinary", "year": 2022, "amount": "150万元"}]}
    r = _one(profile, "linhai.tech_upgrade.ordinary", date(2022, 9, 1), "p1")
    assert r.status == "granted" and r.amount == 500_000  # 99.5万 capped at the 50万 left
    profile["projects"][0]["equipment_investment"] = "150万元"
    r = _one(profile, "linhai.tech_upgrade.ordinary", date(2022, 9, 1), "p1")
    assert r.status == "not_eligible" and r.near_miss is not None
    # At 200万: 5% = 10万, well inside the 50万 left.
    assert r.near_miss.amount_if_met == 100_000
    profile["history"][0]["amount"] = "195万元"
    r = _one(profile, "linhai.tech_upgrade.ordinary", date(2022, 9, 1), "p1")
    assert r.near_miss is not None and r.near_miss.amount_if_met == 50_000
    assert r.near_miss.text.endswith(fmt_money(50_000))


def test_capped_amount_formula_ends_in_the_granted_amount() -> None:
    profile = {"name": "某公司", "region": LINHAI, "projects": [
        {"id": "p1", "project_type": "重大传统产业改造提升", "investment": "5000万元",
         "equipment_investment": "4000万元"}]}
    r = _one(profile, "linhai.tech_upgrade.major", date(2022, 9, 1), "p1")
    assert r.amount == 3_000_000
    assert r.formula == "设备投资额 4000万元 × 10% = 400万元 → 受单个项目最高补助300万元限制 = 300万元"
    assert f"金额:{r.formula}" in r.explanation


def test_shared_ceiling_is_part_of_the_formula_chain() -> None:
    profile = {"name": "某公司", "region": LINHAI,
               "projects": [{"id": "p1", "project_type": "普通技改", "equipment_investment": "1990万元"}],
               "history": [{"rule": "linhai.tech_upgrade.ordinary", "year": 2022, "amount": "150万元"}]}
    r = _one(profile, "linhai.tech_upgrade.ordinary", date(2022, 9, 1), "p1")
    assert r.formula is not None and r.formula.startswith("设备投资额 1990万元 × 5% = 99.5万元 → ")
    assert "已分配 150万元" in r.formula and r.formula.endswith("= 50万元")


CASES = collect_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_granted_formula_ends_in_its_amount(case) -> None:
    profile = case.profile(RULEBASE.fields)
    report = calculate(RULEBASE, profile, case.on, policies=case.policies or [case.pack],
                       params=case.params or None, cohort=case.cohort(RULEBASE.fields))
    for r in report.results:
        if r.status == "granted" and r.amount is not None and r.formula:
            assert r.formula.endswith(fmt_money(r.amount)), (r.rule, r.formula, r.amount)
        if r.near_miss is not None:
            assert r.near_miss.amount_if_met is None or r.near_miss.amount_if_met > 0
