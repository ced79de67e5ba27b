"""项目库: progress facts, 调出/预警 rules as data, Excel import/export."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from huiqi.errors import InputError, RuleError
from huiqi.governance.project_io import read_projects, write_projects
from huiqi.governance.project_rules import evaluate_rules, load_rules
from huiqi.governance.projects import FactorStatus, MonthlyInvestment, Project, progress, progress_by


def _project(code: str, **kw: object) -> Project:
    base: dict[str, object] = dict(code=code, name=f"项目{code}", enterprise="某公司", region="临海市", industry="机械",
                                   level="city", total_investment=100_000_000, annual_plan=40_000_000, plan_year=2023)
    base.update(kw)
    return Project.model_validate(base)


def _monthly(code: str, amounts: dict[str, int]) -> list[MonthlyInvestment]:
    return [MonthlyInvestment(project_code=code, period=p, amount=a) for p, a in amounts.items()]


def test_the_rules_fire_where_they_should() -> None:
    projects = [
        # signed 7 months before 2023-03-31, not started → 调出
        _project("A", signed_on=date(2022, 8, 15)),
        # signed 5 months before → no 调出 yet
        _project("B", signed_on=date(2022, 10, 15)),
        # started, nothing invested for six months → 调出
        _project("C", signed_on=date(2022, 1, 1), started_on=date(2022, 6, 1)),
        # started, on pace: 12 of 40 million by March (30% ≥ half of 25%) → nothing
        _project("D", signed_on=date(2022, 1, 1), started_on=date(2022, 6, 1)),
        # started, 4 of 40 million by March (10% < 12.5%) → 预警 only
        _project("E", signed_on=date(2022, 1, 1), started_on=date(2022, 6, 1)),
        # planned start passed 3 months ago, not started, land pending → two 预警
        _project("F", signed_on=date(2022, 11, 1), start_planned=date(2022, 12, 20), land_mu=Decimal("52.5"),
                 land_status=FactorStatus.PENDING),
        # no signing date at all: the signing rule cannot decide and does not fire
        _project("G"),
    ]
    investments = (
        _monthly("C", {"2022-07": 5_000_000, "2022-08": 3_000_000, "2022-09": 2_000_000})
        + _monthly("D", {"2022-12": 5_000_000, "2023-01": 4_000_000, "2023-02": 4_000_000, "2023-03": 4_000_000})
        + _monthly("E", {"2022-12": 5_000_000, "2023-02": 2_000_000, "2023-03": 2_000_000})
    )
    rows = [progress(p, investments, "2023-03") for p in projects]
    outcome = evaluate_rules(rows, load_rules())
    fired = {(h.project_code, h.rule_id) for h in outcome.hits}
    assert fired == {
        ("A", "unstarted_after_signing"),
        ("C", "stalled_after_start"),
        ("C", "annual_investment_lag"),
        ("E", "annual_investment_lag"),
        ("F", "start_overdue"),
        ("F", "factors_pending"),
    }
    assert outcome.codes("调出") == {"A", "C"}
    assert "unstarted_after_signing" in outcome.undecided["G"]
    hit = next(h for h in outcome.hits if h.project_code == "A")
    assert "签约后月数 7 >= 6" in hit.explanation
    d = next(r for r in rows if r.code == "D")
    assert (d.year_to_date, d.cumulative_investment, d.annual_ratio) == (12_000_000, 17_000_000, Decimal("0.3"))
    by_region = progress_by(rows, "region", outcome.codes("调出"))
    assert by_region[0].projects == 7 and by_region[0].flagged == 2


def test_rules_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: 1\nrules:\n  - {id: x, kind: 调出, title: t, when: 'project.colour == \"红\"'}\n", "utf-8")
    with pytest.raises(InputError, match=r"未知字段:project\.colour"):
        load_rules(bad)
    bad.write_text("version: 1\nrules:\n  - {id: x, kind: 调出, title: t, when: '__import__(\"os\")'}\n", "utf-8")
    with pytest.raises(RuleError):
        load_rules(bad)


def test_excel_round_trip_and_located_errors(tmp_path: Path) -> None:
    projects = [
        _project("P1", signed_on=date(2022, 8, 15), land_mu=Decimal("35.5"), land_status=FactorStatus.SECURED,
                 funding=12_345_678),
        _project("P2", level="province", total_investment=1_234_567_891, annual_plan=200_000_000),
    ]
    investments = _monthly("P1", {"2023-01": 1_234_500, "2023-02": 10_000})
    out = write_projects(projects, investments, tmp_path / "台账.xlsx")
    again, monthly = read_projects(out)
    assert again == projects and sorted(monthly, key=lambda m: m.period) == investments

    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[:4] == ["序号", "项目编号", "项目名称", "建设单位"] and "2023-01完成投资(万元)" in header
    ws.cell(row=3, column=header.index("项目级别") + 1, value="特级")
    ws.cell(row=2, column=header.index("总投资(万元)") + 1, value="12.345678")
    wb.save(tmp_path / "坏.xlsx")
    with pytest.raises(InputError) as info:
        read_projects(tmp_path / "坏.xlsx")
    assert info.value.line == 2 and info.value.field == "总投资(万元)" and "不是整元金额" in info.value.message
    assert "另有 1 处错误" in str(info.value)
