"""Target monitoring: linking the seeds' targets, reading actuals all-or-nothing, pace,
forecast and traffic lights."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from huiqi.document import Comparator, Document
from huiqi.errors import InputError
from huiqi.governance.actuals import ActualsImportError, read_actuals
from huiqi.governance.indicators import MonitoredTarget, monitored_targets
from huiqi.governance.monitoring import Light, evaluate_target, forecast_series, warning_list


def test_seed_targets_link_to_series(seed_by_prefix: dict[str, Document]) -> None:
    linhai = {t.indicator_text: t for t in monitored_targets(seed_by_prefix["003"])}
    tax = linhai["全市规上工业亩均税收"]
    assert (tax.series, tax.unit, tax.comparator, tax.value) == ("muju_tax", "万元/亩", Comparator.GT, Decimal("20.3"))
    assert (tax.start, tax.deadline, tax.region) == (date(2022, 7, 16), date(2023, 12, 31), "临海市")
    land = linhai["盘活低效工业用地"]
    assert land.series == "revitalised_land" and not land.annual
    hightech = linhai["每年新增高新技术企业"]
    assert hightech.annual and hightech.window(date(2023, 3, 1)) == (date(2023, 1, 1), date(2023, 12, 31))
    binzhou = {t.indicator_text: t for t in monitored_targets(seed_by_prefix["001"])}
    invest = binzhou["全年完成投资"]
    assert invest.series == "key_project_investment" and invest.window(date(2023, 3, 1)) == (
        date(2022, 1, 1), date(2022, 12, 31))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_good_actuals_file(tmp_path: Path) -> None:
    rows = read_actuals(_write(tmp_path / "ok.csv", "指标,地区,期间,数值,单位\n"
                               "muju_tax,临海市,2023-01,18.6,万元/亩\n规上工业亩均税收,临海市,2023年2月,18.75,\n"))
    assert [(a.indicator, a.period, a.value) for a in rows] == [
        ("muju_tax", "2023-01", Decimal("18.6")), ("muju_tax", "2023-02", Decimal("18.75"))]


def test_bad_actuals_file_is_refused_with_every_problem_located(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.csv", "指标,地区,期间,数值,单位\n"
                 "muju_tax,临海市,2023-01,18.6,万元/亩\n"
                 "亩产税收,临海市,2023-02,18.7,万元/亩\n"
                 "muju_tax,临海市,2023-03,19.0,万元/亩\n"
                 "muju_tax,临海市,2023-03,19.1,万元/亩\n"
                 "revitalised_land,临海市,2023-03,300,万亩\n")
    with pytest.raises(ActualsImportError) as info:
        read_actuals(bad)
    problems = info.value.problems
    assert [(p.line, p.field) for p in problems] == [(3, "指标"), (5, "期间"), (6, "单位")]
    assert "未知指标「亩产税收」" in problems[0].message
    assert "已在第4行出现" in problems[1].message
    assert "万元/亩" not in problems[2].message and "亩" in problems[2].message
    assert "整个文件未导入" in str(info.value) and "bad.csv,第3行" in str(info.value)
    # A period already stored is a duplicate too, unless replacing.
    ok = _write(tmp_path / "ok.csv", "指标,地区,期间,数值\nmuju_tax,临海市,2023-01,18.6\n")
    with pytest.raises(ActualsImportError, match="已有数据"):
        read_actuals(ok, existing=[("muju_tax", "临海市", "2023-01")])
    assert len(read_actuals(ok, existing=[("muju_tax", "临海市", "2023-01")], replace=True)) == 1
    with pytest.raises(InputError, match="缺少列:数值"):
        read_actuals(_write(tmp_path / "cols.csv", "指标,地区,期间\nmuju_tax,临海市,2023-01\n"))


def _flow_target(value: str = "1200") -> MonitoredTarget:
    return MonitoredTarget(
        id="t1", document_identity="文号:x", document_title="某文件", measure_key="二", indicator_text="盘活低效工业用地",
        text="1200亩以上", series="revitalised_land", region="临海市", comparator=Comparator.GE, value=Decimal(value),
        unit="亩", start=date(2023, 1, 1), deadline=date(2023, 12, 31),
    )


def test_a_synthetic_year_goes_through_every_light() -> None:
    monthly = [160, 130, 100, 40, 40, 40, 300, 400, 0, 0, 0, 0]
    history = {f"2023-{i:02d}": Decimal(v) for i, v in enumerate(monthly, start=1)}
    target = _flow_target()
    lights = {m: evaluate_target(target, history, m) for m in ("2023-01", "2023-03", "2023-06", "2023-08")}
    assert {m: s.light for m, s in lights.items()} == {
        "2023-01": Light.ON_TRACK, "2023-03": Light.WARNING, "2023-06": Light.BEHIND, "2023-08": Light.MET}
    march = lights["2023-03"]
    assert (march.actual, march.expected, march.elapsed_share) == (Decimal(390), Decimal("300.00"), Decimal("0.25"))
    assert march.forecast == Decimal("510.00") and "预计完不成" in march.reason  # trend 70, 40, 10, then 0
    assert [p.actual for p in march.chart[:3]] == [Decimal(160), Decimal(290), Decimal(390)]
    assert march.chart[-1].forecast == Decimal("510.00") and len(march.chart) == 12
    assert [s.light for s in warning_list(list(lights.values()))] == [Light.BEHIND, Light.WARNING]
    # The window over without reaching the target is 落后 even if nothing is forecast.
    short = {f"2023-{i:02d}": Decimal(50) for i in range(1, 13)}
    assert evaluate_target(target, short, "2023-12").light is Light.BEHIND
    assert evaluate_target(target, {}, "2023-03").light is Light.NO_DATA


def test_level_target_and_seasonal_forecast() -> None:
    target = _flow_target().model_copy(update={"series": "muju_tax", "comparator": Comparator.GT,
                                               "value": Decimal("20.3"), "unit": "万元/亩",
                                               "start": date(2022, 7, 16)})
    # A level series: the latest month counts; baseline is the month before the window.
    history = {"2022-06": Decimal("17.0"), "2022-07": Decimal("17.2"), "2022-08": Decimal("17.5")}
    status = evaluate_target(target, history, "2022-08")
    assert status.actual == Decimal("17.5") and status.kind == "level"
    assert status.expected == Decimal("17.37")  # 17.0 + (20.3 - 17.0) × 2/18 = 17.366…
    seasonal = {f"{y}-{m:02d}": Decimal(10 + (5 if m == 12 else 0) + (y - 2021)) for y in (2021, 2022) for m in range(1, 13)}
    fc = forecast_series(seasonal, ["2023-11", "2023-12"], non_negative=True)
    assert fc.method == "趋势+季节" and fc.values["2023-12"] - fc.values["2023-11"] > Decimal(4)
    assert forecast_series(dict(list(seasonal.items())[:5]), ["2021-06"], non_negative=True).method == "线性趋势"


def test_flow_actuals_add_up_exactly() -> None:
    history = {"2023-01": Decimal("0.1"), "2023-02": Decimal("0.2")}
    status = evaluate_target(_flow_target("1"), history, "2023-02")
    assert status.actual == Decimal("0.3")
