"""Reminders before a deadline and escalation after it, as a pure function of today's date.

``due_notices(tasks, today)`` yields what should be sent today; each notice has a ``key`` so a
caller that runs every day (or twice, or skips a weekend) sends each stage once: it stores the
keys it has sent and passes them back as ``already_sent``. Delivery goes through a ``Notifier``
(an interface: the platform's notification adapters, a log, or a list in tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from huiqi.governance.tasks import Task, TaskStatus


class ReminderPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remind_days: tuple[int, ...] = Field((15, 7, 1), description="days before the due date to remind")
    escalate_days: tuple[int, ...] = Field((1, 15, 30), description="days overdue at each escalation level")
    escalation_recipients: tuple[str, ...] = ("督查室", "分管领导", "政府主要领导")


class Notice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["reminder", "escalation"]
    key: str = Field(description="task id, due date and stage: sent once")
    task_id: str
    unit: str
    measure_title: str
    due: date
    days: int = Field(description="days left (reminder) or days overdue (escalation)")
    level: int = Field(0, description="escalation level, 1 = first")
    recipients: list[str]
    message: str


class Notifier(Protocol):
    def send(self, notice: Notice) -> None: ...


class ListNotifier:
    """Keeps notices in memory (tests, previews)."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)


def _stage(value: int, thresholds: Iterable[int], *, before: bool) -> int | None:
    """Reminders: the smallest threshold not below ``value`` days left; escalation: the
    highest threshold reached by ``value`` days overdue."""
    ordered = sorted(thresholds)
    if before:
        return next((t for t in ordered if value <= t), None)
    reached = [t for t in ordered if value >= t]
    return reached[-1] if reached else None


def due_notices(
    tasks: Iterable[Task],
    today: date,
    policy: ReminderPolicy | None = None,
    already_sent: set[str] | frozenset[str] = frozenset(),
) -> Iterator[Notice]:
    """What to send today. A recurring task owes a progress report every period: it is
    reminded before the period ends and escalated when the last period passed without one."""
    policy = policy or ReminderPolicy()
    for task in tasks:
        if task.status in (TaskStatus.COMPLETED, TaskStatus.CLOSED):
            continue
        for notice in _task_notices(task, today, policy):
            if notice.key not in already_sent:
                yield notice


def _task_notices(task: Task, today: date, policy: ReminderPolicy) -> Iterator[Notice]:
    deadline = task.deadline
    final = deadline.due
    if final is not None and final < today:
        overdue = (today - final).days
        level_days = _stage(overdue, policy.escalate_days, before=False)
        if level_days is not None:
            level = sorted(policy.escalate_days).index(level_days) + 1
            recipients = [task.unit, *policy.escalation_recipients[:level]]
            yield Notice(
                kind="escalation", key=f"{task.id}:{final}:escalate{level}", task_id=task.id, unit=task.unit,
                measure_title=task.measure_title, due=final, days=overdue, level=level, recipients=recipients,
                message=f"【督办升级·{level}级】{task.unit}承担的「{task.measure_title}」已超过时限 {overdue} 天"
                        f"(时限 {final.isoformat()}),请说明原因并限期办结。",
            )
        return
    bounds = deadline.period_bounds(today)
    if bounds is not None:
        start, end = bounds
        previous_end = start - timedelta(days=1)
        previous = deadline.period_bounds(previous_end)
        reported = task.last_report_on
        created = task.created_at.date() if task.created_at else None
        if previous is not None and (created is None or created <= previous[0]):
            if reported is None or reported < previous[0]:
                yield Notice(
                    kind="escalation", key=f"{task.id}:{previous_end}:missed", task_id=task.id, unit=task.unit,
                    measure_title=task.measure_title, due=previous_end, days=(today - previous_end).days, level=1,
                    recipients=[task.unit, policy.escalation_recipients[0]],
                    message=f"【督办升级·1级】{task.unit}承担的「{task.measure_title}」"
                            f"{previous[0].isoformat()} 至 {previous_end.isoformat()} 期间未报送进展。",
                )
        if reported is None or reported < start:
            yield from _reminder(task, end, today, policy, "报送本期进展")
        return
    if final is not None:
        yield from _reminder(task, final, today, policy, "办结")


def _reminder(task: Task, due: date, today: date, policy: ReminderPolicy, what: str) -> Iterator[Notice]:
    left = (due - today).days
    stage = _stage(left, policy.remind_days, before=True)
    if stage is None or left < 0:
        return
    yield Notice(
        kind="reminder", key=f"{task.id}:{due}:remind{stage}", task_id=task.id, unit=task.unit,
        measure_title=task.measure_title, due=due, days=left, recipients=[task.unit],
        message=f"【督办提醒】{task.unit}承担的「{task.measure_title}」距时限 {due.isoformat()} 还有 {left} 天,"
                f"请按时{what}。",
    )


def dispatch(notices: Iterable[Notice], notifier: Notifier) -> list[str]:
    """Send every notice; return the keys sent (to be stored as ``already_sent``)."""
    sent: list[str] = []
    for notice in notices:
        notifier.send(notice)
        sent.append(notice.key)
    return sent
