"""Population rules over a cohort: rank awards by position, quota top-N per group.

Pack tests/fixtures/rules/calc-cohort.yaml:
  cohort.rank  — 营业收入≥1000万元; rank by revenue within region.city; awards 50/30/10万元
  cohort.quota — 从业人数≥10; 20万元; at most 2 per region.county, larger revenue first
Ties are broken by enterprise name (then subject id).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huiqi.profile import FieldRegistry, Profile, load_cohort, load_yaml, profile_from_data
from huiqi.rules.calculator import calculate
from huiqi.rules.cohort import apply_cohort, population_decisions
from huiqi.rules.packs import ParameterSet, RuleBase, load_packs
from huiqi.rules.result import CalcReport, RuleResult

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
ON = date(2022, 9, 1)

CSV = """name,province,city,county,enterprise.annual_revenue,enterprise.employees
A公司,浙江省,台州市,临海市,5亿元,50
B公司,浙江省,台州市,临海市,3亿元,20
C公司,浙江省,台州市,椒江区,300000000,5
D公司,浙江省,台州市,临海市,3亿元,30
E公司,浙江省,杭州市,西湖区,1亿元,12
F公司,浙江省,台州市,临海市,500万元,100
G公司,浙江省,台州市,临海市,,40
"""


@pytest.fixture(scope="module")
def registry() -> FieldRegistry:
    return FieldRegistry.from_data(load_yaml(FIXTURES / "fields.yaml"))


@pytest.fixture(scope="module")
def base(registry: FieldRegistry) -> RuleBase:
    return load_packs([FIXTURES / "calc-cohort.yaml"], fields=registry, parameters=ParameterSet())


@pytest.fixture()
def cohort(registry: FieldRegistry, tmp_path: Path) -> list[Profile]:
    path = tmp_path / "applicants.csv"
    path.write_text(CSV, encoding="utf-8")
    return load_cohort(path, fields=registry)


def by_name(reports: list[CalcReport], rule: str) -> dict[str, RuleResult]:
    out = {}
    for rep in reports:
        hit = rep.find(rule)
        assert hit is not None
        out[rep.profile] = hit
    return out


def test_rank_awards_by_position_within_city(base: RuleBase, cohort: list[Profile]) -> None:
    got = by_name(apply_cohort(base, cohort, ON), "cohort.rank")
    amounts = {name: (r.status, r.amount) for name, r in got.items()}
    assert amounts == {
        "A公司": ("granted", 500_000),        # 台州市 1st (5亿元)
        "B公司": ("granted", 300_000),        # 3亿元, tie with C and D: B < C < D by name
        "C公司": ("granted", 100_000),
        "D公司": ("not_eligible", None),      # 4th in 台州市
        "E公司": ("granted", 500_000),        # alone in 杭州市
        "F公司": ("not_eligible", None),      # 500万元 < 1000万元: does not take part
        "G公司": ("undecided", None),         # revenue unknown
    }
    assert "未进入前3名" in got["D公司"].reason and "并列" in got["D公司"].reason
    assert "第1名" in (got["A公司"].formula or "")
    assert got["F公司"].conditions[0].status == "false"
    assert [m.field for m in got["G公司"].missing] == ["enterprise.annual_revenue"]


def test_quota_top_two_per_county(base: RuleBase, cohort: list[Profile]) -> None:
    got = by_name(apply_cohort(base, cohort, ON), "cohort.quota")
    amounts = {name: (r.status, r.amount) for name, r in got.items()}
    assert amounts == {
        "A公司": ("granted", 200_000),
        "B公司": ("granted", 200_000),        # ties with D on revenue; B wins by name
        "C公司": ("not_eligible", None),      # 5 employees < 10
        "D公司": ("not_eligible", None),      # 名额已满
        "E公司": ("granted", 200_000),        # 西湖区 has its own two places
        "F公司": ("not_eligible", None),      # 名额已满 (4th by revenue in 临海市)
        "G公司": ("undecided", None),
    }
    assert "名额已满" in got["D公司"].reason and "并列" in got["D公司"].reason
    assert "名额已满" in got["F公司"].reason


def test_without_cohort_population_rules_are_undecided(base: RuleBase, registry: FieldRegistry) -> None:
    prof = profile_from_data({"name": "A公司", "region": {"province": "浙江省", "city": "台州市", "county": "临海市"},
                              "enterprise": {"annual_revenue": "5亿元", "employees": 50}}, fields=registry)
    rep = calculate(base, prof, ON)
    rank, quota = rep.find("cohort.rank"), rep.find("cohort.quota")
    assert rank is not None and quota is not None
    assert (rank.status, rank.reason) == ("undecided", "需在申报企业中排名")
    assert quota.status == "undecided"
    # but their conditions still decide: a failing applicant is simply not eligible
    small = profile_from_data({"name": "小公司", "region": {"province": "浙江省"},
                               "enterprise": {"annual_revenue": "100万元"}}, fields=registry)
    small_rank = calculate(base, small, ON).find("cohort.rank")
    assert small_rank is not None and small_rank.status == "not_eligible"


def test_calculate_with_cohort_matches_apply_cohort(base: RuleBase, cohort: list[Profile]) -> None:
    reports = apply_cohort(base, cohort, ON)
    single = calculate(base, cohort[1], ON, cohort=cohort)
    assert single.find("cohort.rank") == reports[1].find("cohort.rank")
    assert single.total_granted == reports[1].total_granted == 500_000  # B公司: 30万元 + 20万元


def test_decisions_are_order_independent(base: RuleBase, cohort: list[Profile]) -> None:
    forward = population_decisions(base, cohort, ON)
    backward = population_decisions(base, list(reversed(cohort)), ON)
    for p in cohort:
        assert forward[id(p)] == backward[id(p)]


def test_render_cohort_summary(base: RuleBase, cohort: list[Profile]) -> None:
    from rich.console import Console

    from huiqi.surfaces.calc_report import render_cohort

    console = Console(record=True, width=200)
    render_cohort(console, apply_cohort(base, cohort, ON))
    out = console.export_text()
    assert "A公司" in out and "70万元" in out  # 50万元 (1st) + 20万元 (quota)
