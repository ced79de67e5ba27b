"""人口模拟 — what a policy costs before it is issued.

``simulate`` runs every rule over a whole population (one engine run per simulation
date and scenario), then answers, in DuckDB:

* how many subjects/enterprises qualify per measure (rule), department, district and
  year, and how much money — **exact** amounts separately from **ceilings** (rules whose
  text says 最高/不超过: the amount is only an upper bound);
* what cannot be decided (status ``undecided``) — counted separately, never as zero, with
  the missing fields ranked by the money at stake (each undecided subject's maximum
  possible amount where the rule caps it; otherwise counted as 金额待定);
* whether the funds suffice: rule fund caps (``Cap scope: fund``, per group and year) and
  an optional overall ``budget`` are allocated with a documented method
  (:mod:`huiqi.simulation.allocation`) showing demand, allocation and shortfall;
* for a reform (:mod:`huiqi.simulation.reform`): reform minus baseline per measure and
  district, and who wins or loses.

Scale: the engine's result rows are streamed in Arrow batches; each batch is reduced
right away (status counts per rule and area) and only the rows that matter afterwards
(granted and undecided) are kept, in a file-backed DuckDB database in a temporary
directory that spills to disk. Nothing holds the full (rules × population) table in
Python. Money is integer yuan throughout (BIGINT/HUGEINT); sums are exact.

This module drives the scenario runs; the pieces live beside it: engines in
:mod:`~huiqi.simulation.engine_run`, the analysis database in :mod:`~huiqi.simulation.store`,
fund pools in :mod:`~huiqi.simulation.pools`, the result and its queries in
:mod:`~huiqi.simulation.result`. Their public names are importable from here too.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb

from huiqi.errors import HuiqiError
from huiqi.evaluation.link import evaluation_for
from huiqi.evaluation.result import DEFAULT_STORE as DEFAULT_EVALUATIONS
from huiqi.registry.reader import RegistryView
from huiqi.rules.packs import RuleBase, load_packs
from huiqi.simulation.allocation import METHODS, Method, PoolResult
from huiqi.simulation.engine_run import ENGINES, EngineRun, Progress, run_engine
from huiqi.simulation.pools import allocate_pools
from huiqi.simulation.population import PopulationSource, applies_to_region, parse_source
from huiqi.simulation.reform import AppliedReform
from huiqi.simulation.result import (
    BASELINE,
    BUDGET_POOL,
    KEPT_STATUSES,
    NO_AREA,
    REFORM,
    SCENARIO_LABELS,
    STATUSES,
    ScenarioInfo,
    SimulationResult,
)
from huiqi.simulation.store import (
    AnalysisStore,
    default_memory_limit,
    load_enterprises,
    load_rule_table,
    selected_rules,
)

# The public names of the simulation, importable from here as before the split into modules.
__all__ = [
    "BASELINE",
    "BUDGET_POOL",
    "ENGINES",
    "KEPT_STATUSES",
    "NO_AREA",
    "REFORM",
    "SCENARIO_LABELS",
    "STATUSES",
    "EngineRun",
    "Progress",
    "ScenarioInfo",
    "SimulationResult",
    "run_engine",
    "simulate",
]


def simulate(
    population: str | Path,
    *,
    rulebase: RuleBase | None = None,
    dates: list[date] | None = None,
    engine: str = "duckdb",
    master: str | None = None,
    params: dict[str, str] | None = None,
    policies: list[str] | None = None,
    budget: int | None = None,
    allocation: str = "pro_rata",
    rank_by: str | None = None,
    reform: AppliedReform | None = None,
    progress: Progress | None = None,
    memory_limit: str | None = None,
    year: int | None = None,
    evaluation: str | Path | None = None,
    evaluation_store: str | Path | None = None,
) -> SimulationResult:
    """Run the population through the rules (and a reform), aggregate, allocate funds.

    The population is an enterprise registry (docs/registry.md): with a 年度 column, the
    rows of ``year`` (default: the latest) are read. Enterprises whose 亩均评价类别 is not
    in the registry take it from ``evaluation`` (a result file) or else from the latest
    evaluation of the year before each date in the ``evaluation_store`` (the CLI passes
    var/evaluations; None: no store), exactly as ``calc`` does for one enterprise;
    ``notes`` says which.

    The caller closes the result (``with simulate(...) as res:``) to drop the temporary database.
    """
    started = time.perf_counter()
    if allocation not in METHODS:
        raise HuiqiError(f"未知的分配方式 {allocation},可选 pro_rata(按比例)、rank(按排序)、first_come(先到先得)",
                         field="--allocation")
    if budget is not None and budget < 0:
        raise HuiqiError("预算不能为负数", field="--budget")
    method: Method = allocation  # type: ignore[assignment]
    src = parse_source(population)
    rb = rulebase or load_packs()
    dates = sorted(dates or [date.today()])
    years = [d.year for d in dates]
    if len(set(years)) != len(years):
        raise HuiqiError("每个年度只能给一个模拟日期(按年度汇总金额)", field="--date")
    scenarios = [ScenarioInfo(BASELINE, SCENARIO_LABELS[BASELINE], rb, dict(params or {}))]
    if reform is not None:
        scenarios.append(ScenarioInfo(REFORM, SCENARIO_LABELS[REFORM], reform.rulebase, reform.params))
    store = AnalysisStore(memory_limit or default_memory_limit())
    warnings: list[str] = []
    pools: list[PoolResult] = []
    timings: dict[str, float] = {}
    evaluations = 0
    engine_seconds = 0.0
    used_engine = engine
    try:
        t0 = time.perf_counter()
        ents, view = load_enterprises(store.con, src, rb, year)
        src = replace(src, year=view.year)
        notes = [_year_note(view, year)] if view.years else []
        sources: dict[date, PopulationSource] = {}
        for on in dates:
            found, note = (None, "") if evaluation_store is None and evaluation is None else \
                evaluation_for(on, evaluation_store or DEFAULT_EVALUATIONS, evaluation)
            sources[on] = replace(src, classes=found)
            if note and note not in notes:
                notes.append(note)
        timings["read_population"] = time.perf_counter() - t0
        warnings += _scope_warnings(store.con, rb, policies)
        load_rule_table(store.con, scenarios, policies)
        for s in scenarios:
            for on in dates:
                stage = f"{s.label} {on.isoformat()}"
                if progress is not None:
                    progress(f"{stage}:计算", 0, None)
                t1 = time.perf_counter()

                def engine_progress(message: str, done: int, total: int | None, st: str = stage) -> None:
                    if progress is not None:
                        progress(f"{st}:{message}", done, total)

                run = run_engine(s.rulebase, sources[on], on, engine=engine,
                                 params=s.params, policies=policies, master=master,
                                 progress=engine_progress if progress else None)
                used_engine = run.engine
                t2 = time.perf_counter()
                timings[f"engine {s.name} {on.year}"] = t2 - t1
                counted = [0]

                def tick(n: int, st: str = stage, c: list[int] = counted) -> None:
                    c[0] += n
                    if progress is not None:
                        progress(f"{st}:汇总结果行", c[0], None)

                store.consume(run, s.name, on.year, tick, [r.id for r in s.rulebase.rules if r.per_project])
                run.keepalive = run.relation = None  # the engine's temporary database can go now
                t3 = time.perf_counter()
                timings[f"consume {s.name} {on.year}"] = t3 - t2
                evaluations += run.rule_evaluations
                engine_seconds += run.seconds
                for w in run.warnings:
                    if w not in warnings:
                        warnings.append(w)
                if progress is not None:
                    progress(f"{stage}:资金分配", 0, None)
                pools += allocate_pools(store.con, s, on, method, budget, rank_by, sources[on], view.identity)
                timings[f"allocate {s.name} {on.year}"] = time.perf_counter() - t3
        warnings = _relevant_warnings(store.con, warnings, {r.id for sc in scenarios for r in sc.rulebase.rules})
        timings["total"] = time.perf_counter() - started
        return SimulationResult(
            con=store.con, population=src.text, dates=dates, engine=used_engine, scenarios=scenarios,
            allocation=method, budget=budget, pools=pools, warnings=warnings, rule_evaluations=evaluations,
            engine_seconds=engine_seconds, total_seconds=time.perf_counter() - started,
            enterprises=ents[0], population_rows=ents[1], reform=reform, workdir=store.workdir, timings=timings,
            notes=notes)
    except BaseException:
        store.con.close()
        shutil.rmtree(store.workdir, ignore_errors=True)
        raise


def _relevant_warnings(con: duckdb.DuckDBPyConnection, warnings: list[str], rule_ids: set[str]) -> list[str]:
    """Drop warnings about rules nobody in the population is in the area of (another city's missing columns)."""
    active = {r for (r,) in con.execute(
        "SELECT DISTINCT rule FROM counts WHERE status <> 'out_of_jurisdiction'").fetchall()}
    out: list[str] = []
    engine_said_area = any("适用地区" in w and not w.startswith("人口中的企业位于") for w in warnings)
    for w in warnings:
        if w.startswith("人口中的企业位于") and engine_said_area:
            continue  # the engine said the same in its own words
        named = set(re.findall(r"[a-z0-9_][a-z0-9_.\-]*[a-z0-9_]", w)) & rule_ids
        if named and not named & active:
            continue
        if w not in out:
            out.append(w)
    return out


def _year_note(view: RegistryView, asked: int | None) -> str:
    years = view.years
    span = f"名录含 {years[0]}–{years[-1]} 年度" if len(years) > 1 else f"名录只有 {years[0]} 年度"
    why = "--year 指定" if asked is not None else "名录中最新的年度"
    return f"读取名录 {view.year or years[-1]} 年度的数据({why};{span})"


def _scope_warnings(con: duckdb.DuckDBPyConnection, rb: RuleBase, policies: list[str] | None) -> list[str]:
    """A population from another city: say so instead of silently reporting zero."""
    places = con.execute("SELECT DISTINCT province, city, county FROM ents").fetchall()
    rules = selected_rules(rb, policies)
    if not rules:
        return ["所选政策没有任何规则"]
    hits = [r for r in rules if any(applies_to_region(r, *p) for p in places)]
    shown = "、".join(sorted({"".join(x for x in p[:3] if x) or "(未填地区)" for p in places})[:5])
    if not hits:
        where = "、".join(sorted({(r.jurisdiction.county or r.jurisdiction.city or r.jurisdiction.province or "全国")
                                 for r in rules}))
        return [f"人口中的企业位于 {shown},而所选规则只适用于 {where}:所有结果都是“不适用地区”,金额为0。"
                "请检查人口文件的城市,或用 --policy 选择对应城市的规则包"]
    return []
