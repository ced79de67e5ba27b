"""Monthly actuals (indicator, region, period, value) read from CSV or Excel, all or nothing.

The whole file is checked before anything is written: an unknown indicator, a period given
twice (in the file, or already stored unless replacing), a unit that is not the indicator's,
an unreadable period or value — each is reported with its line, and nothing is imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from huiqi.errors import HuiqiError, InputError
from huiqi.governance.indicators import Catalog, load_catalog
from huiqi.governance.tabular import parse_decimal, read_rows

HEADERS = {
    "指标": "indicator", "指标名称": "indicator", "指标代码": "indicator", "indicator": "indicator",
    "地区": "region", "区域": "region", "region": "region",
    "期间": "period", "月份": "period", "统计期": "period", "period": "period",
    "数值": "value", "实际值": "value", "完成值": "value", "value": "value",
    "单位": "unit", "unit": "unit",
}
REQUIRED = ("indicator", "region", "period", "value")
_LABELS = {"indicator": "指标", "region": "地区", "period": "期间", "value": "数值", "unit": "单位"}
_PERIOD = re.compile(r"^(\d{4})\s*(?:-|/|\.|年)?\s*(\d{1,2})\s*月?$")


class Actual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: str = Field(description="indicator code")
    region: str
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    value: Decimal
    source: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.indicator, self.region, self.period)


class ActualsImportError(InputError):
    """Every problem found in one actuals file (the first one is the message)."""

    def __init__(self, problems: list[HuiqiError]) -> None:
        first = problems[0]
        more = f"另有 {len(problems) - 1} 处错误,整个文件未导入" if len(problems) > 1 else "整个文件未导入"
        super().__init__(first.message, file=first.file, line=first.line, field=first.field, hint=more)
        self.problems = problems


def parse_period(text: str) -> str | None:
    m = _PERIOD.match(text.strip())
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        return None
    return f"{year:04d}-{month:02d}"


def read_actuals(
    path: str | Path,
    catalog: Catalog | None = None,
    existing: Iterable[tuple[str, str, str]] = (),
    replace: bool = False,
) -> list[Actual]:
    """All rows of the file, or ActualsImportError listing every problem (nothing is returned)."""
    catalog = catalog or load_catalog()
    file = str(path)
    names, rows = read_rows(path, HEADERS)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(
            "缺少列:" + "、".join(_LABELS[c] for c in missing), file=file, line=1,
            hint="表头应为 指标、地区、期间、数值(可选 单位)",
        )
    stored = set(existing) if not replace else set()
    problems: list[HuiqiError] = []
    seen: dict[tuple[str, str, str], int] = {}
    out: list[Actual] = []

    def bad(line: int, column: str, message: str) -> None:
        problems.append(InputError(message, file=file, line=line, field=_LABELS[column]))

    for row in rows:
        c = row.cells
        indicator = catalog.find(c.get("indicator", ""))
        if indicator is None:
            bad(row.line, "indicator", f"未知指标「{c.get('indicator', '')}」(指标目录中没有这个代码或名称)")
            continue
        region = c.get("region", "")
        if not region:
            bad(row.line, "region", "地区为空")
            continue
        period = parse_period(c.get("period", ""))
        if period is None:
            bad(row.line, "period", f"无法识别的期间「{c.get('period', '')}」(应为 2023-03 或 2023年3月)")
            continue
        unit = c.get("unit", "")
        if unit and unit != indicator.unit:
            bad(row.line, "unit", f"单位不一致:指标「{indicator.name}」的单位是 {indicator.unit},文件中是 {unit}")
            continue
        value = parse_decimal(c.get("value", ""))
        if value is None:
            bad(row.line, "value", f"数值「{c.get('value', '')}」不是数字")
            continue
        key = (indicator.code, region, period)
        if key in seen:
            bad(row.line, "period", f"重复的期间:{indicator.name} {region} {period} 已在第{seen[key]}行出现")
            continue
        if key in stored:
            bad(row.line, "period",
                f"重复的期间:{indicator.name} {region} {period} 已有数据(如需覆盖请使用 --replace)")
            continue
        seen[key] = row.line
        out.append(Actual(indicator=indicator.code, region=region, period=period, value=value,
                          source=Path(path).name))
    if problems:
        raise ActualsImportError(problems)
    if not out:
        raise InputError("文件中没有数据行", file=file)
    return out
