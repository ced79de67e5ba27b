"""Governance commands: `huiqi tasks …` (督办), `huiqi targets actuals import`, `huiqi projects
import/export`, `huiqi report monthly`. Thin: parse, call huiqi.governance, print."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from huiqi.errors import HuiqiError

DbOpt = Annotated[str | None, typer.Option("--db", help="数据库:SQLite 文件路径或 postgresql:// 连接串(默认 HUIQI_DB 或 var/huiqi.db)")]
AsOpt = Annotated[str, typer.Option("--as", help="操作人用户名(写入审计日志)")]

tasks_app = typer.Typer(help="督办事项:由政策文件的措施 × 责任单位生成,时限、进展、提醒与升级。", no_args_is_help=True)
projects_app = typer.Typer(help="重点项目库(台账):Excel 导入导出。", no_args_is_help=True)
report_app = typer.Typer(help="月度调度通报。", no_args_is_help=True)
actuals_app = typer.Typer(help="指标实际值(月度)。", no_args_is_help=True)


def _console() -> Any:
    from huiqi.cli.main import console

    return console


def _engine(db: str | None) -> Any:
    from huiqi.store.migrate import upgrade

    return upgrade(db)


def _date(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HuiqiError(f"日期「{text}」格式应为 YYYY-MM-DD", field=field) from None


# ---- tasks -------------------------------------------------------------------------------


@tasks_app.command("sync")
def tasks_sync(
    paths: Annotated[list[Path] | None, typer.Argument(help="政策文件或目录;省略时取政策库中的全部文件")] = None,
    db: DbOpt = None,
    actor: AsOpt = "cli",
) -> None:
    """按文件的措施与责任单位生成或更新督办事项和监测目标(重新导入时保留历史)。"""
    from huiqi.governance.ledger_store import sync_targets
    from huiqi.governance.task_store import stored_documents, sync_document
    from huiqi.store.db import write_tx

    engine = _engine(db)
    if paths:
        from huiqi.ingest.pipeline import discover, ingest_file

        files = list(discover(paths))
        if not files:
            raise HuiqiError("没有找到可导入的文件")
        documents = [ingest_file(p) for p in files]
    else:
        with engine.connect() as conn:
            documents = stored_documents(conn)
        if not documents:
            raise HuiqiError("政策库中没有文件", hint="先运行 huiqi ingest,或在命令后给出文件路径")
    table = Table("文件", "督办事项", "监测目标")
    with write_tx(engine) as conn:
        for doc in documents:
            plan = sync_document(conn, doc, actor=actor)
            n_targets = sync_targets(conn, doc, actor=actor)
            table.add_row(doc.title[:30], plan.summary, str(n_targets))
    _console().print(table)


@tasks_app.command("list")
def tasks_list(
    db: DbOpt = None,
    unit: Annotated[str | None, typer.Option("--unit", help="只看某责任单位")] = None,
    status: Annotated[str | None, typer.Option("--status", help="未启动/推进中/已完成/滞后/已销号")] = None,
    limit: Annotated[int, typer.Option("--limit", help="最多显示条数(0 = 全部)")] = 40,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table 或 json")] = "table",
) -> None:
    """督办看板:按文件、措施、责任单位列出事项及其时限和状态。"""
    from huiqi.governance.task_store import Operator, list_tasks
    from huiqi.governance.tasks import STATUS_LABELS

    wanted = None
    if status is not None:
        by_label = {v: k for k, v in STATUS_LABELS.items()} | {k.value: k for k in STATUS_LABELS}
        if status not in by_label:
            raise HuiqiError(f"未知状态「{status}」,可选:{'、'.join(STATUS_LABELS.values())}", field="status")
        wanted = by_label[status]
    engine = _engine(db)
    with engine.connect() as conn:
        tasks = list_tasks(conn, Operator(), unit=unit, status=wanted)
    if fmt == "json":
        print(json.dumps([t.model_dump(mode="json") for t in tasks], ensure_ascii=False, indent=2))
        return
    counts: dict[str, int] = {}
    for t in tasks:
        counts[t.status.label] = counts.get(t.status.label, 0) + 1
    table = Table("事项", "责任单位", "角色", "措施", "时限", "时限依据", "状态", title="督办看板")
    for t in tasks[: limit or None]:
        table.add_row(t.id[:8], t.unit, t.role.label, f"{t.measure_key} {t.measure_title}"[:28], t.deadline.label,
                      (t.deadline.phrase or "")[:16], t.status.label)
    console = _console()
    console.print(table)
    summary = ",".join(f"{k} {v}" for k, v in counts.items())
    console.print(f"共 {len(tasks)} 项({summary})" + (f";仅显示前 {limit} 项" if limit and len(tasks) > limit else ""))


def _resolve(conn: Any, viewer: Any, ref: str) -> str:
    from huiqi.governance.task_store import list_tasks

    matches = [t.id for t in list_tasks(conn, viewer, include_retired=True) if t.id.startswith(ref)]
    if not matches:
        raise HuiqiError(f"督办事项 {ref} 不存在", field="task_id")
    if len(matches) > 1:
        raise HuiqiError(f"编号 {ref} 对应多个事项,请写得更长", field="task_id")
    return matches[0]


@tasks_app.command("act")
def tasks_act(
    task_id: Annotated[str, typer.Argument(help="事项编号(可写前缀)")],
    action: Annotated[str, typer.Argument(help="complete/close/reopen/set_deadline(或 申报完成/销号/退回重办/设定时限)")],
    db: DbOpt = None,
    due: Annotated[str | None, typer.Option("--due", help="设定时限:YYYY-MM-DD")] = None,
    note: Annotated[str, typer.Option("--note", help="说明")] = "",
    actor: AsOpt = "cli",
) -> None:
    """办理督办事项(状态转换见 docs/governance.md 的转换表)。"""
    from huiqi.governance.task_store import Operator, act
    from huiqi.governance.tasks import ACTION_LABELS, TaskAction
    from huiqi.store.db import write_tx

    by_name = {v: k for k, v in ACTION_LABELS.items()} | {k.value: k for k in TaskAction}
    if action not in by_name:
        raise HuiqiError(f"未知操作「{action}」", field="action")
    viewer = Operator(actor)
    with write_tx(_engine(db)) as conn:
        task = act(conn, viewer, _resolve(conn, viewer, task_id), by_name[action], note=note,
                   due=_date(due, "due"))
    _console().print(f"{task.unit}「{task.measure_title}」:{task.status.label}(时限 {task.deadline.label})")


@tasks_app.command("report")
def tasks_report(
    task_id: Annotated[str, typer.Argument(help="事项编号(可写前缀)")],
    text: Annotated[str, typer.Argument(help="进展情况")],
    db: DbOpt = None,
    on: Annotated[str | None, typer.Option("--date", help="报送日期,默认今天")] = None,
    actor: AsOpt = "cli",
) -> None:
    """报送进展(未启动的事项转为推进中)。"""
    from huiqi.governance.task_store import Operator, add_report
    from huiqi.store.db import write_tx

    viewer = Operator(actor)
    with write_tx(_engine(db)) as conn:
        report = add_report(conn, viewer, _resolve(conn, viewer, task_id), text, reported_on=_date(on, "date"))
    _console().print(f"已报送进展(第 {report.id} 条)")


class _ConsoleNotifier:
    def send(self, notice: Any) -> None:
        _console().print(f"[{'red' if notice.kind == 'escalation' else 'yellow'}]{notice.message}[/]"
                         f" → {'、'.join(notice.recipients)}")


@tasks_app.command("check")
def tasks_check(
    db: DbOpt = None,
    today: Annotated[str | None, typer.Option("--today", help="检查日期,默认今天")] = None,
) -> None:
    """每日检查:超过时限的事项转为滞后,发送到期提醒和超期升级(每个阶段只发一次)。"""
    from huiqi.governance.task_store import daily_check
    from huiqi.store.db import write_tx

    day = _date(today, "today") or date.today()
    with write_tx(_engine(db)) as conn:
        marked, notices = daily_check(conn, day, _ConsoleNotifier())
    _console().print(f"{day}:{len(marked)} 项转为滞后,发出提醒与升级 {len(notices)} 条")


# ---- actuals, projects, report -----------------------------------------------------------


@actuals_app.command("import")
def actuals_import(
    file: Annotated[Path, typer.Argument(help="CSV 或 Excel:指标、地区、期间、数值(可选 单位)")],
    db: DbOpt = None,
    replace: Annotated[bool, typer.Option("--replace", help="覆盖已有期间的数据")] = False,
    actor: AsOpt = "cli",
) -> None:
    """导入指标月度实际值:发现任何错误(未知指标、重复期间、单位不符)则整个文件不导入。"""
    from huiqi.governance.ledger_store import import_actuals
    from huiqi.store.db import write_tx

    with write_tx(_engine(db)) as conn:
        rows = import_actuals(conn, file, actor=actor, replace=replace)
    periods = sorted({r.period for r in rows})
    _console().print(f"已导入 {len(rows)} 条实际值({periods[0]} 至 {periods[-1]},{len({r.indicator for r in rows})} 个指标)")


@projects_app.command("import")
def projects_import(
    file: Annotated[Path, typer.Argument(help="项目台账 Excel(每行一个项目)")],
    db: DbOpt = None,
    actor: AsOpt = "cli",
) -> None:
    """导入重点项目台账(按项目编号新增或更新;含各月完成投资)。"""
    from huiqi.governance.ledger_store import import_projects
    from huiqi.store.db import write_tx

    with write_tx(_engine(db)) as conn:
        new, updated, months = import_projects(conn, file, actor=actor)
    _console().print(f"新增项目 {new} 个,更新 {updated} 个,月度投资 {months} 条")


@projects_app.command("export")
def projects_export(
    out: Annotated[Path, typer.Option("--out", help="输出 .xlsx")],
    db: DbOpt = None,
) -> None:
    """导出重点项目台账(与导入格式相同)。"""
    from huiqi.governance.ledger_store import list_projects
    from huiqi.governance.project_io import write_projects

    with _engine(db).connect() as conn:
        projects, investments = list_projects(conn)
    write_projects(projects, investments, out)
    _console().print(f"已导出 {len(projects)} 个项目到 {out}")


@report_app.command("monthly")
def report_monthly(
    month: Annotated[str, typer.Option("--month", help="通报月份 YYYY-MM")],
    out: Annotated[Path | None, typer.Option("--out", help="Excel 输出(.xlsx)")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="可打印的 HTML(含图表)")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="PDF(需要 Chromium)")] = None,
    db: DbOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="项目调出/预警规则 YAML(默认内置)")] = None,
) -> None:
    """月度调度通报:责任单位排名、超期事项、落后目标、重点项目与调出建议、地区擂台。"""
    from huiqi.governance.project_rules import load_rules
    from huiqi.governance.report import build_report
    from huiqi.governance.report_render import pct, write_html, write_pdf, write_xlsx

    with _engine(db).connect() as conn:
        report = build_report(conn, month, load_rules(rules) if rules else None)
    console = _console()
    s = report.summary
    console.print(f"[bold]月度调度通报 {report.month}[/]:督办事项 {s.tasks} 项,已完成 {s.tasks_completed},"
                  f"超期 {s.tasks_overdue};目标 {s.targets_by_light};重点项目 {s.projects} 个,"
                  f"建议调出 {s.call_outs} 个,预警 {s.warnings} 个")
    behind = Table("状态", "指标", "地区", "目标", "实际", "应达", "预计期末", title="目标落后与预警")
    for t in report.targets_behind:
        behind.add_row(t.light.label, t.target.indicator_text, t.target.region, f"{t.target.value}{t.target.unit}",
                       str(t.actual), str(t.expected), str(t.forecast))
    console.print(behind)
    calls = Table("项目", "地区", "依据", title="建议调出")
    for ln in report.call_outs:
        calls.add_row(f"{ln.progress.code} {ln.progress.name}", ln.progress.region,
                      ";".join(h.title for h in ln.hits if h.kind == "调出"))
    console.print(calls)
    arena = Table("名次", "地区", "年度完成率", "调出", "得分", title=f"{report.quarter}地区擂台")
    for r in report.region_ranking:
        arena.add_row(str(r.rank), r.region.group, pct(r.region.annual_ratio), str(r.region.flagged), str(r.score))
    console.print(arena)
    for path, writer in ((out, write_xlsx), (html, write_html), (pdf, write_pdf)):
        if path is not None:
            writer(report, path)
            console.print(f"已写入 {path}")


def targets_group(list_targets: Any) -> typer.Typer:
    """`huiqi targets` keeps listing the documents' targets; `huiqi targets actuals import` adds data."""
    group = typer.Typer(help="目标清单与目标监测。", invoke_without_command=True)

    @group.callback()
    def targets(
        ctx: typer.Context,
        db: Annotated[str, typer.Option("--db", help="政策库")] = "var/huiqi.db",
        doc: Annotated[str | None, typer.Option("--doc", help="只看某个文件")] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table 或 json")] = "table",
    ) -> None:
        """目标清单:各文件提出的量化目标(指标、数值、比较、年份)。"""
        if ctx.invoked_subcommand is None:
            list_targets(db=db, doc=doc, fmt=fmt)

    @group.command("status")
    def status(
        month: Annotated[str, typer.Option("--month", help="月份 YYYY-MM")],
        db: DbOpt = None,
    ) -> None:
        """目标监测:实际、时序进度、预测与红绿灯。"""
        from huiqi.governance.ledger_store import target_statuses
        from huiqi.governance.report import parse_month

        with _engine(db).connect() as conn:
            statuses = target_statuses(conn, parse_month(month))
        table = Table("状态", "指标", "地区", "目标", "实际", "应达", "预计期末", "方法", title=f"目标监测 {month}")
        for s in statuses:
            table.add_row(s.light.label, s.target.indicator_text[:24], s.target.region,
                          f"{s.target.value}{s.target.unit}", str(s.actual or ""), str(s.expected or ""),
                          str(s.forecast or ""), s.forecast_method)
        _console().print(table)

    group.add_typer(actuals_app, name="actuals")
    return group


def register(app: typer.Typer, list_targets: Any) -> None:
    app.add_typer(tasks_app, name="tasks")
    app.add_typer(projects_app, name="projects")
    app.add_typer(report_app, name="report")
    app.add_typer(targets_group(list_targets), name="targets")
