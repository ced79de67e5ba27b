"""Rule-pack loader, citation check, rule test runner — and every built-in rule test case.

The built-in ``src/huiqi/rulepacks/*.tests.yaml`` cases are collected below as one
parametrized test each (id = pack:case name), so ``make test`` runs them all.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from huiqi.errors import HuiqiError, RuleError
from huiqi.ingest.pipeline import ingest_file
from huiqi.profile import FieldRegistry
from huiqi.rules.check import check_citations, documents_from_paths, nearest_passage
from huiqi.rules.packs import RuleBase, load_packs, parse_literal
from huiqi.rules.testing import RuleCase, collect_cases, run_case, run_rule_tests

FIELDS = """\
enterprise:
  muju_class: {label: 亩均评价类别, type: enum, values: [A, B, C, D]}
  annual_revenue: {label: 营业收入, type: money}
  titles: {label: 已获称号, type: list, values: [国家级企业技术中心, 省级企业技术中心]}
project:
  equipment_investment: {label: 设备投资额, type: money}
  investment: {label: 项目投资额, type: money}
"""

PARAMS = """\
lpr_1y: {label: 一年期LPR, unit: "%", values: [{from: 2022-01-20, value: "3.70%"}, {from: 2022-08-22, value: "3.65%"}]}
"""

PACK = """\
schema_version: "1.0"
document: {id: demo-2022-1, title: 示例市人民政府关于支持制造业高质量发展的若干意见, doc_number: 示政发〔2022〕1号, source_file: demo.txt}
jurisdiction: {province: 浙江省, city: 台州市, county: 临海市}
validity: {from: 2022-01-01, to: 2024-12-31}
department: [市经信局]
parameters:
  subsidy_rate: {label: 补助比例, unit: "%", values: [{from: 2022-01-01, value: 10%}]}
rules:
  - id: demo.tech_upgrade
    title: 技改项目设备投资补助
    citation: {document: demo-2022-1, clause: 二/一, quote: "按设备投资额的10%给予补助,单个项目最高300万元"}
    kind: 补助
    beneficiary: project
    conditions:
      - when: project.equipment_investment >= 500万元
        label: 设备投资额500万元及以上
    amount:
      formula: project.equipment_investment * param.subsidy_rate
    caps:
      - {amount: 300万元, scope: award, label: 单个项目最高300万元}
  - id: demo.revenue
    title: 营业收入首次突破1亿元奖励
    citation: {document: demo-2022-1, clause: 二/二, quote: "营业收入首次突破1亿元的企业,给予一次性奖励10万元"}
    kind: 奖励
    amount:
      tiers:
        on: enterprise.annual_revenue
        bands:
          - {lower: 1亿元, upper: 5亿元, amount: 10万元}
          - {lower: 5亿元, amount: 10万元}
  - id: demo.muju
    title: 亩均A类奖励
    citation: {document: demo-2022-1, clause: 二/三, quote: 亩均评价为A类的企业给予20万元奖励}
    kind: 奖励
    conditions:
      - when: enterprise.titles.国家级企业技术中心 or enterprise.muju_class == "A"
    amount:
      lookup: {on: enterprise.muju_class, table: {A: 20万元}}
leads:
  - title: 重大项目一事一议
    citation: {document: demo-2022-1, clause: 二/四, quote: 对重大项目实行一事一议}
    reason: 一事一议
"""

DOC = """\
示例市人民政府关于支持制造业高质量发展的若干意见
示政发〔2022〕1号

各县(市、区)人民政府,市政府各部门:
为推动制造业高质量发展,现提出如下意见。

一、总体要求
坚持创新驱动,推动制造业转型升级。

二、政策措施
(一)支持技术改造。对设备投资额500万元以上的技改项目,按设备投资额的10%给予补助,单个项目最高300万元。
(二)鼓励企业做大做强。营业收入首次突破1亿元的企业,给予一次性奖励10万元。
(三)支持亩均效益领跑。亩均评价为A类的企业给予20万元奖励。
(四)对重大项目实行一事一议。

三、附则
本意见自2022年1月1日起施行,有效期至2024年12月31日。

示例市人民政府
2022年1月1日
"""


@pytest.fixture()
def registry(tmp_path: Path) -> FieldRegistry:
    path = tmp_path / "fields.yaml"
    path.write_text(FIELDS, encoding="utf-8")
    return FieldRegistry.load(path)


@pytest.fixture()
def params_path(tmp_path: Path) -> Path:
    path = tmp_path / "parameters.yaml"
    path.write_text(PARAMS, encoding="utf-8")
    return path


def load(tmp_path: Path, registry: FieldRegistry, params_path: Path, text: str = PACK,
         name: str = "demo.yaml") -> RuleBase:
    path = tmp_path / "packs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_packs([path.parent], fields=registry, parameters=params_path)


def load_error(tmp_path: Path, registry: FieldRegistry, params_path: Path, old: str, new: str) -> RuleError:
    assert old in PACK, old
    with pytest.raises(RuleError) as info:
        load(tmp_path, registry, params_path, PACK.replace(old, new, 1))
    return info.value


# -- loading ---------------------------------------------------------------------------------


def test_load_compiles_everything(tmp_path: Path, registry: FieldRegistry, params_path: Path) -> None:
    rb = load(tmp_path, registry, params_path)
    assert [r.id for r in rb.rules] == ["demo.tech_upgrade", "demo.revenue", "demo.muju"]
    assert len(rb.leads) == 1 and rb.leads[0].department == ["市经信局"]
    tech = rb.rule("demo.tech_upgrade")
    assert tech.line == 9 and tech.source.endswith("demo.yaml:9")
    assert tech.conditions[0].expr.line == 15 and tech.conditions[0].label == "设备投资额500万元及以上"
    assert tech.amount is not None and tech.amount.formula is not None
    assert tech.caps[0].amount.evaluate({}).value == Decimal(3_000_000)
    assert tech.per_project and tech.department == ["市经信局"]
    assert tech.in_force(date(2023, 1, 1)) and not tech.in_force(date(2025, 1, 1))
    assert set(tech.fields) == {"project.equipment_investment", "param.subsidy_rate"}

    revenue = rb.rule("demo.revenue").amount
    assert revenue is not None and revenue.tiers_on is not None
    band = revenue.band_for(Decimal(500_000_000))
    assert band is not None and band.lower == Decimal(500_000_000)
    assert revenue.band_for(Decimal(99_999_999)) is None
    muju = rb.rule("demo.muju").amount
    assert muju is not None and set(muju.lookup_table) == {"A"}


def test_parameters_by_date_and_override(tmp_path: Path, registry: FieldRegistry, params_path: Path) -> None:
    rb = load(tmp_path, registry, params_path)
    assert rb.params.value("lpr_1y", date(2022, 8, 21)) == Decimal("0.037")
    assert rb.params.value("lpr_1y", date(2022, 8, 22)) == Decimal("0.0365")
    assert rb.params.value("lpr_1y", date(2021, 1, 1)) is None
    assert rb.params.value("subsidy_rate", date(2022, 9, 1)) == Decimal("0.1")
    over = rb.params.with_overrides({"lpr_1y": "3.45%"})
    assert over.value("lpr_1y", date(2022, 9, 1)) == Decimal("0.0345")
    with pytest.raises(HuiqiError) as info:
        rb.params.with_overrides({"lpr1y": "3%"})
    assert info.value.hint == "您是否要写 lpr_1y?"
    assert parse_literal("500万元") == Decimal(5_000_000) and parse_literal("A类") == "A类"


def test_filter_by_policy(tmp_path: Path, registry: FieldRegistry, params_path: Path) -> None:
    rb = load(tmp_path, registry, params_path)
    for ref in ("demo-2022-1", "示政发[2022]1号", "支持制造业高质量发展"):
        assert [p.id for p in rb.filter([ref]).packs] == ["demo-2022-1"]
    with pytest.raises(HuiqiError) as info:
        rb.filter(["demo-2022-2"])
    assert info.value.hint == "您是否要写 demo-2022-1?"


def test_bad_yaml_names_file_and_line(tmp_path: Path, registry: FieldRegistry, params_path: Path) -> None:
    err = load_error(tmp_path, registry, params_path, "    kind: 补助\n", "    kind: 补助\n\tbad: 1\n")
    assert err.line == 13 and err.file is not None and err.file.endswith("demo.yaml")
    err = load_error(tmp_path, registry, params_path, "title: 技改项目设备投资补助", "title: [技改")
    assert err.line is not None and "YAML" in err.message


def test_unknown_field_with_suggestion(tmp_path: Path, registry: FieldRegistry, params_path: Path) -> None:
    err = load_error(tmp_path, registry, params_path, "project.equipment_investment >= 500万元",
                     "project.equipmnt_investment >= 500万元")
    assert err.line == 15 and err.clause == "二/一"
    assert "demo.tech_upgrade" in err.message and "project.equipmnt_investment" in err.message
    assert err.hint == "您是否要写 project.equipment_investment(设备投资额)?"


@pytest.mark.parametrize(
    ("old", "new", "needle", "line"),
    [
        ("    kind: 补助", "    kindd: 补助", "未知的键 kindd", 12),
        ("    kind: 补助", "    kind: 补贴助", "补贴助", 12),
        ("on: enterprise.annual_revenue", "on: project.investment", "受益对象", 27),
        ('enterprise.muju_class == "A"', 'enterprise.muju_class == "E"', "不可能取值", 36),
        ('enterprise.muju_class == "A"', "enterprise.muju_class == 1", "不能与数字比较", 36),
        ("upper: 5亿元, amount", "upper: 6亿元, amount", "重叠", 30),
        ("table: {A: 20万元}", "table: {AA: 20万元}", "不是亩均评价类别的可选值", 38),
        ("enterprise.titles.国家级企业技术中心 or", "enterprise.titles or", "列表字段", 36),
        ("param.subsidy_rate", "param.subsidy_rat", "未定义的参数", 18),
        ("{document: demo-2022-1, clause: 二/二", "{document: demo-2022-9, clause: 二/二", "未知的文件", 23),
        ("      - when: project.equipment_investment >= 500万元",
         "      - when: project.equipment_investment", "真假判断", 15),
        ("validity: {from: 2022-01-01, to: 2024-12-31}", "validity: {from: 2025-01-01, to: 2024-12-31}",
         "晚于", 4),
    ],
)
def test_invalid_rules_rejected(tmp_path: Path, registry: FieldRegistry, params_path: Path,
                                old: str, new: str, needle: str, line: int) -> None:
    err = load_error(tmp_path, registry, params_path, old, new)
    assert needle in str(err)
    assert err.line == line


@pytest.mark.parametrize(
    "evil",
    ["project.__class__ >= 1", '__import__("os")', "9**99 > 1", 'open("/etc/passwd")',
     "().__class__", "project.equipment_investment.upper()", 'eval("1")', "x if y else z"],
)
def test_escaping_expressions_rejected_at_load(tmp_path: Path, registry: FieldRegistry, params_path: Path,
                                               evil: str) -> None:
    err = load_error(tmp_path, registry, params_path, "project.equipment_investment >= 500万元", evil)
    assert err.file is not None and err.file.endswith("demo.yaml")
    assert err.line == 15 and err.field == "conditions[0].when"


def test_duplicate_rule_ids_across_packs(tmp_path: Path, registry: FieldRegistry, params_path: Path) -> None:
    load(tmp_path, registry, params_path)
    other = PACK.replace("demo-2022-1", "other-2022-1").replace("subsidy_rate", "other_rate")
    other = other.replace("id: demo.revenue", "id: other.revenue").replace("id: demo.muju", "id: other.muju")
    with pytest.raises(RuleError) as info:
        load(tmp_path, registry, params_path, other, "other.yaml")
    assert "demo.tech_upgrade" in info.value.message and "重复" in info.value.message
    assert info.value.file is not None and info.value.file.endswith("other.yaml") and info.value.line == 9


def test_builtin_packs_load() -> None:
    rb = load_packs()
    assert rb.packs and rb.rules
    for rule in rb.rules:
        assert rule.line is not None
        for e in rule.exprs():
            assert e.file == rule.file and e.line is not None


# -- citations -------------------------------------------------------------------------------


@pytest.fixture()
def demo_doc(tmp_path: Path) -> Any:
    path = tmp_path / "demo.txt"
    path.write_text(DOC, encoding="utf-8")
    return ingest_file(path)


def test_citations_pass_and_fail(tmp_path: Path, registry: FieldRegistry, params_path: Path, demo_doc: Any) -> None:
    assert check_citations(load(tmp_path, registry, params_path), [demo_doc]) == []

    text = PACK.replace("quote: \"营业收入首次突破1亿元的企业", "quote: \"营业收入首次突破2亿元的企业")
    text = text.replace("clause: 二/三", "clause: 二/九")
    text = text.replace("quote: 对重大项目实行一事一议", "quote: 亩均评价为A类的企业给予20万元奖励")
    problems = check_citations(load(tmp_path, registry, params_path, text), [demo_doc])
    by_kind = {(p.rule or p.lead, p.kind): p for p in problems}
    assert len(problems) == 3
    quote = by_kind[("demo.revenue", "quote")]
    assert quote.nearest == "营业收入首次突破1亿元的企业,给予一次性奖励10万元" and quote.line == 21
    assert quote.hint is not None and "相似度" in quote.hint
    clause = by_kind[("demo.muju", "clause")]
    assert clause.hint == "引文出现在条款 二/三"
    lead = by_kind[("重大项目一事一议", "quote")]
    assert lead.hint is not None and "二/三" in lead.hint


def test_citation_missing_document_and_policybase(tmp_path: Path, registry: FieldRegistry, params_path: Path,
                                                  demo_doc: Any) -> None:
    rb = load(tmp_path, registry, params_path)
    problems = check_citations(rb, [])
    assert len(problems) == 1 and problems[0].kind == "document" and "demo-2022-1" in problems[0].message

    from huiqi.policybase import connect

    with connect(str(tmp_path / "pb.db")) as pb:
        pb.db.migrate()
        pb.save_document(demo_doc)
        assert check_citations(rb, pb) == []


def test_nearest_passage() -> None:
    passage, ratio = nearest_passage("按设备投资额的20%给予补助", "对技改项目,按设备投资额的10%给予补助,最高300万元。")
    assert passage == "按设备投资额的10%给予补助" and 0.9 < ratio < 1


@pytest.mark.seeds
def test_builtin_citations_match_seeds(seeds: Path) -> None:
    problems = check_citations(load_packs(), documents_from_paths([seeds]))
    assert not problems, "\n".join(map(str, problems))


# -- rule tests runner -----------------------------------------------------------------------

TESTS = """\
pack: demo-2022-1
cases:
  - name: 设备投资恰好500万元
    date: 2022-09-01
    profile: {region: {province: 浙江省, city: 台州市, county: 临海市}, projects: [{id: p1, equipment_investment: 500万元}]}
    expect:
      - {rule: demo.tech_upgrade, status: granted, amount: 50万元, upper_bound: false}
  - name: 故意写错的期望
    date: 2022-09-01
    profile: {region: {province: 浙江省, city: 台州市, county: 临海市}, enterprise: {annual_revenue: 2亿元}}
    expect:
      - {rule: demo.revenue, status: 可享受, amount: 20万元}
"""


class _Result:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def test_runner_with_stub_calculator(tmp_path: Path, registry: FieldRegistry, params_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rb = load(tmp_path, registry, params_path)
    (tmp_path / "packs" / "demo.tests.yaml").write_text(TESTS, encoding="utf-8")
    seen: list[tuple[Any, ...]] = []

    def fake(rulebase: Any, profile: Any, on: date, policies: Any = None, params: Any = None,
             cohort: Any = None) -> Any:
        seen.append((profile.name, on, policies))
        return _Result(results=[
            _Result(rule="demo.tech_upgrade", subject="p1", status="granted", amount=500_000, upper_bound=False,
                    missing=[], explanation=""),
            _Result(rule="demo.revenue", subject="enterprise", status="granted", amount=100_000, upper_bound=False,
                    missing=[], explanation="营业收入 2亿元 落在 1亿元(含)至5亿元 档"),
        ])

    import huiqi.rules.calculator as calculator

    monkeypatch.setattr(calculator, "calculate", fake)
    report = run_rule_tests(rb)
    assert (report.passed, report.failed) == (1, 1)
    assert seen[0] == ("设备投资恰好500万元", date(2022, 9, 1), ["demo-2022-1"])
    text = report.text()
    assert "demo-2022-1:故意写错的期望" in text
    assert "金额:期望 20万元,实际 10万元" in text and "计算说明:营业收入 2亿元" in text


def test_runner_with_real_calculator(tmp_path: Path, registry: FieldRegistry, params_path: Path) -> None:
    rb = load(tmp_path, registry, params_path)
    (tmp_path / "packs" / "demo.tests.yaml").write_text(TESTS, encoding="utf-8")
    report = run_rule_tests(rb)
    first = report.results[0]
    assert first.passed, first.text()
    assert not report.results[1].passed


def test_bad_tests_file(tmp_path: Path) -> None:
    path = tmp_path / "x.tests.yaml"
    path.write_text(TESTS.replace("    expect:\n      - {rule: demo.revenue", "    expekt:\n      - {rule: demo.revenue"),
                    encoding="utf-8")
    with pytest.raises(RuleError) as info:
        collect_cases([path])
    assert info.value.line == 11 and info.value.hint == "您是否要写 expect?"


# -- every built-in case as its own test -----------------------------------------------------


def _builtin_cases() -> list[Any]:
    try:
        cases: list[Any] = collect_cases()
    except HuiqiError as exc:  # a broken tests file must fail loudly, not vanish
        return [pytest.param(exc, id="rulepack-tests-file-error")]
    return [pytest.param(c, id=c.id) for c in cases]


@pytest.fixture(scope="module")
def builtin_rulebase() -> RuleBase:
    return load_packs()


@pytest.mark.parametrize("case", _builtin_cases())
def test_builtin_rule_case(case: RuleCase | HuiqiError, builtin_rulebase: RuleBase) -> None:
    if isinstance(case, HuiqiError):
        pytest.fail(str(case))
    result = run_case(builtin_rulebase, case)
    assert result.passed, result.text()
