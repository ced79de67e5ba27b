"""亩均效益综合评价 (issue 5): hand-graded populations, bad data, overrides, engine equivalence.

The expected scores below are worked out by hand from the methodology's formulas, so
the arithmetic can be checked with pen and paper: every enterprise in the first test
has 10 亩 of land, 亩均税收 is scored against a fixed 10万元/亩 (weight 60), 亩均增加值
against 50万元/亩 (weight 40), each capped at 1.2 × weight.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.errors import InputError, RuleError
from huiqi.evaluation import (
    builtin_methodologies,
    class_lookup,
    evaluate,
    latest_class,
    load_methodology,
    methodology_json_schema,
)
from huiqi.evaluation.consequences import effects_for
from huiqi.evaluation.methodology import Methodology, methodology_from_text
from huiqi.evaluation.sample import generate

D = Decimal

BASE_METHOD = """
schema_version: "1.0"
id: hand-test
name: 手算测试方法
year: 2023
inputs:
  land_area_mu: {label: 用地面积, type: number, unit: 亩}
  tax_paid: {label: 实缴税金, type: money, unit: 元}
  value_added: {label: 工业增加值, type: money, unit: 元, allow_negative: true}
  scale: {label: 企业规模, type: enum, values: [规上, 规下], optional: true}
  production_status: {label: 生产状态, type: enum, values: [in_production, construction, new, closed], optional: true}
  safety_accident: {label: 安全事故, type: boolean, optional: true}
  energy_target_missed: {label: 未完成节能目标, type: boolean, optional: true}
  fixed_asset_investment_year: {label: 本年固定资产投资, type: money, unit: 元, optional: true}
  electricity_kwh: {label: 年用电量, type: number, unit: 千瓦时, optional: true}
indicators:
  - id: tax_per_mu
    label: 亩均税收
    unit: 万元/亩
    formula: enterprise.tax_paid / 10000 / enterprise.land_area_mu
    direction: higher
    weight: 60
    benchmark: {method: fixed, value: 10}
    missing: exclude
  - id: va_per_mu
    label: 亩均增加值
    unit: 万元/亩
    formula: enterprise.value_added / 10000 / enterprise.land_area_mu
    direction: higher
    weight: 40
    benchmark: {method: fixed, value: 50}
    missing: zero
scoring: {cap: 1.2, floor: 0, decimals: 4}
tracks:
  - {id: all, label: 全部企业}
grading:
  method: percentile
  rounding: floor
  bands:
    - {class: A, upto: 20%}
    - {class: B, upto: 75%}
    - {class: C, upto: 95%}
    - {class: D}
"""

EXCLUSIONS = """
exclusions:
  - {id: closed, label: 已停产或关闭, when: enterprise.production_status == "closed"}
  - {id: small_land, label: 用地面积不足3亩或未填报, when: 'coalesce(enterprise.land_area_mu, 0) < 3'}
"""

RULES = """
class_rules:
  - {id: class_a_invest, label: 建设期投资1亿元以上列入A类, when: enterprise.production_status == "construction" and enterprise.fixed_asset_investment_year >= 1亿元, action: set, class: A, quota: exempt}
  - {id: not_d_invest, label: 建设期投资3000万元以上不列入D类, when: enterprise.production_status == "construction" and enterprise.fixed_asset_investment_year >= 3000万元, action: not_below, class: C, quota: exempt}
  - {id: new_not_d, label: 新投产企业不列入D类, when: enterprise.production_status == "new", action: not_below, class: C}
  - {id: accident_cap, label: 发生安全事故不得评为A、B类, when: enterprise.safety_accident == true, action: not_above, class: C}
  - {id: energy_cap, label: 未完成节能目标不得评为A、B类, when: enterprise.energy_target_missed == true, action: not_above, class: C}
consequences:
  - {id: electricity, label: 差别电价加价, kind: per_unit, input: enterprise.electricity_kwh, unit: 元/千瓦时, rates: {C: 0.1, D: 0.3}}
  - {id: land_barred, label: 不得受让工业用地, kind: eligibility, effect: barred, classes: [C, D]}
"""


def method(extra: str = "", base: str = BASE_METHOD) -> Methodology:
    return methodology_from_text(base + extra, file="hand-test.yaml")


def ent(ident: str, tax: int | None, va: int | None, land: str | None = "10", **more: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": ident, "name": f"企业{ident}", "district": more.pop("district", "古城街道"), "industry": "机械装备",
        "enterprise.land_area_mu": None if land is None else D(land),
        "enterprise.tax_paid": tax, "enterprise.value_added": va,
        "enterprise.production_status": more.pop("status", "in_production"),
    }
    row.update({f"enterprise.{k}": v for k, v in more.items()})
    return row


def table(rows: list[dict[str, Any]]) -> pa.Table:
    """Explicit Arrow types, so that all-null optional columns still read as numbers/booleans."""
    types = {"enterprise.land_area_mu": pa.decimal128(12, 2), "enterprise.tax_paid": pa.int64(),
             "enterprise.value_added": pa.int64(), "enterprise.fixed_asset_investment_year": pa.int64(),
             "enterprise.electricity_kwh": pa.int64(), "enterprise.safety_accident": pa.bool_(),
             "enterprise.energy_target_missed": pa.bool_(), "enterprise.employees": pa.int64()}
    names = list(dict.fromkeys(k for r in rows for k in r))
    return pa.table({n: pa.array([r.get(n) for r in rows], type=types.get(n, pa.string())) for n in names})


def by_id(ev: Any) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in ev.to_pylist()}


# The ten enterprises of the hand-graded example. Scores: 亩均税收 (万元/亩) × 6, capped 72;
# 亩均增加值 (万元/亩) × 0.8, capped 48, floored 0.
TEN = [
    ent("E01", 1_500_000, 8_000_000),   # 15 → 90 → 72 (cap); 80 → 64 → 48 (cap): 120
    ent("E02", 1_000_000, 5_000_000),   # 10 → 60; 50 → 40: 100
    ent("E03", 912_345, 5_000_000),     # 9.12345/10 × 60 = 54.7407; 40: 94.7407
    ent("E04", 812_347, 4_000_000),     # 8.12347/10 = 0.812347 × 60 = 48.74082 → 48.7408; 32: 80.7408
    ent("E05", 700_000, 3_500_000, land="7.5"),  # 70/7.5 = 9.333333 → /10 0.933333 × 60 = 55.99998 → 56.0000;
                                        # 350/7.5 = 46.666667 → /50 0.933333 × 40 = 37.33332 → 37.3333: 93.3333
    ent("E06", 600_000, 3_000_000),     # 36 + 24 = 60
    ent("E07", 500_000, 2_500_000),     # 30 + 20 = 50
    ent("E08", 400_000, 2_000_000),     # 24 + 16 = 40
    ent("E09", 300_000, -1_000_000),    # 18 + (−10 万元/亩 → −8 → floor 0) = 18
    ent("E10", 200_000, None),          # 12 + (增加值缺失 → 0分) = 12
]
EXPECTED = {  # id: (tax score, va score, total, rank, class)
    "E01": ("72.0000", "48.0000", "120.0000", 1, "A"),
    "E02": ("60.0000", "40.0000", "100.0000", 2, "A"),
    "E03": ("54.7407", "40.0000", "94.7407", 3, "B"),
    "E05": ("56.0000", "37.3333", "93.3333", 4, "B"),
    "E04": ("48.7408", "32.0000", "80.7408", 5, "B"),
    "E06": ("36.0000", "24.0000", "60.0000", 6, "B"),
    "E07": ("30.0000", "20.0000", "50.0000", 7, "B"),
    "E08": ("24.0000", "16.0000", "40.0000", 8, "C"),
    "E09": ("18.0000", "0.0000", "18.0000", 9, "C"),
    "E10": ("12.0000", "0.0000", "12.0000", 10, "D"),
}


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_hand_graded_fixed_benchmarks(engine: str) -> None:
    ev = evaluate(table(TEN), method(), engine=engine)
    rows = by_id(ev)
    for ident, (tax, va, total, rank, cls) in EXPECTED.items():
        r = rows[ident]
        assert (r["tax_per_mu_score"], r["va_per_mu_score"], r["total_score"]) == (D(tax), D(va), D(total)), ident
        assert (r["rank_in_track"], r["track_size"], r["class"]) == (rank, 10, cls), ident
    # N = 10: A = ranks ≤ ⌊10×20%⌋ = 2, B ≤ ⌊7.5⌋ = 7, C ≤ ⌊9.5⌋ = 9, D = the rest.
    assert rows["E05"]["tax_per_mu_value"] == D("9.333333")
    assert rows["E05"]["va_per_mu_value"] == D("46.666667")
    assert rows["E09"]["va_per_mu_value"] == D("-10")
    assert rows["E10"]["va_per_mu_status"] == "missing"
    assert rows["E10"]["reason"] == "全部企业组内第10名/共10家,总分12.0000 → D类；亩均增加值数据缺失,按0分计"
    assert rows["E01"]["percentile"] == D("0.1")
    assert rows["E03"]["reason"].startswith("全部企业组内第3名/共10家,总分94.7407 → B类")
    assert [r["id"] for r in ev.to_pylist()][:3] == ["E01", "E02", "E03"]
    assert ev.summary.by_track[0] == {"group": "全部企业", "graded": 10, "A": 2, "B": 5, "C": 2, "D": 1}


def test_population_benchmarks_mean_median_and_parameter() -> None:
    rows = [ent("P1", 200_000, 1_000_000), ent("P2", 400_000, 1_000_000), ent("P3", 600_000, 1_000_000),
            ent("P4", 800_000, 1_000_000)]
    # 亩均税收 2, 4, 6, 8 → mean 5: scores 2/5×60 = 24, 48, 72 (1.2×60 cap), 72 (9.6→cap).
    mean = method(base=BASE_METHOD.replace("benchmark: {method: fixed, value: 10}", "benchmark: {method: mean}"))
    got = by_id(evaluate(table(rows), mean))
    assert [got[f"P{i}"]["tax_per_mu_benchmark"] for i in range(1, 5)] == [D(5)] * 4
    assert [got[f"P{i}"]["tax_per_mu_score"] for i in range(1, 5)] == [D(24), D(48), D(72), D(72)]
    # Median of 2, 4, 6 (odd) is 4; of 2, 4, 6, 8 (even) the mean of 4 and 6 = 5. × 1.1 multiple.
    med = method(base=BASE_METHOD.replace("benchmark: {method: fixed, value: 10}",
                                          "benchmark: {method: median, multiple: 1.1}"))
    got = by_id(evaluate(table(rows[:3]), med, engine="python"))
    assert got["P1"]["tax_per_mu_benchmark"] == D("4.4")
    assert got["P1"]["tax_per_mu_score"] == D("27.2727")  # 2/4.4 = 0.454545 × 60 = 27.2727
    got = by_id(evaluate(table(rows), med))
    assert got["P1"]["tax_per_mu_benchmark"] == D("5.5")
    # Parameter: last year's average × 1.2, overridable per run.
    par = method("parameters:\n  tax_mean_last_year: {label: 上年平均亩均税收, value: 5, unit: 万元/亩}\n",
                 base=BASE_METHOD.replace("benchmark: {method: fixed, value: 10}",
                                          "benchmark: {method: parameter, parameter: tax_mean_last_year, multiple: 1.2}"))
    assert by_id(evaluate(table(rows), par))["P1"]["tax_per_mu_benchmark"] == D(6)
    assert by_id(evaluate(table(rows), par, params={"tax_mean_last_year": "4"}))["P1"]["tax_per_mu_benchmark"] == D("4.8")
    with pytest.raises(InputError, match="没有参数"):
        evaluate(table(rows), par, params={"nope": 1})


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_ties_at_band_edges_get_the_better_class(engine: str) -> None:
    # Ten enterprises; #2 and #3 tie (A/B edge at rank 2), #9 and #10 tie (C/D edge at rank 9).
    taxes = [1_000_000, 900_000, 900_000, 700_000, 600_000, 500_000, 400_000, 300_000, 100_000, 100_000]
    rows = [ent(f"T{i:02d}", t, 0) for i, t in enumerate(taxes, 1)]
    got = by_id(evaluate(table(rows), method(), engine=engine))
    assert [got[f"T{i:02d}"]["rank_in_track"] for i in range(1, 11)] == [1, 2, 2, 4, 5, 6, 7, 8, 9, 9]
    assert [got[f"T{i:02d}"]["class"] for i in range(1, 11)] == ["A", "A", "A", "B", "B", "B", "B", "C", "C", "C"]


def test_score_threshold_grading_and_rounding_modes() -> None:
    thresholds = BASE_METHOD.split("grading:")[0] + """grading:
  method: threshold
  bands:
    - {class: A, min_score: 90}
    - {class: B, min_score: 60}
    - {class: C, min_score: 30}
    - {class: D}
"""
    got = by_id(evaluate(table(TEN), method(base=thresholds)))
    assert {k: v["class"] for k, v in got.items()} == {
        "E01": "A", "E02": "A", "E03": "A", "E05": "A", "E04": "B", "E06": "B", "E07": "C", "E08": "C",
        "E09": "D", "E10": "D"}
    assert got["E06"]["reason"] == "全部企业:总分60.0000 → B类"
    # half_up: A ≤ round(2) = 2, B ≤ round(7.5) = 8, C ≤ round(9.5) = 10 → no D among ten.
    half = method(base=BASE_METHOD.replace("rounding: floor", "rounding: half_up"))
    assert [r["class"] for r in evaluate(table(TEN), half).to_pylist()].count("D") == 0
    ceil = method(base=BASE_METHOD.replace("rounding: floor", "rounding: ceil"))
    assert [r["class"] for r in evaluate(table(TEN), ceil).to_pylist()].count("A") == 2


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_exclusions_and_bad_data(engine: str) -> None:
    rows = [*TEN,
            ent("X1", 500_000, 1_000_000, land="2.5"),                # < 3 亩
            ent("X2", 500_000, 1_000_000, status="closed"),           # 停产
            ent("X3", None, 1_000_000),                               # 税收缺失 → 核心指标 exclude
            ent("X4", -5_000, 1_000_000),                             # 负税收 → 无效 → exclude
            ent("X5", 500_000, 1_000_000, land=None)]                 # 用地缺失 → small_land
    got = by_id(evaluate(table(rows), method(EXCLUSIONS), engine=engine))
    assert got["X1"]["exclusion"] == "small_land" and got["X1"]["class"] is None
    assert got["X2"]["reason"] == "不参评:已停产或关闭"
    assert got["X3"]["exclusion_reason"] == "指标「亩均税收」数据缺失,无法计分"
    assert got["X4"]["exclusion_reason"] == "指标「亩均税收」数据为负或无效,无法计分"
    assert got["X4"]["tax_per_mu_status"] == "invalid"
    assert got["X5"]["exclusion"] == "small_land"
    # Excluded enterprises do not count: the ten are graded exactly as before.
    assert {k: got[k]["class"] for k in EXPECTED} == {k: v[4] for k, v in EXPECTED.items()}
    counts = {(e["code"], e["reason"]): e["count"] for e in evaluate(table(rows), method(EXCLUSIONS)).summary.exclusions}
    assert counts == {("small_land", "用地面积不足3亩或未填报"): 2, ("closed", "已停产或关闭"): 1,
                      ("indicator:tax_per_mu", "指标「亩均税收」数据缺失,无法计分"): 1,
                      ("indicator:tax_per_mu", "指标「亩均税收」数据为负或无效,无法计分"): 1}


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_zero_divisor_treatments(engine: str) -> None:
    # Without the land exclusion, zero land reaches the indicators: never a division by zero.
    zero_land = [*TEN[:4], ent("Z1", 500_000, 1_000_000, land="0")]
    got = by_id(evaluate(table(zero_land), method(), engine=engine))
    assert got["Z1"]["tax_per_mu_status"] == "zero_divisor"
    assert got["Z1"]["exclusion_reason"] == "指标「亩均税收」除数为零,无法计分"
    # 亩均增加值 treated "max_score" for a zero divisor, "track_average" when missing.
    variant = method(base=BASE_METHOD.replace("    missing: zero\n", "    missing: track_average\n    zero_divisor: max_score\n")
                     .replace("formula: enterprise.value_added / 10000 / enterprise.land_area_mu",
                              "formula: enterprise.value_added / enterprise.employees")
                     .replace("  scale:", "  employees: {label: 职工人数, type: integer, unit: 人}\n  scale:"))
    rows = [ent("A1", 1_000_000, 500_000, employees=1), ent("A2", 1_000_000, 250_000, employees=1),
            ent("A3", 1_000_000, 100_000, employees=0), ent("A4", 1_000_000, None, employees=3)]
    got = by_id(evaluate(table(rows), variant, engine=engine))
    # Fixed benchmark 50: A1 500000/1 → cap 48, A2 250000 → cap 48; A3 zero divisor → 48 (max);
    # A4 missing → average of the ok scores (48 + 48) / 2 = 48.
    assert [got[k]["va_per_mu_score"] for k in ("A1", "A2", "A3", "A4")] == [D(48)] * 4
    assert "亩均增加值除数为零,按最高分计" in got["A3"]["reason"]
    assert "亩均增加值数据缺失,按组内平均得分计" in got["A4"]["reason"]


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_special_rules_and_quota_exemption(engine: str) -> None:
    rows = [*TEN,
            # construction, 1.2亿 investment, weak scores: A without taking an A slot.
            ent("K1", 100_000, 0, status="construction", fixed_asset_investment_year=120_000_000),
            # construction, 5000万: naturally the worst (D) → C, not counted in the C quota.
            ent("K2", 50_000, 0, status="construction", fixed_asset_investment_year=50_000_000),
            # construction with only 1000万: no override, graded normally (counted).
            ent("K3", 1_600_000, 9_000_000, status="construction", fixed_asset_investment_year=10_000_000,
                safety_accident=True)]
    m = method(RULES)
    got = by_id(evaluate(table(rows), m, engine=engine))
    # Quota population = TEN + K3 = 11: A ≤ ⌊2.2⌋ = 2, B ≤ ⌊8.25⌋ = 8, C ≤ ⌊10.45⌋ = 10.
    # K3 (120 分) ties E01 at rank 1 → band A, then the accident cap → C.
    assert (got["K3"]["rank_in_track"], got["K3"]["band_class"], got["K3"]["class"]) == (1, "A", "C")
    assert got["K3"]["overrides"] == "accident_cap"
    assert "发生安全事故不得评为A、B类:A类→C类" in got["K3"]["reason"]
    assert got["E01"]["class"] == "A" and got["E02"]["rank_in_track"] == 3 and got["E02"]["class"] == "B"
    assert got["E10"]["rank_in_track"] == 11 and got["E10"]["class"] == "D"  # K2 did not push E10 up
    assert got["K1"]["quota_exempt"] and got["K1"]["rank_in_track"] is None and got["K1"]["class"] == "A"
    assert got["K1"]["band_class"] == "D"  # 6 分 is below every quota member's cutoff
    assert got["K1"]["overrides"] == "class_a_invest,not_d_invest"
    assert "建设期投资1亿元以上列入A类:D类→A类" in got["K1"]["reason"]
    assert got["K1"]["reason"].startswith("全部企业:不占比例,总分6.0000 按分数对应D类")
    assert got["K2"]["class"] == "C" and got["K2"]["quota_exempt"]
    # Consequences: C/D pay the surcharge per kWh, C/D are barred from land transfers.
    assert got["E10"]["eligibility"] == "不得受让工业用地" and got["E01"]["eligibility"] is None


def test_new_enterprise_not_d_and_energy_cap_with_consequence_amounts() -> None:
    rows = [*TEN[:9], ent("N1", 100_000, 0, status="new", electricity_kwh=1_000_000),
            ent("N2", 1_000_000, 5_000_000, energy_target_missed=True, electricity_kwh=123_456)]
    got = by_id(evaluate(table(rows), method(RULES)))
    # N1 is last (6 分) → band D → new enterprise not D → C; its 电价 0.1 × 1,000,000 kWh = 100,000元.
    assert (got["N1"]["band_class"], got["N1"]["class"]) == ("D", "C")
    assert got["N1"]["electricity_amount"] == D(100_000)
    # N2 ties E02 (100 分, rank 2 of 11 → A) → capped C: 0.1 × 123,456 = 12,345.6 → 12,346 元.
    assert (got["N2"]["band_class"], got["N2"]["class"]) == ("A", "C")
    assert got["N2"]["electricity_amount"] == D(12_346) and got["N2"]["consequence_total"] == D(12_346)
    assert got["E01"]["electricity_amount"] == D(0)
    assert got["E09"]["electricity_amount"] is None  # no consumption data: unknown, not zero
    effects = {e.id: e for e in effects_for(method(RULES), "D", {"electricity_kwh": 2_000_000})}
    assert effects["electricity"].amount == D(600_000)
    assert "2000000千瓦时 × 0.3元/千瓦时 = 600000元/年" in effects["electricity"].explanation
    assert effects["land_barred"].applies


def test_builtin_methodologies_load_and_linhai_clause_8() -> None:
    assert set(builtin_methodologies()) >= {"zhejiang-county", "shandong-sales", "shouguang-2018", "linhai-2022"}
    for name in builtin_methodologies():
        m = load_methodology(name)
        assert m.indicators and m.sources
    m = load_methodology("linhai-2022")
    assert any(s.doc_number == "临政发〔2022〕22号" and s.clause == "二/八" for s in m.sources)
    shouguang = load_methodology("shouguang-2018")
    assert [i.label for i in shouguang.indicators][:3] == ["亩均税收", "亩均增加值", "单位能耗"]
    assert "亩均贡献率" in shouguang.sources[0].quote  # type: ignore[operator]
    pop = generate(400, seed=3)
    extra = pa.table({
        "id": ["L1", "L2"], "name": ["临海建设期企业一", "临海建设期企业二"], "province": ["浙江省"] * 2,
        "city": ["台州市"] * 2, "county": ["临海市"] * 2, "district": ["古城街道"] * 2, "industry": ["机械装备"] * 2,
        "year": pa.array([2023, 2023], pa.int32()), "enterprise.scale": ["规上"] * 2,
        "enterprise.production_status": ["construction"] * 2,
        "enterprise.land_area_mu": pa.array([D("50.00")] * 2, pa.decimal128(12, 2)),
        "enterprise.revenue": [0, 0], "enterprise.value_added": [0, 0], "enterprise.tax_paid": [0, 0],
        "enterprise.fixed_asset_investment_year": [100_000_000, 30_000_000],
    })
    ev = evaluate(pa.concat_tables([pop, extra], promote_options="default"), m, year=2023)
    got = by_id(ev)
    # No revenue yet, but ≥3000万 investment keeps them in the evaluation (二/八); 1亿 → A, 3000万 → not D.
    assert got["L1"]["class"] == "A" and got["L1"]["quota_exempt"]
    assert got["L2"]["class"] == "C" and got["L2"]["band_class"] == "D"


def test_methodology_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as e:
        methodology_from_text("id: x\nname: [unclosed\n", file="bad.yaml")
    assert e.value.file == "bad.yaml" and e.value.line is not None and "YAML" in e.value.message
    with pytest.raises(RuleError) as e:
        method(base=BASE_METHOD.replace("    direction: higher\n    weight: 40", "    direction: upward\n    weight: 40"))
    assert e.value.line == BASE_METHOD.splitlines().index("    weight: 40")  # the line of "direction: upward"
    assert "取值不在允许范围内" in e.value.message
    with pytest.raises(RuleError, match="不认识的键"):
        method(base=BASE_METHOD.replace("    missing: zero", "    missing: zero\n    wieght: 3"))
    with pytest.raises(RuleError) as e:
        method(base=BASE_METHOD.replace("enterprise.value_added / 10000", "enterprise.value_add / 10000"))
    assert "未声明的字段 enterprise.value_add" in e.value.message and "value_added" in (e.value.hint or "")
    assert e.value.line == 1 + BASE_METHOD.splitlines().index(
        "    formula: enterprise.value_added / 10000 / enterprise.land_area_mu")
    with pytest.raises(RuleError, match="除数必须是单个字段或常数"):
        method(base=BASE_METHOD.replace("/ enterprise.land_area_mu\n    direction: higher\n    weight: 40",
                                        "/ (enterprise.land_area_mu + 1)\n    direction: higher\n    weight: 40"))
    with pytest.raises(RuleError, match="upto"):
        method(base=BASE_METHOD.replace("upto: 75%", "upto: 15%"))
    with pytest.raises(RuleError, match="不在分档"):
        method("class_rules:\n  - {id: r1, label: x, when: enterprise.safety_accident == true, action: set, class: E}\n")
    with pytest.raises(RuleError, match=r"__import__|下划线|不允许|Python"):
        method(base=BASE_METHOD.replace("enterprise.tax_paid / 10000", "__import__('os') / 10000"))
    with pytest.raises(RuleError, match="评价方法文件不存在"):
        load_methodology(tmp_path / "missing.yaml")
    schema = methodology_json_schema()
    assert "indicators" in schema["properties"] and schema["title"].startswith("亩均效益")


def test_population_errors_name_file_row_and_column(tmp_path: Path) -> None:
    m = method()
    csv = tmp_path / "pop.csv"
    csv.write_text("id,name,enterprise.land_area_mu,enterprise.tax_paid,enterprise.value_added\n"
                   "a,甲,10,1000000,5000000\nb,乙,10,120万元,5000000\n", encoding="utf-8")
    for engine in ("duckdb", "python"):
        with pytest.raises(InputError) as e:
            evaluate(csv, m, engine=engine)
        assert e.value.line == 3 and e.value.field == "enterprise.tax_paid" and str(csv) in str(e.value)
        assert "120万元" in e.value.message
    no_land = tmp_path / "noland.csv"
    no_land.write_text("id,enterprise.tax_paid,enterprise.value_added\na,1,2\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        evaluate(no_land, m)
    assert "enterprise.land_area_mu(用地面积;指标「亩均税收」、指标「亩均增加值」需要)" in e.value.message
    dup = tmp_path / "dup.csv"
    dup.write_text("id,enterprise.land_area_mu,enterprise.tax_paid,enterprise.value_added\na,10,1,1\na,10,1,1\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match="企业编号重复:a"):
        evaluate(dup, m)
    with pytest.raises(InputError, match="不存在"):
        evaluate(tmp_path / "nope.parquet", m)
    with pytest.raises(InputError, match="没有 2019 年度"):
        evaluate(generate(20), "zhejiang-county", year=2019)


def test_csv_excel_parquet_give_the_same_result(tmp_path: Path) -> None:
    from huiqi.evaluation.sample import write_population

    parquet = write_population(tmp_path / "p.parquet", 300, seed=5)
    csv = write_population(tmp_path / "p.csv", 300, seed=5)
    base = evaluate(parquet, "zhejiang-county").to_pylist()
    assert evaluate(csv, "zhejiang-county").to_pylist() == base
    assert evaluate(csv, "zhejiang-county", engine="python").to_pylist() == base
    xlsx = tmp_path / "p.xlsx"
    import xlsxwriter

    rows = generate(40, seed=5).to_pylist()
    wb = xlsxwriter.Workbook(str(xlsx))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, list(rows[0]))
    for i, r in enumerate(rows, 1):
        ws.write_row(i, 0, [float(v) if isinstance(v, Decimal) else v for v in r.values()])
    wb.close()
    assert evaluate(xlsx, "zhejiang-county").to_pylist() == evaluate(generate(40, seed=5), "zhejiang-county").to_pylist()
    import duckdb

    db = tmp_path / "pop.duckdb"
    con = duckdb.connect(str(db))
    con.register("src", generate(40, seed=5))
    con.execute("CREATE TABLE population AS SELECT * FROM src")
    con.close()
    assert evaluate(str(db), "zhejiang-county").to_pylist() == evaluate(generate(40, seed=5), "zhejiang-county").to_pylist()


@pytest.mark.parametrize("name", ["zhejiang-county", "linhai-2022", "shandong-sales", "shouguang-2018"])
@pytest.mark.parametrize("seed", [1, 2])
def test_duckdb_equals_python_reference_on_random_population(name: str, seed: int) -> None:
    pop = generate(700, seed=seed)
    fast = evaluate(pop, name, year=2023)
    slow = evaluate(pop, name, year=2023, engine="python")
    assert fast.enterprises.schema == slow.enterprises.schema
    assert fast.to_pylist() == slow.to_pylist()  # exact: values, scores, ranks, classes, reasons, order


_money = st.one_of(st.none(), st.integers(-2_000_000, 50_000_000), st.sampled_from([0, 1_000_000, 1_000_000]))
_land = st.one_of(st.none(), st.sampled_from(["0", "2.99", "3", "10", "10", "7.25"]),
                  st.decimals(min_value=0, max_value=500, places=2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_money, _money, _land, st.sampled_from(["in_production", "new", "construction", "closed"]),
                          st.booleans(), st.sampled_from([None, 0, 30_000_000, 100_000_000]),
                          st.sampled_from(["规上", "规下", None])), min_size=1, max_size=30))
def test_duckdb_equals_python_on_generated_edge_cases(data: list[tuple[Any, ...]]) -> None:
    variant = method(EXCLUSIONS + RULES, base=BASE_METHOD.replace(
        "tracks:\n  - {id: all, label: 全部企业}",
        "tracks:\n  - {id: above, label: 规上, when: enterprise.scale == \"规上\"}\n"
        "  - {id: below, label: 规下, when: enterprise.scale == \"规下\"}").replace(
        "benchmark: {method: fixed, value: 50}", "benchmark: {method: median}").replace(
        "benchmark: {method: fixed, value: 10}", "benchmark: {method: mean}"))
    rows = [ent(f"H{i}", tax, va, land=None if land is None else str(land), status=status, safety_accident=acc,
                fixed_asset_investment_year=fai, scale=scale, electricity_kwh=1000)
            for i, (tax, va, land, status, acc, fai, scale) in enumerate(data)]
    pop = table(rows)
    assert evaluate(pop, variant).to_pylist() == evaluate(pop, variant, engine="python").to_pylist()


def test_store_and_class_lookup(tmp_path: Path) -> None:
    ev = evaluate(table(TEN), method(EXCLUSIONS))
    path = ev.store(tmp_path)
    assert path == tmp_path / "hand-test-2023.parquet"
    assert class_lookup(tmp_path, "E03") == ("B", f"亩均效益综合评价 hand-test 2023年度({path})")
    assert class_lookup(tmp_path, "企业E01")[0] == "A"  # by name
    cls, why = class_lookup(tmp_path, "E99")
    assert cls is None and "未找到" in why
    # A later year wins; ``year`` asks for a given year or earlier.
    later = evaluate(table([*TEN[1:], ent("E01", 100, 0)]), method(EXCLUSIONS), year=None)
    later.year = 2024
    later.store(tmp_path)
    assert class_lookup(tmp_path, "E01")[0] == "D"
    assert class_lookup(tmp_path, "E01", year=2023)[0] == "A"
    record = latest_class(tmp_path, "E04")
    assert record is not None and record.total_score == D("80.7408") and record.method == "hand-test"


def test_exports_and_reports(tmp_path: Path) -> None:
    ev = evaluate(generate(500, seed=9), "linhai-2022", year=2023)
    for suffix in ("csv", "json", "parquet", "xlsx", "html"):
        assert ev.write(tmp_path / f"r.{suffix}").stat().st_size > 0
    payload = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert payload["summary"]["graded"] == ev.summary.graded and len(payload["enterprises"]) == 500
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames == ["汇总", "企业明细", "评价方法"]
    assert len(wb["汇总"]._charts) == 3
    assert wb["企业明细"].max_row == 501 and wb["企业明细"]["A1"].value == "企业编号"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "各分组类别分布" in html and "<svg" in html
    assert (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(InputError, match="不支持的输出格式"):
        ev.write(tmp_path / "r.txt")
    from huiqi.evaluation.report import cjk_font, write_png_charts

    files, notes = write_png_charts(ev, tmp_path / "png")
    assert len(files) == 3 and all(f.stat().st_size > 1000 for f in files)
    assert (cjk_font() is None) == any("未找到中文字体" in n for n in notes)


def test_cli_evaluate(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from huiqi.cli.evaluate_cmd import evaluate as evaluate_cmd
    from huiqi.evaluation.sample import write_population

    app = typer.Typer()
    app.command("evaluate")(evaluate_cmd)
    app.command("noop")(lambda: None)
    pop = write_population(tmp_path / "pop.csv", 200, seed=4)
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", str(pop), "-m", "linhai-2022", "--year", "2023", "-o",
                                 str(tmp_path / "out.xlsx"), "--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    assert "各分组类别分布" in result.output and "不参评" in result.output
    assert (tmp_path / "out.xlsx").exists() and (tmp_path / "store" / "linhai-2022-2023.parquet").exists()
    result = runner.invoke(app, ["evaluate", str(pop), "--year", "2023", "--format", "json", "--no-store"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["summary"]["total"] == 200
    result = runner.invoke(app, ["evaluate", str(tmp_path / "missing.csv"), "--no-store"])
    assert result.exit_code == 2 and "企业名录文件不存在" in result.output
    result = runner.invoke(app, ["evaluate", str(pop), "-m", "no-such-method", "--no-store"])
    assert result.exit_code == 2 and "评价方法文件不存在" in result.output


# -- Spark ----------------------------------------------------------------------------------------------

def _spark_or_skip() -> Any:
    from huiqi.evaluation.engine_spark import available

    ok, reason = available()
    if not ok:
        if os.environ.get("HUIQI_REQUIRE_SPARK") == "1":
            pytest.fail(f"HUIQI_REQUIRE_SPARK=1 but Spark is unavailable: {reason}")
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    # Small local session: whole-stage codegen off because compiling the wide CASE
    # expressions costs far more than running them on a few hundred rows.
    return (SparkSession.builder.master("local[2]").appName("huiqi-tests")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2").config("spark.sql.codegen.wholeStage", "false")
            .getOrCreate())


@pytest.fixture(scope="session")
def spark() -> Any:
    session = _spark_or_skip()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.spark
def test_spark_equals_duckdb(spark: Any) -> None:
    # One Spark query (the JVM dominates the time) that exercises every SQL construct: tracks split
    # by district, mean and median benchmarks, percentile bands with ties, quota-exempt overrides
    # and their cutoffs, every bad-data treatment, exclusions and consequences.
    variant = method(EXCLUSIONS + RULES, base=BASE_METHOD.replace(
        "tracks:\n  - {id: all, label: 全部企业}", "tracks:\n  - {id: all, label: 全部企业, split_by: district}").replace(
        "benchmark: {method: fixed, value: 50}", "benchmark: {method: median}\n    zero_divisor: max_score").replace(
        "benchmark: {method: fixed, value: 10}", "benchmark: {method: mean}").replace(
        "    missing: zero\n", "    missing: track_average\n"))
    rows = [*TEN, *(ent(f"S{i}", t, v, land=land, district="杜桥镇", status=status, safety_accident=acc,
                        fixed_asset_investment_year=fai, electricity_kwh=kwh)
                    for i, (t, v, land, status, acc, fai, kwh) in enumerate([
                        (800_000, 3_000_000, "12.5", "in_production", False, None, 10_000),
                        (None, 1, "10", "new", False, None, None),
                        (-1, 2, "10", "in_production", True, None, 5),
                        (400_000, None, "5", "construction", False, 150_000_000, 7),
                        (30_000, 90_000, "4", "construction", False, 40_000_000, 70_001),
                        (300_000, 900_000, "0", "in_production", False, None, 1),
                        (600_000, 900_000, "6", "in_production", False, None, 3),
                        (1, 1, "2", "closed", True, None, None)]))]
    pop = table(rows)
    expected = evaluate(pop, variant).to_pylist()
    assert {r["overrides"] for r in expected} >= {"class_a_invest,not_d_invest", "not_d_invest"}
    assert evaluate(pop, variant, engine="spark").to_pylist() == expected
