"""Calculator semantics (docs/rules-contract.md), one mechanism per test.

Packs live in tests/fixtures/rules (calc-basic, calc-stack) with their own field
registry, so the tests do not move when the real rule packs are edited. Expected
amounts are worked out by hand from the rule text in the comments.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from huiqi.profile import FieldRegistry, Profile, load_yaml, profile_from_data
from huiqi.rules.calculator import calculate
from huiqi.rules.packs import ParameterSet, RuleBase, load_packs
from huiqi.rules.result import RESULT_SCHEMA_VERSION, CalcReport, RuleResult

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
ON = date(2022, 9, 1)
LINHAI = {"province": "浙江省", "city": "台州市", "county": "临海市"}


@pytest.fixture(scope="module")
def registry() -> FieldRegistry:
    return FieldRegistry.from_data(load_yaml(FIXTURES / "fields.yaml"))


@pytest.fixture(scope="module")
def base(registry: FieldRegistry) -> RuleBase:
    # Empty global parameter set: the fixture pack brings its own lpr_1y.
    return load_packs([FIXTURES / "calc-basic.yaml", FIXTURES / "calc-stack.yaml"], fields=registry,
                      parameters=ParameterSet())


def make(registry: FieldRegistry, *, region: dict[str, Any] | None = None, enterprise: dict[str, Any] | None = None,
         projects: list[dict[str, Any]] | None = None, history: list[dict[str, Any]] | None = None,
         name: str = "临海某机械有限公司") -> Profile:
    data: dict[str, Any] = {"name": name, "region": LINHAI if region is None else region,
                            "enterprise": enterprise or {}, "projects": projects or []}
    if history:
        data["history"] = history
    return profile_from_data(data, fields=registry)


def one(report: CalcReport, rule: str, subject: str = "enterprise") -> RuleResult:
    hit = report.find(rule, subject)
    assert hit is not None, f"no result for {rule}/{subject}"
    return hit


# -- amounts ---------------------------------------------------------------------------------


def test_fixed_amount_from_list_field(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry, enterprise={"titles": ["国家级企业技术中心"]}), ON)
    r = one(rep, "basic.fixed")
    assert (r.status, r.amount, r.upper_bound) == ("granted", 500_000, False)
    assert "定额 50万元" in (r.formula or "")
    rep = calculate(base, make(registry, enterprise={"titles": ["省级企业技术中心"]}), ON)
    assert one(rep, "basic.fixed").status == "not_eligible"


def test_rate_times_base_cap_not_binding(base: RuleBase, registry: FieldRegistry) -> None:
    # 2000万元 × 10% = 200万元 < 300万元 cap
    rep = calculate(base, make(registry, projects=[{"id": "p1", "equipment_investment": "2000万元"}]), ON)
    r = one(rep, "basic.equipment", "p1")
    assert (r.status, r.amount) == ("granted", 2_000_000)
    assert r.formula == "设备投资额 2000万元 × 10% = 200万元"
    assert any("未超过" in c for c in r.caps_applied)
    assert "✓ 设备投资额 2000万元 ≥ 200万元(含)" in r.explanation


def test_rate_times_base_cap_binding(base: RuleBase, registry: FieldRegistry) -> None:
    # 4500万元 × 10% = 450万元 → capped at 300万元
    rep = calculate(base, make(registry, projects=[{"id": "p1", "equipment_investment": "4500万元"}]), ON)
    r = one(rep, "basic.equipment", "p1")
    assert (r.status, r.amount) == ("granted", 3_000_000)
    assert "按公式 450万元,受单个项目最高300万元上限限制" in r.caps_applied[0]
    assert "受单个项目最高300万元上限限制" in r.explanation


def test_rate_rate_base_with_dated_parameter(base: RuleBase, registry: FieldRegistry) -> None:
    prof = make(registry, enterprise={"loan_amount": "1000万元"})
    # from 2022-08-22 LPR = 3.65%: 10,000,000 × 3.65% × 35% = 127,750
    r = one(calculate(base, prof, ON), "basic.interest")
    assert r.amount == 127_750
    assert r.formula == "贷款金额 1000万元 × 一年期LPR 3.65% × 35% = 127750元"
    # before 2022-08-22 LPR = 3.70%: 10,000,000 × 3.70% × 35% = 129,500
    assert one(calculate(base, prof, date(2022, 8, 21)), "basic.interest").amount == 129_500
    # user override --param lpr_1y=3.45%: 120,750
    rep = calculate(base, prof, ON, params={"lpr_1y": "3.45%"})
    assert one(rep, "basic.interest").amount == 120_750
    assert rep.parameters["lpr_1y"] == "3.45%"


def test_rounding_half_up_to_yuan(base: RuleBase, registry: FieldRegistry) -> None:
    # 1,234,567 × 3.65% × 35% = 15,771.59… → 15,772
    r = one(calculate(base, make(registry, enterprise={"loan_amount": 1_234_567}), ON), "basic.interest")
    assert r.amount == 15_772
    assert any("四舍五入" in c for c in r.caps_applied)


def test_per_unit_times_quantity(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry, projects=[{"id": "p1", "quantity": 3}]), ON)
    assert one(rep, "basic.per_unit", "p1").amount == 60_000  # 3 台 × 2万元


@pytest.mark.parametrize(("investment", "status", "amount"), [
    (9_999_999, "not_eligible", None),     # one yuan under 1000万元
    (10_000_000, "granted", 500_000),      # 1000万元 (含)
    (49_999_999, "granted", 500_000),      # one yuan under 5000万元
    (50_000_000, "granted", 1_000_000),    # 5000万元 (含)
    (99_999_999, "granted", 1_000_000),
    (100_000_000, "granted", 2_000_000),   # 1亿元 (含)
])
def test_tiers_boundaries(base: RuleBase, registry: FieldRegistry, investment: int, status: str,
                          amount: int | None) -> None:
    rep = calculate(base, make(registry, projects=[{"id": "p1", "investment": investment}]), ON)
    r = one(rep, "basic.tiers", "p1")
    assert (r.status, r.amount) == (status, amount)


def test_tiers_below_lowest_band_is_a_near_miss(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry, projects=[{"id": "p1", "investment": 9_999_999}]), ON)
    nm = one(rep, "basic.tiers", "p1").near_miss
    assert nm is not None
    assert (nm.field, nm.gap, nm.amount_if_met) == ("project.investment", 1, 500_000)


@pytest.mark.parametrize(("cls", "status", "amount"), [("A", "granted", 300_000), ("B", "granted", 100_000),
                                                        ("C", "not_eligible", None)])
def test_lookup_by_class_with_upper_bound(base: RuleBase, registry: FieldRegistry, cls: str, status: str,
                                          amount: int | None) -> None:
    rep = calculate(base, make(registry, enterprise={"muju_class": cls}), ON)
    r = one(rep, "basic.lookup")
    assert (r.status, r.amount) == (status, amount)
    if amount is not None:
        assert r.upper_bound is True
        assert "最高" in r.reason


def test_totals_split_exact_and_ceiling(base: RuleBase, registry: FieldRegistry) -> None:
    prof = make(registry, enterprise={"muju_class": "A", "titles": ["国家级企业技术中心"]},
                projects=[{"id": "p1", "quantity": 1}])
    rep = calculate(base, prof, ON)
    # exact: 50万元 (fixed) + 2万元 (1 台); ceiling: 30万元 (A类) + 5万元 (stack.pool, 最高)
    assert rep.total_granted == 520_000
    assert rep.total_upper_bound == 350_000


# -- validity and jurisdiction ---------------------------------------------------------------


def test_out_of_validity_window(base: RuleBase, registry: FieldRegistry) -> None:
    prof = make(registry, enterprise={"titles": ["国家级企业技术中心"]})
    r = one(calculate(base, prof, date(2021, 12, 31)), "basic.fixed")
    assert r.status == "not_in_force"
    assert "2022-01-01" in r.reason and "2024-12-31" in r.reason
    assert one(calculate(base, prof, date(2025, 1, 1)), "basic.fixed").status == "not_in_force"
    assert one(calculate(base, prof, date(2024, 12, 31)), "basic.fixed").status == "granted"
    # a rule's own validity replaces the pack's
    assert one(calculate(base, prof, ON), "basic.expired").status == "not_in_force"


def test_jurisdiction_county_mismatch(base: RuleBase, registry: FieldRegistry) -> None:
    prof = make(registry, region={"province": "浙江省", "city": "台州市", "county": "椒江区"},
                enterprise={"titles": ["国家级企业技术中心"]})
    r = one(calculate(base, prof, ON), "basic.fixed")
    assert r.status == "out_of_jurisdiction"
    assert "临海市" in r.reason


@pytest.mark.parametrize(("district", "status"), [
    ("临海经济开发区", "granted"),
    ("头门港新区", "out_of_jurisdiction"),       # excluded area
    ("古城街道", "out_of_jurisdiction"),         # not in the districts list
    (None, "undecided"),                        # cannot tell without the district
])
def test_jurisdiction_districts_and_exclusions(base: RuleBase, registry: FieldRegistry, district: str | None,
                                               status: str) -> None:
    region = dict(LINHAI, district=district) if district else LINHAI
    r = one(calculate(base, make(registry, region=region), ON), "basic.zone")
    assert r.status == status
    if status == "undecided":
        assert [m.field for m in r.missing] == ["region.district"]


# -- missing input, near misses, ask next ------------------------------------------------------


def test_missing_input_is_undecided_with_label(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry, projects=[{"id": "p1", "name": "一期"}]), ON)
    r = one(rep, "basic.equipment", "p1")
    assert r.status == "undecided" and r.amount is None
    assert [(m.field, m.label) for m in r.missing] == [("project.equipment_investment", "设备投资额")]
    assert r.conditions[0].status == "unknown"
    assert "设备投资额" in r.reason


def test_no_projects_means_project_rules_undecided(base: RuleBase, registry: FieldRegistry) -> None:
    r = one(calculate(base, make(registry), ON), "basic.equipment", "project")
    assert r.status == "undecided"
    assert "project.equipment_investment" in [m.field for m in r.missing]


def test_near_miss_text_gap_and_amount_if_met(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry, projects=[{"id": "p1", "equipment_investment": "150万元"}]), ON)
    r = one(rep, "basic.equipment", "p1")
    assert r.status == "not_eligible"
    cond = r.conditions[0]
    assert cond.text == "✗ 设备投资额 150万元 < 要求 200万元(含)"
    assert (cond.actual, cond.required, cond.status) == ("150万元", "≥ 200万元(含)", "false")
    nm = r.near_miss
    assert nm is not None
    # threshold 200万元 (inclusive): gap 50万元; at 200万元 the subsidy is 200万元 × 10% = 20万元
    assert (nm.field, nm.label, nm.gap, nm.amount_if_met) == ("project.equipment_investment", "设备投资额",
                                                             500_000, 200_000)
    assert nm.text == "再增加 50万元 设备投资额即可获得约 20万元"


def test_near_miss_strict_threshold_adds_smallest_unit(base: RuleBase, registry: FieldRegistry) -> None:
    r = one(calculate(base, make(registry, enterprise={"rd_ratio": "3%"}), ON), "stack.rd")
    assert r.status == "not_eligible"
    assert r.conditions[0].text == "✗ 研发投入占比 3% ≤ 要求 3%(不含)"
    nm = r.near_miss
    assert nm is not None
    # "超过3%" excludes 3% itself: one step of 0.01 percentage point, then 10万元
    assert str(nm.gap) == "0.0001" and nm.gap_text == "0.01%"
    assert nm.amount_if_met == 100_000
    assert one(calculate(base, make(registry, enterprise={"rd_ratio": "3.01%"}), ON), "stack.rd").status == "granted"


def test_ask_next_ranked_by_money_at_stake(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry, projects=[{"id": "p1"}]), ON, policies=["calc-basic"])
    got = [(q.field, q.money_at_stake) for q in rep.ask_next]
    # equipment: cap 300万元; investment: largest tier 200万元; fixed 50万元; lookup max 30万元; zone 5万元
    assert got == [
        ("project.equipment_investment", 3_000_000),
        ("project.investment", 2_000_000),
        ("enterprise.titles.国家级企业技术中心", 500_000),
        ("enterprise.muju_class", 300_000),
        ("region.district", 50_000),
    ]
    q = rep.ask_next[0]
    assert q.label == "设备投资额" and q.rules == ["basic.equipment"] and q.type == "money"
    assert q.subject == "p1"


def test_leads_listed_without_amount(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry), ON, policies=["calc-basic"])
    assert one(rep, "basic.case_by_case").status == "lead"
    titles = {lead.title: lead for lead in rep.leads}
    assert set(titles) == {"重大项目一事一议", "人才公寓优先保障"}
    assert titles["人才公寓优先保障"].department == ["市住建局"]
    # out of jurisdiction → no leads from that pack
    far = make(registry, region={"province": "浙江省", "city": "杭州市"})
    assert calculate(base, far, ON, policies=["calc-basic"]).leads == []


# -- caps shared between rules, stacking -------------------------------------------------------


def test_enterprise_year_cap_shared_by_two_rules(base: RuleBase, registry: FieldRegistry) -> None:
    prof = make(registry, projects=[
        {"id": "p1", "project_type": "重大技改", "investment": "3000万元", "equipment_investment": "2500万元"},
        {"id": "p2", "project_type": "一般技改", "investment": "3000万元", "equipment_investment": "3000万元"},
    ])
    rep = calculate(base, prof, ON, policies=["calc-stack"])
    # p1: major 250万元 (wins over ordinary 125万元), allocated first → 250万元
    assert (one(rep, "stack.major", "p1").status, one(rep, "stack.major", "p1").amount) == ("granted", 2_500_000)
    assert one(rep, "stack.ordinary", "p1").status == "stacked_out"
    # p2: only ordinary, 3000万元 × 5% = 150万元 ≤ 400 − 250 = 150万元 left → 150万元 (exactly fits)
    assert one(rep, "stack.ordinary", "p2").amount == 1_500_000
    prof2 = make(registry, projects=[
        {"id": "p1", "project_type": "重大技改", "investment": "3000万元", "equipment_investment": "2500万元"},
        {"id": "p2", "project_type": "一般技改", "investment": "3000万元", "equipment_investment": "4000万元"},
    ])
    r2 = one(calculate(base, prof2, ON, policies=["calc-stack"]), "stack.ordinary", "p2")
    # 4000万元 × 5% = 200万元, only 150万元 left in the 400万元 yearly ceiling
    assert r2.amount == 1_500_000
    assert any("调减为 150万元" in c for c in r2.caps_applied)


def test_max_in_group_keeps_highest(base: RuleBase, registry: FieldRegistry) -> None:
    prof = make(registry, projects=[
        {"id": "p1", "project_type": "重大技改", "investment": "2000万元", "equipment_investment": "1000万元"}])
    rep = calculate(base, prof, ON, policies=["calc-stack"])
    major, ordinary = one(rep, "stack.major", "p1"), one(rep, "stack.ordinary", "p1")
    assert (major.status, major.amount) == ("granted", 1_000_000)
    assert (ordinary.status, ordinary.amount) == ("stacked_out", None)
    assert "重大技改按设备投资10%补助" in ordinary.reason


def test_once_with_history(base: RuleBase, registry: FieldRegistry) -> None:
    ent = {"annual_revenue": "1.2亿元"}
    assert one(calculate(base, make(registry, enterprise=ent), ON), "stack.listing").amount == 1_000_000
    hist = [{"rule": "stack.listing", "year": 2019, "amount": "100万元"}]
    r = one(calculate(base, make(registry, enterprise=ent, history=hist), ON), "stack.listing")
    assert r.status == "not_eligible"
    assert "已享受" in r.reason and "2019" in r.reason


def test_once_per_level_with_history(base: RuleBase, registry: FieldRegistry) -> None:
    hist = [{"rule": "stack.center", "year": 2017, "level": "省级", "amount": "30万元"}]
    # provincial already received → provincial again refused, national still granted
    r = one(calculate(base, make(registry, enterprise={"center_level": "省级"}, history=hist), ON), "stack.center")
    assert r.status == "not_eligible" and "同一级别" in r.reason
    r = one(calculate(base, make(registry, enterprise={"center_level": "国家级"}, history=hist), ON), "stack.center")
    assert (r.status, r.amount) == ("granted", 1_000_000)


def test_exclusive_in_calculation_and_history(base: RuleBase, registry: FieldRegistry) -> None:
    project = {"id": "p1", "equipment_investment": "150万元", "investment": "600万元"}
    rep = calculate(base, make(registry, projects=[project]), ON, policies=["calc-stack"])
    a, b = one(rep, "stack.demo_a", "p1"), one(rep, "stack.demo_b", "p1")
    assert (b.status, b.amount) == ("granted", 300_000)
    assert a.status == "stacked_out" and "同一项目只能享受一次补助" in a.reason
    # received earlier this year → the remaining one is stacked out too; last year's does not count
    hist = [{"rule": "stack.demo_a", "year": 2022}]
    rep = calculate(base, make(registry, projects=[project], history=hist), ON, policies=["calc-stack"])
    assert one(rep, "stack.demo_b", "p1").status == "stacked_out"
    hist = [{"rule": "stack.demo_a", "year": 2021}]
    rep = calculate(base, make(registry, projects=[project], history=hist), ON, policies=["calc-stack"])
    assert one(rep, "stack.demo_b", "p1").status == "granted"


def test_fund_cap_is_noted_not_applied(base: RuleBase, registry: FieldRegistry) -> None:
    r = one(calculate(base, make(registry), ON), "stack.pool")
    assert (r.amount, r.upper_bound) == (50_000, True)
    assert any("专项资金总额" in c and "不扣减" in c for c in r.caps_applied)


# -- output ------------------------------------------------------------------------------------


def test_explanation_carries_citation_and_department(base: RuleBase, registry: FieldRegistry) -> None:
    r = one(calculate(base, make(registry, enterprise={"loan_amount": "100万元"}), ON), "basic.interest")
    assert r.document == "calc-basic" and r.doc_number == "临政发〔2022〕99号" and r.clause == "一/3"
    assert "依据:《临海市测试政策》(临政发〔2022〕99号) 一/3" in r.explanation
    assert "责任部门:市经信局" in r.explanation


def test_json_round_trip_and_exports(base: RuleBase, registry: FieldRegistry, tmp_path: Path) -> None:
    from huiqi.surfaces.calc_report import export_json, export_xlsx, render_explanation, render_report

    prof = make(registry, enterprise={"muju_class": "A", "loan_amount": "1000万元"},
                projects=[{"id": "p1", "name": "一期", "equipment_investment": "150万元"}])
    rep = calculate(base, prof, ON)
    data = json.loads(rep.to_json())
    assert data["schema_version"] == RESULT_SCHEMA_VERSION == "1.1" and data["date"] == "2022-09-01"
    assert CalcReport.model_validate(data) == rep
    keys = set(data["results"][0])
    assert {"document", "document_title", "doc_number", "clause", "quote", "rule", "title", "department", "kind",
            "subject", "status", "amount", "upper_bound", "explanation", "conditions", "formula", "caps_applied",
            "stacking", "missing", "near_miss", "stages", "class_effect"} <= keys

    export_json(rep, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text("utf-8"))["total_granted"] == rep.total_granted
    export_xlsx(rep, tmp_path / "r.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames == ["结果", "条件明细", "待补充信息"]
    wb.close()

    console = Console(record=True, width=160)
    render_report(console, rep)
    render_explanation(console, one(rep, "basic.equipment", "p1"))
    out = console.export_text()
    assert "总计可获" in out and "差一点" in out and "建议补充的信息" in out
    assert "再增加 50万元 设备投资额即可获得约 20万元" in out


def test_policy_filter_by_doc_number(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry), ON, policies=["临政发〔2022〕99号"])
    assert {r.document for r in rep.results} == {"calc-basic"}


def test_plan_is_cached(base: RuleBase, registry: FieldRegistry) -> None:
    from huiqi.rules.calculator import plan_for

    assert plan_for(base) is plan_for(base)


def test_rounding_floor(base: RuleBase, registry: FieldRegistry) -> None:
    # 3 人 × 1.5元 = 4.5元 → floor → 4元 (half_up would give 5元)
    r = one(calculate(base, make(registry, enterprise={"employees": 3}), ON), "stack.floor")
    assert r.amount == 4
    assert any("向下取整" in c for c in r.caps_applied)


def test_non_monetary_measure_granted_without_amount(base: RuleBase, registry: FieldRegistry) -> None:
    rep = calculate(base, make(registry, enterprise={"annual_revenue": "6000万元"}), ON, policies=["stack.land"])
    r = one(rep, "stack.land")
    assert (r.status, r.amount, r.benefit) == ("granted", None, "优先保障用地指标")
    assert rep.total_granted == 0 and [x.rule for x in rep.results] == ["stack.land"]
