"""`huiqi evaluate`: 亩均效益综合评价 from the command line.

The lead registers the function in ``huiqi.cli.main``::

    from huiqi.cli.evaluate_cmd import evaluate
    app.command("evaluate")(evaluate)
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from huiqi.errors import HuiqiError

_WIDTH = None if sys.stdout.isatty() else 150
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


def evaluate(
    population: Annotated[Path, typer.Argument(
        help="企业名录(docs/registry.md):.parquet(或其目录)、.csv、.xlsx,或 DuckDB 文件(文件.duckdb::表名);"
             "列名可写字段 id 或中文名称,如 统一社会信用代码、所在区县、税收(万元)、用地面积(亩)、年度")],
    method: Annotated[str, typer.Option(
        "--method", "-m",
        help="评价方法:内置名称(zhejiang-county、linhai-2022、shandong-sales、shouguang-2018)或 YAML 文件路径")]
    = "zhejiang-county",
    year: Annotated[str | None, typer.Option("--year", "-y", help="评价年度;名录有年度列时默认取最新的年度(没有年度列时取方法文件的年度)")]
    = None,
    engine: Annotated[str, typer.Option("--engine", "-e", help="计算引擎:duckdb(默认)、spark、python(逐行参考实现,用于核对)")]
    = "duckdb",
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="导出文件,格式看后缀:.xlsx(含图表的报告)、.html、.csv、.parquet、.json")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="终端输出:table(表格)或 json(汇总)")] = "table",
    store: Annotated[Path, typer.Option("--store", help="评价结果库目录:保存为 <方法>-<年度>.parquet,供计算器查询企业类别")]
    = Path("var/evaluations"),
    no_store: Annotated[bool, typer.Option("--no-store", help="不保存到评价结果库")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="覆盖方法参数,如 --param tax_mean_2022=18.5")]
    = None,
    charts: Annotated[Path | None, typer.Option("--charts", help="另存 PNG 图表的目录(需要 matplotlib)")] = None,
) -> None:
    """亩均效益综合评价:按评价方法计算每家企业的指标、得分、组内排名和A/B/C/D类别,并给出差别化政策。"""
    try:
        _evaluate(population, method, parse_year(year), engine, out, format, store, no_store, param or [], charts)
    except HuiqiError as exc:
        err_console.print(f"[bold red]错误[/]:{exc}")
        raise typer.Exit(2) from None


def parse_year(text: str | None) -> int | None:
    """``--year 2023`` → 2023; anything else is a Chinese error, not Click's English one."""
    if text is None:
        return None
    from huiqi.errors import InputError

    value = text.strip().removesuffix("年度").removesuffix("年")
    if not value.isdigit() or not 1900 <= int(value) <= 2100:
        raise InputError(f"年度应为四位数字的年份,如 2023,收到 {text!r}", field="--year")
    return int(value)


def _evaluate(population: Path, method: str, year: int | None, engine: str, out: Path | None, fmt: str,
              store: Path, no_store: bool, param: list[str], charts: Path | None) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from huiqi.errors import InputError
    from huiqi.evaluation import evaluate as run_evaluation
    from huiqi.evaluation import load_methodology

    if fmt not in ("table", "json"):
        raise InputError(f"不支持的终端输出格式 {fmt!r}", hint="可选:table、json")
    params: dict[str, str] = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"参数写法应为 名称=值:{item}")
        params[key.strip()] = value.strip()
    from huiqi.fsutil import check_output_dir, check_outputs

    inputs = [population, *([Path(method)] if Path(method).is_file() else [])]
    if out is not None:
        check_outputs([out], inputs)
    if not no_store:
        check_output_dir(store, option="--store")
    if charts is not None:
        check_output_dir(charts, option="--charts")
    m = load_methodology(method)
    show_progress = fmt == "table" and err_console.is_terminal
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                  transient=True, disable=not show_progress) as progress:
        task = progress.add_task("准备", total=None)

        def step(message: str) -> None:
            progress.update(task, description=message)

        ev = run_evaluation(population, m, year=year, engine=engine, params=params, progress=step)
        written: list[Path] = []
        # The stored file's name depends on the year evaluated: check it with the --out file.
        check_outputs([*([] if no_store else [ev.store_path(store)]), *([out] if out is not None else [])], inputs)
        if not no_store:
            step("保存到评价结果库")
            written.append(ev.store(store))
        if out is not None:
            step(f"导出 {out.name}")
            written.append(ev.write(out))
        notes: list[str] = []
        if charts is not None:
            from huiqi.evaluation.report import write_png_charts

            step("绘制 PNG 图表")
            files, notes = write_png_charts(ev, charts)
            written += files
    s = ev.summary
    if fmt == "json":
        print(json.dumps({"method": m.id, "year": ev.year, "year_note": ev.year_note, "engine": ev.engine, "seconds": round(ev.seconds, 3),
                          "summary": s.to_dict(), "files": [str(p) for p in written]},
                         ensure_ascii=False, indent=2, default=_json_default))
        return
    _print_tables(ev)
    if ev.year_note:
        err_console.print(ev.year_note)
    for w in [*s.warnings, *notes]:
        err_console.print(f"[yellow]提示[/]:{w}")
    rate = len(ev) / ev.seconds if ev.seconds > 0 else 0.0
    err_console.print(f"{m.name}:企业 {s.total} 家,参评 {s.graded} 家,不参评 {s.excluded} 家;"
                      f"引擎 {ev.engine},用时 {ev.seconds:.2f} 秒({rate:,.0f} 家/秒)")
    for p in written:
        err_console.print(f"已写入 {p}")


def _class_table(title: str, first: str, rows: list[dict[str, Any]], classes: list[str]) -> Table:
    table = Table(title=title)
    table.add_column(first, overflow="fold")
    table.add_column("参评", justify="right")
    for c in classes:
        table.add_column(f"{c}类", justify="right")
    for r in rows:
        n = r["graded"] or 1
        table.add_row(str(r["group"]), str(r["graded"]),
                      *[f"{r[c]}({r[c] * 100 / n:.1f}%)" for c in classes])
    return table


def _print_tables(ev: Any) -> None:
    s = ev.summary
    console.print(_class_table("各分组类别分布", "分组", s.by_track, s.classes))
    console.print(_class_table("各乡镇(街道)类别分布", "乡镇(街道)", s.by_district, s.classes))
    if s.exclusions:
        table = Table(title="不参评")
        table.add_column("原因")
        table.add_column("企业数", justify="right")
        for e in s.exclusions:
            table.add_row(str(e["reason"]), str(e["count"]))
        console.print(table)
    applied = [o for o in s.overrides if o["applied"]]
    if applied:
        table = Table(title="特别规则")
        table.add_column("规则")
        table.add_column("适用企业数", justify="right")
        table.add_column("比例")
        for o in applied:
            table.add_row(o["label"], str(o["applied"]), "不占" if o["quota"] == "exempt" else "占")
        console.print(table)
    if s.consequences:
        table = Table(title="差别化政策")
        table.add_column("政策")
        table.add_column("适用类别")
        table.add_column("企业数", justify="right")
        table.add_column("年度金额(元)", justify="right")
        for c in s.consequences:
            if "by_class" in c:
                charged = {k: v for k, v in c["by_class"].items() if v["amount"]}
                n = sum(v["enterprises"] for v in charged.values())
                table.add_row(c["label"], "、".join(charged) or "—", str(n), f"{c['total']:,}")
            else:
                table.add_row(c["label"], "、".join(c["classes"]), str(c["enterprises"]), "—")
        console.print(table)


def methodology_schema() -> None:
    """输出评价方法文件的 JSON Schema(供编辑器校验)。"""
    from huiqi.evaluation import methodology_json_schema

    print(json.dumps(methodology_json_schema(), ensure_ascii=False, indent=2))
