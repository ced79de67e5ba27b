"""The enterprise registry (企业名录): one file feeds calc --cohort, simulate and evaluate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from huiqi.errors import HuiqiError, InputError
from huiqi.evaluation import evaluate
from huiqi.registry import credit_code_problem, load_applicants, make_credit_code, read_registry
from huiqi.registry.reader import read_registry_table
from huiqi.simulation.simulate import simulate
from huiqi.simulation.synth import synthesize

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "临海企业名录示例.xlsx"


def test_credit_code_check_digit() -> None:
    # Published codes of two well-known enterprises, then one character changed.
    assert credit_code_problem("91110000600037341L") is None
    assert credit_code_problem("91350100M000100Y43") is None
    assert "校验位" in (credit_code_problem("91110000600037341X") or "")
    assert "18位" in (credit_code_problem("9111000060003734") or "")
    assert "不允许的字符" in (credit_code_problem("91110000600037341I") or "")
    for serial in (1, 42, 99_999_999):
        assert credit_code_problem(make_credit_code("331082", serial)) is None


def test_example_workbook_imports_as_it_is() -> None:
    data = read_registry(EXAMPLE, year="latest")
    assert data.years == [2021, 2022] and data.year == 2022
    assert data.warnings == []
    records = list(data.records())
    assert len(records) == 100
    first = records[0]
    assert credit_code_problem(first.id) is None and first.id == first.credit_code
    raw, _ = read_registry_table(EXAMPLE, year=2022, columns=["id", "enterprise.tax_paid"])
    # 税收(万元) in the workbook → integer yuan (the workbook writes 4 decimals of 万元)
    assert all(v is not None and v == int(v) for v in raw.column("enterprise.tax_paid").to_pylist())
    assert isinstance(first.enterprise["tax_paid"], int) and first.region["county"] == "临海市"


def _canonical_copy(tmp_path: Path) -> Path:
    """The example workbook rewritten with field ids and base units (yuan, kWh) as a CSV."""
    table, _ = read_registry_table(EXAMPLE)
    out = tmp_path / "canonical.csv"
    pacsv.write_csv(table, out)
    return out


def test_chinese_headers_and_field_ids_give_identical_results(tmp_path: Path) -> None:
    canonical = _canonical_copy(tmp_path)
    header = canonical.read_text(encoding="utf-8").splitlines()[0]
    assert "enterprise.tax_paid" in header and "税收" not in header
    a = evaluate(EXAMPLE, "linhai-2022")
    b = evaluate(canonical, "linhai-2022")
    assert a.year == b.year == 2022 and "最新" in a.year_note
    cols = ["id", "total_score", "class"]
    assert a.enterprises.select(cols).to_pylist() == b.enterprises.select(cols).to_pylist()
    assert {r["class"] for r in a.to_pylist()} - {None} <= {"A", "B", "C", "D"}
    with simulate(EXAMPLE, dates=[date(2023, 6, 1)]) as x, simulate(canonical, dates=[date(2023, 6, 1)]) as y:
        assert x.totals() == y.totals() and x.enterprises == y.enterprises == 100


def test_bad_credit_code_is_located(tmp_path: Path) -> None:
    good = make_credit_code("331082", 7)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    path = tmp_path / "名录.csv"
    path.write_text(f"统一社会信用代码,企业名称,税收(万元)\n{good},甲,1\n{bad},乙,2\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_registry(path)
    assert exc.value.line == 3 and exc.value.field == "统一社会信用代码" and exc.value.file == str(path)
    assert bad in exc.value.message and "校验位" in exc.value.message
    # the engines and the evaluation read through the same reader: the same error
    with pytest.raises(InputError) as sim:
        simulate(path, dates=[date(2023, 6, 1)])
    assert str(sim.value) == str(exc.value)


def test_unknown_header_gets_a_located_suggestion(tmp_path: Path) -> None:
    code = make_credit_code("331082", 8)
    path = tmp_path / "名录.csv"
    path.write_text(f"统一社会信用代码,企业名称,实缴税费(万元)\n{code},甲,1\n", encoding="utf-8")
    data = read_registry(path)
    assert len(data.warnings) == 1
    warning = data.warnings[0]
    assert "第1行第3列" in warning and "实缴税费(万元)" in warning and "enterprise.tax_paid" in warning
    from huiqi.registry.reader import open_registry

    con = duckdb.connect()
    with pytest.raises(InputError) as exc:
        open_registry(con, path, "r", [], strict=True)
    assert exc.value.line == 1 and exc.value.field == "实缴税费(万元)"


def test_wrong_unit_and_bad_unit_cell_are_located(tmp_path: Path) -> None:
    code = make_credit_code("331082", 9)
    path = tmp_path / "a.csv"
    path.write_text(f"统一社会信用代码,用地面积(千克)\n{code},1\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_registry(path)
    assert "千克" in exc.value.message and exc.value.field == "用地面积(千克)"
    path.write_text(f"统一社会信用代码,税收(万元)\n{code},12.5\n{code},很多\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_registry(path)
    assert exc.value.line == 3 and "很多" in exc.value.message


def test_one_registry_feeds_calc_cohort_simulate_and_evaluate(tmp_path: Path) -> None:
    profiles = load_applicants(EXAMPLE)
    assert len(profiles) == 100 and all(p.region.county == "临海市" for p in profiles)
    ev = evaluate(EXAMPLE, "linhai-2022")
    assert len(ev) == 100
    store = tmp_path / "evaluations"
    stored = ev.store(store)
    with simulate(EXAMPLE, dates=[date(2023, 6, 1)], evaluation_store=store) as res:
        assert res.enterprises == 100
        assert any(str(stored) in n for n in res.notes) and any("2022 年度" in n for n in res.notes)


@pytest.mark.parametrize("engine", ["duckdb", "per_row"])
def test_class_rules_follow_the_evaluation(tmp_path: Path, engine: str) -> None:
    pop = synthesize("临海", 400, 11, tmp_path / "lh.parquet", years=[2021, 2022]).path
    ev = evaluate(pop, "linhai-2022")
    result = ev.store(tmp_path / "ev")
    classes = {r["id"]: r["class"] for r in ev.to_pylist()}
    assert {"A", "B"} & set(classes.values())
    rule = "linhai.vertical.ab_class"
    with simulate(pop, dates=[date(2023, 6, 1)], engine=engine, policies=[rule]) as before:
        undecided_before = before.rows("SELECT count(*) AS n FROM detail WHERE status = 'undecided'")[0]["n"]
    with simulate(pop, dates=[date(2023, 6, 1)], engine=engine, policies=[rule], evaluation=result) as after:
        granted = after.rows("SELECT DISTINCT id FROM detail WHERE status = 'granted' AND rule = ?", [rule])
        missing = after.rows("SELECT count(*) AS n FROM detail WHERE status = 'undecided' "
                             "AND list_contains(missing, 'enterprise.muju_class')")[0]["n"]
    assert granted, "A/B-class rule decided for some enterprises once classes are known"
    assert all(classes[g["id"]] in ("A", "B") for g in granted)
    # still undecided only where the evaluation graded nobody (excluded enterprises)
    ungraded = {i for i, c in classes.items() if c is None}
    assert missing <= len(ungraded) * 3 and missing < undecided_before


BAD_FILES = {
    "truncated.parquet": lambda good: good.read_bytes()[: len(good.read_bytes()) // 2],
    "junk.parquet": lambda good: b"PAR1" + bytes(range(256)) * 4,
    "empty.parquet": lambda good: b"",
    "utf16.csv": lambda good: "id,name\nE1,甲\n".encode("utf-16"),
    "gbk-bad.csv": lambda good: b"id,name\nE1,\xff\xfe\xfa\n",
    "binary.csv": lambda good: bytes(range(256)) * 8,
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_same_clean_error_in_simulate_and_evaluate(tmp_path: Path, name: str) -> None:
    good = tmp_path / "good.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [f"E{i}" for i in range(2000)], "year": [2022] * 2000}), good)
    bad = tmp_path / name
    bad.write_bytes(BAD_FILES[name](good))
    with pytest.raises(HuiqiError) as a:
        simulate(bad, dates=[date(2023, 6, 1)])
    with pytest.raises(HuiqiError) as b:
        evaluate(bad, "linhai-2022")
    assert str(a.value) == str(b.value)
    assert str(bad) in str(a.value) and "Traceback" not in str(a.value)
