"""Population engines: every rule of a rule base over a whole enterprise population, set-based.

```python
from huiqi.engines import run_population
res = run_population(rulebase, "population.parquet", on=date(2022, 9, 1))   # engine="duckdb" | "spark"
res.relation            # duckdb relation: one row per (rule, subject), columns in OUTPUT_COLUMNS
res.arrow()             # the same as a pyarrow.Table
res.rows, res.rule_evaluations, res.seconds, res.timings, res.warnings
```

The semantics are the single-enterprise calculator's (``huiqi.rules.calculator``), to the
yuan — see ``tests/test_engine_equivalence.py`` — with the population as the cohort of
rank/quota rules and no award history (stacking ``once``/``once_per_level`` only among
results of the same run). Fund caps are left to the simulation.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from huiqi.engines import duckdb_engine as dk
from huiqi.engines.compile import OUTPUT_COLUMNS, REGION_COLUMNS, CompiledSql, RuleInfo, compile_rulebase_sql
from huiqi.engines.population import Population, PopulationSource, open_population
from huiqi.errors import InputError
from huiqi.rules.calculator import plan_for

__all__ = ["ENGINES", "OUTPUT_COLUMNS", "EngineSpec", "PopulationResult", "run_population"]

Engine = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class RunOptions:
    """What ``run_population`` passes on to an engine's executor."""

    master: str | None
    progress: Callable[[str], None]
    single_statement: bool
    store: Literal["table", "view"]


Executor = Callable[[CompiledSql, Population, "dk.Workspace", RunOptions], tuple[str, str, dict[str, float]]]


@dataclass(frozen=True)
class EngineSpec:
    """A population engine: the SQL dialect it runs and its executor.

    ``reads_source``: the compiled SQL reads the source file through a narrow typed SELECT
    and the summary tables of the DuckDB connection (the DuckDB engine), instead of the
    view ``population`` copied to the engine (Spark).
    """

    dialect: Literal["duckdb", "spark"]
    execute: Executor
    reads_source: bool


def _execute_duckdb(compiled: CompiledSql, pop: Population, workspace: dk.Workspace,
                    options: RunOptions) -> tuple[str, str, dict[str, float]]:
    return dk.execute(compiled, pop, workspace, progress=options.progress,
                      single_statement=options.single_statement, store=options.store)


def _execute_spark(compiled: CompiledSql, pop: Population, workspace: dk.Workspace,
                   options: RunOptions) -> tuple[str, str, dict[str, float]]:
    from huiqi.engines import spark_engine  # pyspark is optional

    return spark_engine.execute(compiled, pop, workspace, master=options.master, progress=options.progress)


# The registry of engines: adding one is one entry here (and its executor module).
ENGINES: dict[str, EngineSpec] = {
    "duckdb": EngineSpec("duckdb", _execute_duckdb, reads_source=True),
    "spark": EngineSpec("spark", _execute_spark, reads_source=False),
}


@dataclass
class PopulationResult:
    """Results of one population run (one row per rule and subject, plus pack leads)."""

    relation: duckdb.DuckDBPyRelation
    con: duckdb.DuckDBPyConnection
    engine: str
    on: date
    rows: int  # population rows read (enterprise × project rows)
    enterprises: int
    rule_evaluations: int  # result rows of rules (rows × applicable rules), leads excluded
    seconds: float
    timings: dict[str, float]
    warnings: list[str]
    rules: list[RuleInfo]
    leads: list[RuleInfo]
    compiled: CompiledSql
    table: str = "results"  # the view with the contract columns
    core: str = "results_core"  # the stored compact rows
    extras: dict[str, Any] = field(default_factory=dict)

    def arrow(self) -> pa.Table:
        return self.relation.to_arrow_table()

    def batches(self, batch_size: int = 1 << 19) -> pa.RecordBatchReader:
        """The results streamed as Arrow record batches (for results too large for one table)."""
        return self.relation.to_arrow_reader(batch_size)

    def close(self) -> None:
        """Release the DuckDB connection and the work directory now (also done when collected)."""
        finalizer = self.extras.get("finalizer")
        if finalizer is not None:
            finalizer()

    def __enter__(self) -> PopulationResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status_counts(self) -> dict[str, int]:
        from huiqi.engines.compile import STATUSES

        return {STATUSES[int(s)]: int(n) for s, n in self.con.execute(
            f"SELECT sc, count(*) FROM {self.core} GROUP BY sc ORDER BY sc").fetchall()}

    def write_parquet(self, path: str | Path) -> Path:
        """All results as one Parquet file (contract columns)."""
        out = Path(path)
        self.con.execute(f"COPY (SELECT * FROM {self.table}) TO '{str(out).replace(chr(39), chr(39) * 2)}' "
                         "(FORMAT parquet)")
        return out

    @property
    def evaluations_per_second(self) -> float:
        run = self.timings.get("execute", self.seconds)
        return self.rule_evaluations / run if run > 0 else 0.0


def run_population(
    rulebase: Any,
    population: PopulationSource | Population,
    on: date,
    engine: Engine = "duckdb",
    params: Mapping[str, str] | None = None,
    policies: Sequence[str] | None = None,
    master: str | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    layout: Literal["wide", "per_rule"] = "wide",
    single_statement: bool = False,
    store: Literal["table", "view"] = "table",
    memory_limit: str | None = None,
    threads: int | None = None,
    workdir: str | Path | None = None,
) -> PopulationResult:
    """Evaluate every rule of ``rulebase`` (or the ``policies`` selected) for every row of ``population``.

    ``population``: a file path / ``duckdb:PATH::TABLE`` / ``sqlite:PATH::TABLE`` spec,
    a ``pyarrow.Table``, or an already opened :class:`Population`. ``params`` overrides
    parameters (``{"lpr_1y": "3.45%"}``). ``engine="spark"`` runs the same SQL on Spark
    (``master`` = cluster URL; default local mode). ``progress`` receives Chinese
    progress messages. ``store="view"`` (DuckDB only) keeps no results: ``relation`` is
    computed anew by each query, for a single aggregate over a very large population.
    """
    started = time.perf_counter()
    say = progress or (lambda _m: None)
    workspace = dk.Workspace(workdir)
    con: duckdb.DuckDBPyConnection | None = None
    try:
        if isinstance(population, Population):
            pop = population
            con = pop.con
        else:
            con = dk.connect(workspace, memory_limit, threads)
            say("读取并检查企业名录")
            t = time.perf_counter()
            pop = open_population(population, con=con, fields=getattr(rulebase, "fields", None))
            open_seconds = time.perf_counter() - t
        timings: dict[str, float] = {}
        if not isinstance(population, Population):
            timings["open"] = open_seconds
        spec = ENGINES.get(engine)
        if spec is None:
            raise InputError(f"未知的计算引擎 {engine}", hint="可用:" + "、".join(ENGINES))
        t = time.perf_counter()
        dk.summarize(pop)
        timings["summary"] = time.perf_counter() - t
        t = time.perf_counter()
        compiled = compile_rulebase_sql(rulebase, on, spec.dialect, params=params, policies=policies,
                                        columns=pop.columns, has_projects=pop.has_projects,
                                        relation=pop.select_sql if spec.reads_source else None, layout=layout,
                                        regions=dk.REGIONS_TABLE if spec.reads_source else None)
        timings["compile"] = time.perf_counter() - t
        warnings = [*pop.warnings, *_column_warnings(rulebase, compiled), *_region_warnings(rulebase, pop, compiled)]
        options = RunOptions(master, say, single_statement, store)
        table, core, run_timings = spec.execute(compiled, pop, workspace, options)
        timings.update(run_timings)
        enterprises = _enterprises(pop)
        if spec.reads_source and (store == "view" or (compiled.staged is not None and not single_statement)):
            # Counting the rows would compute the out-of-area rows (or every rule) once more.
            evaluations = _expected_evaluations(pop, compiled, enterprises)
        else:
            evaluations = int(pop.con.execute(
                f"SELECT count(*) FILTER (WHERE ri < {len(plan_for(rulebase).rules)}) FROM {core}").fetchall()[0][0])
        result = PopulationResult(
            relation=pop.con.table(table), con=pop.con, engine=engine, on=on, rows=pop.rows,
            enterprises=enterprises, rule_evaluations=evaluations,
            seconds=time.perf_counter() - started, timings=timings, warnings=warnings,
            rules=compiled.rules, leads=compiled.leads, compiled=compiled, table=table, core=core,
            extras={"population": pop})
    except BaseException:
        if con is not None and not isinstance(population, Population):
            con.close()
        workspace.cleanup()
        raise
    # The connection lives as long as the result; a caller's own Population keeps its own.
    result.extras["finalizer"] = dk.keep_alive(result, workspace,
                                               None if isinstance(population, Population) else pop.con)
    return result


def _expected_evaluations(pop: Population, compiled: CompiledSql, enterprises: int) -> int:
    """Result rows of rules without computing them: one per enterprise for an enterprise
    rule; one per project row, or one per enterprise without projects, for a project rule."""
    per_project = sum(1 for r in compiled.rules if r.per_project)
    enterprise_rules = len(compiled.rules) - per_project
    if not pop.has_projects:
        return enterprises * len(compiled.rules)
    without = int(pop.con.execute(
        f"SELECT count(*) FROM {dk.KEYS_TABLE} WHERE project_id IS NULL").fetchall()[0][0])
    return enterprise_rules * enterprises + per_project * (pop.project_rows + without)


def _enterprises(pop: Population) -> int:
    if not pop.has_projects:
        return pop.rows
    return int(pop.con.execute(f"SELECT count(*) FROM {dk.KEYS_TABLE}").fetchall()[0][0])


def _column_warnings(rulebase: Any, compiled: CompiledSql) -> list[str]:
    registry = getattr(rulebase, "fields", None)
    out = []
    for col, rules in sorted(compiled.missing_columns.items()):
        label = registry.label(col) if registry is not None else col
        shown = "、".join(rules[:5]) + (f" 等{len(rules)}条" if len(rules) > 5 else "")
        out.append(f"企业名录缺少列 {col}({label}):规则 {shown} 需要它,将视为未知(无法判定)")
    return out


def _region_warnings(rulebase: Any, pop: Population, compiled: CompiledSql) -> list[str]:
    """All enterprises outside every rule's area (a Binzhou population against Linhai rules …)."""
    from huiqi.rules.calculator import jurisdiction_status, plan_for

    if pop.rows == 0:
        return []
    columns = ", ".join(REGION_COLUMNS)
    regions = [dict(zip(REGION_COLUMNS, r, strict=True)) for r in pop.con.execute(
        f"SELECT {columns} FROM {dk.REGIONS_TABLE} ORDER BY n DESC LIMIT 1001").fetchall()]
    if len(regions) > 1000:
        return []
    plan = plan_for(rulebase)
    wanted = {info.index for info in compiled.rules}
    rules = [pr for pr in plan.rules if pr.index in wanted]
    if not rules:
        return []
    for region in regions:
        view = {k: v for k, v in region.items() if v}
        if any(jurisdiction_status(pr, view)[0] != "out_of_jurisdiction" for pr in rules):
            return []
    places: Counter[str] = Counter()
    for region in regions:
        places["".join(v for v in (region.get("province"), region.get("city"), region.get("county")) if v) or "未知"] += 1
    areas = []
    for pr in rules:
        for j in pr.jurisdictions:
            text = "".join(x for x in (j.province, j.city, j.county) if x)
            if text and text not in areas:
                areas.append(text)
    return [f"企业名录中的企业所在地({'、'.join(list(places)[:5])})不在任何规则的适用地区内"
            f"(规则适用于:{'、'.join(areas[:8])}),全部结果均为 out_of_jurisdiction"]
