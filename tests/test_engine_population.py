"""Opening populations for the engines: formats, checks, warnings and errors (Chinese, located)."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huiqi.engines import OUTPUT_COLUMNS, run_population
from huiqi.engines.compile import compile_rulebase_sql
from huiqi.engines.population import open_population
from huiqi.engines.synthetic import profiles_to_arrow, synthetic_population
from huiqi.errors import InputError
from huiqi.profile import profile_from_data
from huiqi.rules.calculator import calculate
from huiqi.rules.packs import load_packs

RB = load_packs()
ON = date(2022, 9, 1)
LINHAI = {"province": "浙江省", "city": "台州市", "county": "临海市"}
HEADER = "id,name,province,city,county,district,project_id,enterprise.muju_class,project.project_type," \
         "project.investment,project.equipment_investment,enterprise.local_contribution_growth,enterprise.is_2513"


def _rows(result: Any) -> dict[tuple[str, str, str | None], dict[str, Any]]:
    return {(r["id"], r["rule"], r["project_id"]): r for r in result.arrow().to_pylist()}


def _write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_csv_text_cells_are_parsed_exactly_like_profiles(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "pop.csv", [
        HEADER,
        "E1,临海甲,浙江省,台州市,临海市,,p1,A,重大传统产业改造提升,1000万元,\"5,000,000\",12%,是",
        "E2,临海乙,浙江省,台州市,临海市,,,B,,,,0.05,否",
    ])
    result = run_population(RB, path, ON, workdir=tmp_path / "work")
    rows = _rows(result)
    major = rows[("E1", "linhai.tech_upgrade.major", "p1")]
    assert (major["status"], major["amount"]) == ("granted", 500_000)
    # The same enterprise as a profile gives the same answer.
    profile = profile_from_data({"name": "临海甲", "region": LINHAI,
                                 "enterprise": {"muju_class": "A", "local_contribution_growth": "12%", "is_2513": True},
                                 "projects": [{"id": "p1", "project_type": "重大传统产业改造提升",
                                               "investment": "1000万元", "equipment_investment": "500万元"}]})
    for r in calculate(RB, profile, ON).results:
        got = rows[("E1", r.rule, None if r.subject == "enterprise" else r.subject)]
        assert (got["status"], got["amount"]) == (r.status, r.amount), r.rule
    # An enterprise without projects: project rules are undecided, naming project fields.
    placeholder = rows[("E2", "linhai.tech_upgrade.major", None)]
    assert placeholder["status"] == "undecided"
    assert placeholder["missing"][:2] == ["project.project_type", "project.investment"]


def test_gb18030_csv_and_excel(tmp_path: Path) -> None:
    line = "E1,临海甲,浙江省,台州市,临海市,,p1,A,重大传统产业改造提升,10000000,5000000,0.12,true"
    gb = run_population(RB, _write_csv(tmp_path / "gb.csv", [HEADER, line], "gb18030"), ON)
    assert _rows(gb)[("E1", "linhai.tech_upgrade.major", "p1")]["amount"] == 500_000
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append(["E1", "临海甲", "浙江省", "台州市", "临海市", None, "p1", "A", "重大传统产业改造提升", 10_000_000.0,
               5_000_000, 0.12, True])
    wb.save(tmp_path / "pop.xlsx")
    xl = run_population(RB, tmp_path / "pop.xlsx", ON)
    assert _rows(xl)[("E1", "linhai.tech_upgrade.major", "p1")]["amount"] == 500_000


def test_duckdb_and_sqlite_sources(tmp_path: Path) -> None:
    table = pa.table({"id": ["E1"], "name": ["甲"], "province": ["浙江省"], "city": ["台州市"], "county": ["临海市"],
                      "project_id": ["p1"], "project.project_type": ["普通技改"],
                      "project.equipment_investment": pa.array([3_000_000], pa.int64())})
    db = tmp_path / "pop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("t", table)
        con.execute("CREATE TABLE firms AS SELECT * FROM t")
    lite = tmp_path / "pop.db"
    with sqlite3.connect(lite) as con2:
        con2.execute('CREATE TABLE firms (id TEXT, province TEXT, city TEXT, county TEXT, project_id TEXT, '
                     '"project.project_type" TEXT, "project.equipment_investment" INTEGER)')
        con2.execute("INSERT INTO firms VALUES ('E1', '浙江省', '台州市', '临海市', 'p1', '普通技改', 3000000)")
    for spec in (f"duckdb:{db}::firms", f"sqlite:{lite}::firms"):
        ordinary = _rows(run_population(RB, spec, ON))[("E1", "linhai.tech_upgrade.ordinary", "p1")]
        assert (ordinary["status"], ordinary["amount"]) == ("granted", 150_000), spec


def test_missing_column_warns_with_the_rules_needing_it() -> None:
    table = pa.table({"id": ["E1"], "province": ["浙江省"], "city": ["台州市"], "county": ["临海市"],
                      "project_id": ["p1"], "project.project_type": ["普通技改"]})
    result = run_population(RB, table, ON)
    warning = next(w for w in result.warnings if "project.equipment_investment" in w)
    assert "设备投资额" in warning and "linhai.tech_upgrade.ordinary" in warning
    row = _rows(result)[("E1", "linhai.tech_upgrade.ordinary", "p1")]
    assert row["status"] == "undecided" and row["missing"] == ["project.equipment_investment"]


def test_population_from_another_city_warns() -> None:
    table = pa.table({"id": ["E1", "E2"], "province": ["浙江省", "浙江省"], "city": ["杭州市", "杭州市"],
                      "county": ["西湖区", "余杭区"], "enterprise.muju_class": ["A", "B"]})
    result = run_population(RB, table, ON)
    assert any("杭州市" in w and "out_of_jurisdiction" in w for w in result.warnings)
    assert set(result.status_counts()) <= {"out_of_jurisdiction", "not_in_force"}


def test_unknown_columns_are_ignored_with_a_suggestion() -> None:
    table = pa.table({"id": ["E1"], "enterprise.muju_clas": ["A"], "利润": [1]})
    result = run_population(RB, table, ON)
    assert any("enterprise.muju_clas" in w and "muju_class" in w for w in result.warnings)
    assert any("利润" in w for w in result.warnings)


@pytest.mark.parametrize(("column", "value", "words"), [
    ("enterprise.size", "巨型", ["enterprise.size", "企业规模", "巨型", "大型/中型/小型/微型"]),
    ("enterprise.annual_revenue", "很多", ["enterprise.annual_revenue", "营业收入", "很多", "整数元"]),
    ("enterprise.annual_revenue", "1.5", ["营业收入", "1.5"]),
    ("enterprise.listed", "也许", ["enterprise.listed", "已成功上市", "也许"]),
    ("enterprise.layoff_rate", "三成", ["上年度裁员率", "三成"]),
], ids=["enum", "money-text", "money-fraction", "boolean", "percent"])
def test_wrong_types_name_column_and_row(tmp_path: Path, column: str, value: str, words: list[str]) -> None:
    path = _write_csv(tmp_path / "bad.csv", ["id,province," + column, "E1,浙江省,", f"E2,浙江省,{value}"])
    work = tmp_path / "work"
    with pytest.raises(InputError) as err:
        run_population(RB, path, ON, workdir=work)
    text = str(err.value)
    for word in [*words, "第3行", "E2"]:
        assert word in text, text
    assert list(work.iterdir()) == []  # nothing written


def test_typed_columns_of_the_wrong_kind_are_rejected() -> None:
    table = pa.table({"id": ["E1"], "enterprise.annual_revenue": [True]})
    with pytest.raises(InputError, match="营业收入"):
        open_population(table)


def test_corrupt_or_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not parquet at all")
    work = tmp_path / "work"
    with pytest.raises(InputError, match="企业名录") as err:
        run_population(RB, bad, ON, workdir=work)
    assert "broken.parquet" in str(err.value)
    assert list(work.iterdir()) == []
    with pytest.raises(InputError, match="不存在"):
        run_population(RB, tmp_path / "nope.parquet", ON)
    with pytest.raises(InputError, match="id"):
        open_population(pa.table({"name": ["甲"]}))
    with pytest.raises(InputError, match="缺少 id"):
        open_population(pa.table({"id": ["E1", None]}))
    with pytest.raises(InputError, match="不支持"):
        run_population(RB, _write_csv(tmp_path / "pop.json", ["{}"]), ON)
    uneven = _write_csv(tmp_path / "uneven.csv", ["id,name,province", "E1,甲,浙江省,多余,字段", "E2,乙"])
    with pytest.raises(InputError, match="字段数可能不一致") as err:
        run_population(RB, uneven, ON)
    assert "uneven.csv" in str(err.value)


def test_result_relation_schema_and_counts(tmp_path: Path) -> None:
    table = synthetic_population(RB, 50, seed=3)
    pq.write_table(table, tmp_path / "pop.parquet")
    result = run_population(RB, tmp_path / "pop.parquet", ON)
    assert tuple(result.relation.columns) == OUTPUT_COLUMNS
    types = dict(zip(result.relation.columns, map(str, result.relation.types), strict=True))
    assert (types["amount"], types["upper_bound"], types["missing"]) == ("BIGINT", "BOOLEAN", "VARCHAR[]")
    # rows × applicable rules: enterprise rules once per enterprise, project rules per project
    # row (or once for an enterprise without projects).
    firms = len(set(table.column("id").to_pylist()))
    project_rows = table.num_rows
    per_project = sum(1 for i in result.rules if i.per_project)
    assert result.rule_evaluations == firms * (len(result.rules) - per_project) + project_rows * per_project
    assert result.rule_evaluations == result.relation.filter("status <> 'lead' OR rule NOT LIKE '%:lead:%'").shape[0]
    assert result.rows == table.num_rows and result.enterprises == firms
    assert set(result.timings) >= {"open", "compile", "execute"}
    # Kept as a view (nothing stored), the same count without computing any rule.
    with run_population(RB, tmp_path / "pop.parquet", ON, store="view") as lazy:
        assert lazy.rule_evaluations == result.rule_evaluations
        assert lazy.relation.shape[0] == result.relation.shape[0]
    out = result.write_parquet(tmp_path / "results.parquet")
    assert pq.read_table(out).num_rows == result.relation.shape[0]
    assert sum(b.num_rows for b in result.batches(1000)) == result.relation.shape[0]
    with result:
        pass  # closing releases the connection and the work directory
    with pytest.raises(duckdb.Error):
        result.relation.fetchall()


def test_layouts_and_parameters_agree() -> None:
    table = synthetic_population(RB, 40, seed=5)
    params = {"lpr_1y": "3.45%"}
    wide = run_population(RB, table, ON, params=params).arrow().sort_by([("id", "ascending")])
    for kwargs in ({"layout": "per_rule"}, {"single_statement": True}, {"store": "view"}):
        other = run_population(RB, table, ON, params=params, **kwargs).arrow()  # type: ignore[arg-type]
        key = ["id", "rule", "project_id"]
        assert sorted(other.to_pylist(), key=lambda r: [str(r[k]) for k in key]) == \
            sorted(wide.to_pylist(), key=lambda r: [str(r[k]) for k in key])
    loan = [r for r in wide.to_pylist() if r["rule"] == "binzhou.tech_upgrade.loan_interest" and r["status"] == "granted"]
    for r in loan:  # interest = loan × 3.45% × 35%, the overridden rate
        loans = table.filter(pa.compute.and_(pa.compute.equal(table["id"], r["id"]),
                                             pa.compute.equal(table["project_id"], r["project_id"])))
        amount = Decimal(loans.column("project.loan_amount")[0].as_py()) * Decimal("0.0345") * Decimal("0.35")
        assert r["amount"] == min(int(amount.quantize(Decimal(1), rounding="ROUND_HALF_UP")), 20_000_000)


def test_policies_select_documents() -> None:
    table = synthetic_population(RB, 10, seed=1)
    result = run_population(RB, table, ON, policies=["linhai-2022-22"])
    assert {i.document for i in result.rules} == {"linhai-2022-22"}
    assert {r["document"] for r in result.arrow().to_pylist()} == {"linhai-2022-22"}


def test_spark_dialect_is_plain_spark_sql() -> None:
    compiled = compile_rulebase_sql(RB, ON, "spark")
    text = compiled.sql
    for duckdb_only in ("struct_pack", "unnest(", "list_filter", "::", '"enterprise.'):
        assert duckdb_only not in text
    assert "explode(" in text and "`enterprise.muju_class`" in text
    assert len(compiled.rules) == len(RB.rules)


def test_profiles_to_arrow_round_trip() -> None:
    profile = profile_from_data({"name": "甲", "region": LINHAI, "enterprise": {"muju_class": "A"},
                                 "projects": [{"id": "p1", "equipment_investment": "300万元"}, {"id": "p2"}]})
    table = profiles_to_arrow([profile], RB.fields, ["E1"])
    assert table.num_rows == 2
    assert table.column("project.equipment_investment").to_pylist() == [3_000_000, None]


@pytest.mark.parametrize("selection, expect_leads", [
    (["滨发改工业〔2022〕156号"], True),   # a document named by its 文号
    (["binzhou-2022-156"], True),            # … or by its id
    (["binzhou.dcmm"], False),               # a rule id selects that rule, not the pack's leads
])
def test_leads_follow_the_document_selection(selection: list[str], expect_leads: bool) -> None:
    rb = load_packs()
    table = pa.table({"id": ["E1"], "name": ["甲"], "province": ["山东省"], "city": ["滨州市"], "county": ["滨城区"]})
    with run_population(rb, table, ON, policies=selection) as res:
        statuses = [r["status"] for r in res.arrow().to_pylist()]
    profile = profile_from_data({"name": "甲", "region": {"province": "山东省", "city": "滨州市", "county": "滨城区"}})
    report = calculate(rb, profile, ON, policies=selection)
    assert ("lead" in statuses) is expect_leads
    assert bool(report.leads) is expect_leads
    assert statuses.count("lead") == len([lead for lead in report.leads if lead.rule is None])


def test_text_cells_with_blanks_are_still_cleaned(tmp_path: Path) -> None:
    # Columns whose cells are all clean are read as they are; one blank or padded cell keeps cleaning on.
    table = pa.table({
        "id": ["E1", " E2 ", "E3"], "name": ["甲", "乙", "丙"], "province": ["浙江省"] * 3, "city": ["台州市"] * 3,
        "county": ["临海市", "临海市 ", "临海市"], "district": [None, None, None], "project_id": [None, None, None],
        "enterprise.size": ["小型", "", "中型"], "enterprise.ownership": ["民营", "国有", "民营"],
    })
    pq.write_table(table, tmp_path / "pop.parquet")
    pop = open_population(tmp_path / "pop.parquet")
    rows = pop.con.execute('SELECT id, county, "enterprise.size", "enterprise.ownership" FROM population '
                           "ORDER BY id").fetchall()
    assert rows == [("E1", "临海市", "小型", "民营"), ("E2", "临海市", None, "国有"), ("E3", "临海市", "中型", "民营")]
    assert pop.columns_sql["city"].pre == '"city"' and pop.columns_sql["province"].pre == '"province"'
    assert pop.columns_sql["enterprise.ownership"].pre == '"enterprise.ownership"'
    assert pop.columns_sql["id"].pre != '"id"' and pop.columns_sql["enterprise.size"].pre != '"enterprise.size"'
    assert pop.columns_sql["county"].pre != '"county"'
    assert pop.columns_sql["name"].pre != '"name"'  # not compared: cleaned when read, as before
