"""月度调度通报: one typed report object, rendered as Excel, as printable HTML and on the web page.

Sections: task completion by unit (a ranking), overdue tasks, targets behind pace, key projects
by progress with 调出 candidates, and the region ranking (季擂台).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from huiqi.errors import HuiqiError
from huiqi.governance.deadlines import month_end
from huiqi.governance.ledger_store import list_projects, target_statuses
from huiqi.governance.monitoring import Light, TargetStatus, warning_list
from huiqi.governance.project_rules import CompiledRule, RuleHit, evaluate_rules
from huiqi.governance.projects import GroupProgress, ProjectProgress, progress, progress_by
from huiqi.governance.task_store import Operator, list_tasks
from huiqi.governance.tasks import Task, TaskStatus

REPORT_SCHEMA_VERSION = "1.0"


class UnitRank(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int
    unit: str
    total: int
    completed: int
    in_progress: int
    not_started: int
    overdue: int
    completion_rate: Decimal


class OverdueTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    unit: str
    document_title: str
    measure_key: str
    measure_title: str
    due: date
    days_overdue: int
    status: str


class ProjectLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    progress: ProjectProgress
    hits: list[RuleHit] = Field(default_factory=list)

    @property
    def call_out(self) -> bool:
        return any(h.kind == "调出" for h in self.hits)


class RegionRank(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int
    region: GroupProgress
    score: Decimal = Field(description="annual investment completion in percent, minus 5 per 调出 candidate")


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: int
    tasks_completed: int
    tasks_overdue: int
    targets_monitored: int
    targets_by_light: dict[str, int]
    projects: int
    projects_started: int
    annual_plan: int
    year_to_date: int
    call_outs: int
    warnings: int


class MonthlyReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: str = REPORT_SCHEMA_VERSION
    month: str
    as_of: date
    quarter: str
    summary: Summary
    unit_ranking: list[UnitRank]
    overdue: list[OverdueTask]
    targets: list[TargetStatus]
    targets_behind: list[TargetStatus]
    projects: list[ProjectLine]
    call_outs: list[ProjectLine]
    by_industry: list[GroupProgress]
    region_ranking: list[RegionRank]


def parse_month(text: str) -> str:
    text = text.strip()
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return text
    raise HuiqiError(f"月份「{text}」格式应为 YYYY-MM,例如 2023-03", field="month")


def unit_ranking(tasks: list[Task], as_of: date) -> list[UnitRank]:
    by_unit: dict[str, list[Task]] = {}
    for t in tasks:
        if not t.retired:
            by_unit.setdefault(t.unit, []).append(t)
    rows = []
    for unit, ts in by_unit.items():
        done = sum(t.status in (TaskStatus.COMPLETED, TaskStatus.CLOSED) for t in ts)
        overdue = sum(t.status is TaskStatus.OVERDUE or t.is_overdue_on(as_of) for t in ts)
        rows.append(dict(unit=unit, total=len(ts), completed=done, overdue=overdue,
                         in_progress=sum(t.status is TaskStatus.IN_PROGRESS and not t.is_overdue_on(as_of) for t in ts),
                         not_started=sum(t.status is TaskStatus.NOT_STARTED and not t.is_overdue_on(as_of) for t in ts),
                         completion_rate=(Decimal(done) / Decimal(len(ts))).quantize(Decimal("0.0001"))))
    rows.sort(key=lambda r: (-r["completion_rate"], r["overdue"], -r["total"], r["unit"]))  # type: ignore[operator]
    return [UnitRank(rank=i, **r) for i, r in enumerate(rows, start=1)]  # type: ignore[arg-type]


def overdue_tasks(tasks: list[Task], as_of: date) -> list[OverdueTask]:
    out = [
        OverdueTask(task_id=t.id, unit=t.unit, document_title=t.document_title, measure_key=t.measure_key,
                    measure_title=t.measure_title, due=t.deadline.due, days_overdue=(as_of - t.deadline.due).days,
                    status=t.status.label)
        for t in tasks
        if not t.retired and t.deadline.due is not None and t.is_overdue_on(as_of)
    ]
    out.sort(key=lambda o: (-o.days_overdue, o.unit, o.measure_key))
    return out


def quarter_label(as_of: date) -> str:
    return f"{as_of.year}年第{'一二三四'[(as_of.month - 1) // 3]}季度"


def build_report(conn: sa.Connection, month: str, rules: list[CompiledRule] | None = None) -> MonthlyReport:
    month = parse_month(month)
    as_of = month_end(int(month[:4]), int(month[5:7]))
    tasks = list_tasks(conn, Operator())
    statuses = target_statuses(conn, month)
    projects, investments = list_projects(conn)
    rows = [progress(p, investments, month) for p in projects]
    outcome = evaluate_rules(rows, rules)
    hits_by_code: dict[str, list[RuleHit]] = {}
    for h in outcome.hits:
        hits_by_code.setdefault(h.project_code, []).append(h)
    lines = [ProjectLine(progress=r, hits=hits_by_code.get(r.code, [])) for r in rows]
    lines.sort(key=lambda ln: (-(ln.progress.annual_ratio or Decimal(-1)), ln.progress.code))
    call_out_codes = outcome.codes("调出")
    regions = progress_by(rows, "region", call_out_codes)
    scored = sorted(
        ((g, ((g.annual_ratio or Decimal(0)) * 100 - 5 * g.flagged).quantize(Decimal("0.01"))) for g in regions),
        key=lambda gs: (-gs[1], gs[0].group),
    )
    ranking = unit_ranking(tasks, as_of)
    overdue = overdue_tasks(tasks, as_of)
    by_light: dict[str, int] = {}
    for s in statuses:
        by_light[s.light.label] = by_light.get(s.light.label, 0) + 1
    live = [t for t in tasks if not t.retired]
    summary = Summary(
        tasks=len(live), tasks_completed=sum(r.completed for r in ranking), tasks_overdue=len(overdue),
        targets_monitored=sum(s.light is not Light.NO_DATA for s in statuses), targets_by_light=by_light,
        projects=len(rows), projects_started=sum(r.started for r in rows),
        annual_plan=sum(r.annual_plan for r in rows if r.annual_ratio is not None),
        year_to_date=sum(r.year_to_date for r in rows), call_outs=len(call_out_codes),
        warnings=len(outcome.codes("预警")),
    )
    return MonthlyReport(
        month=month, as_of=as_of, quarter=quarter_label(as_of), summary=summary, unit_ranking=ranking,
        overdue=overdue, targets=statuses, targets_behind=warning_list(statuses), projects=lines,
        call_outs=[ln for ln in lines if ln.call_out],
        by_industry=progress_by(rows, "industry", call_out_codes),
        region_ranking=[RegionRank(rank=i, region=g, score=s) for i, (g, s) in enumerate(scored, start=1)],
    )
