"""Showing a calculation: Rich tables in the terminal, an Excel workbook, JSON.

The terminal view is ordered the way an official reads it: the headline money, what
can be claimed, what almost qualifies (and by how much), what cannot be decided yet,
what is not in force, and the questions worth answering next.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from huiqi.fsutil import atomic_path, write_text_atomic
from huiqi.rules.cohort import CohortReport
from huiqi.rules.result import STATUS_LABELS, CalcReport, RuleResult
from huiqi.surfaces.show import format_yuan

__all__ = ["EXPORTERS", "export", "export_cohort_json", "export_cohort_xlsx", "export_json", "export_xlsx",
           "render_cohort", "render_cohort_report", "render_explanation", "render_report"]


def _subject(r: RuleResult) -> str:
    if r.subject == "enterprise":
        return "企业"
    return r.subject_name or f"项目 {r.subject}"


def _amount_text(r: RuleResult) -> str:
    if r.amount is None:
        return r.benefit or "非资金支持"
    return ("最高 " if r.upper_bound else "") + format_yuan(r.amount)


def _doc(r: RuleResult) -> str:
    return r.doc_number or r.document_title


def headline(report: CalcReport) -> str:
    text = f"总计可获 {format_yuan(report.total_granted)}"
    if report.total_upper_bound:
        text += f" + 最高可达 {format_yuan(report.total_upper_bound)} (上限)"
    return text


def render_report(console: Console, report: CalcReport) -> None:
    granted = report.by_status("granted")
    title = f"{report.profile} · 计算日期 {report.date.isoformat()}"
    body = Text(headline(report), style="bold green")
    n_undecided = len(report.by_status("undecided"))
    body.append(f"\n可享受 {len(granted)} 项 · 无法判定 {n_undecided} 项 · 线索 {len(report.leads)} 条", style="dim")
    if report.parameters:
        params = "、".join(f"{k}={v}" for k, v in report.parameters.items())
        body.append(f"\n所用参数:{params}", style="dim")
    for note in report.notes:
        body.append(f"\n{note}", style="dim")
    console.print(Panel(body, title=title, expand=False))

    if granted:
        table = Table(title="可享受的政策", show_lines=False)
        table.add_column("措施")
        table.add_column("对象")
        table.add_column("条款")
        table.add_column("金额", justify="right")
        table.add_column("上限?", justify="center")
        table.add_column("部门")
        for r in granted:
            table.add_row(r.title, _subject(r), f"{_doc(r)} {r.clause}", _amount_text(r),
                          "是" if r.upper_bound else "", "、".join(r.department))
        console.print(table)

    failed = report.by_status("not_eligible", "stacked_out")
    if failed:
        table = Table(title="不符合 / 差一点")
        table.add_column("措施")
        table.add_column("对象")
        table.add_column("原因")
        table.add_column("差距", style="yellow")
        # Near misses first: they are the actionable ones.
        for r in sorted(failed, key=lambda x: x.near_miss is None):
            gap = r.near_miss.text if r.near_miss is not None else ""
            reason = r.reason if r.near_miss is None else r.reason.split(";")[0]
            table.add_row(r.title, _subject(r), f"[{STATUS_LABELS[r.status]}] {reason}", gap)
        console.print(table)

    undecided = report.by_status("undecided")
    if undecided:
        table = Table(title="无法判定(需补充信息)")
        table.add_column("措施")
        table.add_column("对象")
        table.add_column("缺少")
        for r in undecided:
            missing = "、".join(m.label for m in r.missing) or r.reason
            table.add_row(r.title, _subject(r), missing)
        console.print(table)

    outside = report.by_status("not_in_force")
    if outside:
        table = Table(title="不在有效期")
        table.add_column("措施")
        table.add_column("说明")
        seen: set[str] = set()
        for r in outside:
            if r.rule not in seen:
                seen.add(r.rule)
                table.add_row(r.title, r.reason)
        console.print(table)

    if report.leads:
        table = Table(title="线索(需与部门沟通)")
        table.add_column("措施")
        table.add_column("条款")
        table.add_column("原因")
        table.add_column("部门")
        for lead in report.leads:
            table.add_row(lead.title, f"{lead.doc_number or lead.document_title} {lead.clause}", lead.reason,
                          "、".join(lead.department))
        console.print(table)

    if report.ask_next:
        table = Table(title="建议补充的信息")
        table.add_column("#", justify="right")
        table.add_column("信息")
        table.add_column("可判定的政策")
        table.add_column("涉及金额", justify="right")
        for i, q in enumerate(report.ask_next, start=1):
            who = "" if q.subject == "enterprise" else f"(项目 {q.subject_name or q.subject})"
            money = format_yuan(q.money_at_stake) if q.money_at_stake else "金额待定"
            if q.money_at_stake and q.amount_pending:
                money += "+"
            table.add_row(str(i), q.label + who, "、".join(q.rule_titles), money)
        console.print(table)


def render_explanation(console: Console, result: RuleResult) -> None:
    style = {"granted": "green", "not_eligible": "red", "stacked_out": "yellow", "undecided": "cyan"}.get(
        result.status, "white")
    console.print(Panel(result.explanation, title=f"{result.title} [{STATUS_LABELS[result.status]}]",
                        border_style=style, expand=False))


def export_json(report: CalcReport, path: str | Path) -> None:
    # Round-trip through json to get stable, indented UTF-8 (no \u escapes).
    data = json.loads(report.to_json(indent=None))
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def export_xlsx(report: CalcReport, path: str | Path) -> None:
    """Workbook with sheets 结果, 条件明细, 待补充信息 (money as integer yuan cells)."""
    import xlsxwriter

    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        try:
            bold = wb.add_format({"bold": True})
            money = wb.add_format({"num_format": "#,##0"})
            wrap = wb.add_format({"text_wrap": True, "valign": "top"})

            ws = wb.add_worksheet("结果")
            ws.write_row(0, 0, [report.profile, f"计算日期 {report.date.isoformat()}", headline(report)], bold)
            header = ["措施", "规则", "对象", "状态", "金额(元)", "上限", "原因", "文件", "文号", "条款", "部门",
                      "差一点", "解释"]
            ws.write_row(2, 0, header, bold)
            for i, r in enumerate(report.results, start=3):
                ws.write_row(i, 0, [r.title, r.rule, _subject(r), STATUS_LABELS[r.status]])
                if r.amount is not None:
                    ws.write_number(i, 4, r.amount, money)
                ws.write_row(i, 5, ["是" if r.upper_bound else "", r.reason, r.document_title, r.doc_number or "",
                                    r.clause, "、".join(r.department),
                                    r.near_miss.text if r.near_miss else ""])
                ws.write_string(i, 12, r.explanation, wrap)
            ws.set_column(0, 0, 30)
            ws.set_column(6, 6, 40)
            ws.set_column(12, 12, 60)

            wc = wb.add_worksheet("条件明细")
            wc.write_row(0, 0, ["规则", "措施", "对象", "条件", "表达式", "结果", "实际值", "要求", "说明"], bold)
            row = 1
            for r in report.results:
                for c in r.conditions:
                    status = {"true": "满足", "false": "不满足", "unknown": "无法判定"}[c.status]
                    wc.write_row(row, 0, [r.rule, r.title, _subject(r), c.label, c.expr, status,
                                          c.actual or "", c.required or "", c.text])
                    row += 1

            wq = wb.add_worksheet("待补充信息")
            wq.write_row(0, 0, ["序号", "信息", "字段", "对象", "类型", "可判定的规则", "涉及金额(元)", "说明"], bold)
            for i, q in enumerate(report.ask_next, start=1):
                wq.write_row(i, 0, [i, q.label, q.field, q.subject_name or q.subject, q.type, "、".join(q.rules)])
                wq.write_number(i, 6, q.money_at_stake, money)
                wq.write_string(i, 7, q.text)
        finally:
            wb.close()


# The registry of calculation exports, by file suffix.
EXPORTERS: dict[str, Callable[[CalcReport, str | Path], None]] = {
    ".xlsx": export_xlsx,
    ".json": export_json,
}


def export(report: CalcReport, path: str | Path) -> None:
    """Export by the file's suffix; a suffix without its own exporter gets JSON (as ``calc --out`` does)."""
    EXPORTERS.get(Path(path).suffix.lower(), export_json)(report, path)


def render_cohort(console: Console, reports: list[CalcReport]) -> None:
    """One line per applicant (``huiqi calc --cohort``), then each report on request."""
    table = Table(title="申报企业计算汇总")
    table.add_column("企业")
    table.add_column("可享受", justify="right")
    table.add_column("确定金额", justify="right")
    table.add_column("上限类金额", justify="right")
    table.add_column("排名/名额结果")
    for rep in reports:
        population = [r for r in rep.results
                      if r.status in ("granted", "not_eligible") and ("排第" in r.reason or "排第" in (r.formula or ""))]
        notes = "; ".join(f"{r.title}:{'获' + format_yuan(r.amount) if r.amount else '未获'}" for r in population)
        table.add_row(rep.profile, str(len(rep.by_status("granted"))), format_yuan(rep.total_granted),
                      format_yuan(rep.total_upper_bound) if rep.total_upper_bound else "", notes)
    console.print(table)


def _cohort_amount(amount: int | None, upper: bool) -> str:
    if amount is None:
        return ""
    return ("最高 " if upper else "") + format_yuan(amount)


def render_cohort_report(console: Console, report: CohortReport) -> None:
    """One table per rank/quota rule: every applicant's place, status and amount."""
    console.print(Panel(Text(f"申报企业 {report.applicants} 家 · 排名与名额类规则 {len(report.rules)} 条", style="bold"),
                        title=f"申报企业排名与名额 · 计算日期 {report.date.isoformat()}", expand=False))
    if not report.rules:
        console.print("所选规则包中没有排名或名额类规则。")
        return
    for rule in report.rules:
        what = f"前{rule.places}名分别奖励" if rule.kind == "rank" else f"每组限{rule.places}家"
        table = Table(title=f"{rule.title}({rule.doc_number or rule.document} {rule.clause};{what})")
        for col in ("分组", "名次", "企业", "对象", "排序依据", "状态", "金额", "说明"):
            table.add_column(col, justify="right" if col in ("名次", "金额") else "left")
        for e in rule.entries:
            table.add_row(e.group or "", str(e.rank) if e.rank is not None else "—", e.applicant,
                          "企业" if e.subject == "enterprise" else (e.subject_name or e.subject), e.ordered_by or "",
                          e.status_label, _cohort_amount(e.amount, e.upper_bound), e.reason)
        console.print(table)


def export_cohort_json(report: CohortReport, path: str | Path) -> None:
    data = json.loads(report.to_json(indent=None))
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def export_cohort_xlsx(report: CohortReport, path: str | Path) -> None:
    """One sheet 排名与名额: a row per (rule, applicant, subject); money as integer yuan."""
    import xlsxwriter

    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        try:
            bold = wb.add_format({"bold": True})
            money = wb.add_format({"num_format": "#,##0"})
            ws = wb.add_worksheet("排名与名额")
            ws.write_row(0, 0, [f"计算日期 {report.date.isoformat()}", f"申报企业 {report.applicants} 家"], bold)
            header = ["规则", "措施", "文号", "条款", "类型", "分组", "名次", "组内家数", "企业", "对象", "排序依据",
                      "状态", "金额(元)", "上限", "说明"]
            ws.write_row(2, 0, header, bold)
            row = 3
            for rule in report.rules:
                for e in rule.entries:
                    ws.write_row(row, 0, [rule.rule, rule.title, rule.doc_number or rule.document, rule.clause,
                                          "排名" if rule.kind == "rank" else "名额", e.group or ""])
                    if e.rank is not None:
                        ws.write_number(row, 6, e.rank)
                    if e.group_size is not None:
                        ws.write_number(row, 7, e.group_size)
                    ws.write_row(row, 8, [e.applicant, e.subject_name or e.subject, e.ordered_by or "", e.status_label])
                    if e.amount is not None:
                        ws.write_number(row, 12, e.amount, money)
                    ws.write_row(row, 13, ["是" if e.upper_bound else "", e.reason])
                    row += 1
            ws.set_column(1, 1, 36)
            ws.set_column(8, 8, 24)
            ws.set_column(14, 14, 60)
        finally:
            wb.close()
