"""Fidelity gaps of issue 16 §2: staged totals, 亩均 class effects, two levels in one year."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from huiqi.evaluation.methodology import load_methodology, resolve_methodology_path
from huiqi.rules.calculator import calculate
from huiqi.rules.model import Amount
from huiqi.rules.packs import load_packs
from huiqi.rules.result import ClassEffect, apply_class_effects
from huiqi.rules.schema_registry import extra_schemas

RULEBASE = load_packs()
BINZHOU = {"province": "山东省", "city": "滨州市"}
LINHAI = {"province": "浙江省", "city": "台州市", "county": "临海市"}
SHIYAN = {"province": "湖北省", "city": "十堰市", "county": "张湾区", "district": "张湾区"}


def _report(profile: dict, on: date, policies: list[str]):
    return calculate(RULEBASE, profile, on, policies=policies)


# -- 滨州 五/18: 分阶段补助300万元 is a fixed total paid in stages --------------------------


def test_ipo_stage_total_is_certain_and_shows_its_stages() -> None:
    r = _report({"name": "拟上市公司", "region": BINZHOU, "enterprise": {"domestic_ipo_candidate": True}},
                date(2022, 9, 1), ["binzhou.ipo.stage"]).find("binzhou.ipo.stage")
    assert r is not None and r.status == "granted"
    assert r.amount == 3_000_000 and r.upper_bound is False
    assert r.stages is not None
    assert (r.stages.total, r.stages.paid, r.stages.remaining) == (3_000_000, 0, 3_000_000)
    assert [(s.amount, s.paid) for s in r.stages.stages] == [(3_000_000, False)]
    assert "分阶段:合计 300万元(确定总额,不是上限)" in r.explanation
    assert "上限" not in r.reason


def test_ipo_stage_paid_stages_are_listed_and_deducted() -> None:
    profile = {"name": "拟上市公司", "region": BINZHOU, "enterprise": {"domestic_ipo_candidate": True},
               "history": [{"rule": "binzhou.ipo.stage", "year": 2022, "amount": "120万元"}]}
    r = _report(profile, date(2023, 3, 1), ["binzhou.ipo.stage"]).find("binzhou.ipo.stage")
    assert r is not None and r.status == "granted" and r.amount == 1_800_000
    assert r.stages is not None and (r.stages.paid, r.stages.remaining) == (1_200_000, 1_800_000)
    assert [(s.label, s.amount, s.year, s.paid) for s in r.stages.stages] == [
        ("2022年已拨付", 1_200_000, 2022, True), ("待拨付(后续阶段)", 1_800_000, None, False)]
    assert r.formula is not None and r.formula.endswith("减去已拨付的阶段 = 180万元")


def test_staged_total_cannot_also_be_an_upper_bound() -> None:
    with pytest.raises(ValidationError, match="分阶段"):
        Amount.model_validate({"formula": "300万元", "upper_bound": True, "paid_in_stages": {}})


# -- 临海 二/八: class effects are structured ----------------------------------------------


def _linhai(investment: str) -> dict:
    return {"name": "在建企业", "region": LINHAI,
            "enterprise": {"in_construction_period": True, "fixed_asset_investment_year": investment}}


def test_class_a_and_not_d_are_structured_effects() -> None:
    report = _report(_linhai("1.2亿元"), date(2022, 9, 1), ["linhai.muju"])
    a = report.find("linhai.muju.class_a")
    not_d = report.find("linhai.muju.not_d")
    assert a is not None and a.class_effect is not None
    assert (a.class_effect.class_override, a.class_effect.class_floor, a.class_effect.quota_exempt) == ("A", None, True)
    assert not_d is not None and not_d.class_effect is not None
    assert (not_d.class_effect.class_override, not_d.class_effect.class_floor) == (None, "C")
    assert apply_class_effects("D", report.class_effects()) == "A"


def test_floor_only_lifts_d_to_c() -> None:
    report = _report(_linhai("5000万元"), date(2022, 9, 1), ["linhai.muju"])
    assert report.find("linhai.muju.class_a").class_effect is None  # not granted → no effect
    effects = report.class_effects()
    assert [e.rule for e in effects] == ["linhai.muju.not_d"]
    assert apply_class_effects("D", effects) == "C"
    assert apply_class_effects("B", effects) == "B"
    assert apply_class_effects(None, effects) is None


def test_apply_class_effects_best_override_wins() -> None:
    effects = [ClassEffect(class_override="B", rule="x"), ClassEffect(class_override="A", rule="y"),
               ClassEffect(class_floor="C", rule="z")]
    assert apply_class_effects("D", effects) == "A"


def test_pack_effects_match_the_evaluation_methodology() -> None:
    # The evaluation applies 临海 二/八 as class rules; the rule pack must say the same.
    method = load_methodology(resolve_methodology_path("linhai-2022"))
    by_id = {r.id: r for r in method.class_rules}
    pack_rules = {cr.rule.id: cr.rule for cr in RULEBASE.rules}
    for rule_id, method_id in (("linhai.muju.class_a", "linhai_8_class_a"), ("linhai.muju.not_d", "linhai_8_not_d")):
        effect, cr = pack_rules[rule_id].class_effect, by_id[method_id]
        assert effect is not None
        assert (effect.action, effect.class_, effect.quota) == (cr.action, cr.class_, cr.quota)


def test_result_schema_is_versioned_and_documents_the_new_fields() -> None:
    model_factory, version = extra_schemas()["result"]
    assert version() == "1.1"
    schema = model_factory().model_json_schema()
    props = schema["$defs"]["RuleResult"]["properties"]
    assert {"stages", "class_effect"} <= set(props)
    assert {"class_override", "class_floor"} <= set(schema["$defs"]["ClassEffect"]["properties"])


# -- 十堰 三/三/4: 国家级 and 省级 in the same year are paid separately ----------------------


def test_national_and_provincial_title_in_one_year_pay_both() -> None:
    profile = {"name": "某公司", "region": SHIYAN,
               "enterprise": {"tech_center_national_this_year": True, "tech_center_provincial_this_year": True}}
    report = _report(profile, date(2019, 6, 1), ["shiyan.innovation_center"])
    granted = {r.rule: r.amount for r in report.by_status("granted")}
    assert granted == {"shiyan.innovation_center.national": 300_000, "shiyan.innovation_center.provincial": 200_000}
    assert report.total_granted == 500_000
