"""Exports: 公示名单 (Excel; the printable page uses :func:`publicity_rows`), the payout batch
for the treasury system (Excel), and the round report (applications, decisions, amounts by
district and department). Money cells are integer yuan.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
import xlsxwriter

from huiqi.errors import NotFoundError
from huiqi.workflow.applications import load_round
from huiqi.workflow.machine import STATE_LABELS
from huiqi.workflow.rounds import payout_rows, round_view
from huiqi.workflow.tables import wf_applications

__all__ = ["payout_xlsx", "publicity_rows", "publicity_xlsx", "round_report", "round_report_xlsx"]


def _workbook(sheets: list[tuple[str, list[str], list[list[Any]]]]) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "#,##0"})
    for name, header, rows in sheets:
        ws = book.add_worksheet(name[:31])
        for c, h in enumerate(header):
            ws.write(0, c, h, head)
            ws.set_column(c, c, max(10, min(40, len(h) * 2 + 4)))
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if isinstance(value, int) and not isinstance(value, bool) and "元" in header[c]:
                    ws.write_number(r, c, value, money)
                else:
                    ws.write(r, c, value)
        ws.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()


def _region(app: Any) -> str:
    return app.county or app.district or ""


def _rule_title(app: Any) -> str:
    return str(json.loads(app.estimate_json).get("rule_title") or app.rule)


def publicity_rows(conn: sa.Connection, round_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The round and its 公示名单 (applications in 公示 or already paid), for Excel and the print page."""
    row = load_round(conn, round_id)
    apps = conn.execute(sa.select(wf_applications).where(
        wf_applications.c.round_id == round_id, wf_applications.c.status.in_(("publicized", "paid")))
        .order_by(wf_applications.c.id)).all()
    from datetime import date, timedelta

    out = []
    for a in apps:
        ends = date.fromisoformat(a.publicized_on) + timedelta(days=row.publicity_days) if a.publicized_on else None
        out.append({"id": a.id, "enterprise_name": a.enterprise_name, "enterprise": a.enterprise,
                    "region": _region(a), "rule": a.rule, "rule_title": _rule_title(a),
                    "amount": a.allocated_amount or 0, "publicized_on": a.publicized_on,
                    "publicity_ends": ends.isoformat() if ends else None})
    return round_view(conn, row), out


def publicity_xlsx(conn: sa.Connection, round_id: int) -> bytes:
    info, rows = publicity_rows(conn, round_id)
    header = ["序号", "企业名称", "统一社会信用代码", "县(市、区)", "支持事项", "拟支持金额(元)", "公示开始", "公示截止"]
    data = [[i, r["enterprise_name"], r["enterprise"], r["region"], r["rule_title"], r["amount"],
             r["publicized_on"], r["publicity_ends"]] for i, r in enumerate(rows, start=1)]
    return _workbook([(f"公示名单-{info['title']}", header, data)])


def payout_xlsx(conn: sa.Connection, batch_id: int) -> bytes:
    batch, apps = payout_rows(conn, batch_id)
    if batch is None:
        raise NotFoundError(f"拨付批次 {batch_id} 不存在", field="batch")
    header = ["拨付批次", "申报编号", "统一社会信用代码", "企业名称", "收款账户", "支持事项", "规则", "资金池",
              "拨付金额(元)", "凭证号", "状态"]
    round_row = load_round(conn, batch.round_id)
    info = round_view(conn, round_row)
    data = [[batch.id, a.id, a.enterprise, a.enterprise_name, a.bank_account or "", _rule_title(a), a.rule,
             info["pool"]["name"], a.allocated_amount or 0, a.voucher or "", STATE_LABELS[a.status]] for a in apps]
    data.append(["合计", "", "", "", "", "", "", "", sum(a.allocated_amount or 0 for a in apps), "", ""])
    return _workbook([(f"拨付批次{batch.id}", header, data)])


def round_report(conn: sa.Connection, round_id: int) -> dict[str, Any]:
    """Applications, decisions, and amounts by district and by department."""
    row = load_round(conn, round_id)
    info = round_view(conn, row)
    apps = conn.execute(sa.select(wf_applications).where(wf_applications.c.round_id == round_id)
                        .order_by(wf_applications.c.id)).all()
    by_region: dict[str, dict[str, int]] = defaultdict(lambda: {"applications": 0, "supported": 0,
                                                                "allocated": 0, "paid": 0})
    by_department: dict[str, dict[str, int]] = defaultdict(lambda: {"applications": 0, "supported": 0,
                                                                    "allocated": 0, "paid": 0})
    listing = []
    for a in apps:
        est = json.loads(a.estimate_json)
        depts = est.get("department") or [row.department]
        supported = a.status in ("awarded", "publicized", "paid")
        for bucket in (by_region[_region(a) or "未填写"], *(by_department[d] for d in depts[:1])):
            bucket["applications"] += 1
            bucket["supported"] += int(supported)
            bucket["allocated"] += a.allocated_amount or 0
            bucket["paid"] += a.paid_amount or 0
        listing.append({"id": a.id, "enterprise_name": a.enterprise_name, "enterprise": a.enterprise,
                        "region": _region(a), "rule": a.rule, "rule_title": _rule_title(a), "status": a.status,
                        "status_label": STATE_LABELS[a.status], "estimate": est.get("amount"),
                        "claim": a.claim_amount, "allocated": a.allocated_amount, "paid": a.paid_amount,
                        "reason": a.reason, "note": a.decision_note})
    return {"round": info, "applications": listing, "by_region": dict(by_region),
            "by_department": dict(by_department)}


def round_report_xlsx(conn: sa.Connection, round_id: int) -> bytes:
    rep = round_report(conn, round_id)
    apps = [[a["id"], a["enterprise_name"], a["enterprise"], a["region"], a["rule_title"], a["status_label"],
             a["estimate"], a["claim"], a["allocated"], a["paid"], a["reason"] or "", a["note"] or ""]
            for a in rep["applications"]]
    sums = [("按县(市、区)", "县(市、区)", rep["by_region"]), ("按部门", "部门", rep["by_department"])]
    sheets: list[tuple[str, list[str], list[list[Any]]]] = [(
        "申报与决定", ["申报编号", "企业名称", "统一社会信用代码", "县(市、区)", "支持事项", "状态", "预审金额(元)",
                  "核定金额(元)", "分配金额(元)", "拨付金额(元)", "原因", "说明"], apps)]
    for title, label, table in sums:
        sheets.append((title, [label, "申报数", "支持数", "分配金额(元)", "拨付金额(元)"],
                       [[k, v["applications"], v["supported"], v["allocated"], v["paid"]] for k, v in table.items()]))
    pool = rep["round"]["pool"]
    sheets.append(("资金池", ["资金池", "年度", "总额(元)", "已分配(元)", "已拨付(元)", "余额(元)"],
                   [[pool["name"], pool["year"], pool["amount"], pool["allocated"], pool["paid"], pool["balance"]]]))
    return _workbook(sheets)
