"""`calc --cohort-report`: every applicant's status, place and amount for rank and quota rules."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huiqi.profile import FieldRegistry, Profile, load_cohort, load_yaml
from huiqi.rules.cohort import apply_cohort, cohort_report
from huiqi.rules.packs import ParameterSet, RuleBase, load_packs

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
EXAMPLES = Path(__file__).parent.parent / "examples"
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


def test_rank_rule_lists_every_applicant_with_place_and_amount(base: RuleBase, cohort: list[Profile]) -> None:
    report = cohort_report(base, cohort, ON)
    assert report.applicants == 7 and [r.rule for r in report.rules] == ["cohort.rank", "cohort.quota"]
    rank = report.rules[0]
    assert (rank.kind, rank.places) == ("rank", 3)
    rows = [(e.applicant, e.group, e.rank, e.status, e.amount) for e in rank.entries]
    assert rows == [  # groups in Unicode order (台 < 杭), then place
        ("A公司", "台州市", 1, "granted", 500_000),
        ("B公司", "台州市", 2, "granted", 300_000),
        ("C公司", "台州市", 3, "granted", 100_000),
        ("D公司", "台州市", 4, "not_eligible", None),
        ("E公司", "杭州市", 1, "granted", 500_000),
        ("G公司", None, None, "undecided", None),
        ("F公司", None, None, "not_eligible", None),
    ]
    assert rank.entries[0].ordered_by == "50000万元" and rank.entries[0].group_size == 4


def test_quota_rule_and_per_applicant_reports_agree(base: RuleBase, cohort: list[Profile]) -> None:
    report = cohort_report(base, cohort, ON)
    reports = {r.profile: r for r in apply_cohort(base, cohort, ON)}
    for rule in report.rules:
        for e in rule.entries:
            own = reports[e.applicant].find(rule.rule, e.subject)
            assert own is not None
            assert (e.status, e.amount, e.reason) == (own.status, own.amount if own.status == "granted" else None,
                                                      own.reason)
    quota = report.rules[1]
    granted = sorted(e.applicant for e in quota.entries if e.status == "granted")
    assert granted == ["A公司", "B公司", "E公司"]


def test_exports_json_and_xlsx(base: RuleBase, cohort: list[Profile], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from huiqi.surfaces.calc_report import export_cohort_json, export_cohort_xlsx

    report = cohort_report(base, cohort, ON)
    export_cohort_json(report, tmp_path / "c.json")
    data = json.loads((tmp_path / "c.json").read_text("utf-8"))
    assert data["schema_version"] == "1.0" and len(data["rules"][0]["entries"]) == 7
    export_cohort_xlsx(report, tmp_path / "c.xlsx")
    ws = load_workbook(tmp_path / "c.xlsx")["排名与名额"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 14
    first = rows[0]
    assert first[0] == "cohort.rank" and first[6] == 1 and first[8] == "A公司" and first[12] == 500_000


def test_cli_cohort_report(tmp_path: Path) -> None:
    from huiqi.cli.main import app

    runner = CliRunner()
    out = tmp_path / "排名.json"
    res = runner.invoke(app, ["calc", "--cohort", str(EXAMPLES / "applicants-shiyan.csv"), "--cohort-report",
                              "--date", "2019-06-01", "--format", "json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text("utf-8"))
    parts = next(r for r in data["rules"] if r["rule"] == "shiyan.auto.parts_passenger")
    top = [(e["rank"], e["amount"]) for e in parts["entries"] if e["rank"] is not None]
    assert top[:3] == [(1, 500_000), (2, 300_000), (3, 200_000)]


def test_cli_cohort_report_without_cohort_is_a_clear_error() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")}
    proc = subprocess.run([sys.executable, "-m", "huiqi.cli.main", "calc", "--cohort-report"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "--cohort" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
