"""One reading of ``--policy`` for calc, the engines and simulate (RuleBase.select)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huiqi.errors import HuiqiError
from huiqi.rules.packs import load_packs

RB = load_packs()


@pytest.mark.parametrize("ref", ["linhai.tech_upgrade", "linhai.tech_upgrade.major", "临政发〔2022〕22号"])
def test_calc_and_simulate_select_the_same_rules(ref: str, tmp_path: Path) -> None:
    from huiqi.rules.calculator import calculate
    from huiqi.simulation.simulate import simulate

    chosen = RB.select([ref])
    assert chosen.rule_ids, ref
    profile_rules = {r.rule for r in calculate(RB, _profile(), date(2022, 9, 1), policies=[ref]).results}
    assert profile_rules <= set(chosen.rule_ids)
    pop = tmp_path / "pop.csv"
    pop.write_text("id,name,province,city,county,district,project_id,project.project_type,project.investment,"
                   "project.equipment_investment\nE1,甲,浙江省,台州市,临海市,,p1,重大传统产业改造提升,8000万元,7000万元\n",
                   encoding="utf-8")
    with simulate(pop, rulebase=RB, dates=[date(2022, 9, 1)], policies=[ref]) as result:
        simulated = {m["rule"] for m in result.by_rule()}
    assert simulated == set(chosen.rule_ids)


def test_documents_follow_only_document_references() -> None:
    assert RB.select(["linhai.tech_upgrade"]).documents == frozenset()
    assert RB.select(["临政发〔2022〕22号"]).documents == frozenset({"linhai-2022-22"})
    assert RB.select(None).rule_ids is None


def test_unknown_reference_is_refused_with_a_suggestion() -> None:
    with pytest.raises(HuiqiError) as info:
        RB.select(["linhai.tech_upgrad"])
    assert "linhai.tech_upgrade" in str(info.value.hint)


def _profile():  # type: ignore[no-untyped-def]
    from huiqi.profile import Profile, Project, RegionInfo

    return Profile(name="甲", region=RegionInfo(province="浙江省", city="台州市", county="临海市"),
                   projects=[Project(id="p1", fields={"project_type": "重大传统产业改造提升", "investment": 80_000_000,
                                                      "equipment_investment": 70_000_000})])
