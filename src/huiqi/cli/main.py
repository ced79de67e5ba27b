"""Command line: thin layer over the typed core. Every user error is printed in Chinese
without a traceback; the exit code says whether anything failed."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from huiqi import __version__
from huiqi.errors import HuiqiError

DEFAULT_DB = os.environ.get("HUIQI_DB", "var/huiqi.db")

app = typer.Typer(
    name="huiqi",
    help="惠企 Huiqi:产业政策即代码。把政策文件变成可查询、可计算、有出处的政策库。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
# Piped output (logs, CI) gets a comfortable width instead of Rich's 80-column fallback.
_WIDTH = None if sys.stdout.isatty() else 150
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)

DbOption = Annotated[str, typer.Option("--db", help="政策库:SQLite 文件路径或 postgresql:// 连接串")]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="输出格式:table 或 json")]


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]错误[/]:{message}")
    raise typer.Exit(code)


def open_policy_base(db: str, *, create: bool = True):  # type: ignore[no-untyped-def]
    """The policy base; commands that only read it (``create=False``) never create an empty one."""
    from huiqi.policybase.db import connect

    if not create:
        path = _sqlite_file(db)
        if path is not None and not path.exists():
            raise HuiqiError("政策库不存在", file=str(path), hint="先用 huiqi ingest 导入政策文件,或用 --db 指定已有的政策库")
    return connect(db)


def _sqlite_file(db: str) -> Path | None:
    """The file of a SQLite policy base (None for PostgreSQL or an in-memory base)."""
    if db.startswith(("postgresql://", "postgres://")) or db in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return None
    if db.startswith("sqlite:///"):
        return Path(db[len("sqlite:///"):]).expanduser()
    if db.startswith("sqlite:"):
        return Path(db[len("sqlite:"):]).expanduser()
    return Path(db).expanduser()


@app.command()
def version() -> None:
    """显示版本号。"""
    console.print(f"huiqi {__version__}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="政策文件或目录(.txt .html .docx .pdf)")],
    out: Annotated[Path | None, typer.Option("--out", help="每个文件输出一个结构化 JSON 的目录")] = None,
    db: DbOption = DEFAULT_DB,
    no_db: Annotated[bool, typer.Option("--no-db", help="不写入政策库")] = False,
    fmt: FormatOption = "table",
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="并行进程数,0 = 全部 CPU 核")] = 1,
    strict: Annotated[bool, typer.Option("--strict", help="内容检查的警告(不像政策文件、疑似乱码)按失败处理,不入库")]
    = False,
) -> None:
    """导入政策文件:识别编码、去除网页框架、繁转简、修复乱码,抽取条款、责任单位、数量条款和目标。"""
    from huiqi.fsutil import check_output_dir
    from huiqi.ingest.pipeline import content_warnings, discover, ingest_many
    from huiqi.ingest.report import summarize_document, write_document_json

    if fmt not in ("table", "json"):
        fail(f"不支持的输出格式 {fmt},可选 table、json")
    if jobs < 0:
        fail("--jobs 不能为负数(0 表示全部 CPU 核)")
    if out is not None:
        check_output_dir(out, option="--out")
    missing = [str(p) for p in paths if not Path(p).exists()]
    files = list(discover(p for p in paths if Path(p).exists()))
    if not files and not missing:
        fail("没有找到可导入的文件")
    jobs = os.cpu_count() or 1 if jobs == 0 else jobs
    pb = None  # opened at the first document to save: a batch where everything fails creates no database
    summaries: list[dict[str, object]] = []
    failures: list[str] = [f"{m}:文件不存在" for m in missing]
    notes: list[str] = []
    from rich.progress import Progress

    try:
        with Progress(console=err_console, transient=True, disable=len(files) < 5 or fmt == "json") as progress:
            task = progress.add_task("导入中", total=len(files))
            for outcome in ingest_many(files, jobs=jobs):
                progress.advance(task)
                if outcome.document is None:
                    failures.append(outcome.error or f"{outcome.path}:失败")
                    continue
                doc = outcome.document
                flagged = content_warnings(doc)
                if flagged and strict:
                    failures += [f"{outcome.path}:{w}" for w in flagged]
                    continue
                notes += [f"{outcome.path}:{w}" for w in flagged]
                action = "未入库"
                if not no_db:
                    pb = pb or open_policy_base(db)
                    action = pb.save_document(doc).status
                if out is not None:
                    write_document_json(doc, out)
                summaries.append({**summarize_document(doc), "action": action, "warnings": flagged})
    finally:
        if pb is not None:
            pb.close()

    if fmt == "json":
        print(json.dumps({"documents": summaries, "failures": failures}, ensure_ascii=False, indent=2))
    else:
        _print_ingest_table(summaries)
        for note in notes:
            err_console.print(f"[yellow]警告[/]:{note}", highlight=False)
        for f in failures:
            err_console.print(f"[red]失败[/]:{f}", highlight=False)
        err_console.print(
            f"共 {len(files) + len(missing)} 个文件:成功 {len(summaries)},失败 {len(files) + len(missing) - len(summaries)}"
            + (f";已写入政策库 {db}" if pb is not None else "")
            + (f";JSON 输出到 {out}" if out is not None and summaries else "")
        )
    if failures:
        raise typer.Exit(1)


_ACTION_LABEL = {"new": "新增", "updated": "更新", "unchanged": "未变"}


def _print_ingest_table(summaries: list[dict[str, object]]) -> None:
    table = Table(title="导入结果", show_lines=False)
    table.add_column("文件 / 标题", overflow="ellipsis", no_wrap=True, max_width=40)
    table.add_column("文号", overflow="fold", max_width=12)
    for col in ("状态", "条款", "单位", "数量", "目标", "框架", "修复", "入库"):
        table.add_column(col, no_wrap=True)
    for s in summaries:
        table.add_row(
            f"{s['file']}\n[dim]{s['title']}[/]",
            str(s["doc_number"] or "—"),
            str(s["status"]),
            str(s["measures"]),
            str(s["units"]),
            str(s["provisions"]),
            str(s["targets"]),
            str(s["boilerplate_removed"]),
            f"{s['repaired']}/{s['unreadable']}",
            _ACTION_LABEL.get(str(s["action"]), str(s["action"])),
        )
    console.print(table)
    console.print("[dim]单位 = 有责任单位的条款数;数量 = 数量条款;框架 = 去除的网页框架行;修复 = 修复/无法识读的乱码段[/]")


@app.command()
def show(
    doc: Annotated[str, typer.Argument(help="文件 id、id 前缀、文号或标题片段")],
    label: Annotated[str | None, typer.Argument(help="条款编号路径,如 二/十 或 十")] = None,
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = "table",
) -> None:
    """查看一个文件(元数据与条款目录)或其中一条措施(全文、责任单位、数量条款)。"""
    from huiqi.surfaces.show import render_document, render_measure

    pb = open_policy_base(db, create=False)
    document = pb.find_document(doc)
    pb.close()
    if label is None:
        if fmt == "json":
            print(document.model_dump_json(indent=2, exclude={"text", "original_text", "offset_map"}))
        else:
            render_document(console, document)
        return
    measure = _find_measure(document, label)
    if fmt == "json":
        print(measure.model_dump_json(indent=2))
    else:
        render_measure(console, document, measure)


def _find_measure(document, label: str):  # type: ignore[no-untyped-def]
    exact = [m for m in document.measures if m.key == label]
    if exact:
        return exact[0]
    bare = re.sub(r"[()()、.\s]", "", label)
    by_label = [m for m in document.measures if m.label == bare]
    if len(by_label) == 1:
        return by_label[0]
    if len(by_label) > 1:
        keys = "、".join(m.key for m in by_label)
        raise HuiqiError(f"编号 {label} 不唯一,请写完整路径:{keys}", field="LABEL")
    raise HuiqiError(f"文件中没有编号为 {label} 的条款", field="LABEL")


@app.command()
def units(
    db: DbOption = DEFAULT_DB,
    unit: Annotated[str | None, typer.Option("--unit", help="只看名称包含此文字的单位")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="导出责任清单 Excel")] = None,
    limit: Annotated[int, typer.Option("--limit", help="终端最多显示的单位数")] = 50,
    fmt: FormatOption = "table",
) -> None:
    """责任矩阵:每个部门在各文件中牵头、配合或负责的措施。"""
    from huiqi.policybase.queries import export_matrix_xlsx, responsibility_matrix
    from huiqi.surfaces.show import render_units

    pb = open_policy_base(db, create=False)
    rows = responsibility_matrix(pb)
    pb.close()
    if unit:
        rows = [r for r in rows if unit in r.unit]
    if xlsx is not None:
        export_matrix_xlsx(rows, xlsx)
        err_console.print(f"已导出 {xlsx}")
    if fmt == "json":
        print(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, indent=2, default=str))
    else:
        render_units(console, rows, limit=limit)


def targets(
    db: DbOption = DEFAULT_DB,
    doc: Annotated[str | None, typer.Option("--doc", help="只看某个文件")] = None,
    fmt: FormatOption = "table",
) -> None:
    """目标清单:各文件提出的量化目标(指标、数值、比较、年份)。"""
    from huiqi.policybase.queries import targets as query_targets
    from huiqi.surfaces.show import render_targets

    pb = open_policy_base(db, create=False)
    document_id = pb.find_document(doc).id if doc else None
    rows = query_targets(pb, document=document_id)
    pb.close()
    if fmt == "json":
        print(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, indent=2, default=str))
    else:
        render_targets(console, rows)


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="检索词,如 技术改造 或 贷款贴息")],
    db: DbOption = DEFAULT_DB,
    limit: Annotated[int, typer.Option("--limit", help="最多返回条数")] = 20,
    fmt: FormatOption = "table",
) -> None:
    """全文检索政策条款(中文分词)。"""
    from huiqi.policybase.queries import search as query_search
    from huiqi.surfaces.show import render_search

    pb = open_policy_base(db, create=False)
    hits = query_search(pb, text, limit=limit)
    pb.close()
    if fmt == "json":
        print(json.dumps([dataclasses.asdict(h) for h in hits], ensure_ascii=False, indent=2))
    else:
        render_search(console, text, hits)


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help="document | rules | profile | result | methodology | registry")],
    out: Annotated[Path | None, typer.Option("--out", help="写入文件而不是打印")] = None,
) -> None:
    """导出 JSON Schema(带版本号)。"""
    from huiqi.schemas import export_schema

    text = json.dumps(export_schema(name), ensure_ascii=False, indent=2)
    if out is None:
        print(text)
    else:
        from huiqi.fsutil import write_text_atomic

        write_text_atomic(out, text + "\n")
        err_console.print(f"已写入 {out}")


def _register_subcommands() -> None:
    from huiqi.cli.evaluate_cmd import evaluate
    from huiqi.cli.rules_cmd import calc, rules_app

    app.command("calc")(calc)
    app.add_typer(rules_app, name="rules")
    app.command("evaluate")(evaluate)
    from huiqi.cli.simulate_cmd import simulate, synth

    app.command("synth")(synth)
    app.command("simulate")(simulate)
    from huiqi.cli.platform_cmd import audit_app, db_app, serve, users_app, worker

    app.add_typer(users_app, name="users")
    app.add_typer(db_app, name="db")
    app.add_typer(audit_app, name="audit")
    app.command("serve")(serve)
    app.command("worker")(worker)
    from huiqi.cli.governance_cmd import register as register_governance

    register_governance(app, targets)  # tasks, projects, report, targets (+ actuals import)


_register_subcommands()


def _is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C caught inside DuckDB (or Spark) comes back as their own error type, sometimes
    wrapped in one of ours: look along the chain of causes."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, KeyboardInterrupt) or "Interrupt" in type(cur).__name__:
            return True
        if not isinstance(cur, HuiqiError):
            text = str(cur).lower()
            if "query interrupted" in text or "interrupted!" in text:
                return True
        cur = cur.__cause__ or cur.__context__
    return False


INTERNAL_ERROR = ("程序内部错误,命令未能完成。请把命令与输入文件报告给维护者;"
                  "设置环境变量 HUIQI_DEBUG=1 可显示详细信息")


def run(args: list[str] | None = None) -> None:
    """Console entry point: user errors become one Chinese line and exit code 2; Ctrl-C prints
    “已中断” and exits 130; nothing ever ends in a Python traceback (unless HUIQI_DEBUG=1)."""
    from typer import rich_utils
    from typer.exceptions import Abort, TyperException

    code: int | None = 0
    try:
        try:
            code = app(args=args, standalone_mode=False)
        except Abort:
            code = 130
        if code == 130:
            err_console.print("已中断")
    except HuiqiError as exc:
        if _is_interrupt(exc):
            err_console.print("已中断")
            code = 130
        else:
            err_console.print(f"[bold red]错误[/]:{exc}", markup=True, highlight=False)
            code = 2
    except TyperException as exc:  # usage errors (unknown option, missing argument)
        rich_utils.rich_format_error(exc)  # type: ignore[arg-type]
        code = int(getattr(exc, "exit_code", 2))
    except BaseException as exc:  # the last line of defence: no traceback reaches the user
        if isinstance(exc, SystemExit):
            raise
        if _is_interrupt(exc):
            err_console.print("已中断")
            code = 130
        elif os.environ.get("HUIQI_DEBUG") == "1":
            raise
        elif isinstance(exc, RecursionError):
            err_console.print("[bold red]错误[/]:输入的嵌套层数过深,无法处理")
            code = 2
        elif isinstance(exc, MemoryError):
            err_console.print("[bold red]错误[/]:内存不足,输入过大")
            code = 2
        else:
            err_console.print(f"[bold red]错误[/]:{INTERNAL_ERROR}")
            code = 1
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
