"""The built-in background job kinds: ``simulation`` (预算测算) and ``evaluation`` (亩均评价).

Each runs the same core function as its CLI command (``huiqi simulate`` / ``huiqi evaluate``)
with the job's parameters, reports progress, writes its files under ``var/jobs/<id>/`` and
returns a JSON summary for the pages and the API. Both start over cleanly after an
interruption (their inputs are files and parameters), so both are resumable.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from huiqi.errors import HuiqiError
from huiqi.jobs import JobContext, JobKind, register


def var_dir() -> Path:
    """The server's data folder (``HUIQI_VAR_DIR``, as in huiqi.web.settings; default var/)."""
    return Path(os.environ.get("HUIQI_VAR_DIR") or "var")


def job_dir(job_id: int) -> Path:
    path = var_dir() / "jobs" / str(job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def plain(value: Any) -> Any:
    """JSON-ready values: Decimals as exact strings, dates as ISO text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _check_population(path: Any) -> Path:
    if not isinstance(path, str) or not path:
        raise HuiqiError("缺少企业人口文件", field="population")
    p = Path(path)
    if not p.exists():
        raise HuiqiError(f"企业人口文件不存在:{path}", field="population")
    return p


# ---- simulation ----------------------------------------------------------------------------


SYNTH_MAX = 10_000_000


def validate_simulation(params: dict[str, Any]) -> None:
    synth = params.get("synth")
    if synth:
        n = synth.get("n")
        if not isinstance(n, int) or not 1 <= n <= SYNTH_MAX:
            raise HuiqiError(f"合成企业数应在 1 到 {SYNTH_MAX:,} 之间", field="synth.n")
        if not synth.get("city"):
            raise HuiqiError("合成人口需要指定城市", field="synth.city")
    else:
        _check_population(params.get("population"))
    for text in params.get("dates") or []:
        try:
            date.fromisoformat(text)
        except (TypeError, ValueError):
            raise HuiqiError(f"日期格式应为 YYYY-MM-DD,收到 {text}", field="dates") from None


def run_simulation(ctx: JobContext) -> dict[str, Any]:
    from huiqi.rules.packs import load_packs
    from huiqi.simulation.reform import Reform, apply_reform, parse_set
    from huiqi.simulation.report import aggregates, write_outputs
    from huiqi.simulation.simulate import simulate

    p = dict(ctx.params)
    validate_simulation(p)
    synth_share = 0.0
    if p.get("synth"):
        p["population"] = str(synthesize_population(ctx, p["synth"]))
        synth_share = 0.4
    dates = sorted(date.fromisoformat(d) for d in (p.get("dates") or [date.today().isoformat()]))
    ctx.progress(synth_share + 0.02, "读取规则包", force=True)
    rulebase = load_packs()
    applied = None
    changes = parse_set(p.get("sets") or [])
    if changes:
        applied = apply_reform(rulebase, Reform(name=p.get("reform_name") or "网页改革方案", changes=changes))
    stages = len(dates) * (2 if applied is not None else 1)
    seen: list[str] = []

    def report(stage: str, done: int, total: int | None) -> None:
        key = stage.split(":")[0]
        if key not in seen:
            seen.append(key)
        within = (done / total) if total else 0.5
        fraction = synth_share + 0.05 + (0.85 - synth_share) * ((len(seen) - 1 + within) / max(stages, 1))
        ctx.progress(min(fraction, 0.9), stage)

    budget = p.get("budget")
    with simulate(p["population"], rulebase=rulebase, dates=dates, policies=p.get("policies") or None,
                  budget=int(budget) if budget is not None else None,
                  allocation=p.get("allocation") or "pro_rata", reform=applied, progress=report) as result:
        ctx.progress(0.92, "汇总与导出 Excel", force=True)
        out = job_dir(ctx.job_id) / "simulation.xlsx"
        write_outputs(result, [out])
        tables = aggregates(result)
        totals = {s.name: result.totals(s.name) for s in result.scenarios}
        summary = {
            "population": str(p["population"]),
            "enterprises": result.enterprises,
            "population_rows": result.population_rows,
            "dates": [d.isoformat() for d in result.dates],
            "scenarios": [{"name": s.name, "label": s.label} for s in result.scenarios],
            "totals": totals,
            "by_rule": tables["by_rule"][:200],
            "by_department": tables["by_department"],
            "by_district": tables["by_district"],
            "by_year": tables["by_year"],
            "pools": [pool.as_dict() | {"shortfall": pool.shortfall} for pool in result.pools],
            "reform_by_rule": tables.get("reform_by_rule", [])[:100],
            "winners_losers": tables.get("winners_losers", [])[:40],
            "warnings": result.warnings,
            "seconds": round(result.total_seconds, 2),
            "xlsx": str(out),
        }
    return plain(summary)  # type: ignore[no-any-return]


def synthesize_population(ctx: JobContext, synth: dict[str, Any]) -> Path:
    """A synthetic population (``huiqi synth``) in the job's folder; the first 40 % of progress."""
    from huiqi.simulation.synth import synthesize

    out = job_dir(ctx.job_id) / "population.parquet"
    n = int(synth["n"])
    ctx.progress(0.01, f"生成合成企业 0/{n:,}", force=True)
    synthesize(str(synth["city"]), n, int(synth.get("seed", 1)), out,
               progress=lambda done, total: ctx.progress(0.4 * done / max(total, 1),
                                                         f"生成合成企业 {done:,}/{total:,}"))
    return out


# ---- evaluation ----------------------------------------------------------------------------


def validate_evaluation(params: dict[str, Any]) -> None:
    from huiqi.evaluation import load_methodology

    _check_population(params.get("population"))
    load_methodology(params.get("method") or "zhejiang-county")


def run_evaluation(ctx: JobContext) -> dict[str, Any]:
    from huiqi.evaluation import evaluate, load_methodology

    p = ctx.params
    validate_evaluation(p)
    ctx.progress(0.05, "读取评价方法", force=True)
    m = load_methodology(p.get("method") or "zhejiang-county")
    steps = [0.1]

    def step(message: str) -> None:
        steps[0] = min(0.85, steps[0] + 0.1)
        ctx.progress(steps[0], message)

    year = p.get("year")
    ev = evaluate(p["population"], m, year=int(year) if year else None, params=p.get("params") or None,
                  progress=step)
    ctx.progress(0.9, "保存结果", force=True)
    folder = job_dir(ctx.job_id)
    parquet = ev.write(folder / "evaluation.parquet")
    xlsx = ev.write(folder / "evaluation.xlsx")
    if p.get("store", True):
        ev.store(var_dir() / "evaluations")  # the calculator reads the latest class from here
    return plain({"method": m.id, "method_name": m.name, "year": ev.year, "engine": ev.engine,
                  "enterprises": len(ev), "summary": ev.summary.to_dict(), "parquet": str(parquet),
                  "xlsx": str(xlsx), "seconds": round(ev.seconds, 2)})  # type: ignore[no-any-return]


register(JobKind("simulation", run_simulation, "预算测算", resumable=True, validate=validate_simulation))
register(JobKind("evaluation", run_evaluation, "亩均评价", resumable=True, validate=validate_evaluation))
