"""`huiqi synth` and `huiqi simulate`: thin wrappers over huiqi.simulation (registered in main.py)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from huiqi.errors import HuiqiError

__all__ = ["simulate", "synth"]


def _consoles() -> tuple[Console, Console]:
    from huiqi.cli.main import console, err_console

    return console, err_console


def _progress(err: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)


def synth(
    city: Annotated[str, typer.Option("--city", help="城市:规则包 id 或城市名(临海/linhai、滨州、十堰、聊城、寿光)")],
    n: Annotated[int, typer.Option("--n", help="企业数(每家企业可有0–3个项目,一个项目一行)")],
    out: Annotated[Path, typer.Option("--out", help="输出文件:.parquet(可到千万级)、.csv 或 .xlsx(少量企业)")],
    seed: Annotated[int, typer.Option("--seed", help="随机种子:同一种子总是生成同一份数据")] = 1,
    config: Annotated[Path | None, typer.Option("--config", help="分布参数文件(默认内置 synth.yaml)")] = None,
    years: Annotated[str | None, typer.Option("--years", help="数据年度:2023,或 2021-2023(每家企业每个年度一行,年度列 year);默认 synth.yaml 的 default_year")] = None,
) -> None:
    """生成某个种子城市的合成企业人口(分布见 docs/simulation.md 与 synth.yaml),用于政策成本测算。"""
    from huiqi.simulation.synth import synthesize

    console, err = _consoles()
    with _progress(err) as progress:
        task = progress.add_task("生成企业", total=n)
        summary = synthesize(city, n, seed, out, config=config, years=parse_years(years),
                             progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"已生成 {summary.enterprises:,} 家企业({summary.rows:,} 行,其中项目 {summary.projects:,} 个,"
                  f"{summary.columns} 列)→ {summary.path}(城市 {summary.city},种子 {summary.seed},"
                  f"规则包 {'、'.join(summary.packs)},年度 {'、'.join(map(str, summary.years))},"
                  f"用时 {summary.seconds:.1f} 秒)")


def parse_years(text: str | None) -> list[int] | None:
    """``2023`` → [2023]; ``2021-2023`` → [2021, 2022, 2023]; ``2021,2023`` → [2021, 2023]."""
    if text is None:
        return None
    import re

    out: list[int] = []
    for part in re.split(r"[,,、]", text):
        part = part.strip()
        m = re.fullmatch(r"(\d{4})\s*(?:[-–~至]\s*(\d{4}))?", part)
        if m is None:
            raise HuiqiError(f"年度写法应为 2023 或 2021-2023,收到 {text}", field="--years")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if not 1900 <= first <= last <= 2100 or last - first > 30:
            raise HuiqiError(f"年度范围无效:{part}", field="--years")
        out += range(first, last + 1)
    return sorted(set(out))


def _parse_dates(items: list[str] | None) -> list[date]:
    out = []
    for text in items or []:
        try:
            out.append(date.fromisoformat(text))
        except ValueError:
            raise HuiqiError(f"日期格式应为 YYYY-MM-DD,收到 {text}", field="--date") from None
    return out or [date.today()]


def _parse_money(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    from huiqi.profile import FieldSpec

    spec = FieldSpec("budget", "enterprise", "预算", "money")
    value = spec.coerce(text, where=option)
    assert isinstance(value, int)
    return value


def source_file(spec: str) -> Path:
    """The local file behind a population argument (``duckdb:pop.db::t`` → pop.db)."""
    for kind in ("duckdb", "sqlite"):
        if spec.startswith(kind + ":"):
            return Path(spec[len(kind) + 1:].rpartition("::")[0] or spec)
    return Path(spec)


def simulate(
    population: Annotated[str, typer.Argument(help="企业名录(docs/registry.md):.parquet / .csv / .xlsx,或 duckdb:文件::表、sqlite:文件::表")],
    on: Annotated[list[str] | None, typer.Option("--date", help="模拟日期 YYYY-MM-DD,可重复给出多个年度;默认今天")] = None,
    engine: Annotated[str, typer.Option("--engine", help="计算引擎:duckdb(默认)、spark,或 per_row(逐行计算器,慢,作对照)")] = "duckdb",
    master: Annotated[str | None, typer.Option("--master", help="Spark master 地址,如 spark://host:7077;默认本地")] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="全部规则共用的总预算,如 3000万元(在各资金池之后再分配)")] = None,
    allocation: Annotated[str, typer.Option("--allocation", help="超额时的分配方式:pro_rata 按比例(默认)、rank 按排序、first_come 先到先得")] = "pro_rata",
    rank_by: Annotated[str | None, typer.Option("--rank-by", help="rank 方式的排序表达式(大者优先),如 enterprise.annual_revenue;默认按金额")] = None,
    sets: Annotated[list[str] | None, typer.Option("--set", help="改革:参数 lpr_1y=3.45%,或规则字段 规则id.路径=值(如 linhai.tech_upgrade.major.caps.0.amount=500万元)")] = None,
    reform: Annotated[Path | None, typer.Option("--reform", help="改革方案 YAML 文件(name、description、changes)")] = None,
    out: Annotated[list[Path] | None, typer.Option("--out", help="输出:.xlsx(带图表)、.parquet 或 .csv(企业明细与汇总表);可重复")] = None,
    policy: Annotated[list[str] | None, typer.Option("--policy", help="只模拟某些文件或规则:规则包 id、文号、标题片段或规则 id")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="替代的规则包文件/目录")] = None,
    top: Annotated[int, typer.Option("--top", help="每张表显示的行数")] = 15,
    year: Annotated[str | None, typer.Option("--year", help="名录有年度列时读取的年度(默认最新的年度)")] = None,
    evaluation: Annotated[Path | None, typer.Option("--evaluation", help="亩均评价结果(.parquet):名录未填亩均评价类别的企业取其中的类别;默认取评价结果库中上一年度及以前最近一次评价")] = None,
    evaluations: Annotated[Path, typer.Option("--evaluations", help="亩均评价结果库目录")] = Path("var/evaluations"),
) -> None:
    """政策成本测算:整个企业人口能享受哪些措施、多少钱(按措施、部门、地区、年度),资金是否够用,改革谁受益谁受损。"""
    from huiqi.cli.evaluate_cmd import parse_year
    from huiqi.rules.packs import load_packs
    from huiqi.simulation.reform import Reform, apply_reform, load_reform, parse_set
    from huiqi.simulation.report import check_planned_outputs, render, write_outputs
    from huiqi.simulation.simulate import simulate as run_simulation

    console, err = _consoles()
    if out:
        check_planned_outputs(out, [source_file(population), *(rules or []), *([reform] if reform else [])])
    dates = _parse_dates(on)
    data_year = parse_year(year)
    budget_yuan = _parse_money(budget, "--budget")
    rulebase = load_packs(list(rules) if rules else None)
    applied = None
    changes = parse_set(sets)
    if reform is not None or changes:
        plan = load_reform(reform) if reform is not None else Reform(name="--set 改动")
        plan = plan.model_copy(update={"changes": [*plan.changes, *changes]})
        applied = apply_reform(rulebase, plan)
    with _progress(err) as progress:
        task = progress.add_task("准备", total=None)

        def report(stage: str, done: int, total: int | None) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        result = run_simulation(population, rulebase=rulebase, dates=dates, engine=engine, master=master,
                                policies=policy or None, budget=budget_yuan, allocation=allocation,
                                rank_by=rank_by, reform=applied, progress=report, year=data_year,
                                evaluation=evaluation, evaluation_store=evaluations)
    with result:
        for note in result.notes:
            err.print(note)
        render(result, console, top=top)
        if out:
            written = write_outputs(result, out, console)
            shown = "、".join(str(p) for p in written[:6]) + (f" 等 {len(written)} 个文件" if len(written) > 6 else "")
            console.print(f"已写入 {shown}")
    if not sys.stdout.isatty():
        sys.stdout.flush()
