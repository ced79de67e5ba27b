"""项目库 Excel import and export: one row per project, Chinese headers, amounts in 万元.

The layout is the one 经信局/发改局 ledgers use: identification, investment, the four
milestones (planned and actual), 要素保障 needs and status, then one column per month of
completed investment ("2023-01完成投资(万元)") and the cumulative total.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from huiqi.errors import HuiqiError, InputError
from huiqi.fsutil import atomic_path
from huiqi.governance.actuals import parse_period
from huiqi.governance.projects import (
    FACTOR_LABELS,
    LEVEL_LABELS,
    WAN,
    FactorStatus,
    MonthlyInvestment,
    Project,
    ProjectLevel,
    wan,
)
from huiqi.governance.tabular import parse_decimal, read_rows

# (field, header, kind) in column order; kind says how a cell is read and written.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("code", "项目编号", "text"),
    ("name", "项目名称", "text"),
    ("enterprise", "建设单位", "text"),
    ("region", "所在地区", "text"),
    ("industry", "所属行业", "text"),
    ("level", "项目级别", "level"),
    ("total_investment", "总投资(万元)", "wan"),
    ("annual_plan", "年度计划投资(万元)", "wan"),
    ("plan_year", "计划年度", "int"),
    ("signed_on", "签约日期", "date"),
    ("start_planned", "计划开工日期", "date"),
    ("started_on", "实际开工日期", "date"),
    ("production_planned", "计划投产日期", "date"),
    ("production_on", "实际投产日期", "date"),
    ("full_production_planned", "计划达产日期", "date"),
    ("full_production_on", "实际达产日期", "date"),
    ("land_mu", "用地需求(亩)", "decimal"),
    ("land_status", "用地保障情况", "factor"),
    ("energy_tce", "用能需求(吨标准煤)", "decimal"),
    ("energy_status", "用能保障情况", "factor"),
    ("funding", "资金需求(万元)", "wan"),
    ("funding_status", "资金保障情况", "factor"),
    ("note", "备注", "text"),
)
HEADER_TO_FIELD = {header: field for field, header, _ in COLUMNS}
HEADER_TO_FIELD.update({"序号": "_seq", "累计完成投资(万元)": "_cumulative", "项目单位": "enterprise",
                        "企业名称": "enterprise", "县市区": "region", "行业": "industry", "级别": "level"})
_MONTH_HEADER = re.compile(r"^(\d{4})(?:-|年)(\d{1,2})月?完成投资\(万元\)$")
_LEVELS = {v: k for k, v in LEVEL_LABELS.items()} | {"省级重点": ProjectLevel.PROVINCE, "市级重点": ProjectLevel.CITY,
                                                    "县级重点": ProjectLevel.COUNTY, "省": ProjectLevel.PROVINCE,
                                                    "市": ProjectLevel.CITY, "县": ProjectLevel.COUNTY}
_FACTORS = {v: k for k, v in FACTOR_LABELS.items()} | {"": FactorStatus.NONE, "已落实": FactorStatus.SECURED,
                                                      "未落实": FactorStatus.PENDING}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def wan_to_yuan(text: str) -> int | None:
    """'1234.5678' 万元 → 12345678 元; more than four decimals cannot be whole yuan."""
    value = parse_decimal(text)
    if value is None:
        if text.strip():
            raise ValueError(f"「{text}」不是数字")
        return None
    yuan = value * WAN
    if yuan != yuan.to_integral_value():
        raise ValueError(f"{text}万元 不是整元金额(万元最多保留四位小数)")
    return int(yuan)


def _parse_date(text: str) -> date | None:
    if not text.strip():
        return None
    m = _DATE.match(text.strip().split(" ")[0])
    if not m:
        raise ValueError(f"「{text}」不是日期(应为 2023-03-15)")
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


_READERS: dict[str, Callable[[str], Any]] = {
    "text": lambda s: s.strip(),
    "wan": wan_to_yuan,
    "int": lambda s: int(s) if s.strip() else None,
    "date": _parse_date,
    "decimal": lambda s: parse_decimal(s) if s.strip() else None,
}


def _read_cell(kind: str, text: str) -> Any:
    if kind == "level":
        if text.strip() not in _LEVELS:
            raise ValueError(f"项目级别「{text}」应为 省重点、市重点 或 县重点")
        return _LEVELS[text.strip()]
    if kind == "factor":
        if text.strip() not in _FACTORS:
            raise ValueError(f"保障情况「{text}」应为 已保障、部分保障、待保障 或 无需求")
        return _FACTORS[text.strip()]
    value = _READERS[kind](text)
    if kind == "decimal" and text.strip() and value is None:
        raise ValueError(f"「{text}」不是数字")
    return value


def read_projects(path: str | Path) -> tuple[list[Project], list[MonthlyInvestment]]:
    """Every project and monthly investment in the file, or InputError naming the row and column
    (all problems are collected; nothing is returned when there is any)."""
    file = str(path)
    aliases = dict(HEADER_TO_FIELD)
    names, rows = read_rows(path, aliases)
    required = [h for f, h, _ in COLUMNS if f in ("code", "name", "region", "level", "total_investment",
                                                   "annual_plan", "plan_year")]
    missing = [h for h in required if HEADER_TO_FIELD[h] not in names]
    if missing:
        raise InputError("缺少列:" + "、".join(missing), file=file, line=1)
    month_columns = {n: parse_period(f"{m.group(1)}-{m.group(2)}") for n in names if (m := _MONTH_HEADER.match(n))}
    kinds = {f: k for f, _, k in COLUMNS}
    headers = {f: h for f, h, _ in COLUMNS}
    problems: list[HuiqiError] = []
    projects: list[Project] = []
    investments: list[MonthlyInvestment] = []
    seen: dict[str, int] = {}
    for row in rows:
        data: dict[str, Any] = {}
        row_ok = True
        for name, text in row.cells.items():
            if name not in kinds:
                continue
            try:
                value = _read_cell(kinds[name], text)
            except ValueError as exc:
                problems.append(InputError(str(exc), file=file, line=row.line, field=headers[name]))
                row_ok = False
                continue
            if value is not None and value != "":
                data[name] = value
        if not row_ok:
            continue
        try:
            project = Project.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = first["loc"][0] if first["loc"] else None
            label = headers.get(str(loc), "") if loc else ""
            message = first["msg"].removeprefix("Value error, ")
            if first["type"] == "missing":
                message = "必填项为空"
            problems.append(InputError(message, file=file, line=row.line, field=label or None))
            continue
        if project.code in seen:
            problems.append(InputError(f"项目编号 {project.code} 与第{seen[project.code]}行重复", file=file,
                                       line=row.line, field="项目编号"))
            continue
        seen[project.code] = row.line
        projects.append(project)
        for column, period in month_columns.items():
            text = row.cells.get(column, "")
            try:
                amount = wan_to_yuan(text)
            except ValueError as exc:
                problems.append(InputError(str(exc), file=file, line=row.line, field=column))
                continue
            if amount is not None and period is not None:
                if amount < 0:
                    problems.append(InputError("完成投资不能为负数", file=file, line=row.line, field=column))
                    continue
                investments.append(MonthlyInvestment(project_code=project.code, period=period, amount=amount))
    if problems:
        first = problems[0]
        hint = f"另有 {len(problems) - 1} 处错误,整个文件未导入" if len(problems) > 1 else "整个文件未导入"
        raise InputError(first.message, file=first.file, line=first.line, field=first.field, hint=hint)
    if not projects:
        raise InputError("文件中没有项目", file=file)
    return projects, investments


def _cell(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if kind == "wan":
        # Whole yuan are at most four decimals of 万元: a double holds them exactly enough to read back.
        return float(Decimal(value) / WAN)
    if kind in ("level", "factor"):
        return value.label
    if kind == "date":
        return value.isoformat()
    if kind == "decimal":
        return float(value)
    return value


def write_projects(projects: list[Project], investments: list[MonthlyInvestment], path: str | Path) -> Path:
    """The ledger as .xlsx in the import layout (a file exported here imports back unchanged)."""
    import xlsxwriter

    target = Path(path)
    months = sorted({i.period for i in investments})
    by_project: dict[str, dict[str, int]] = {}
    for i in investments:
        by_project.setdefault(i.project_code, {})[i.period] = i.amount
    headers = ["序号", *(h for _, h, _ in COLUMNS), *(f"{m}完成投资(万元)" for m in months), "累计完成投资(万元)"]
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        try:
            head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                  "valign": "vcenter", "align": "center"})
            money = wb.add_format({"num_format": "#,##0.00##"})
            ws = wb.add_worksheet("重点项目台账")
            ws.write_row(0, 0, headers, head)
            for r, project in enumerate(projects, start=1):
                values = [r, *(_cell(kind, getattr(project, f)) for f, _, kind in COLUMNS)]
                amounts = by_project.get(project.code, {})
                values += [float(wan(amounts[m]) or 0) if m in amounts else "" for m in months]
                values.append(float(wan(sum(amounts.values())) or 0))
                for c, v in enumerate(values):
                    is_money = isinstance(v, float) and ("万元" in headers[c])
                    ws.write(r, c, v, money if is_money else None)
            ws.freeze_panes(1, 3)
            ws.autofilter(0, 0, max(1, len(projects)), len(headers) - 1)
            ws.set_column(0, 0, 5)
            ws.set_column(1, 2, 24)
            ws.set_column(3, len(headers) - 1, 13)
        finally:
            wb.close()
    return target
