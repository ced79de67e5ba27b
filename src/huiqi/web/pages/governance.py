"""Governance pages: the 督办 board, a task with its history and forms, target monitoring with
ECharts, the project ledger and the monthly report (printable)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from huiqi.errors import HuiqiError
from huiqi.governance.monitoring import LIGHT_COLORS, Light, TargetStatus
from huiqi.governance.tasks import (
    ACTION_LABELS,
    STATUS_LABELS,
    Attachment,
    TaskAction,
    TaskStatus,
    actor_for_role,
    allowed_actions,
)
from huiqi.store.db import write_tx
from huiqi.web import deps
from huiqi.web.auth import Principal, require

router = APIRouter(include_in_schema=False)
TaskViewer = Annotated[Principal, Depends(require("department", "supervisor", "admin"))]
Official = Annotated[Principal, Depends(require("department", "supervisor", "admin", "county", "finance"))]
MAX_ATTACHMENT = 10 * 1024 * 1024


def _month(request: Request, month: str | None) -> str:
    from huiqi.governance.report import parse_month

    if month:
        return parse_month(month)
    today = date.today()
    return f"{today.year:04d}-{today.month:02d}"


@router.get("/governance/tasks", response_class=HTMLResponse)
def board(request: Request, viewer: TaskViewer, unit: str | None = None, status: str | None = None) -> HTMLResponse:
    from huiqi.governance.task_store import can_see_all, list_tasks

    wanted = TaskStatus(status) if status in {s.value for s in TaskStatus} else None
    with deps.engine(request).connect() as conn:
        everything = list_tasks(conn, viewer)
    units = sorted({t.unit for t in everything})
    tasks = [t for t in everything if (not unit or t.unit == unit) and (wanted is None or t.status is wanted)]
    counts = {s: sum(t.status is s for t in everything) for s in TaskStatus}
    return deps.render(request, "governance/board.html", {
        "tasks": tasks, "units": units, "unit": unit, "status": wanted, "counts": counts,
        "status_labels": STATUS_LABELS, "all_units": can_see_all(viewer), "today": date.today()})


@router.get("/governance/tasks/{task_id}", response_class=HTMLResponse)
def task_page(task_id: str, request: Request, viewer: TaskViewer) -> HTMLResponse:
    from huiqi.governance.task_store import get_task, task_history

    with deps.engine(request).connect() as conn:
        task = get_task(conn, viewer, task_id)
        events, reports = task_history(conn, viewer, task_id)
    actions = [a for a in allowed_actions(task.status, actor_for_role(viewer.role)) if a is not TaskAction.REPORT]
    return deps.render(request, "governance/task.html", {
        "task": task, "events": events, "reports": reports, "actions": actions, "action_labels": ACTION_LABELS,
        "can_report": TaskAction.REPORT in allowed_actions(task.status, actor_for_role(viewer.role))})


async def _attachment(request: Request, upload: UploadFile) -> Attachment | None:
    if not upload.filename:
        return None
    data = await upload.read(MAX_ATTACHMENT + 1)
    if len(data) > MAX_ATTACHMENT:
        raise HuiqiError("附件超过 10MB", file=upload.filename)
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(deps.settings(request).var_dir) / "attachments" / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        path.write_bytes(data)
    return Attachment(name=Path(upload.filename).name, size=len(data), sha256=digest, path=str(path))


@router.post("/governance/tasks/{task_id}/report", response_model=None)
async def submit_report(task_id: str, request: Request, viewer: TaskViewer, text: Annotated[str, Form()],
                        attachment: Annotated[UploadFile | None, File()] = None) -> RedirectResponse:
    from huiqi.governance.task_store import add_report

    files = [a for a in [await _attachment(request, attachment)] if a] if attachment is not None else []
    with write_tx(deps.engine(request)) as conn:
        add_report(conn, viewer, task_id, text, attachments=files)
    return RedirectResponse(f"/governance/tasks/{task_id}", status_code=303)


@router.post("/governance/tasks/{task_id}/act", response_model=None)
def submit_action(task_id: str, request: Request, viewer: TaskViewer, action: Annotated[str, Form()],
                  note: Annotated[str, Form()] = "", due: Annotated[str, Form()] = "") -> RedirectResponse:
    from huiqi.governance.task_store import act

    try:
        chosen = TaskAction(action)
        due_date = date.fromisoformat(due) if due else None
    except ValueError:
        raise HuiqiError("操作或日期无效", field="action") from None
    with write_tx(deps.engine(request)) as conn:
        act(conn, viewer, task_id, chosen, note=note, due=due_date)
    return RedirectResponse(f"/governance/tasks/{task_id}", status_code=303)


def _chart(status: TargetStatus) -> dict[str, Any]:
    """An ECharts option: actual, expected pace and forecast by month, the target as a line."""
    months = [p.month for p in status.chart]

    def series(name: str, values: list[Any], color: str, dashed: bool = False) -> dict[str, Any]:
        return {"name": name, "type": "line", "data": [None if v is None else float(v) for v in values],
                "itemStyle": {"color": color}, "connectNulls": False,
                "lineStyle": {"type": "dashed" if dashed else "solid"}}

    return {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "top": 32, "bottom": 28},
        "xAxis": {"type": "category", "data": months}, "yAxis": {"type": "value", "scale": True},
        "series": [
            series("实际", [p.actual for p in status.chart], "#1565c0"),
            series("时序进度", [p.expected for p in status.chart], "#9e9e9e", dashed=True),
            series("预测", [p.forecast for p in status.chart], LIGHT_COLORS[status.light], dashed=True),
            {"name": "目标", "type": "line", "data": [float(status.target.value)] * len(months),
             "lineStyle": {"type": "dotted"}, "itemStyle": {"color": "#c62828"}, "symbol": "none"},
        ],
    }


@router.get("/governance/targets", response_class=HTMLResponse)
def targets_page(request: Request, viewer: Official, month: str | None = None) -> HTMLResponse:
    from huiqi.governance.ledger_store import target_statuses
    from huiqi.governance.monitoring import warning_list

    chosen = _month(request, month)
    with deps.engine(request).connect() as conn:
        statuses = target_statuses(conn, chosen)
    monitored = [s for s in statuses if s.light is not Light.NO_DATA]
    charts = {s.target.id: json.dumps(_chart(s), ensure_ascii=False) for s in monitored}
    return deps.render(request, "governance/targets.html", {
        "month": chosen, "statuses": monitored, "unmonitored": [s for s in statuses if s.light is Light.NO_DATA],
        "warnings": warning_list(statuses), "charts": charts,
        "light_colors": {light.label: color for light, color in LIGHT_COLORS.items()}})


@router.get("/governance/projects", response_class=HTMLResponse)
def projects_page(request: Request, viewer: Official, month: str | None = None) -> HTMLResponse:
    from huiqi.governance.report import build_report
    from huiqi.governance.report_render import report_context

    chosen = _month(request, month)
    with deps.engine(request).connect() as conn:
        report = build_report(conn, chosen)
    return deps.render(request, "governance/projects.html", {**report_context(report), "month": chosen})


@router.get("/governance/report", response_class=HTMLResponse)
def report_page(request: Request, viewer: Official, month: str | None = None) -> HTMLResponse:
    from huiqi.governance.report import build_report
    from huiqi.governance.report_render import report_context

    chosen = _month(request, month)
    with deps.engine(request).connect() as conn:
        report = build_report(conn, chosen)
    return deps.render(request, "governance/report.html", {**report_context(report), "month": chosen})
