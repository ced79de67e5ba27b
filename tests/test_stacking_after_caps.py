"""Stacking compares amounts after their caps (issue: the winner was chosen before the caps).

临海 二/十: a 重大传统产业改造提升 project with 设备投资 7000万 and 投资 8000万 qualifies for the
10% rule (700万, capped at 300万 per project) and the ordinary 5% rule (350万, capped at 200万
per enterprise and year). It must receive 300万, in the calculator and in the population engine.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.engines import run_population
from huiqi.engines.synthetic import profiles_to_arrow
from huiqi.profile import Profile, Project, RegionInfo
from huiqi.rules.calculator import calculate
from huiqi.rules.packs import load_packs

RB = load_packs()
ON = date(2022, 9, 1)
LINHAI = RegionInfo(province="浙江省", city="台州市", county="临海市")
GROUP = ("linhai.tech_upgrade.major", "linhai.tech_upgrade.ordinary", "linhai.tech_upgrade.key_2513")
WAN = 10_000


def _profile(equipment: int, investment: int, project_type: str = "重大传统产业改造提升",
             enterprise: dict[str, Any] | None = None) -> Profile:
    return Profile(name="测试企业", region=LINHAI, enterprise=enterprise or {"is_2513": False},
                   projects=[Project(id="p1", fields={"project_type": project_type, "investment": investment,
                                                      "equipment_investment": equipment})])


def _group_results(profile: Profile) -> dict[str, Any]:
    report = calculate(RB, profile, ON, policies=["linhai.tech_upgrade"])
    return {r.rule: r for r in report.results if r.rule in GROUP}


def test_linhai_7000wan_gets_300wan_in_the_calculator() -> None:
    results = _group_results(_profile(7000 * WAN, 8000 * WAN))
    major, ordinary = results["linhai.tech_upgrade.major"], results["linhai.tech_upgrade.ordinary"]
    assert (major.status, major.amount) == ("granted", 300 * WAN)
    assert ordinary.status == "stacked_out" and ordinary.amount is None
    # The explanation says the comparison was made after the caps.
    assert any("受上限约束后的金额" in s and "300万元" in s and "200万元" in s for s in major.stacking)
    assert "300万元" in ordinary.reason


def test_linhai_7000wan_gets_300wan_in_the_engine() -> None:
    profile = _profile(7000 * WAN, 8000 * WAN)
    rows = run_population(RB, profiles_to_arrow([profile], RB.fields, ["E1"]), ON,
                          policies=["linhai.tech_upgrade"]).arrow().to_pylist()
    got = {r["rule"]: (r["status"], r["amount"]) for r in rows if r["rule"] in GROUP}
    assert got["linhai.tech_upgrade.major"] == ("granted", 300 * WAN)
    assert got["linhai.tech_upgrade.ordinary"] == ("stacked_out", None)


# Around every threshold and cap crossing of the group (万元): 200/500/1000 entry thresholds,
# 2000 (10% reaches 200万), 3000 (10% reaches 300万), 4000 (5% reaches 200万), 6000 (5% = 300万).
AROUND = [0, 199, 200, 201, 499, 500, 999, 1000, 1999, 2000, 2001, 2999, 3000, 3001, 3999, 4000, 4001,
          5999, 6000, 6001, 7000, 8000, 12_000]


def _capped_alone(rule: str, profile: Profile) -> int:
    """What one rule pays on its own (every cap applied), the others of its group left out."""
    report = calculate(RB, profile, ON, policies=[rule])
    amounts = [r.amount for r in report.results if r.rule == rule and r.status == "granted"]
    return int(amounts[0] or 0) if amounts else 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(equipment=st.one_of(st.sampled_from(AROUND), st.integers(0, 12_000)).map(lambda w: w * WAN),
       investment=st.one_of(st.sampled_from(AROUND), st.integers(0, 15_000)).map(lambda w: w * WAN),
       project_type=st.sampled_from(["重大传统产业改造提升", "普通技改"]),
       is_2513=st.booleans(),
       growth=st.sampled_from([Decimal("0.05"), Decimal("0.12"), Decimal("0.2")]))
def test_group_pays_the_maximum_of_capped_amounts(equipment: int, investment: int, project_type: str,
                                                  is_2513: bool, growth: Decimal) -> None:
    enterprise = {"is_2513": is_2513, "local_contribution_growth": growth,
                  "industrial_equipment_investment": equipment}
    profile = _profile(equipment, investment, project_type, enterprise)
    profile.projects[0].fields["key_industrial_project"] = True
    expected = max(_capped_alone(rule, profile) for rule in GROUP)
    results = _group_results(profile)
    granted = [r.amount for r in results.values() if r.status == "granted"]
    assert len(granted) <= 1
    assert (granted[0] if granted else 0) == expected
    # The DuckDB engine grants the same amount.
    rows = run_population(RB, profiles_to_arrow([profile], RB.fields, ["E1"]), ON,
                          policies=["linhai.tech_upgrade"]).arrow().to_pylist()
    engine = [r["amount"] for r in rows if r["rule"] in GROUP and r["status"] == "granted"]
    assert (engine[0] if engine else 0) == expected


def test_a_reform_of_one_members_shared_ceiling_runs_in_the_engine(tmp_path: Any) -> None:
    """``--set shiyan.tech_upgrade.smart.caps.0.amount=80万元`` gives one rule of the 50万元 group
    its own ceiling: the engine limits each award by its own rule's ceiling, as the calculator does."""
    from huiqi.rules.cohort import apply_cohort
    from huiqi.simulation.reform import Reform, apply_reform, parse_set

    reform = apply_reform(RB, Reform(changes=parse_set(["shiyan.tech_upgrade.smart.caps.0.amount=80万元"])),
                          workdir=tmp_path)
    rb = reform.rulebase
    region = RegionInfo(province="湖北省", city="十堰市", county="张湾区")
    big = {"fixed_asset_investment": 20_000_000, "within_construction_period": True, "equipment_in_use": True}
    profiles = [Profile(name=f"企业{k}", region=region, enterprise={},
                        projects=[Project(id=f"p{j}", fields={**big, "equipment_investment": eq,
                                                              "smart_equipment_investment": eq // 2,
                                                              "in_major_tech_library": j == 1,
                                                              "actual_interest": 600_000})
                                  for j, eq in enumerate(amounts, start=1)])
                for k, amounts in enumerate([[30_000_000, 12_000_000], [90_000_000, 90_000_000], [5_000_000]])]
    on = date(2019, 6, 1)
    expected = {(f"E{k}", r.rule, r.subject): (r.status, r.amount)
                for k, rep in enumerate(apply_cohort(rb, profiles, on)) for r in rep.results}
    rows = run_population(rb, profiles_to_arrow(profiles, rb.fields, [f"E{k}" for k in range(len(profiles))]),
                          on).arrow().to_pylist()
    got = {(r["id"], r["rule"], r["project_id"] or ("project" if r["beneficiary"] == "project" else "enterprise")):
           (r["status"], r["amount"]) for r in rows if ":lead:" not in r["rule"]}
    assert got == expected
    smart = [v for (_, rule, _), v in expected.items() if rule == "shiyan.tech_upgrade.smart" and v[0] == "granted"]
    assert any(amount and amount > 500_000 for _, amount in smart)  # the reformed ceiling bites above 50万元
