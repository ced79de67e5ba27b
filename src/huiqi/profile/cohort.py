"""Cohorts: the applicants of rank/quota rules, read from CSV or Excel, one row per applicant."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

from huiqi import limits
from huiqi.errors import ProfileError
from huiqi.profile.fields import (
    REGION_KEYS,
    TYPE_LABELS,
    FieldRegistry,
    closest,
    coerce_value,
    default_registry,
    shown_value,
)
from huiqi.profile.model import Profile, Project, RegionInfo, check_region_names
from huiqi.values import ValueProblem

__all__ = ["load_cohort"]



def load_cohort(path: str | Path, fields: FieldRegistry | None = None) -> list[Profile]:
    """Applicants for rank/quota rules: one row per applicant, one project per row (id = row number).

    Columns: name, province, city, county, district, enterprise.<field>, project.<field>
    (project.name allowed). Empty cells are missing values.
    """
    p = Path(path)
    reg = fields or default_registry()
    rows = _read_table(p)
    if not rows:
        raise ProfileError("申报企业名单为空", file=str(p))
    if len(rows) - 1 > limits.per_row_rows():
        raise ProfileError(f"申报企业名单过长({len(rows) - 1:,} 行,上限 {limits.per_row_rows():,} 行)", file=str(p),
                           hint=f"可用环境变量 {limits.PER_ROW_ROWS_ENV} 调整上限")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    allowed_plain = ("name", *REGION_KEYS)
    for col, name in enumerate(header, start=1):
        if not name:
            continue
        if name in allowed_plain or name == "project.name":
            continue
        spec = reg.get(name)
        if spec is None or spec.scope == "region" or spec.member_of is not None:
            hint = reg.suggest(name) if "." in name else None
            if hint is None:
                near = closest(name, allowed_plain)
                hint = f"您是否要写 {near[0]}?" if near else "列名应为 name、province、city、county、district、enterprise.<字段>、project.<字段>"
            raise ProfileError(f"第1行第{col}列:未知的列名 {name}", file=str(p), line=1,
                               field=name, hint=hint)
    profiles: list[Profile] = []
    for r, row in enumerate(rows[1:], start=2):
        cells = {h: v for h, v in zip(header, row, strict=False) if h}
        if all(v is None or str(v).strip() == "" for v in cells.values()):
            continue
        region: dict[str, str | None] = {}
        enterprise: dict[str, Any] = {}
        project: dict[str, Any] = {}
        name = ""
        for col, h in enumerate(header, start=1):
            if not h or col > len(row):
                continue
            value = row[col - 1]
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                if h == "name":
                    name = str(value).strip()
                elif h in REGION_KEYS:
                    region[h] = str(value).strip()
                elif h == "project.name":
                    project["name"] = str(value).strip()
                else:
                    spec = reg.get(h)
                    assert spec is not None
                    target = enterprise if spec.scope == "enterprise" else project
                    target[spec.name] = coerce_value(spec, value)
            except ValueProblem as bad:
                label = reg.label(h) if "." in h else h
                raise ProfileError(f"第{r}行第{col}列({h} {label})的值 {shown_value(value)} 无效:{bad.reason}",
                                   file=str(p), line=r, field=h,
                                   hint=bad.hint or (f"应为{TYPE_LABELS[spec.type]}" if spec is not None else None)) from None
        check_region_names(region, lambda msg, loc, where=None, hint=None, r=r: ProfileError(
            f"第{r}行:{msg}", file=str(p), line=r, field=where, hint=hint))
        projects = []
        if project:
            pname = project.pop("name", None)
            projects.append(Project(id=str(r - 1), name=pname, fields=project))
        profiles.append(Profile(name=name or f"第{r - 1}家", region=RegionInfo(**region), enterprise=enterprise,
                                projects=projects, source=f"{p}:{r}"))
    return profiles


def _read_table(path: Path) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ProfileError("文件不存在", file=str(path))
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many types for a damaged file
            raise ProfileError("无法读取 Excel 文件(文件损坏或不是 .xlsx)", file=str(path)) from None
        try:
            ws = wb.worksheets[0]
            return [[_excel_cell(c) for c in row] for row in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    if suffix in (".csv", ".txt"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = path.read_text(encoding="gb18030")
            except UnicodeDecodeError:
                raise ProfileError("CSV 文件既不是 UTF-8 也不是 GB18030 编码", file=str(path)) from None
        try:
            return [list(r) for r in csv.reader(text.splitlines())]
        except csv.Error:
            raise ProfileError("CSV 文件格式错误(含有空字符或过长的单元格)", file=str(path)) from None
    raise ProfileError(f"不支持的名单格式 {suffix or '(无扩展名)'}", file=str(path), hint="请用 .csv 或 .xlsx")


def _excel_cell(value: Any) -> Any:
    # Excel stores numbers as binary floats; 6000000.0 must become an exact integer again.
    if isinstance(value, float):
        d = Decimal(repr(value))
        return int(d) if d == d.to_integral_value() else d
    return value
