"""`huiqi calc` and `huiqi rules …`: thin wrappers over huiqi.rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from huiqi.errors import HuiqiError

rules_app = typer.Typer(help="规则包:列出、核对引文、运行规则测试。", no_args_is_help=True)


def _console() -> Console:
    from huiqi.cli.main import console

    return console


def _parse_date(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HuiqiError(f"日期格式应为 YYYY-MM-DD,收到 {text}", field="--date") from None


def _parse_params(items: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise HuiqiError(f"参数应写成 名称=值,如 lpr_1y=3.45%,收到 {item}", field="--param")
        key, value = item.split("=", 1)
        params[key.strip()] = value.strip()
    return params


def calc(
    profile: Annotated[Path | None, typer.Argument(help="企业画像文件(YAML 或 JSON),见 examples/;--cohort-report 时可省略")] = None,
    on: Annotated[str | None, typer.Option("--date", help="计算日期 YYYY-MM-DD,默认今天")] = None,
    policy: Annotated[list[str] | None, typer.Option("--policy", help="只算某些文件:规则包 id、文号或标题片段")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="覆盖参数,如 lpr_1y=3.45%")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="输出文件(json/xlsx)")] = None,
    cohort: Annotated[Path | None, typer.Option("--cohort", help="申报企业名单或企业名录(CSV/Excel,docs/registry.md),用于排名与名额类规则")] = None,
    cohort_report: Annotated[bool, typer.Option(
        "--cohort-report", help="列出全部申报企业在排名与名额类规则中的名次、状态与金额(需 --cohort)")] = False,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="额外或替代的规则包文件/目录")] = None,
    explain: Annotated[str | None, typer.Option("--explain", help="详细解释某条规则的计算过程(规则 id)")] = None,
    evaluations: Annotated[Path, typer.Option("--evaluations", help="亩均评价结果目录:画像未写类别时取最近一次评价")] = Path(
        "var/evaluations"
    ),
) -> None:
    """计算一个企业能享受哪些政策、金额多少、为什么,以及还缺哪些信息。"""
    from huiqi.profile import load_profile
    from huiqi.registry import load_applicants
    from huiqi.rules.packs import load_packs
    from huiqi.surfaces.calc_report import export_json, export_xlsx, render_explanation, render_report

    console = _console()
    target = out or (profile.with_suffix(".结果.xlsx") if fmt == "xlsx" and profile is not None else None)
    if target is not None:
        from huiqi.fsutil import check_outputs

        check_outputs([target], [*([profile] if profile else []), *([cohort] if cohort else []), *(rules or [])])
    if cohort_report:
        _cohort_report(profile, on, policy, param, fmt, out, cohort, rules)
        return
    if profile is None:
        raise HuiqiError("请给出企业画像文件(只列申报企业排名时用 --cohort 名单 --cohort-report)", field="PROFILE")
    rulebase = load_packs(list(rules) if rules else None)
    prof = load_profile(profile, rulebase.fields)
    applicants = load_applicants(cohort, rulebase.fields) if cohort else None
    when = _parse_date(on)
    from huiqi.rules.run import run_calc

    report = run_calc(rulebase, prof, when, policies=policy or None, params=_parse_params(param),
                      evaluations=evaluations, cohort=applicants)
    if fmt == "json":
        if out:
            export_json(report, out)
            console.print(f"已写入 {out}")
        else:
            print(report.to_json())
        return
    if fmt == "xlsx":
        target = out or profile.with_suffix(".结果.xlsx")
        export_xlsx(report, target)
        console.print(f"已导出 {target}")
        return
    if fmt != "table":
        raise HuiqiError(f"不支持的输出格式 {fmt},可选 table、json、xlsx", field="--format")
    render_report(console, report)
    if explain:
        matches = [r for r in report.results if r.rule == explain]
        if not matches:
            raise HuiqiError(f"结果中没有规则 {explain}", field="--explain")
        for r in matches:
            render_explanation(console, r)
    if out:
        (export_xlsx if out.suffix.lower() == ".xlsx" else export_json)(report, out)
        console.print(f"已导出 {out}")


def _cohort_report(profile: Path | None, on: str | None, policy: list[str] | None, param: list[str] | None,
                   fmt: str, out: Path | None, cohort: Path | None, rules: list[Path] | None) -> None:
    """``calc --cohort-report``: every applicant's place, status and amount in one run."""
    from huiqi.profile import load_profile
    from huiqi.registry import load_applicants
    from huiqi.rules.cohort import cohort_report
    from huiqi.rules.packs import load_packs
    from huiqi.surfaces.calc_report import export_cohort_json, export_cohort_xlsx, render_cohort_report

    if cohort is None:
        raise HuiqiError("--cohort-report 需要申报企业名单:--cohort 名单.csv", field="--cohort")
    if fmt not in ("table", "json", "xlsx"):
        raise HuiqiError(f"不支持的输出格式 {fmt},可选 table、json、xlsx", field="--format")
    console = _console()
    rulebase = load_packs(list(rules) if rules else None)
    applicants = list(load_applicants(cohort, rulebase.fields))
    if profile is not None:
        # The profile competes as itself; a cohort row with the same name is the same applicant.
        prof = load_profile(profile, rulebase.fields)
        applicants = [a for a in applicants if not (prof.name and a.name == prof.name)] + [prof]
    from huiqi.rules.overrides import check_param_overrides

    report = cohort_report(rulebase, applicants, _parse_date(on), policies=policy or None,
                           params=check_param_overrides(rulebase.params, _parse_params(param)))
    if fmt == "json" and out is None:
        print(report.to_json())
        return
    if fmt == "xlsx" and out is None:
        out = cohort.with_suffix(".排名.xlsx")
    if fmt == "table":
        render_cohort_report(console, report)
    if out is not None:
        if out.resolve() == cohort.resolve() or (profile is not None and out.resolve() == profile.resolve()):
            raise HuiqiError(f"输出文件 {out} 与输入文件相同,不会覆盖输入", field="--out")
        (export_cohort_xlsx if fmt == "xlsx" or out.suffix.lower() == ".xlsx" else export_cohort_json)(report, out)
        console.print(f"已导出 {out}")


@rules_app.command("list")
def rules_list(
    policy: Annotated[list[str] | None, typer.Option("--policy", help="只列某些文件")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="规则包文件/目录")] = None,
) -> None:
    """列出规则包中的全部规则与线索。"""
    from huiqi.rules.packs import load_packs

    rb = load_packs(list(rules) if rules else None)
    if policy:
        rb = rb.filter(policy)
    table = Table(title=f"规则({len(rb.rules)} 条,线索 {len(rb.leads)} 条)")
    for col in ("规则 id", "名称", "文件", "条款", "类型", "对象", "部门"):
        table.add_column(col, overflow="fold")
    for cr in rb.rules:
        r = cr.rule
        table.add_row(
            r.id, r.title, cr.pack.document.id, r.citation.clause, r.kind,
            {"enterprise": "企业", "project": "项目"}.get(r.beneficiary, r.beneficiary), "、".join(cr.department),
        )
    _console().print(table)


@rules_app.command("check")
def rules_check(
    db: Annotated[str | None, typer.Option("--db", help="已导入的政策库;不给则直接读取 --seeds 目录")] = None,
    seeds: Annotated[Path, typer.Option("--seeds", help="政策原文目录")] = Path("../shared/seeds"),
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="规则包文件/目录")] = None,
) -> None:
    """核对每条规则的出处:文件、条款存在,引文与原文逐字一致。"""
    from huiqi.rules.check import check_citations, documents_from_paths, format_problems
    from huiqi.rules.packs import load_packs

    rb = load_packs(list(rules) if rules else None)
    if db:
        from huiqi.cli.main import open_policy_base

        problems = check_citations(rb, open_policy_base(db, create=False))
    else:
        problems = check_citations(rb, documents_from_paths([seeds]))
    console = _console()
    if problems:
        console.print(format_problems(problems))
        raise typer.Exit(1)
    console.print(f"引文核对通过:{len(rb.rules)} 条规则、{len(rb.leads)} 条线索全部与原文一致")


@rules_app.command("test")
def rules_test(
    paths: Annotated[list[Path] | None, typer.Argument(help="测试文件(*.tests.yaml);默认全部内置")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="逐条显示")] = False,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="规则包文件/目录")] = None,
) -> None:
    """运行规则包旁的 YAML 测试用例(档位、边界、有效期、上限、叠加)。"""
    from huiqi.rules.packs import load_packs
    from huiqi.rules.testing import run_rule_tests

    rb = load_packs(list(rules) if rules else None)
    report = run_rule_tests(rb, list(paths) if paths else None)
    _console().print(report.text(verbose))
    if not report.ok:
        raise typer.Exit(1)
