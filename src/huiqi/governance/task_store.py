"""督办 tasks in the database: sync from documents, scoped reads, audited transitions, reports.

Every function takes an open connection; writers expect a write transaction
(``huiqi.store.db.write_tx``) and append their audit entry in it. Who may see what: a
``department`` user sees the tasks of its own unit; ``supervisor`` and ``admin`` see all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from huiqi.document import Document
from huiqi.errors import HuiqiError, NotFoundError
from huiqi.governance.deadlines import Deadline
from huiqi.governance.reminders import Notice, Notifier, ReminderPolicy, due_notices
from huiqi.governance.sync import SyncPlan, plan_sync
from huiqi.governance.tables import gov_notices, gov_task_events, gov_task_reports, gov_tasks
from huiqi.governance.tasks import (
    Actor,
    Attachment,
    ProgressReport,
    Task,
    TaskAction,
    TaskEvent,
    TaskRole,
    TaskStatus,
    actor_for_role,
    document_identity,
    next_status,
    task_id_for,
    task_specs,
    tasks_due_to_overdue,
)
from huiqi.store import audit
from huiqi.store.db import utc_now

OFFICE_ROLES = ("supervisor", "admin")


class Viewer(Protocol):
    """Who is asking: ``huiqi.web.auth.Principal`` or the CLI's operator."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def department(self) -> str | None: ...


class Operator:
    """The CLI user: acts as the office (督查室) unless a department is given."""

    def __init__(self, username: str = "cli", role: str = "admin", department: str | None = None) -> None:
        self.username = username
        self.role = role
        self.department = department


def can_see_all(viewer: Viewer) -> bool:
    return viewer.role in OFFICE_ROLES


def _check_viewer(viewer: Viewer) -> None:
    if viewer.role not in (*OFFICE_ROLES, "department"):
        raise HuiqiError("只有督查室、管理员和责任部门可以查看督办事项", field="role")
    if viewer.role == "department" and not viewer.department:
        raise HuiqiError("部门用户缺少所属部门", field="department")


def _row_to_task(row: Any) -> Task:
    return Task(
        id=row.id, document_identity=row.document_identity, document_id=row.document_id,
        document_title=row.document_title, measure_key=row.measure_key, measure_title=row.measure_title,
        measure_excerpt=row.measure_excerpt, unit=row.unit, role=TaskRole(row.role),
        deadline=Deadline.model_validate_json(row.deadline_json), status=TaskStatus(row.status), note=row.note,
        retired=bool(row.retired),
        last_report_on=date.fromisoformat(row.last_report_on) if row.last_report_on else None,
        created_at=datetime.fromisoformat(row.created_at), updated_at=datetime.fromisoformat(row.updated_at),
    )


def _task_values(task: Task) -> dict[str, Any]:
    return {
        "id": task.id, "document_identity": task.document_identity, "document_id": task.document_id,
        "document_title": task.document_title, "measure_key": task.measure_key,
        "measure_title": task.measure_title, "measure_excerpt": task.measure_excerpt, "unit": task.unit,
        "role": task.role.value, "status": task.status.value, "deadline_json": task.deadline.model_dump_json(),
        "due": task.deadline.due.isoformat() if task.deadline.due else None, "note": task.note,
        "retired": task.retired,
        "last_report_on": task.last_report_on.isoformat() if task.last_report_on else None,
    }


def _audit_view(task: Task) -> dict[str, Any]:
    return {"unit": task.unit, "measure": task.measure_key, "status": task.status.value,
            "deadline": task.deadline.label, "role": task.role.value, "note": task.note}


def _event(conn: sa.Connection, task_id: str, actor: str, action: str, before: TaskStatus | None,
           after: TaskStatus | None, note: str = "") -> None:
    conn.execute(sa.insert(gov_task_events).values(
        task_id=task_id, at=utc_now(), actor=actor, action=action,
        from_status=before.value if before else None, to_status=after.value if after else None, note=note))


# ---- sync from documents -----------------------------------------------------------------


def _fresh_id(conn: sa.Connection, identity: str, key: str, unit: str) -> str:
    """The natural id, or a numbered variant when a renumbered task already holds it."""
    base = task_id_for(identity, key, unit)
    candidate, n = base, 1
    while conn.execute(sa.select(gov_tasks.c.id).where(gov_tasks.c.id == candidate)).first() is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def sync_document(conn: sa.Connection, document: Document, *, actor: str, today: date | None = None) -> SyncPlan:
    """Create, update or retire the document's tasks so they match its measures (audited)."""
    identity = document_identity(document)
    rows = conn.execute(sa.select(gov_tasks).where(gov_tasks.c.document_identity == identity)).all()
    existing = [_row_to_task(r) for r in rows]
    plan = plan_sync(existing, task_specs(document), (today or date.today()).isoformat())
    now = utc_now()
    by_id = {t.id: t for t in existing}
    for spec in plan.create:
        task = Task.from_spec(spec)
        task = task.model_copy(update={"id": _fresh_id(conn, identity, spec.measure_key, spec.unit)})
        conn.execute(sa.insert(gov_tasks).values(**_task_values(task), created_at=now, updated_at=now))
        _event(conn, task.id, actor, "create", None, task.status, f"由文件「{document.title}」生成")
        audit.record(conn, actor=actor, action="task.create", entity="gov_task", entity_id=task.id,
                     before=None, after=_audit_view(task))
    for update in plan.update:
        old = by_id[update.task_id]
        spec = update.spec
        deadline = old.deadline if old.deadline.source == "office" else spec.deadline
        new = old.model_copy(update={
            "document_id": spec.document_id, "document_title": spec.document_title,
            "measure_key": spec.measure_key, "measure_title": spec.measure_title,
            "measure_excerpt": spec.measure_excerpt, "role": spec.role, "deadline": deadline})
        conn.execute(sa.update(gov_tasks).where(gov_tasks.c.id == old.id)
                     .values(**_task_values(new), updated_at=now))
        _event(conn, old.id, actor, "resync", old.status, new.status, ";".join(update.changes))
        audit.record(conn, actor=actor, action="task.resync", entity="gov_task", entity_id=old.id,
                     before=_audit_view(old), after=_audit_view(new))
    for retirement in plan.retire:
        old = by_id[retirement.task_id]
        status = old.status
        if status is not TaskStatus.CLOSED:
            status = next_status(old.status, TaskAction.RETIRE, Actor.SYSTEM)
        new = old.model_copy(update={"status": status, "retired": True, "note": retirement.note})
        conn.execute(sa.update(gov_tasks).where(gov_tasks.c.id == old.id)
                     .values(status=status.value, retired=True, note=retirement.note, updated_at=now))
        _event(conn, old.id, actor, TaskAction.RETIRE.value, old.status, status, retirement.note)
        audit.record(conn, actor=actor, action="task.retire", entity="gov_task", entity_id=old.id,
                     before=_audit_view(old), after=_audit_view(new))
    return plan


def stored_documents(conn: sa.Connection) -> list[Document]:
    """Every document of the policy base (its full JSON is stored with it)."""
    from huiqi.store.schema import documents

    return [Document.model_validate_json(r.json) for r in conn.execute(sa.select(documents.c.json)).all()]


# ---- reads -------------------------------------------------------------------------------


def list_tasks(
    conn: sa.Connection,
    viewer: Viewer,
    *,
    unit: str | None = None,
    status: TaskStatus | None = None,
    include_retired: bool = False,
) -> list[Task]:
    _check_viewer(viewer)
    query = sa.select(gov_tasks)
    if not can_see_all(viewer):
        query = query.where(gov_tasks.c.unit == viewer.department)
    if unit:
        query = query.where(gov_tasks.c.unit == unit)
    if status is not None:
        query = query.where(gov_tasks.c.status == status.value)
    if not include_retired:
        query = query.where(gov_tasks.c.retired == sa.false())
    tasks = [_row_to_task(r) for r in conn.execute(query).all()]
    # Ordered in Python: both backends must agree, whatever their text collation.
    tasks.sort(key=lambda t: (t.document_title, t.measure_key, t.unit))
    return tasks


def get_task(conn: sa.Connection, viewer: Viewer, task_id: str, *, for_update: bool = False) -> Task:
    _check_viewer(viewer)
    query = sa.select(gov_tasks).where(gov_tasks.c.id == task_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    # A unit asking for another unit's task is told it does not exist, not that it is forbidden.
    if row is None or (not can_see_all(viewer) and row.unit != viewer.department):
        raise NotFoundError(f"督办事项 {task_id} 不存在", field="task_id")
    return _row_to_task(row)


def task_history(conn: sa.Connection, viewer: Viewer, task_id: str) -> tuple[list[TaskEvent], list[ProgressReport]]:
    get_task(conn, viewer, task_id)
    events = [
        TaskEvent(at=datetime.fromisoformat(r.at), actor=r.actor, action=r.action,
                  from_status=TaskStatus(r.from_status) if r.from_status else None,
                  to_status=TaskStatus(r.to_status) if r.to_status else None, note=r.note)
        for r in conn.execute(sa.select(gov_task_events).where(gov_task_events.c.task_id == task_id)
                              .order_by(gov_task_events.c.id)).all()
    ]
    reports = [
        ProgressReport(id=r.id, task_id=r.task_id, reported_on=date.fromisoformat(r.reported_on), author=r.author,
                       text=r.text, attachments=[Attachment.model_validate(a) for a in json.loads(r.attachments_json)],
                       created_at=datetime.fromisoformat(r.created_at))
        for r in conn.execute(sa.select(gov_task_reports).where(gov_task_reports.c.task_id == task_id)
                              .order_by(gov_task_reports.c.id)).all()
    ]
    return events, reports


# ---- writes ------------------------------------------------------------------------------


def act(
    conn: sa.Connection,
    viewer: Viewer,
    task_id: str,
    action: TaskAction,
    *,
    note: str = "",
    due: date | None = None,
    today: date | None = None,
) -> Task:
    """Apply one action of the transition table (audited); raises IllegalTransition (409)."""
    task = get_task(conn, viewer, task_id, for_update=True)
    actor = actor_for_role(viewer.role)
    new_status = next_status(task.status, action, actor)
    changes: dict[str, Any] = {"status": new_status}
    if action is TaskAction.SET_DEADLINE:
        if due is None:
            raise HuiqiError("设定时限需要给出日期", field="due")
        changes["deadline"] = task.deadline.model_copy(update={"due": due, "source": "office",
                                                               "phrase": f"督查室设定:{due.isoformat()}"})
        if task.status is TaskStatus.OVERDUE and due < (today or date.today()):
            raise HuiqiError("延期后的时限仍早于今天", field="due")
    if note:
        changes["note"] = note
    new = task.model_copy(update=changes)
    conn.execute(sa.update(gov_tasks).where(gov_tasks.c.id == task.id)
                 .values(**_task_values(new), updated_at=utc_now()))
    _event(conn, task.id, viewer.username, action.value, task.status, new_status, note)
    audit.record(conn, actor=viewer.username, action=f"task.{action.value}", entity="gov_task", entity_id=task.id,
                 before=_audit_view(task), after=_audit_view(new))
    return get_task(conn, viewer, task.id)


def add_report(
    conn: sa.Connection,
    viewer: Viewer,
    task_id: str,
    text: str,
    *,
    reported_on: date | None = None,
    attachments: Iterable[Attachment] = (),
) -> ProgressReport:
    """A progress report from the unit (text and attachments); moves 未启动 to 推进中."""
    text = text.strip()
    if not text:
        raise HuiqiError("进展情况不能为空", field="text")
    day = reported_on or date.today()
    report = ProgressReport(task_id=task_id, reported_on=day, author=viewer.username, text=text,
                            attachments=list(attachments))
    task = act(conn, viewer, task_id, TaskAction.REPORT)
    now = utc_now()
    report_id = conn.execute(sa.insert(gov_task_reports).values(
        task_id=task.id, reported_on=day.isoformat(), author=viewer.username, text=text,
        attachments_json=json.dumps([a.model_dump() for a in report.attachments], ensure_ascii=False),
        created_at=now).returning(gov_task_reports.c.id)).scalar_one()
    last = task.last_report_on
    if last is None or day > last:
        conn.execute(sa.update(gov_tasks).where(gov_tasks.c.id == task.id).values(last_report_on=day.isoformat()))
    audit.record(conn, actor=viewer.username, action="task.report.add", entity="gov_task_report",
                 entity_id=str(report_id), before=None,
                 after={"task": task.id, "reported_on": day.isoformat(), "text": text,
                        "attachments": [a.name for a in report.attachments]})
    return report.model_copy(update={"id": int(report_id), "created_at": datetime.fromisoformat(now)})


def daily_check(
    conn: sa.Connection,
    today: date,
    notifier: Notifier,
    policy: ReminderPolicy | None = None,
) -> tuple[list[str], list[Notice]]:
    """Mark overdue tasks 滞后 and send today's reminders/escalations once (audited)."""
    system = Operator("system", "system")
    tasks = [_row_to_task(r) for r in conn.execute(sa.select(gov_tasks).where(gov_tasks.c.retired == sa.false()))]
    marked: list[str] = []
    for task in tasks_due_to_overdue(tasks, today):
        new_status = next_status(task.status, TaskAction.MARK_OVERDUE, Actor.SYSTEM)
        conn.execute(sa.update(gov_tasks).where(gov_tasks.c.id == task.id)
                     .values(status=new_status.value, updated_at=utc_now()))
        _event(conn, task.id, system.username, TaskAction.MARK_OVERDUE.value, task.status, new_status,
               f"超过时限 {task.deadline.due}")
        audit.record(conn, actor=system.username, action="task.mark_overdue", entity="gov_task", entity_id=task.id,
                     before=_audit_view(task), after=_audit_view(task.model_copy(update={"status": new_status})))
        marked.append(task.id)
    sent_keys = {r.key for r in conn.execute(sa.select(gov_notices.c.key)).all()}
    fresh = [_row_to_task(r) for r in conn.execute(sa.select(gov_tasks).where(gov_tasks.c.retired == sa.false()))]
    notices = list(due_notices(fresh, today, policy, already_sent=sent_keys))
    for notice in notices:
        notifier.send(notice)
        conn.execute(sa.insert(gov_notices).values(key=notice.key, task_id=notice.task_id, kind=notice.kind,
                                                  message=notice.message, sent_at=utc_now()))
        audit.record(conn, actor=system.username, action=f"task.notice.{notice.kind}", entity="gov_task",
                     entity_id=notice.task_id, before=None,
                     after={"key": notice.key, "recipients": notice.recipients})
    return marked, notices
