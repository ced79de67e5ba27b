"""Population simulation: synthetic populations, aggregates, undecided, fund allocation, reforms, outputs,
bad input. Expected figures are worked out by hand in the comments."""

from __future__ import annotations

import csv
import random
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.errors import HuiqiError
from huiqi.rules.packs import load_packs
from huiqi.simulation.allocation import allocate, allocate_sql
from huiqi.simulation.reform import Reform, apply_reform, load_reform, parse_set
from huiqi.simulation.report import fmt_yuan, write_outputs
from huiqi.simulation.simulate import BUDGET_POOL, simulate
from huiqi.simulation.synth import load_synth_config, synthesize

ON = date(2022, 9, 1)
LH = {"province": "浙江省", "city": "台州市", "county": "临海市"}
LINHAI_RULES = ["linhai.tech_upgrade.major", "linhai.tech_upgrade.ordinary", "linhai.tech_upgrade.key_2513",
                "linhai.merger.pharma_acquisition"]
ENGINES = ["duckdb", "per_row"]


@pytest.fixture(scope="module")
def rulebase():  # type: ignore[no-untyped-def]
    return load_packs()


def _write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    return path


def _linhai_population(tmp: Path) -> Path:
    """Five Linhai enterprises (six rows). Expected results, by hand (2022-09-01):

    E1/P1 重大改造 投资2000万 设备600万: major 60万 (10%, under the 300万 cap); ordinary 30万 → stacked out (就高)
    E1/P2 普通技改 设备5000万: ordinary 250万 → 200万 (单家企业最高200万元); major not eligible (type)
    E2/P1 普通技改 设备300万: ordinary 15万
    E3/P1 类型未填 投资500万 设备400万: major not eligible (投资<1000万, false beats unknown); ordinary undecided (类型)
    E4 (no project) 医化上市公司 收购18.5亩 → pharma 18.5 × 18万 = 333万, a ceiling (最高不超过)
    E5 (no project) pharma fields empty → undecided
    key_2513: nobody is a 2513 enterprise → not eligible on the four project rows.
    """
    base = {**LH, "enterprise.is_2513": "否", "enterprise.pharma_listed_group": "否"}
    rows = [
        {"id": "E1", "name": "甲机械", **base, "district": "古城街道", "project_id": "P1",
         "project.project_type": "重大传统产业改造提升", "project.investment": "2000万元",
         "project.equipment_investment": "600万元"},
        {"id": "E1", "name": "甲机械", **base, "district": "古城街道", "project_id": "P2",
         "project.project_type": "普通技改", "project.investment": "8000万元", "project.equipment_investment": "5000万元"},
        {"id": "E2", "name": "乙电子", **base, "district": "大洋街道", "project_id": "P1",
         "project.project_type": "普通技改", "project.investment": "500万元", "project.equipment_investment": "300万元"},
        {"id": "E3", "name": "丙材料", **base, "district": "大洋街道", "project_id": "P1",
         "project.investment": "500万元", "project.equipment_investment": "400万元"},
        {"id": "E4", "name": "丁医药", **LH, "district": "江南街道", "enterprise.is_2513": "否",
         "enterprise.pharma_listed_group": "是", "enterprise.pharma_acquisition_tzw": "是",
         "enterprise.acquired_land_mu": "18.5"},
        {"id": "E5", "name": "戊化工", **LH, "district": "古城街道", "enterprise.is_2513": "否"},
    ]
    return _write_csv(tmp / "linhai.csv", rows)


def _by(rows: list[dict[str, object]], key: str) -> dict[object, dict[str, object]]:
    return {r[key]: r for r in rows}


# -- synthetic populations ---------------------------------------------------------------------------


def test_synth_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = synthesize("十堰", 3000, 11, tmp_path / "a.parquet")
    b = synthesize("shiyan", 3000, 11, tmp_path / "b.parquet")
    c = synthesize("十堰市", 3000, 12, tmp_path / "c.parquet")
    ta, tb, tc = (pq.read_table(p) for p in (a.path, b.path, c.path))
    assert ta.equals(tb)
    assert not ta.equals(tc)
    assert a.enterprises == 3000 and a.rows == ta.num_rows > 3000  # some enterprises have several projects


def test_synth_distributions_are_roughly_as_configured(tmp_path: Path) -> None:
    s = synthesize("临海", 20000, 3, tmp_path / "lh.parquet")
    con = duckdb.connect()
    path = str(s.path)
    ents = con.execute(f"""SELECT count(DISTINCT id), count(DISTINCT id) FILTER (WHERE project_id IS NOT NULL)
                           FROM '{path}'""").fetchone()
    assert ents is not None and ents[0] == 20000
    assert abs(ents[1] / ents[0] - 0.45) < 0.02  # project_share 0.45
    # 亩均评价类别 comes from an evaluation, never from the synthesizer (synth.yaml from_evaluation)
    assert "enterprise.muju_class" not in pq.read_schema(path).names
    status = dict(con.execute(f"""SELECT "enterprise.production_status", count(*) / 20000
                                  FROM (SELECT DISTINCT ON (id) * FROM '{path}') GROUP BY 1""").fetchall())
    assert abs(status["in_production"] - 0.90) < 0.02 and abs(status["closed"] - 0.02) < 0.01
    # the 亩均 indicators agree with each other: 规上 ⇔ revenue ≥ 2000万元, tax 1%–6% of revenue
    wrong = con.execute(f"""SELECT count(*) FILTER (WHERE ("enterprise.scale" = '规上') <>
                                                        ("enterprise.annual_revenue" >= 20000000)),
                                   count(*) FILTER (WHERE "enterprise.tax_paid" NOT BETWEEN
                                        "enterprise.annual_revenue" * 0.01 - 100 AND "enterprise.annual_revenue" * 0.06 + 100)
                            FROM '{path}'""").fetchone()
    assert wrong == (0, 0)
    cfg = load_synth_config()
    districts = {r[0] for r in con.execute(f"SELECT DISTINCT district FROM '{path}'").fetchall()}
    assert districts <= set(cfg.cities["linhai"].districts) and len(districts) > 10
    # log-normal revenue: median ≈ e^17.2 ≈ 2950万元
    median = con.execute(f"""SELECT median("enterprise.annual_revenue") FROM
                             (SELECT DISTINCT ON (id) * FROM '{path}')""").fetchone()
    assert median is not None and 2.5e7 < median[0] < 3.5e7
    schema = pq.read_schema(path)
    assert schema.field("enterprise.annual_revenue").type == pa.int64()  # money: integer yuan
    assert pa.types.is_decimal(schema.field("project.plot_ratio_increase").type)  # percent: exact decimal
    # equipment investment is a share (20%–75%) of the project investment
    bad = con.execute(f"""SELECT count(*) FROM '{path}' WHERE "project.equipment_investment" >
                          "project.investment" * 0.75 + 100""").fetchone()
    assert bad == (0,)


def test_synth_formats_mixed_cities_and_errors(tmp_path: Path) -> None:
    s = synthesize("linhai,binzhou", 400, 1, tmp_path / "mix.csv")
    with s.path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["city"] for r in rows} == {"台州市", "滨州市"}
    x = synthesize("聊城", 50, 1, tmp_path / "lc.xlsx")
    from openpyxl import load_workbook

    ws = load_workbook(x.path, read_only=True).worksheets[0]
    assert next(ws.iter_rows(values_only=True))[0] == "id"
    with pytest.raises(HuiqiError, match="没有城市「上海」") as exc:
        synthesize("上海", 10, 1, tmp_path / "x.parquet")
    assert "可选" in str(exc.value)
    with pytest.raises(HuiqiError, match="不支持的输出格式"):
        synthesize("临海", 10, 1, tmp_path / "x.json")
    assert not (tmp_path / "x.parquet").exists()


# -- aggregates on a hand-made population ---------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_aggregates_by_measure_department_district(tmp_path: Path, rulebase, engine: str) -> None:  # type: ignore[no-untyped-def]
    pop = _linhai_population(tmp_path)
    with simulate(pop, rulebase=rulebase, dates=[ON], engine=engine, policies=LINHAI_RULES) as res:
        rules = _by(res.by_rule(), "rule")
        major, ordinary = rules["linhai.tech_upgrade.major"], rules["linhai.tech_upgrade.ordinary"]
        key, pharma = rules["linhai.tech_upgrade.key_2513"], rules["linhai.merger.pharma_acquisition"]
        assert (major["granted_subjects"], major["exact"], major["not_eligible"], major["undecided_subjects"]) == \
            (1, 600_000, 3, 0)
        assert (ordinary["granted_subjects"], ordinary["granted_enterprises"], ordinary["exact"]) == (2, 2, 2_150_000)
        assert (ordinary["stacked_out"], ordinary["undecided_subjects"]) == (1, 1)
        assert (key["granted_subjects"], key["not_eligible"]) == (0, 4)
        # the ceiling is reported apart from exact money, the undecided one is not a zero
        assert (pharma["exact"], pharma["ceiling"], pharma["ceiling_subjects"]) == (0, 3_330_000, 1)
        assert (pharma["undecided_subjects"], pharma["not_eligible"]) == (1, 3)
        t = res.totals()
        assert (t["exact"], t["ceiling"], t["allocated"]) == (2_750_000, 3_330_000, 6_080_000)
        assert (t["undecided_subjects"], t["undecided_enterprises"]) == (2, 2)
        dept = _by(res.by_group("department"), "department")
        assert dept["市经信局"]["exact"] == 2_750_000 and dept["市市场监管局"]["ceiling"] == 3_330_000
        area = _by(res.by_group("area"), "area")
        assert area["古城街道"]["exact"] == 2_600_000 and area["古城街道"]["undecided_subjects"] == 1
        assert area["大洋街道"]["exact"] == 150_000 and area["江南街道"]["ceiling"] == 3_330_000
        assert _by(res.by_group("year"), "year")[2022]["exact"] == 2_750_000


@pytest.mark.parametrize("engine", ENGINES)
def test_undecided_counted_separately_with_missing_fields(tmp_path: Path, rulebase, engine: str) -> None:  # type: ignore[no-untyped-def]
    pop = _linhai_population(tmp_path)
    with simulate(pop, rulebase=rulebase, dates=[ON], engine=engine, policies=LINHAI_RULES) as res:
        fields = _by(res.undecided_fields(), "field")
        # E3's ordinary subsidy waits for 项目类型; at most 200万 (the enterprise cap) is at stake
        assert fields["project.project_type"]["subjects"] == 1
        assert fields["project.project_type"]["at_stake"] == 2_000_000
        assert fields["project.project_type"]["label"] == "项目类型"
        # E5's pharma award has no fixed ceiling: counted as 金额待定, not as money
        assert fields["enterprise.pharma_acquisition_tzw"]["pending"] == 1
        assert fields["enterprise.pharma_acquisition_tzw"]["at_stake"] == 0


# -- fund allocation ------------------------------------------------------------------------------------


def test_allocation_methods_by_hand() -> None:
    assert allocate([500, 300, 200], 100) == [50, 30, 20]
    assert allocate([333, 333, 334], 100) == [33, 33, 34]  # remainders 300, 300, 400 → the 1 yuan left to #3
    assert allocate([1, 1, 1], 2) == [1, 1, 0]  # equal remainders: population order
    assert allocate([100, 300, 200], 400, "rank") == [0, 300, 100]
    assert allocate([100, 300, 200], 400, "rank", keys=[9, 1, 5]) == [100, 100, 200]  # marginal claim: the rest
    assert allocate([100, 300, 200], 350, "first_come") == [100, 250, 0]
    assert allocate([100, 200], 1000, "pro_rata") == [100, 200]  # enough money: everyone in full


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=30),
       st.integers(min_value=0, max_value=10**10), st.sampled_from(["pro_rata", "rank", "first_come"]))
def test_sql_allocation_matches_reference_and_is_exact(amounts: list[int], cap: int, method: str) -> None:
    if sum(amounts) <= cap:
        cap = sum(amounts) - 1
    con = duckdb.connect()
    claims = pa.table({"rid": list(range(len(amounts))), "amount": amounts, "seq": list(range(len(amounts))),
                       "key": amounts})
    con.register("claims", claims)
    con.execute("CREATE TABLE out (rid BIGINT, allocated BIGINT)")
    allocate_sql(con, "SELECT * FROM claims", cap, method, "out")  # type: ignore[arg-type]
    got = [a for _, a in sorted(con.execute("SELECT rid, allocated FROM out").fetchall())]
    assert got == allocate(amounts, cap, method)  # type: ignore[arg-type]
    assert sum(got) == cap
    assert all(0 <= g <= a for g, a in zip(got, amounts, strict=True))


@pytest.mark.parametrize(("method", "expected"), [
    # claims in population order: E1/P1 60万, E1/P2 200万, E2/P1 15万, E4 333万 (ceiling); demand 608万
    # pro rata, budget 100万: 98684.21, 328947.37, 24671.05, 547697.37 → the floors add up to 999999 yuan;
    # remainders (a×C mod D): 1280000, 2240000, 320000, 2240000 → ties broken by population order → E1/P2
    ("pro_rata", {("E1", "P1"): 98684, ("E1", "P2"): 328948, ("E2", "P1"): 24671, ("E4", None): 547697}),
    ("rank", {("E1", "P1"): 0, ("E1", "P2"): 0, ("E2", "P1"): 0, ("E4", None): 1_000_000}),
    ("first_come", {("E1", "P1"): 600_000, ("E1", "P2"): 400_000, ("E2", "P1"): 0, ("E4", None): 0}),
])
def test_budget_allocation_in_simulation(tmp_path: Path, rulebase, method: str,  # type: ignore[no-untyped-def]
                                         expected: dict[tuple[str, str | None], int]) -> None:
    pop = _linhai_population(tmp_path)
    with simulate(pop, rulebase=rulebase, dates=[ON], engine="per_row", policies=LINHAI_RULES,
                  budget=1_000_000, allocation=method) as res:
        pool = next(p for p in res.pools if p.pool == BUDGET_POOL)
        assert (pool.demand, pool.cap, pool.allocated, pool.shortfall) == (6_080_000, 1_000_000, 1_000_000, 5_080_000)
        got = {(r[0], r[1]): r[2] for r in res.con.execute(
            "SELECT id, project_id, allocated FROM detail WHERE status = 'granted'").fetchall()}
        assert got == expected
        assert res.totals()["allocated"] == 1_000_000


def test_rank_allocation_by_expression(tmp_path: Path, rulebase) -> None:  # type: ignore[no-untyped-def]
    """--rank-by project.investment: E1/P2 (8000万) first takes the whole 100万; E4 (no project row) ranks last."""
    pop = _linhai_population(tmp_path)
    with simulate(pop, rulebase=rulebase, dates=[ON], engine="per_row", policies=LINHAI_RULES,
                  budget=1_000_000, allocation="rank", rank_by="project.investment") as res:
        got = {(r[0], r[1]): r[2] for r in res.con.execute(
            "SELECT id, project_id, allocated FROM detail WHERE status = 'granted'").fetchall()}
        assert got == {("E1", "P1"): 0, ("E1", "P2"): 1_000_000, ("E2", "P1"): 0, ("E4", None): 0}
    with pytest.raises(HuiqiError, match="排序表达式"):
        with simulate(pop, rulebase=rulebase, dates=[ON], engine="per_row", policies=LINHAI_RULES,
                      budget=1_000_000, allocation="rank", rank_by="param.lpr_1y"):
            pass


def test_rule_fund_pool_pro_rata_and_shortfall(tmp_path: Path) -> None:
    """A pack with a 25万元 fund shared by two rules; three claims of 10万元 → 83334 + 83333 + 83333."""
    pack = tmp_path / "packs" / "test-fund.yaml"
    pack.parent.mkdir()
    pack.write_text("""
schema_version: "1.0"
document: {id: test-fund, title: 测试资金池}
jurisdiction: {province: 湖北省, city: 十堰市}
department: [市经信委]
rules:
  - id: test.fund.high_tech
    title: 高新技术企业奖励10万元
    citation: {document: test-fund, clause: 一, quote: 给予10万元}
    kind: 奖励
    conditions: [{when: enterprise.new_high_tech_this_year == true}]
    amount: {formula: 10万元}
    caps: [{amount: 25万元, scope: fund, group: test.fund, label: 测试专项资金25万元}]
  - id: test.fund.green
    title: 绿色制造奖励10万元
    citation: {document: test-fund, clause: 二, quote: 给予10万元}
    kind: 奖励
    conditions: [{when: enterprise.green_demo_this_year == true}]
    amount: {formula: 10万元}
    caps: [{amount: 25万元, scope: fund, group: test.fund}]
""", encoding="utf-8")
    rb = load_packs([pack])
    sy = {"province": "湖北省", "city": "十堰市", "county": "张湾区", "district": "张湾区"}
    pop = _write_csv(tmp_path / "sy.csv", [
        {"id": "S1", "name": "一", **sy, "enterprise.new_high_tech_this_year": "是", "enterprise.green_demo_this_year": "否"},
        {"id": "S2", "name": "二", **sy, "enterprise.new_high_tech_this_year": "否", "enterprise.green_demo_this_year": "是"},
        {"id": "S3", "name": "三", **sy, "enterprise.new_high_tech_this_year": "是", "enterprise.green_demo_this_year": "否"},
    ])
    with simulate(pop, rulebase=rb, dates=[date(2019, 6, 1)], engine="per_row") as res:
        (pool,) = res.pools
        assert (pool.label, pool.demand, pool.allocated, pool.shortfall, pool.partial) == \
            ("测试专项资金25万元", 300_000, 250_000, 50_000, 3)
        got = dict(res.con.execute("SELECT id, allocated FROM detail WHERE status = 'granted'").fetchall())
        assert got == {"S1": 83_334, "S2": 83_333, "S3": 83_333}


# -- reforms ---------------------------------------------------------------------------------------------


def test_parameter_reform_deltas_and_losers(tmp_path: Path, rulebase) -> None:  # type: ignore[no-untyped-def]
    """Binzhou loan interest: loan × LPR × 35%. 2022-09-01 LPR 3.65% → 3.45%:
    1000万: 127750 → 120750 (−7000); 2000万: 255500 → 241500 (−14000)."""
    bz = {"province": "山东省", "city": "滨州市", "county": "滨城区", "district": "滨城区"}
    pop = _write_csv(tmp_path / "bz.csv", [
        {"id": "B1", "name": "一号", **bz, "project_id": "P1", "project.major_tech_upgrade": "是",
         "project.loan_amount": "1000万元"},
        {"id": "B2", "name": "二号", **bz, "project_id": "P1", "project.major_tech_upgrade": "是",
         "project.loan_amount": "2000万元"},
    ])
    reform = apply_reform(rulebase, Reform(name="LPR下调", changes=parse_set(["lpr_1y=3.45%"])))
    assert reform.params == {"lpr_1y": "3.45%"}
    with simulate(pop, rulebase=rulebase, dates=[ON], policies=["binzhou.tech_upgrade.loan_interest"],
                  reform=reform) as res:
        row = _by(res.compare_by("rule"), "rule")["binzhou.tech_upgrade.loan_interest"]
        assert (row["base_amount"], row["reform_amount"], row["delta"]) == (383_250, 362_250, -21_000)
        wl = res.winners_losers()
        assert (wl["winners"], wl["losers"]) == (0, 2)
        assert [(r["id"], r["delta"]) for r in wl["top_losers"]] == [("B2", -14_000), ("B1", -7_000)]


def test_rule_reform_deltas_winners_losers(tmp_path: Path, rulebase) -> None:  # type: ignore[no-untyped-def]
    """Cap of major 300万 → 50万: E1/P1 600000 → 500000 (still beats ordinary's 300000): −100000.
    Ordinary 5% → 6%: E2/P1 150000 → 180000 (+30000); E1/P2 300万 → still 200万 (enterprise cap)."""
    pop = _linhai_population(tmp_path)
    reform = apply_reform(rulebase, Reform(name="调整", changes=parse_set([
        "linhai.tech_upgrade.major.caps.0.amount=50万元",
        "linhai.tech_upgrade.ordinary.amount.formula=project.equipment_investment * 6%"])))
    assert reform.rules_changed == ["linhai.tech_upgrade.major", "linhai.tech_upgrade.ordinary"]
    with simulate(pop, rulebase=rulebase, dates=[ON], policies=LINHAI_RULES, reform=reform) as res:
        rules = _by(res.compare_by("rule"), "rule")
        assert rules["linhai.tech_upgrade.major"]["delta"] == -100_000
        assert rules["linhai.tech_upgrade.ordinary"]["delta"] == 30_000
        areas = _by(res.compare_by("area"), "area")
        assert areas["古城街道"]["delta"] == -100_000 and areas["大洋街道"]["delta"] == 30_000
        wl = res.winners_losers()
        assert (wl["winners"], wl["losers"], wl["gained"], wl["lost"]) == (1, 1, 30_000, -100_000)
        assert wl["top_winners"][0]["id"] == "E2" and wl["top_losers"][0]["name"] == "甲机械"


def test_reform_file_and_bad_reforms(tmp_path: Path, rulebase) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "r.yaml"
    f.write_text("name: 上限提高\ndescription: 测试\nchanges:\n"
                 "  - {set: linhai.tech_upgrade.major.caps.0.amount, value: 500万元}\n"
                 "  - {remove: linhai.tech_upgrade.key_2513}\n", encoding="utf-8")
    plan = load_reform(f)
    applied = apply_reform(rulebase, plan)
    assert not applied.rulebase.has_rule("linhai.tech_upgrade.key_2513")
    assert applied.rulebase.rule("linhai.tech_upgrade.major").rule.caps[0].amount == "500万元"
    assert rulebase.rule("linhai.tech_upgrade.major").rule.caps[0].amount == "300万元"  # baseline untouched
    with pytest.raises(HuiqiError, match=r"您是否要写 linhai\.tech_upgrade\.major"):
        apply_reform(rulebase, Reform(changes=parse_set(["linhai.tech_upgrad.major.caps.0.amount=1"])))
    with pytest.raises(HuiqiError, match="引用了未登记的字段"):
        apply_reform(rulebase, Reform(changes=parse_set(["linhai.tech_upgrade.major.amount.formula=project.x * 2"])))
    with pytest.raises(HuiqiError, match="路径=值"):
        parse_set(["lpr_1y"])


# -- outputs ----------------------------------------------------------------------------------------------


def test_outputs_xlsx_with_charts_parquet_csv(tmp_path: Path, rulebase) -> None:  # type: ignore[no-untyped-def]
    pop = _linhai_population(tmp_path)
    reform = apply_reform(rulebase, Reform(changes=parse_set(["linhai.tech_upgrade.major.caps.0.amount=50万元"])))
    outs = [tmp_path / "out" / "sim.xlsx", tmp_path / "out" / "sim.parquet", tmp_path / "out" / "sim.csv"]
    with simulate(pop, rulebase=rulebase, dates=[ON], engine="per_row", policies=LINHAI_RULES, reform=reform,
                  budget=1_000_000) as res:
        written = write_outputs(res, outs)
    from openpyxl import load_workbook

    wb = load_workbook(outs[0])
    for name in ("概览", "按措施", "按部门", "按地区", "按年度", "无法判定", "资金分配", "改革对比_措施", "赢家输家", "企业明细"):
        assert name in wb.sheetnames
    assert wb["按措施"]["C1"].value == "规则"
    with zipfile.ZipFile(outs[0]) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) >= 3  # by measure, by district, baseline vs reform
    ents = pq.read_table(outs[1]).to_pylist()
    assert {e["id"] for e in ents} == {"E1", "E2", "E3", "E4", "E5"}
    e1 = next(e for e in ents if e["id"] == "E1")
    assert (e1["exact"], e1["reform_exact"]) == (2_600_000, 2_500_000)
    by_rule = pq.read_table(tmp_path / "out" / "sim.by_rule.parquet")
    assert by_rule.schema.field("exact").type == pa.int64()
    assert (tmp_path / "out" / "sim.details.csv").read_text(encoding="utf-8").startswith("scenario,")
    assert len(written) == 1 + 2 * 11  # per format: enterprises, details and nine aggregate tables
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_no_partial_files_when_writing_fails(tmp_path: Path, rulebase, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pop = _linhai_population(tmp_path)
    out = tmp_path / "out"
    import huiqi.simulation.report as report

    def boom(*_args: object) -> None:
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(report, "_write_xlsx", boom)
    with simulate(pop, rulebase=rulebase, dates=[ON], engine="per_row", policies=LINHAI_RULES) as res:
        with pytest.raises(RuntimeError):
            write_outputs(res, [out / "a.parquet", out / "b.xlsx"])
    assert list(out.iterdir()) == []  # the parquet files written before the failure are gone too


# -- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_id_column_and_corrupt_file(tmp_path: Path, rulebase, engine: str) -> None:  # type: ignore[no-untyped-def]
    pop = _write_csv(tmp_path / "noid.csv", [{"name": "甲", **LH, "enterprise.is_2513": "否"}])
    with pytest.raises(HuiqiError, match="id"):
        simulate(pop, rulebase=rulebase, dates=[ON], engine=engine, policies=LINHAI_RULES)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1" + bytes(random.Random(1).randrange(256) for _ in range(300)))
    with pytest.raises(HuiqiError, match="Parquet") as exc:
        simulate(bad, rulebase=rulebase, dates=[ON], engine=engine, policies=LINHAI_RULES)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(exc.value))
    with pytest.raises(HuiqiError, match="不存在"):
        simulate(tmp_path / "nope.csv", rulebase=rulebase, dates=[ON], engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_wrong_types_name_the_column(tmp_path: Path, rulebase, engine: str) -> None:  # type: ignore[no-untyped-def]
    pop = _write_csv(tmp_path / "types.csv", [
        {"id": "E1", "name": "甲", **LH, "district": "古城街道", "project_id": "P1",
         "project.project_type": "普通技改", "project.equipment_investment": "很多"}])
    with pytest.raises(HuiqiError) as exc:
        simulate(pop, rulebase=rulebase, dates=[ON], engine=engine, policies=LINHAI_RULES)
    assert "project.equipment_investment" in str(exc.value)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_column_and_other_city_warnings(tmp_path: Path, rulebase, engine: str) -> None:  # type: ignore[no-untyped-def]
    pop = _write_csv(tmp_path / "partial.csv", [
        {"id": "E1", "name": "甲", **LH, "district": "古城街道", "project_id": "P1",
         "project.project_type": "普通技改", "project.investment": "2000万元"}])
    with simulate(pop, rulebase=rulebase, dates=[ON], engine=engine, policies=LINHAI_RULES) as res:
        text = "\n".join(res.warnings)
        assert "project.equipment_investment" in text and "linhai.tech_upgrade.ordinary" in text
        assert _by(res.by_rule(), "rule")["linhai.tech_upgrade.ordinary"]["undecided_subjects"] == 1
    bz = _write_csv(tmp_path / "bz.csv", [{"id": "B1", "name": "乙", "province": "山东省", "city": "滨州市",
                                           "county": "滨城区", "enterprise.is_2513": "否"}])
    with simulate(bz, rulebase=rulebase, dates=[ON], engine=engine, policies=["linhai-2022-22"]) as res:
        assert any("适用地区" in w for w in res.warnings)
        assert res.totals()["granted_subjects"] == 0


def test_cli_synth_and_simulate(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from huiqi.cli.simulate_cmd import simulate as simulate_cmd
    from huiqi.cli.simulate_cmd import synth

    app = typer.Typer()
    app.command("synth")(synth)
    app.command("simulate")(simulate_cmd)
    runner = CliRunner()
    pop = tmp_path / "sy.parquet"
    r = runner.invoke(app, ["synth", "--city", "十堰", "--n", "300", "--seed", "5", "--out", str(pop)])
    assert r.exit_code == 0, r.output
    assert "已生成 300 家企业" in r.output
    out = tmp_path / "sim.xlsx"
    r = runner.invoke(app, ["simulate", str(pop), "--date", "2019-06-01", "--policy", "shiyan-2018-draft",
                            "--budget", "100万元", "--set", "registered_unemployment_rate=4%", "--out", str(out)])
    assert r.exit_code == 0, r.output
    for text in ("按措施", "资金池", "改革对比", "受益企业", "已写入"):
        assert text in r.output
    assert out.exists()
    r = runner.invoke(app, ["simulate", str(pop), "--allocation", "lottery", "--out", str(tmp_path / "x.xlsx")])
    assert r.exit_code != 0 and isinstance(r.exception, HuiqiError) and "分配方式" in str(r.exception)
    assert not (tmp_path / "x.xlsx").exists()


def test_fmt_yuan_is_exact() -> None:
    assert fmt_yuan(15_616_366) == "1,561.6366万元"
    assert fmt_yuan(30_000_000) == "3,000万元"
    assert fmt_yuan(9_999) == "9,999元"
    assert fmt_yuan(-100_000) == "-10万元"
