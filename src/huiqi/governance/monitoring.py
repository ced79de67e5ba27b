"""Target monitoring: actual to date, expected pace, forecast to the deadline, traffic light.

- Flow series (investment, enterprises added) add up month by month within the target's
  window; level series (亩均税收, a share) are read at their latest month.
- Expected pace is the share of the window's months elapsed: for a flow, that share of the
  target; for a level, the way from the first value in the window to the target.
- The forecast fits a linear trend to the series' monthly values (numpy least squares) and,
  when a full year of history exists, adds each calendar month's average deviation from the
  trend (additive seasonality). Actual sums stay exact Decimals; forecasts are estimates,
  rounded to 0.01.
- Light: 达标 when the actual already meets the target; otherwise 落后 when the window is
  over, 正常 when both the pace and the forecast are met, 落后 when neither is, else 预警.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from huiqi.document import Comparator
from huiqi.governance.indicators import Catalog, MonitoredTarget, SeriesKind, load_catalog

CENT = Decimal("0.01")


class Light(StrEnum):
    MET = "met"
    ON_TRACK = "on_track"
    WARNING = "warning"
    BEHIND = "behind"
    NO_DATA = "no_data"

    @property
    def label(self) -> str:
        return LIGHT_LABELS[self]


LIGHT_LABELS = {
    Light.MET: "达标",
    Light.ON_TRACK: "正常",
    Light.WARNING: "预警",
    Light.BEHIND: "落后",
    Light.NO_DATA: "无数据",
}
LIGHT_COLORS = {
    Light.MET: "#2e7d32",
    Light.ON_TRACK: "#1565c0",
    Light.WARNING: "#f9a825",
    Light.BEHIND: "#c62828",
    Light.NO_DATA: "#9e9e9e",
}


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive ("YYYY-MM")."""
    y, m = int(first[:4]), int(first[5:7])
    ly, lm = int(last[:4]), int(last[5:7])
    out: list[str] = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_index(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


class Forecast(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = Field(description="趋势+季节 / 线性趋势 / 持平")
    values: dict[str, Decimal] = Field(default_factory=dict, description="month → forecast monthly value")


def forecast_series(history: dict[str, Decimal], months: list[str], *, non_negative: bool) -> Forecast:
    """Forecast the monthly values of ``months`` from ``history`` (month → value)."""
    if not months:
        return Forecast(method="无需预测")
    if not history:
        return Forecast(method="无数据")
    periods = sorted(history)
    ys = np.array([float(history[p]) for p in periods])
    xs = np.array([_month_index(p) for p in periods], dtype=float)
    targets = np.array([_month_index(p) for p in months], dtype=float)
    if len(periods) == 1:
        predicted = np.full(len(months), ys[0])
        method = "持平"
    else:
        slope, intercept = np.polyfit(xs, ys, 1)
        predicted = intercept + slope * targets
        method = "线性趋势"
        if xs[-1] - xs[0] >= 11:
            residual = ys - (intercept + slope * xs)
            by_month: dict[int, list[float]] = {}
            for x, r in zip(xs, residual, strict=True):
                by_month.setdefault(int(x) % 12, []).append(float(r))
            seasonal = {k: sum(v) / len(v) for k, v in by_month.items()}
            predicted = predicted + np.array([seasonal.get(int(t) % 12, 0.0) for t in targets])
            method = "趋势+季节"
    if non_negative:
        predicted = np.maximum(predicted, 0.0)
    values = {
        m: Decimal(repr(float(v))).quantize(CENT, rounding=ROUND_HALF_UP) for m, v in zip(months, predicted, strict=True)
    }
    return Forecast(method=method, values=values)


class ChartPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str
    actual: Decimal | None = None
    expected: Decimal | None = None
    forecast: Decimal | None = None


class TargetStatus(BaseModel):
    """One target on one month: everything the 预警 list, the report and the chart show."""

    model_config = ConfigDict(extra="forbid")

    target: MonitoredTarget
    as_of: str
    kind: SeriesKind | None
    window: tuple[str, str]
    elapsed_share: Decimal
    actual: Decimal | None
    expected: Decimal | None
    forecast: Decimal | None
    forecast_method: str
    light: Light
    reason: str
    chart: list[ChartPoint] = Field(default_factory=list)

    @property
    def light_label(self) -> str:
        return self.light.label

    @property
    def completion(self) -> Decimal | None:
        """Actual as a share of the target (for a rising target)."""
        if self.actual is None or not self.target.value:
            return None
        return (self.actual / self.target.value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _rising(comparator: Comparator) -> bool:
    return comparator not in (Comparator.LE, Comparator.LT)


def satisfies(value: Decimal, comparator: Comparator, target: Decimal) -> bool:
    """Does ``value`` reach the target? 以上/达到 (ge, eq, approx) include it, 超过 (gt) excludes it."""
    if comparator is Comparator.GT:
        return value > target
    if comparator is Comparator.LT:
        return value < target
    if comparator is Comparator.LE:
        return value <= target
    return value >= target


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def evaluate_target(
    target: MonitoredTarget,
    history: dict[str, Decimal],
    as_of: str,
    catalog: Catalog | None = None,
) -> TargetStatus:
    """The target's state at the end of month ``as_of`` given its series' monthly values."""
    catalog = catalog or load_catalog()
    as_of_date = date(int(as_of[:4]), int(as_of[5:7]), 1)
    start, end = target.window(as_of_date)
    window = (month_of(start), month_of(end))
    months = months_between(*window)
    kind: SeriesKind | None = catalog.by_code(target.series).kind if target.series else None
    elapsed = [m for m in months if m <= as_of]
    share = (Decimal(len(elapsed)) / Decimal(len(months))).quantize(Decimal("0.0001"))
    known = {m: v for m, v in history.items() if m <= as_of}
    in_window = [m for m in elapsed if m in known]

    def status(light: Light, reason: str, **kw: object) -> TargetStatus:
        return TargetStatus(target=target, as_of=as_of, kind=kind, window=window, elapsed_share=share,
                            light=light, reason=reason, **kw)  # type: ignore[arg-type]

    if kind is None:
        return status(Light.NO_DATA, target.link_note or "未关联监测指标", actual=None, expected=None,
                      forecast=None, forecast_method="")
    if not in_window:
        return status(Light.NO_DATA, f"{window[0]} 至 {as_of} 没有实际数据", actual=None, expected=None,
                      forecast=None, forecast_method="")
    remaining = [m for m in months if m > as_of]
    fc = forecast_series(known, remaining, non_negative=kind == "flow")
    rising = _rising(target.comparator)
    chart: list[ChartPoint] = []
    if kind == "flow":
        actual = sum((known[m] for m in in_window), Decimal(0))
        expected = _q(target.value * share)
        forecast = actual + sum(fc.values.values(), Decimal(0))
        running = Decimal(0)
        for i, m in enumerate(months, start=1):
            point = ChartPoint(month=m, expected=_q(target.value * i / len(months)))
            if m <= as_of:
                running += known.get(m, Decimal(0))
                point.actual = running
                if m == as_of:
                    point.forecast = running
            else:
                running += fc.values[m]
                point.forecast = _q(running)
            chart.append(point)
    else:
        actual = known[in_window[-1]]
        before = [m for m in sorted(known) if m < window[0]]
        baseline = known[before[-1]] if before else known[in_window[0]]
        expected = _q(baseline + (target.value - baseline) * share)
        forecast = fc.values[remaining[-1]] if remaining else actual
        for i, m in enumerate(months, start=1):
            point = ChartPoint(month=m, expected=_q(baseline + (target.value - baseline) * i / len(months)))
            if m <= as_of:
                point.actual = known.get(m)
                if m == as_of:
                    point.forecast = known.get(m)
            else:
                point.forecast = fc.values[m]
            chart.append(point)
    forecast = _q(forecast)
    fields = dict(actual=actual, expected=expected, forecast=forecast, forecast_method=fc.method, chart=chart)
    unit = target.unit
    if satisfies(actual, target.comparator, target.value):
        return status(Light.MET, f"实际 {actual}{unit} 已达到目标 {target.value}{unit}", **fields)
    if not remaining:
        return status(Light.BEHIND, f"目标期已结束,实际 {actual}{unit} 未达到目标 {target.value}{unit}", **fields)
    pace_ok = actual >= expected if rising else actual <= expected
    forecast_ok = satisfies(forecast, target.comparator, target.value)
    pace_text = f"实际 {actual}{unit},按时序进度应为 {expected}{unit}"
    fc_text = f"预计期末 {forecast}{unit},目标 {target.value}{unit}"
    if pace_ok and forecast_ok:
        return status(Light.ON_TRACK, f"{pace_text};{fc_text}", **fields)
    if not pace_ok and not forecast_ok:
        return status(Light.BEHIND, f"落后于时序进度且预计完不成:{pace_text};{fc_text}", **fields)
    why = "预计完不成" if not forecast_ok else "低于时序进度"
    return status(Light.WARNING, f"{why}:{pace_text};{fc_text}", **fields)


def warning_list(statuses: list[TargetStatus]) -> list[TargetStatus]:
    """Targets needing attention: 落后 first, then 预警, largest shortfall of forecast first."""
    flagged = [s for s in statuses if s.light in (Light.BEHIND, Light.WARNING)]

    def shortfall(s: TargetStatus) -> Decimal:
        if s.forecast is None or not s.target.value:
            return Decimal(0)
        return (s.target.value - s.forecast) / s.target.value

    return sorted(flagged, key=lambda s: (s.light is not Light.BEHIND, -shortfall(s), s.target.indicator_text))
