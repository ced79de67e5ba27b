"""Rendering the monthly report: Excel (one sheet per section), printable HTML with SVG charts,
and PDF through a headless Chromium when one is installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from huiqi.errors import HuiqiError
from huiqi.fsutil import atomic_path, write_text_atomic
from huiqi.governance.monitoring import LIGHT_COLORS, Light
from huiqi.governance.projects import fmt_wan
from huiqi.governance.report import MonthlyReport

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def bar_chart(items: list[tuple[str, Decimal]], *, width: int = 640, color: str = "#1565c0",
              title: str = "", percent: bool = True, colors: list[str] | None = None) -> str:
    """A horizontal bar chart as inline SVG: prints, needs no script, readable by screen readers."""
    if not items:
        return ""
    row, label_w = 22, 170
    height = row * len(items) + 28
    top = max([abs(v) for _, v in items] + [Decimal(1) if percent else Decimal(0)]) or Decimal(1)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text>']
    span = width - label_w - 70
    for i, (label, value) in enumerate(items):
        y = 24 + i * row
        w = float(max(value, Decimal(0)) / top) * span
        fill = colors[i] if colors else color
        shown = pct(value) if percent else f"{value:,.2f}"
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
                     f'{escape(label[:14])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{fill}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="12">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def report_context(report: MonthlyReport) -> dict[str, Any]:
    """What the templates need besides the report: formatted figures and SVG charts."""
    units = report.unit_ranking[:20]
    regions = report.region_ranking
    return {
        "report": report,
        "pct": pct,
        "wan": fmt_wan,
        "light_colors": {light.label: color for light, color in LIGHT_COLORS.items()},
        "Light": Light,
        "unit_chart": bar_chart([(u.unit, u.completion_rate) for u in units], title="责任单位完成率(前20)"),
        "region_chart": bar_chart([(r.region.group, r.region.annual_ratio or Decimal(0)) for r in regions],
                                  title="各地区年度投资完成率", color="#2e7d32"),
        "target_chart": bar_chart(
            [(s.target.indicator_text, s.completion or Decimal(0)) for s in report.targets if s.actual is not None],
            title="目标完成程度(实际/目标)",
            colors=[LIGHT_COLORS[s.light] for s in report.targets if s.actual is not None]),
    }


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=jinja2.select_autoescape(["html"]))


def render_html(report: MonthlyReport) -> str:
    """The standalone printable page (its own styles, no external files)."""
    return str(_environment().get_template("governance/report_print.html").render(**report_context(report)))


def write_html(report: MonthlyReport, path: str | Path) -> Path:
    write_text_atomic(path, render_html(report))
    return Path(path)


def write_pdf(report: MonthlyReport, path: str | Path) -> Path:
    """Print the HTML with a headless Chromium (the same one the browser tests use)."""
    chromium = next((c for c in ("/usr/bin/chromium", shutil.which("chromium") or "",
                                 shutil.which("chromium-browser") or "") if c and Path(c).exists()), None)
    if chromium is None:
        raise HuiqiError("生成 PDF 需要 Chromium(apt-get install chromium);也可用 --html 输出后在浏览器中打印")
    target = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(render_html(report), "utf-8")
        with atomic_path(target) as out:
            result = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", f"--print-to-pdf={out}", "--no-pdf-header-footer",
                 page.as_uri()],
                capture_output=True, timeout=120, check=False)
            if result.returncode != 0 or not out.exists() or out.stat().st_size == 0:
                raise HuiqiError("Chromium 未能生成 PDF:" + result.stderr.decode("utf-8", "replace")[-300:])
    return target


def write_xlsx(report: MonthlyReport, path: str | Path) -> Path:
    import xlsxwriter

    target = Path(path)
    s = report.summary
    sheets: list[tuple[str, list[str], list[list[Any]]]] = [
        ("概览", ["项目", "数值"], [
            ["通报月份", report.month], ["督办事项", s.tasks], ["已完成(含销号)", s.tasks_completed],
            ["超期未办结", s.tasks_overdue], ["监测目标(有数据)", s.targets_monitored],
            *[[f"目标·{k}", v] for k, v in s.targets_by_light.items()],
            ["重点项目", s.projects], ["已开工", s.projects_started],
            ["本年计划投资(万元)", fmt_wan(s.annual_plan)], ["本年完成投资(万元)", fmt_wan(s.year_to_date)],
            ["建议调出项目", s.call_outs], ["预警项目", s.warnings]]),
        ("责任单位排名", ["名次", "责任单位", "事项数", "已完成", "推进中", "未启动", "超期", "完成率"], [
            [u.rank, u.unit, u.total, u.completed, u.in_progress, u.not_started, u.overdue, pct(u.completion_rate)]
            for u in report.unit_ranking]),
        ("超期事项", ["责任单位", "文件", "措施", "措施标题", "时限", "超期天数", "状态"], [
            [o.unit, o.document_title, o.measure_key, o.measure_title, o.due.isoformat(), o.days_overdue, o.status]
            for o in report.overdue]),
        ("目标监测", ["指标", "地区", "目标", "单位", "期限", "实际", "时序进度应达", "预计期末", "预测方法", "状态",
                      "说明"], [
            [t.target.indicator_text, t.target.region, str(t.target.value), t.target.unit,
             t.target.deadline.isoformat(), "" if t.actual is None else str(t.actual),
             "" if t.expected is None else str(t.expected), "" if t.forecast is None else str(t.forecast),
             t.forecast_method, t.light.label, t.reason] for t in report.targets]),
        ("重点项目进度", ["项目编号", "项目名称", "地区", "行业", "级别", "阶段", "年度计划(万元)", "本年完成(万元)",
                          "年度完成率", "累计完成(万元)", "累计完成率", "调出/预警"], [
            [ln.progress.code, ln.progress.name, ln.progress.region, ln.progress.industry, ln.progress.level,
             ln.progress.stage, fmt_wan(ln.progress.annual_plan), fmt_wan(ln.progress.year_to_date),
             pct(ln.progress.annual_ratio), fmt_wan(ln.progress.cumulative_investment),
             pct(ln.progress.cumulative_ratio), ";".join(f"{h.kind}:{h.title}" for h in ln.hits)]
            for ln in report.projects]),
        ("调出建议", ["项目编号", "项目名称", "地区", "规则", "依据"], [
            [ln.progress.code, ln.progress.name, ln.progress.region, h.title, h.explanation]
            for ln in report.call_outs for h in ln.hits if h.kind == "调出"]),
        (f"地区擂台({report.quarter})", ["名次", "地区", "项目数", "已开工", "年度计划(万元)", "本年完成(万元)",
                                          "年度完成率", "调出项目", "得分"], [
            [r.rank, r.region.group, r.region.projects, r.region.started, fmt_wan(r.region.annual_plan),
             fmt_wan(r.region.year_to_date), pct(r.region.annual_ratio), r.region.flagged, str(r.score)]
            for r in report.region_ranking]),
    ]
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        try:
            head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
            title = wb.add_format({"bold": True, "font_size": 14})
            for name, headers, rows in sheets:
                ws = wb.add_worksheet(name[:31])
                ws.write(0, 0, f"月度调度通报 · {report.month} · {name}", title)
                ws.write_row(1, 0, headers, head)
                for i, row in enumerate(rows, start=2):
                    ws.write_row(i, 0, row)
                ws.freeze_panes(2, 0)
                ws.set_column(0, len(headers) - 1, 14)
                ws.set_column(1, 1, 28)
        finally:
            wb.close()
    return target
