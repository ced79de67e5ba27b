"""督办 tasks: one per (measure, responsible unit), and the one table of their status transitions.

The transition table is the only place that says what may happen to a task; the persistence
layer, the CLI, the web pages and docs/governance.md all read it (``TRANSITIONS``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from huiqi.document import Document, Measure
from huiqi.errors import StateError
from huiqi.governance.deadlines import Deadline, parse_deadline


class TaskStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    OVERDUE = "overdue"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[TaskStatus, str] = {
    TaskStatus.NOT_STARTED: "未启动",
    TaskStatus.IN_PROGRESS: "推进中",
    TaskStatus.COMPLETED: "已完成",
    TaskStatus.OVERDUE: "滞后",
    TaskStatus.CLOSED: "已销号",
}


class TaskRole(StrEnum):
    LEAD = "lead"  # 牵头
    SUPPORT = "support"  # 配合
    RESPONSIBLE = "responsible"  # 负责: named without 牵头/配合

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[TaskRole, str] = {TaskRole.LEAD: "牵头", TaskRole.SUPPORT: "配合", TaskRole.RESPONSIBLE: "负责"}


class TaskAction(StrEnum):
    REPORT = "report"  # a progress report from the unit
    COMPLETE = "complete"  # the unit declares the task done
    MARK_OVERDUE = "mark_overdue"  # the daily check finds the deadline passed
    SET_DEADLINE = "set_deadline"  # the office sets or extends the deadline
    REOPEN = "reopen"  # the office does not accept the completion
    CLOSE = "close"  # 销号: the office accepts the completion
    RETIRE = "retire"  # the measure (or the unit's part in it) left the document

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[TaskAction, str] = {
    TaskAction.REPORT: "报送进展",
    TaskAction.COMPLETE: "申报完成",
    TaskAction.MARK_OVERDUE: "逾期转滞后",
    TaskAction.SET_DEADLINE: "设定时限",
    TaskAction.REOPEN: "退回重办",
    TaskAction.CLOSE: "销号",
    TaskAction.RETIRE: "措施撤销",
}


class Actor(StrEnum):
    """Who acts on a task; platform roles map onto these (``actor_for_role``)."""

    UNIT = "unit"  # the responsible department
    OFFICE = "office"  # 督查室 (supervisor) or admin
    SYSTEM = "system"  # the daily deadline check, re-ingestion

    @property
    def label(self) -> str:
        return {"unit": "责任单位", "office": "督查室", "system": "系统"}[self.value]


class Transition(NamedTuple):
    state: TaskStatus
    action: TaskAction
    actors: frozenset[Actor]
    next: TaskStatus


_S, _A = TaskStatus, TaskAction
_UNIT, _OFFICE, _SYSTEM = frozenset({Actor.UNIT}), frozenset({Actor.OFFICE}), frozenset({Actor.SYSTEM})
_UNIT_OR_OFFICE = frozenset({Actor.UNIT, Actor.OFFICE})

# (state, action, who) → next state. Nothing else may change a task's status.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(_S.NOT_STARTED, _A.REPORT, _UNIT_OR_OFFICE, _S.IN_PROGRESS),
    Transition(_S.NOT_STARTED, _A.COMPLETE, _UNIT_OR_OFFICE, _S.COMPLETED),
    Transition(_S.NOT_STARTED, _A.MARK_OVERDUE, _SYSTEM, _S.OVERDUE),
    Transition(_S.NOT_STARTED, _A.SET_DEADLINE, _OFFICE, _S.NOT_STARTED),
    Transition(_S.NOT_STARTED, _A.RETIRE, _SYSTEM, _S.CLOSED),
    Transition(_S.IN_PROGRESS, _A.REPORT, _UNIT_OR_OFFICE, _S.IN_PROGRESS),
    Transition(_S.IN_PROGRESS, _A.COMPLETE, _UNIT_OR_OFFICE, _S.COMPLETED),
    Transition(_S.IN_PROGRESS, _A.MARK_OVERDUE, _SYSTEM, _S.OVERDUE),
    Transition(_S.IN_PROGRESS, _A.SET_DEADLINE, _OFFICE, _S.IN_PROGRESS),
    Transition(_S.IN_PROGRESS, _A.RETIRE, _SYSTEM, _S.CLOSED),
    Transition(_S.OVERDUE, _A.REPORT, _UNIT_OR_OFFICE, _S.OVERDUE),
    Transition(_S.OVERDUE, _A.COMPLETE, _UNIT_OR_OFFICE, _S.COMPLETED),
    Transition(_S.OVERDUE, _A.SET_DEADLINE, _OFFICE, _S.IN_PROGRESS),
    Transition(_S.OVERDUE, _A.RETIRE, _SYSTEM, _S.CLOSED),
    Transition(_S.COMPLETED, _A.REOPEN, _OFFICE, _S.IN_PROGRESS),
    Transition(_S.COMPLETED, _A.CLOSE, _OFFICE, _S.CLOSED),
    Transition(_S.COMPLETED, _A.RETIRE, _SYSTEM, _S.CLOSED),
)
_TABLE: dict[tuple[TaskStatus, TaskAction], Transition] = {(t.state, t.action): t for t in TRANSITIONS}


class IllegalTransition(StateError):
    """An action not allowed in the task's state or for this actor (HTTP 409)."""


def actor_for_role(role: str) -> Actor:
    """Platform role → task actor: a department acts as the unit, 督查室/admin as the office."""
    if role == "department":
        return Actor.UNIT
    if role in ("supervisor", "admin"):
        return Actor.OFFICE
    if role == "system":
        return Actor.SYSTEM
    raise IllegalTransition(f"角色 {role} 不能办理督办事项", field="role")


def next_status(state: TaskStatus, action: TaskAction, actor: Actor) -> TaskStatus:
    """The status after ``action``; raises IllegalTransition naming what is allowed instead."""
    transition = _TABLE.get((state, action))
    if transition is None:
        allowed = "、".join(t.action.label for t in TRANSITIONS if t.state == state and actor in t.actors) or "无"
        raise IllegalTransition(
            f"状态为「{state.label}」的督办事项不能「{action.label}」(可办理:{allowed})", field="action"
        )
    if actor not in transition.actors:
        who = "、".join(a.label for a in sorted(transition.actors))
        raise IllegalTransition(f"「{action.label}」只能由{who}办理,当前为{actor.label}", field="action")
    return transition.next


def allowed_actions(state: TaskStatus, actor: Actor) -> list[TaskAction]:
    return [t.action for t in TRANSITIONS if t.state == state and actor in t.actors]


# ---- deriving tasks from documents ---------------------------------------------------------


_DOC_NUMBER_SPACE = re.compile(r"\s+")


def document_identity(document: Document) -> str:
    """What stays the same when a document is re-issued in a revised text: its 文号, or its
    title when it has none. ``Document.id`` is a hash of the text and changes with every edit."""
    if document.doc_number:
        return "文号:" + _DOC_NUMBER_SPACE.sub("", document.doc_number).replace("[", "〔").replace("]", "〕")
    title = re.sub(r"[((](?:修订|修订稿|征求意见稿|送审稿|试行)[))]$", "", document.title.strip())
    return "标题:" + _DOC_NUMBER_SPACE.sub("", title)


class TaskSpec(BaseModel):
    """What a document says a task is: the unit, its role, the measure and the deadline."""

    model_config = ConfigDict(extra="forbid")

    document_identity: str
    document_id: str
    document_title: str
    measure_key: str
    measure_title: str
    measure_excerpt: str = Field(description="the start of the measure text, for matching revisions")
    unit: str
    role: TaskRole
    deadline: Deadline

    @property
    def natural_key(self) -> tuple[str, str, str]:
        return (self.document_identity, self.measure_key, self.unit)


def task_id_for(identity: str, measure_key: str, unit: str) -> str:
    """A stable id given when the task is first created; kept when the measure is renumbered."""
    return hashlib.sha256(f"{identity}\x1f{measure_key}\x1f{unit}".encode()).hexdigest()[:16]


def unit_roles(measure: Measure) -> Iterator[tuple[str, TaskRole]]:
    """Each unit once, with its strongest role (牵头 before 配合 before 负责)."""
    seen: set[str] = set()
    for role, names in (
        (TaskRole.LEAD, measure.units.lead),
        (TaskRole.SUPPORT, measure.units.support),
        (TaskRole.RESPONSIBLE, measure.units.all),
    ):
        for name in names:
            if name and name not in seen:
                seen.add(name)
                yield name, role


def _excerpt(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat[:width]


def task_specs(document: Document) -> list[TaskSpec]:
    """One spec per (measure, responsible unit), in document order."""
    identity = document_identity(document)
    specs: list[TaskSpec] = []
    seen: set[tuple[str, str]] = set()
    for measure in document.measures:
        roles = list(unit_roles(measure))
        if not roles:
            continue
        deadline = parse_deadline(document, measure)
        for unit, role in roles:
            if (measure.key, unit) in seen:
                continue
            seen.add((measure.key, unit))
            specs.append(
                TaskSpec(
                    document_identity=identity,
                    document_id=document.id,
                    document_title=document.title,
                    measure_key=measure.key,
                    measure_title=measure.title or _excerpt(measure.text, 40),
                    measure_excerpt=_excerpt(measure.text),
                    unit=unit,
                    role=role,
                    deadline=deadline,
                )
            )
    return specs


# ---- the task itself ---------------------------------------------------------------------


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    size: int = Field(ge=0)
    sha256: str
    path: str | None = Field(None, description="where the file is kept (under var/attachments)")


class ProgressReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    task_id: str
    reported_on: date
    author: str
    text: str = Field(min_length=1, max_length=5000)
    attachments: list[Attachment] = Field(default_factory=list)
    created_at: datetime | None = None


class TaskEvent(BaseModel):
    """One line of a task's history: a transition or a change from re-ingestion."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    actor: str
    action: str
    from_status: TaskStatus | None = None
    to_status: TaskStatus | None = None
    note: str = ""


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    document_identity: str
    document_id: str
    document_title: str
    measure_key: str
    measure_title: str
    measure_excerpt: str = ""
    unit: str
    role: TaskRole
    deadline: Deadline
    status: TaskStatus = TaskStatus.NOT_STARTED
    note: str = ""
    retired: bool = Field(False, description="closed because the measure or the unit left the document")
    last_report_on: date | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status not in (TaskStatus.COMPLETED, TaskStatus.CLOSED)

    def is_overdue_on(self, today: date) -> bool:
        return self.open and self.deadline.due is not None and self.deadline.due < today

    @classmethod
    def from_spec(cls, spec: TaskSpec, *, now: datetime | None = None) -> Task:
        return cls(
            id=task_id_for(spec.document_identity, spec.measure_key, spec.unit),
            document_identity=spec.document_identity,
            document_id=spec.document_id,
            document_title=spec.document_title,
            measure_key=spec.measure_key,
            measure_title=spec.measure_title,
            measure_excerpt=spec.measure_excerpt,
            unit=spec.unit,
            role=spec.role,
            deadline=spec.deadline,
            created_at=now,
            updated_at=now,
        )


def tasks_due_to_overdue(tasks: Iterable[Task], today: date) -> list[Task]:
    """Open tasks whose final date has passed and that are not yet marked 滞后."""
    return [
        t
        for t in tasks
        if t.is_overdue_on(today) and t.status in (TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS)
    ]


def completion_rate(tasks: Iterable[Task]) -> tuple[int, int]:
    """(completed or closed, total) among tasks that were not retired by re-ingestion."""
    done = total = 0
    for t in tasks:
        if t.retired:
            continue
        total += 1
        done += t.status in (TaskStatus.COMPLETED, TaskStatus.CLOSED)
    return done, total
