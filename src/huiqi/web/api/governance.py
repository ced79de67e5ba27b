"""Governance API (/api/v1/governance): 督办 tasks, target monitoring, the project ledger and the
monthly report. Thin over huiqi.governance; scope checks are in the core (a department sees its
own unit's tasks; 督查室 and admin see all)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from huiqi.errors import HuiqiError
from huiqi.governance.monitoring import TargetStatus
from huiqi.governance.report import MonthlyReport, ProjectLine, build_report, parse_month
from huiqi.governance.tasks import ProgressReport, Task, TaskAction, TaskEvent, TaskStatus
from huiqi.store.db import write_tx
from huiqi.web import deps
from huiqi.web.auth import Principal, require

router = APIRouter(prefix="/api/v1/governance", tags=["督办与调度"])

TaskViewer = Annotated[Principal, Depends(require("department", "supervisor", "admin"))]
Office = Annotated[Principal, Depends(require("supervisor", "admin"))]
Official = Annotated[Principal, Depends(require("department", "supervisor", "admin", "county", "finance"))]
MonthQuery = Annotated[str, Query(description="月份 YYYY-MM", pattern=r"^\d{4}-\d{2}$")]
MAX_UPLOAD = 20 * 1024 * 1024


class TaskDetail(BaseModel):
    task: Task
    events: list[TaskEvent]
    reports: list[ProgressReport]


class ReportIn(BaseModel):
    text: str = Field(min_length=1, max_length=5000, description="进展情况")
    reported_on: date | None = Field(None, description="报送日期,默认今天")


class ActionIn(BaseModel):
    action: TaskAction
    note: str = Field("", max_length=2000)
    due: date | None = Field(None, description="设定时限(set_deadline)")


class ImportResult(BaseModel):
    message: str
    rows: int


@router.get("/tasks", response_model=list[Task], summary="督办事项(部门只看本单位)")
def tasks(request: Request, viewer: TaskViewer, unit: str | None = None,
          status: TaskStatus | None = None) -> list[Task]:
    from huiqi.governance.task_store import list_tasks

    with deps.engine(request).connect() as conn:
        return list_tasks(conn, viewer, unit=unit, status=status)


@router.get("/tasks/{task_id}", response_model=TaskDetail, summary="督办事项详情、历史与进展")
def task_detail(task_id: str, request: Request, viewer: TaskViewer) -> TaskDetail:
    from huiqi.governance.task_store import get_task, task_history

    with deps.engine(request).connect() as conn:
        task = get_task(conn, viewer, task_id)
        events, reports = task_history(conn, viewer, task_id)
    return TaskDetail(task=task, events=events, reports=reports)


@router.post("/tasks/{task_id}/reports", response_model=ProgressReport, status_code=201, summary="报送进展")
def post_report(task_id: str, body: ReportIn, request: Request, viewer: TaskViewer) -> ProgressReport:
    from huiqi.governance.task_store import add_report

    with write_tx(deps.engine(request)) as conn:
        return add_report(conn, viewer, task_id, body.text, reported_on=body.reported_on)


@router.post("/tasks/{task_id}/actions", response_model=Task, summary="办理(状态转换;非法转换返回 409)")
def post_action(task_id: str, body: ActionIn, request: Request, viewer: TaskViewer) -> Task:
    from huiqi.governance.task_store import act

    with write_tx(deps.engine(request)) as conn:
        return act(conn, viewer, task_id, body.action, note=body.note, due=body.due)


@router.get("/targets", response_model=list[TargetStatus], summary="目标监测:实际、进度、预测、红绿灯")
def targets(request: Request, viewer: Official, month: MonthQuery) -> list[TargetStatus]:
    from huiqi.governance.ledger_store import target_statuses

    with deps.engine(request).connect() as conn:
        return target_statuses(conn, parse_month(month))


async def _saved_upload(upload: UploadFile, directory: Path) -> Path:
    name = Path(upload.filename or "upload").name
    if Path(name).suffix.lower() not in (".csv", ".xlsx", ".txt"):
        raise HuiqiError("请上传 .csv 或 .xlsx 文件", file=name)
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HuiqiError("文件超过 20MB", file=name)
    path = directory / name
    path.write_bytes(data)
    return path


@router.post("/actuals", response_model=ImportResult, summary="导入指标实际值(有错则整个文件不导入)")
async def post_actuals(request: Request, viewer: Office, file: Annotated[UploadFile, File()],
                       replace: bool = False) -> ImportResult:
    from huiqi.governance.ledger_store import import_actuals

    with tempfile.TemporaryDirectory() as tmp:
        path = await _saved_upload(file, Path(tmp))
        with write_tx(deps.engine(request)) as conn:
            rows = import_actuals(conn, path, actor=viewer.username, replace=replace)
    return ImportResult(message=f"已导入 {len(rows)} 条实际值", rows=len(rows))


@router.get("/projects", response_model=list[ProjectLine], summary="重点项目进度与调出/预警")
def projects(request: Request, viewer: Official, month: MonthQuery) -> list[ProjectLine]:
    with deps.engine(request).connect() as conn:
        return build_report(conn, month).projects


@router.post("/projects/import", response_model=ImportResult, summary="导入项目台账 Excel")
async def post_projects(request: Request, viewer: Office, file: Annotated[UploadFile, File()]) -> ImportResult:
    from huiqi.governance.ledger_store import import_projects

    with tempfile.TemporaryDirectory() as tmp:
        path = await _saved_upload(file, Path(tmp))
        with write_tx(deps.engine(request)) as conn:
            new, updated, months = import_projects(conn, path, actor=viewer.username)
    return ImportResult(message=f"新增项目 {new} 个,更新 {updated} 个,月度投资 {months} 条", rows=new + updated)


def _file_response(path: Path, name: str, media: str) -> FileResponse:
    return FileResponse(path, filename=name, media_type=media,
                        background=BackgroundTask(lambda: path.unlink(missing_ok=True)))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/projects/export.xlsx", summary="导出项目台账 Excel", response_class=FileResponse)
def export_projects(request: Request, viewer: Official) -> Any:
    from huiqi.governance.ledger_store import list_projects
    from huiqi.governance.project_io import write_projects

    with deps.engine(request).connect() as conn:
        ledger, investments = list_projects(conn)
    out = Path(tempfile.mkdtemp()) / "重点项目台账.xlsx"
    write_projects(ledger, investments, out)
    return _file_response(out, "重点项目台账.xlsx", XLSX)


@router.get("/reports/monthly", response_model=MonthlyReport, summary="月度调度通报(JSON)")
def monthly(request: Request, viewer: Official, month: MonthQuery) -> MonthlyReport:
    with deps.engine(request).connect() as conn:
        return build_report(conn, month)


@router.get("/reports/monthly.xlsx", summary="月度调度通报(Excel)", response_class=FileResponse)
def monthly_xlsx(request: Request, viewer: Official, month: MonthQuery) -> Any:
    from huiqi.governance.report_render import write_xlsx

    with deps.engine(request).connect() as conn:
        report = build_report(conn, month)
    out = Path(tempfile.mkdtemp()) / f"调度通报-{report.month}.xlsx"
    write_xlsx(report, out)
    return _file_response(out, out.name, XLSX)
