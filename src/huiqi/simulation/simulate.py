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
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from huiqi.engines.sources import SourceSpec
from huiqi.errors import HuiqiError, InputError
from huiqi.evaluation.link import evaluation_for
from huiqi.evaluation.result import DEFAULT_STORE as DEFAULT_EVALUATIONS
from huiqi.fsutil import make_temp_dir
from huiqi.registry.reader import RegistryView, open_registry
from huiqi.rules.packs import CompiledRule, RuleBase, load_packs
from huiqi.simulation.allocation import METHODS, Method, PoolResult, allocate_sql
from huiqi.simulation.population import (
    PopulationSource,
    applies_to_region,
    parse_source,
    read_population,
)
from huiqi.simulation.reform import AppliedReform

__all__ = [
    "ENGINES",
    "EngineRun",
    "SimulationResult",
    "run_engine",
    "simulate",
]

BASELINE, REFORM = "baseline", "reform"
SCENARIO_LABELS = {BASELINE: "现行政策", REFORM: "改革方案"}
KEPT_STATUSES = ("granted", "undecided")
STATUSES = ("granted", "undecided", "not_eligible", "stacked_out", "not_in_force", "out_of_jurisdiction", "lead")
BUDGET_POOL = "__budget__"
NO_AREA = "(未填地区)"

# stage, done, total (None = unknown)
Progress = Callable[[str, int, int | None], None]


# -- engines ------------------------------------------------------------------------------------


@dataclass
class EngineRun:
    """One engine run, whatever engine: its results plus the figures a benchmark prints.

    ``relation`` is set when the engine answers with a DuckDB relation: the reductions
    then run inside the engine's own connection (no conversion of the full result to
    Arrow); otherwise ``batches`` streams Arrow record batches.
    """

    engine: str
    batches: Iterator[pa.RecordBatch]
    warnings: list[str]
    rule_evaluations: int
    seconds: float
    rows: int | None = None
    keepalive: Any = None  # the engine's result object (its connection must outlive the batches)
    relation: Any = None


def _engine_batches(result: Any, batch_size: int = 1 << 19) -> Iterator[pa.RecordBatch]:
    """Arrow batches of an engine's results, streamed (the per-row result is one table)."""
    stream = getattr(result, "batches", None)
    if callable(stream):
        yield from stream(batch_size)
        return
    yield from result.arrow().to_batches(max_chunksize=batch_size)


def _run_set_based(rulebase: RuleBase, population: str | Path | SourceSpec, on: date, engine: str,
                   params: dict[str, str] | None, policies: list[str] | None, master: str | None,
                   progress: Progress | None) -> EngineRun:
    """The DuckDB or Spark engine (huiqi.engines), results streamed as Arrow batches."""
    from huiqi.engines import run_population

    kwargs: dict[str, Any] = {"engine": engine, "params": params or None, "policies": policies}
    if master:
        kwargs["master"] = master
    if progress is not None:
        # The set-based engines report progress as Chinese messages, not counts.
        kwargs["progress"] = lambda message: progress(str(message), 0, None)
    result = run_population(rulebase, population if isinstance(population, SourceSpec) else str(population),
                            on, **kwargs)
    return EngineRun(engine, _engine_batches(result), list(result.warnings), result.rule_evaluations,
                     result.seconds, result.rows, result, result.relation)


def _run_per_row(rulebase: RuleBase, population: str | Path | SourceSpec, on: date, engine: str,
                 params: dict[str, str] | None, policies: list[str] | None, master: str | None,
                 progress: Progress | None) -> EngineRun:
    """The single-case calculator in a loop (the reference; slow)."""
    from huiqi.simulation.per_row import run_per_row

    res = run_per_row(rulebase, population, on, params=params, policies=policies,
                      progress=(lambda d, t: progress("逐行计算", d, t)) if progress is not None else None)
    return EngineRun("per_row", _engine_batches(res), list(res.warnings), res.rule_evaluations,
                     res.seconds, res.rows, res)


# The registry of simulation engines (name → runner); the CLI's --engine choices come from it.
ENGINES: dict[str, Callable[..., EngineRun]] = {
    "duckdb": _run_set_based,
    "spark": _run_set_based,
    "per_row": _run_per_row,
}


def run_engine(rulebase: RuleBase, population: str | Path | SourceSpec, on: date, *, engine: str = "duckdb",
               params: dict[str, str] | None = None, policies: list[str] | None = None,
               master: str | None = None, progress: Progress | None = None) -> EngineRun:
    """Run one engine once. ``per_row`` is the single-case calculator in a loop (reference, slow)."""
    runner = ENGINES.get(engine)
    if runner is None:
        raise HuiqiError(f"未知的引擎 {engine},可选 {'、'.join(ENGINES)}", field="--engine")
    return runner(rulebase, population, on, engine, params, policies, master, progress)


# -- results ------------------------------------------------------------------------------------


@dataclass
class ScenarioInfo:
    name: str
    label: str
    rulebase: RuleBase
    params: dict[str, str]


@dataclass
class SimulationResult:
    """Everything a report needs; the detail lives in DuckDB (``con``), summaries come as dicts."""

    con: duckdb.DuckDBPyConnection
    population: str
    dates: list[date]
    engine: str
    scenarios: list[ScenarioInfo]
    allocation: str
    budget: int | None
    pools: list[PoolResult]
    warnings: list[str]
    rule_evaluations: int
    engine_seconds: float
    total_seconds: float
    enterprises: int
    population_rows: int
    reform: AppliedReform | None = None
    workdir: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # the registry year read, where 亩均 classes came from

    # -- lifecycle

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SimulationResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def has_reform(self) -> bool:
        return any(s.name == REFORM for s in self.scenarios)

    @property
    def years(self) -> list[int]:
        return [d.year for d in self.dates]

    # -- queries

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [{k: _py(v) for k, v in zip(names, row, strict=True)} for row in cur.fetchall()]

    def totals(self, scenario: str = BASELINE) -> dict[str, Any]:
        row = self.rows(f"""
            SELECT count(*) FILTER (WHERE status = 'granted') AS granted_subjects,
                   count(DISTINCT id) FILTER (WHERE status = 'granted') AS granted_enterprises,
                   {_MONEY_AGG}
                   count(*) FILTER (WHERE status = 'undecided') AS undecided_subjects,
                   count(DISTINCT id) FILTER (WHERE status = 'undecided') AS undecided_enterprises
            FROM detail WHERE scenario = ?""", [scenario])[0]
        stake = self.rows("""
            SELECT coalesce(sum(r.static_max), 0) AS at_stake,
                   count(*) FILTER (WHERE r.static_max IS NULL AND r.monetary) AS pending
            FROM detail d JOIN rules r ON r.scenario = d.scenario AND r.rule = d.rule
            WHERE d.scenario = ? AND d.status = 'undecided'""", [scenario])[0]
        row.update(stake)
        return row

    def by_rule(self, scenario: str = BASELINE) -> list[dict[str, Any]]:
        """Per measure: counts by status, exact amounts, ceilings, allocation, money undecided."""
        return self.rows(f"""
            WITH c AS (
                SELECT rule,
                       sum(n) FILTER (WHERE status = 'not_eligible') AS not_eligible,
                       sum(n) FILTER (WHERE status = 'stacked_out') AS stacked_out,
                       sum(n) FILTER (WHERE status = 'out_of_jurisdiction') AS out_of_jurisdiction,
                       sum(n) FILTER (WHERE status = 'not_in_force') AS not_in_force,
                       sum(n) FILTER (WHERE status = 'lead') AS lead,
                       sum(n) AS subjects
                FROM counts WHERE scenario = ? GROUP BY rule),
            d AS (
                SELECT rule,
                       count(*) FILTER (WHERE status = 'granted') AS granted_subjects,
                       count(DISTINCT id) FILTER (WHERE status = 'granted') AS granted_enterprises,
                       {_MONEY_AGG}
                       count(*) FILTER (WHERE status = 'undecided') AS undecided_subjects
                FROM detail WHERE scenario = ? GROUP BY rule)
            SELECT r.rule, r.title, r.department, r.kind, r.clause, r.document, r.monetary, r.fund_group,
                   r.static_max,
                   coalesce(d.granted_subjects, 0) AS granted_subjects,
                   coalesce(d.granted_enterprises, 0) AS granted_enterprises,
                   coalesce(d.exact, 0) AS exact, coalesce(d.ceiling, 0) AS ceiling,
                   coalesce(d.ceiling_subjects, 0) AS ceiling_subjects,
                   coalesce(d.allocated, 0) AS allocated,
                   coalesce(d.undecided_subjects, 0) AS undecided_subjects,
                   CASE WHEN r.static_max IS NULL THEN NULL
                        ELSE coalesce(d.undecided_subjects, 0) * r.static_max END AS undecided_at_stake,
                   coalesce(c.not_eligible, 0) AS not_eligible, coalesce(c.stacked_out, 0) AS stacked_out,
                   coalesce(c.out_of_jurisdiction, 0) AS out_of_jurisdiction,
                   coalesce(c.not_in_force, 0) AS not_in_force, coalesce(c.lead, 0) AS lead,
                   coalesce(c.subjects, 0) AS subjects
            FROM rules r LEFT JOIN c USING (rule) LEFT JOIN d USING (rule)
            WHERE r.scenario = ?
            ORDER BY coalesce(d.exact, 0) + coalesce(d.ceiling, 0) DESC, coalesce(d.granted_subjects, 0) DESC,
                     r.position""", [scenario, scenario, scenario])

    def by_group(self, key: Literal["department", "area", "year"], scenario: str = BASELINE) -> list[dict[str, Any]]:
        """Per department (first responsible unit), district (区县/街道/开发区) or year."""
        col = {"department": "r.department", "area": f"coalesce(e.area, '{NO_AREA}')", "year": "d.year"}[key]
        # The area is the enterprise's (from the population), joined here rather than stored per result.
        join = "LEFT JOIN ents e ON e.id = d.id" if key == "area" else ""
        return self.rows(f"""
            SELECT {col} AS {key},
                   count(*) FILTER (WHERE d.status = 'granted') AS granted_subjects,
                   count(DISTINCT d.id) FILTER (WHERE d.status = 'granted') AS granted_enterprises,
                   {_money_agg("d")}
                   count(*) FILTER (WHERE d.status = 'undecided') AS undecided_subjects,
                   coalesce(sum(r.static_max) FILTER (WHERE d.status = 'undecided'), 0) AS undecided_at_stake
            FROM detail d JOIN rules r ON r.scenario = d.scenario AND r.rule = d.rule {join}
            WHERE d.scenario = ?
            GROUP BY 1 ORDER BY exact + ceiling DESC, 1""", [scenario])

    def undecided_fields(self, scenario: str = BASELINE, limit: int = 10) -> list[dict[str, Any]]:
        """Missing fields ranked by the money they hold up (a subject missing two fields counts under both)."""
        rows = self.rows("""
            WITH u AS (SELECT d.id, d.rule, unnest(d.missing) AS field, r.static_max, r.monetary
                       FROM detail d JOIN rules r ON r.scenario = d.scenario AND r.rule = d.rule
                       WHERE d.scenario = ? AND d.status = 'undecided')
            SELECT field, count(*) AS subjects, count(DISTINCT id) AS enterprises,
                   coalesce(sum(static_max), 0) AS at_stake,
                   count(*) FILTER (WHERE static_max IS NULL AND monetary) AS pending,
                   string_agg(DISTINCT rule, '、' ORDER BY rule) AS rules
            FROM u GROUP BY field ORDER BY at_stake DESC, subjects DESC, field LIMIT ?""", [scenario, limit])
        labels = self.scenarios[0].rulebase.labels()
        for r in rows:
            r["label"] = labels.get(r["field"], _region_label(r["field"]))
        return rows

    def pools_for(self, scenario: str) -> list[PoolResult]:
        return [p for p in self.pools if p.scenario == scenario]

    # -- reform comparison

    def compare_by(self, key: Literal["rule", "area"]) -> list[dict[str, Any]]:
        """Reform minus baseline per measure or district (allocated money and granted subjects)."""
        col = "d.rule" if key == "rule" else f"coalesce(e.area, '{NO_AREA}')"
        join = "LEFT JOIN ents e ON e.id = d.id" if key == "area" else ""
        rows = self.rows(f"""
            WITH a AS (
                SELECT d.scenario, {col} AS k,
                       count(*) FILTER (WHERE d.status = 'granted') AS granted,
                       coalesce(sum(d.allocated) FILTER (WHERE d.status = 'granted'), 0) AS allocated,
                       count(*) FILTER (WHERE d.status = 'undecided') AS undecided
                FROM detail d {join} GROUP BY ALL),
            keys AS (SELECT DISTINCT k FROM a)
            SELECT keys.k AS {key},
                   coalesce(b.granted, 0) AS base_granted, coalesce(r.granted, 0) AS reform_granted,
                   coalesce(b.allocated, 0) AS base_amount, coalesce(r.allocated, 0) AS reform_amount,
                   coalesce(r.allocated, 0) - coalesce(b.allocated, 0) AS delta,
                   coalesce(b.undecided, 0) AS base_undecided, coalesce(r.undecided, 0) AS reform_undecided
            FROM keys LEFT JOIN a b ON b.k = keys.k AND b.scenario = '{BASELINE}'
                      LEFT JOIN a r ON r.k = keys.k AND r.scenario = '{REFORM}'
            ORDER BY abs(delta) DESC, reform_amount DESC, 1""")
        if key == "rule":
            titles = {r.id: r.title for s in self.scenarios for r in s.rulebase.rules}
            for row in rows:
                row["title"] = titles.get(row["rule"], row["rule"])
        return rows

    def winners_losers(self, limit: int = 10) -> dict[str, Any]:
        """Enterprises whose total (allocated, incl. ceilings) changes: counts and the top ``limit`` each way."""
        self._ensure_enterprise_totals()
        counts = self.rows("""
            SELECT count(*) FILTER (WHERE delta > 0) AS winners, count(*) FILTER (WHERE delta < 0) AS losers,
                   count(*) FILTER (WHERE delta = 0) AS unchanged_with_support,
                   coalesce(sum(delta) FILTER (WHERE delta > 0), 0) AS gained,
                   coalesce(sum(delta) FILTER (WHERE delta < 0), 0) AS lost
            FROM ent_delta""")[0]
        top = """SELECT t.id, e.name, e.area, t.base_total, t.reform_total, t.delta
                 FROM ent_delta t LEFT JOIN ents e USING (id) WHERE {w} ORDER BY {o} LIMIT ?"""
        counts["top_winners"] = self.rows(top.format(w="delta > 0", o="delta DESC, t.id"), [limit])
        counts["top_losers"] = self.rows(top.format(w="delta < 0", o="delta ASC, t.id"), [limit])
        return counts

    def _ensure_enterprise_totals(self) -> None:
        self.con.execute(f"""
            CREATE TABLE IF NOT EXISTS ent_delta AS
            SELECT id,
                   coalesce(sum(allocated) FILTER (WHERE scenario = '{BASELINE}' AND status = 'granted'), 0) AS base_total,
                   coalesce(sum(allocated) FILTER (WHERE scenario = '{REFORM}' AND status = 'granted'), 0) AS reform_total,
                   reform_total - base_total AS delta
            FROM detail GROUP BY id""")

    def enterprise_relation(self) -> duckdb.DuckDBPyRelation:
        """One row per enterprise of the population: totals per scenario (exact, ceiling, allocated)."""
        parts = []
        for s in self.scenarios:
            p = "" if s.name == BASELINE else "reform_"
            parts.append(f"""
                coalesce(sum(d.amount) FILTER (WHERE d.scenario = '{s.name}' AND d.status = 'granted'
                                                 AND NOT d.upper_bound), 0) AS {p}exact,
                coalesce(sum(d.amount) FILTER (WHERE d.scenario = '{s.name}' AND d.status = 'granted'
                                                 AND d.upper_bound), 0) AS {p}ceiling,
                coalesce(sum(d.allocated) FILTER (WHERE d.scenario = '{s.name}' AND d.status = 'granted'), 0)
                    AS {p}allocated,
                count(d.rule) FILTER (WHERE d.scenario = '{s.name}' AND d.status = 'granted') AS {p}granted_measures,
                count(d.rule) FILTER (WHERE d.scenario = '{s.name}' AND d.status = 'undecided') AS {p}undecided_measures""")
        delta = ", reform_allocated - allocated AS delta" if self.has_reform else ""
        return self.con.sql(f"""
            SELECT * {delta} FROM (
                SELECT e.id, e.name, e.province, e.city, e.county, e.district, {",".join(parts)}
                FROM ents e LEFT JOIN detail d ON d.id = e.id
                GROUP BY ALL) ORDER BY id""")

    def detail_relation(self) -> duckdb.DuckDBPyRelation:
        """Granted and undecided results per (scenario, year, rule, subject), with the allocation."""
        return self.con.sql(f"""
            SELECT d.scenario, d.year, d.id, e.name, d.project_id, d.rule, r.title, r.department,
                   coalesce(e.area, '{NO_AREA}') AS area,
                   d.status, d.amount, d.upper_bound, d.allocated, array_to_string(d.missing, ',') AS missing
            FROM detail d JOIN rules r ON r.scenario = d.scenario AND r.rule = d.rule
            LEFT JOIN ents e ON e.id = d.id
            ORDER BY d.scenario, d.year, d.id, d.project_id NULLS FIRST, d.rule""")


def _money_agg(t: str = "") -> str:
    """Money aggregates over ``detail`` (exact vs ceiling; allocation after funds); ``t`` = table alias."""
    p = f"{t}." if t else ""
    return f"""
    coalesce(sum({p}amount) FILTER (WHERE {p}status = 'granted' AND NOT {p}upper_bound), 0) AS exact,
    coalesce(sum({p}amount) FILTER (WHERE {p}status = 'granted' AND {p}upper_bound), 0) AS ceiling,
    count(*) FILTER (WHERE {p}status = 'granted' AND {p}upper_bound) AS ceiling_subjects,
    coalesce(sum({p}allocated) FILTER (WHERE {p}status = 'granted'), 0) AS allocated,
"""


_MONEY_AGG = _money_agg()


def _py(value: Any) -> Any:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _region_label(path: str) -> str:
    return {"region.district": "所在区(开发区、园区)", "region.county": "所在县(市、区)",
            "region.city": "所在城市", "region.province": "所在省份"}.get(path, path)


# -- the simulation ---------------------------------------------------------------------------------


def _rule_money_cap(rule: CompiledRule, scope: str, params: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(group, integer yuan, label) of the rule's caps with this scope (the amount is usually a constant)."""
    out = []
    for cap in rule.caps:
        if cap.scope != scope or not cap.group:
            continue
        value = cap.amount.evaluate(params).value
        if not isinstance(value, Decimal):
            raise HuiqiError(f"规则 {rule.id} 的资金上限「{cap.cap.amount}」无法确定金额", field="caps")
        out.append((cap.group, int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), cap.cap.label or cap.group))
    return out


def _param_env(rulebase: RuleBase, on: date, overrides: dict[str, str]) -> dict[str, Any]:
    values = rulebase.params.with_overrides(overrides).values(on)
    return {f"param.{k}": v for k, v in values.items() if v is not None}


def _selected_rules(rulebase: RuleBase, policies: list[str] | None) -> list[CompiledRule]:
    chosen = rulebase.select(policies)
    return [r for r in rulebase.rules if chosen.has_rule(r.id)]


def _static_max(rulebase: RuleBase) -> dict[str, int | None]:
    from huiqi.rules.calculator import plan_for

    out: dict[str, int | None] = {}
    for pr in plan_for(rulebase).rules:
        sm = pr.static_max
        out[pr.rule.id] = None if sm is None else int(sm.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return out


class _Store:
    """The analysis database (DuckDB spilling to a temporary directory, thrown away with the result)."""

    def __init__(self, memory_limit: str | None) -> None:
        # Named after our pid: a killed run's directory is removed by the next run (huiqi.fsutil).
        self.workdir = make_temp_dir("sim")
        # In-memory (fast inserts) but allowed to spill to the temporary directory beyond memory_limit.
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET temp_directory = '{self.workdir / 'spill'}'")
        self.con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("""
            CREATE TABLE detail (scenario VARCHAR, year INTEGER, id VARCHAR, project_id VARCHAR,
                                 rule VARCHAR, status VARCHAR, amount BIGINT, upper_bound BOOLEAN,
                                 missing VARCHAR[], allocated BIGINT)""")
        self.con.execute("""
            CREATE TABLE counts (scenario VARCHAR, year INTEGER, rule VARCHAR, status VARCHAR,
                                 n BIGINT, amount HUGEINT)""")
        self.con.execute("CREATE TABLE alloc_out (rid BIGINT, allocated BIGINT)")

    def consume(self, run: EngineRun, scenario: str, year: int, tick: Callable[[int], None] | None,
                project_rules: list[str]) -> int:
        """Reduce the engine's results: counts per (rule, status); keep granted/undecided rows."""
        self.con.execute("CREATE OR REPLACE TABLE project_rules (rule VARCHAR)")
        if project_rules:
            self.con.executemany("INSERT INTO project_rules VALUES (?)", [[r] for r in project_rules])
        if run.relation is not None:
            return self._consume_relation(run.relation, scenario, year, tick, project_rules)
        total = 0
        for batch in run.batches:
            if batch.num_rows == 0:
                continue
            self.con.register("engine_results", batch)
            try:
                counts_sql, detail_sql = _reduce_sql(set(batch.schema.names))
                self._insert_counts(self.con.sql(counts_sql).to_arrow_table(), scenario, year)
                self._insert_detail(self.con.sql(detail_sql).to_arrow_table(), scenario, year)
            finally:
                self.con.unregister("engine_results")
            total += batch.num_rows
            if tick is not None:
                tick(batch.num_rows)
        return total

    def _consume_relation(self, rel: Any, scenario: str, year: int, tick: Callable[[int], None] | None,
                          project_rules: list[str]) -> int:
        # Two passes inside the engine's connection: a tiny aggregate, then only the rows kept.
        counts_sql, detail_sql = _reduce_sql(set(rel.columns))
        if "beneficiary" not in rel.columns:
            listed = ", ".join("('" + r.replace("'", "''") + "')" for r in project_rules) or "(NULL)"
            detail_sql = detail_sql.replace("SELECT rule FROM project_rules", f"SELECT * FROM (VALUES {listed})")
        counts = rel.query("engine_results", counts_sql).to_arrow_table()
        self._insert_counts(counts, scenario, year)
        reader = rel.query("engine_results", detail_sql).to_arrow_reader(1 << 19)
        for batch in reader:
            self._insert_detail(batch, scenario, year)
            if tick is not None:
                tick(batch.num_rows)
        return int(pc.sum(counts.column("n")).as_py() or 0) if counts.num_rows else 0

    def _insert_counts(self, counts: pa.Table, scenario: str, year: int) -> None:
        self.con.register("engine_counts", counts)
        try:
            self.con.execute("""
                INSERT INTO counts
                SELECT ?, ?, rule, status, sum(n), sum(amount) FROM engine_counts
                WHERE NOT (no_project AND rule IN (SELECT rule FROM project_rules))
                GROUP BY rule, status""", [scenario, year])
        finally:
            self.con.unregister("engine_counts")

    def _insert_detail(self, batch: pa.RecordBatch | pa.Table, scenario: str, year: int) -> None:
        if batch.num_rows == 0:
            return
        self.con.register("engine_kept", batch)
        try:
            self.con.execute("""
                INSERT INTO detail
                SELECT ?, ?, id, project_id, rule, status, amount, upper_bound, missing,
                       CASE WHEN status = 'granted' THEN amount END
                FROM engine_kept""", [scenario, year])
        finally:
            self.con.unregister("engine_kept")


def _reduce_sql(names: set[str]) -> tuple[str, str]:
    """(counts query, kept-rows query) over a relation named ``engine_results`` with the contract's columns.

    Both read as few columns as possible: fetching a column of scattered rows from the engine's
    result table is what costs time at scale. The area (区/县) comes from the population instead.
    A project rule has no subject in an enterprise without any project (``project_id`` NULL means
    "no project" in a population, not "project unknown"): such rows, if an engine emits them, are
    left out, so "cannot decide" counts only real unknowns.
    """
    missing = [c for c in ("id", "project_id", "rule", "status", "amount", "upper_bound") if c not in names]
    if missing:
        raise HuiqiError("引擎结果缺少列 " + "、".join(missing) + "(与 docs/simulation-contract.md 不符)")
    miss = "missing" if "missing" in names else "CAST(NULL AS VARCHAR[])"
    counts = """SELECT CAST(rule AS VARCHAR) AS rule, CAST(status AS VARCHAR) AS status,
                       project_id IS NULL AS no_project, count(*) AS n, sum(amount) AS amount
                FROM engine_results GROUP BY ALL"""
    subject = "(project_id IS NOT NULL OR coalesce(beneficiary, '') <> 'project')" if "beneficiary" in names \
        else "(project_id IS NOT NULL OR CAST(rule AS VARCHAR) NOT IN (SELECT rule FROM project_rules))"
    detail = f"""SELECT id, project_id, CAST(rule AS VARCHAR) AS rule, CAST(status AS VARCHAR) AS status, amount,
                        coalesce(upper_bound, false) AS upper_bound,
                        CASE WHEN status = 'undecided' THEN {miss} END AS missing
                 FROM engine_results WHERE status IN ('granted', 'undecided') AND {subject}"""
    return counts, detail


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
    store = _Store(memory_limit or _default_memory_limit())
    warnings: list[str] = []
    pools: list[PoolResult] = []
    timings: dict[str, float] = {}
    evaluations = 0
    engine_seconds = 0.0
    used_engine = engine
    try:
        t0 = time.perf_counter()
        ents, view = _load_enterprises(store.con, src, rb, year)
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
        _load_rules(store.con, scenarios, policies)
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
                pools += _allocate_pools(store.con, s, on, method, budget, rank_by, sources[on], view.identity)
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


def _default_memory_limit() -> str:
    """Half of the machine's memory (DuckDB spills the rest to the temporary directory)."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return f"{max(1, pages // 2 // (1 << 30))}GB"
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return "4GB"


def _load_rules(con: duckdb.DuckDBPyConnection, scenarios: list[ScenarioInfo], policies: list[str] | None) -> None:
    rows = []
    for s in scenarios:
        static = _static_max(s.rulebase)
        for pos, r in enumerate(_selected_rules(s.rulebase, policies)):
            monetary = r.rule.kind != "非资金" and r.rule.computable
            funds = [g for cap in r.caps if cap.scope == "fund" and cap.group for g in [cap.group]]
            rows.append({
                "scenario": s.name, "rule": r.id, "title": r.title, "document": r.pack.id,
                "doc_number": r.pack.document.doc_number, "clause": r.rule.citation.clause,
                "department": r.department[0] if r.department else "(未列明部门)",
                "departments": "、".join(r.department), "kind": r.rule.kind, "beneficiary": r.beneficiary,
                "static_max": static.get(r.id) if monetary else None, "monetary": monetary,
                "fund_group": funds[0] if funds else None, "position": pos,
            })
    schema = pa.schema([("scenario", pa.string()), ("rule", pa.string()), ("title", pa.string()),
                        ("document", pa.string()), ("doc_number", pa.string()), ("clause", pa.string()),
                        ("department", pa.string()), ("departments", pa.string()), ("kind", pa.string()),
                        ("beneficiary", pa.string()), ("static_max", pa.int64()), ("monetary", pa.bool_()),
                        ("fund_group", pa.string()), ("position", pa.int32())])
    table = pa.Table.from_pylist(rows, schema=schema)
    con.register("rules_src", table)
    con.execute("CREATE TABLE rules AS SELECT * FROM rules_src")
    con.unregister("rules_src")


def _load_enterprises(con: duckdb.DuckDBPyConnection, src: PopulationSource, rb: RuleBase,
                      year: int | None) -> tuple[tuple[int, int], RegistryView]:
    """``ents`` (one row per enterprise: name, region, area, seq) and ``pop_rows`` for first-come order.

    The registry is read once here, by the same reader as the engines: a damaged file gets
    the same message as in ``huiqi evaluate``; the year to read is decided here.
    """
    area = f"coalesce(nullif(district, ''), nullif(county, ''), nullif(city, ''), '{NO_AREA}')"
    tmp: list[Any] = []
    try:
        view = open_registry(con, src, "pop_registry", tmp, fields=rb.fields,
                             year=year if year is not None else "latest")
        cols = set(view.columns)
        sel = ", ".join(f'"{c}"' if c in cols else f'CAST(NULL AS VARCHAR) AS "{c}"'
                        for c in ("id", "project_id", "name", "province", "city", "county", "district"))
        try:
            if view.identity and src.kind == "parquet" and not src.path.is_dir():
                # Row order (first come) is only needed for an oversubscribed pool: a view, scanned on demand.
                path = str(src.path).replace("'", "''")
                con.execute(f"""CREATE VIEW pop_rows AS SELECT {sel}, file_row_number AS seq
                                FROM read_parquet('{path}', file_row_number = true)""")
            else:
                con.execute(f"CREATE TABLE pop_rows AS SELECT {sel}, row_number() OVER () - 1 AS seq FROM pop_registry")
            con.execute(f"""CREATE TABLE ents AS
                            SELECT id, arg_min(name, seq) AS name, arg_min(province, seq) AS province,
                                   arg_min(city, seq) AS city, arg_min(county, seq) AS county,
                                   arg_min(district, seq) AS district, arg_min({area}, seq) AS area, min(seq) AS seq
                            FROM pop_rows GROUP BY id""")
            # fetchall: DuckDB 2 refuses new work on a connection with a half-read result.
            n_ent, n_rows = con.execute(
                "SELECT (SELECT count(*) FROM ents), (SELECT count(*) FROM pop_rows)").fetchall()[0]
        except duckdb.Error as exc:
            raise InputError(f"读取企业名录时出错:{str(exc).splitlines()[0][:300]}", file=src.text,
                             hint="文件可能已损坏,或扩展名与内容不符") from None
    finally:
        for holder in tmp:
            holder.cleanup()
    if n_rows == 0:
        raise InputError("企业人口为空(没有任何行)", file=src.text)
    return (int(n_ent), int(n_rows)), view


def _year_note(view: RegistryView, asked: int | None) -> str:
    years = view.years
    span = f"名录含 {years[0]}–{years[-1]} 年度" if len(years) > 1 else f"名录只有 {years[0]} 年度"
    why = "--year 指定" if asked is not None else "名录中最新的年度"
    return f"读取名录 {view.year or years[-1]} 年度的数据({why};{span})"


def _scope_warnings(con: duckdb.DuckDBPyConnection, rb: RuleBase, policies: list[str] | None) -> list[str]:
    """A population from another city: say so instead of silently reporting zero."""
    places = con.execute("SELECT DISTINCT province, city, county FROM ents").fetchall()
    rules = _selected_rules(rb, policies)
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


def _allocate_pools(con: duckdb.DuckDBPyConnection, s: ScenarioInfo, on: date, method: Method,
                    budget: int | None, rank_by: str | None, src: PopulationSource,
                    identity: bool) -> list[PoolResult]:
    """Fund groups (Cap scope fund) of the scenario's rules, then the overall budget, for one year."""
    env = _param_env(s.rulebase, on, s.params)
    groups: dict[str, tuple[int, str, list[str]]] = {}
    selected = {r for (r,) in con.execute("SELECT rule FROM rules WHERE scenario = ?", [s.name]).fetchall()}
    for rule in s.rulebase.rules:
        if rule.id not in selected:
            continue
        for group, cap, label in _rule_money_cap(rule, "fund", env):
            if group in groups and groups[group][0] != cap:
                raise HuiqiError(f"资金池 {group} 的上限在不同规则中不一致({groups[group][0]} 与 {cap} 元)",
                                 field="caps")
            prev = groups.get(group, (cap, group, []))
            # The first written label names the fund (e.g. 市级工业转型升级专项资金3000万元), not the group id.
            name = prev[1] if prev[1] != group else label
            groups[group] = (cap, name, [*prev[2], rule.id])
    out: list[PoolResult] = []
    key_sql = _rank_key_sql(con, rank_by, src, s.rulebase, identity) if method == "rank" else "NULL"
    places = con.execute("SELECT DISTINCT province, city, county FROM ents").fetchall()
    by_id = {r.id: r for r in s.rulebase.rules}
    for group, (cap, label, rules) in groups.items():
        if not any(applies_to_region(by_id[r], *p) for r in rules for p in places):
            continue  # another city's fund: nobody in this population can claim it
        out.append(_run_pool(con, s.name, on.year, group, label, cap, rules, method, key_sql))
    if budget is not None:
        out.append(_run_pool(con, s.name, on.year, BUDGET_POOL, "总预算(--budget)", budget, None, method, key_sql))
    return out


def _rank_key_sql(con: duckdb.DuckDBPyConnection, rank_by: str | None, src: PopulationSource,
                  rb: RuleBase, identity: bool) -> str:
    """The ordering key for ``rank``: the claim amount, or an expression over population fields."""
    if not rank_by:
        return "c.amount"
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'rank_keys'").fetchall()
    if not exists[0][0]:
        from huiqi.rules.expr import compile_expr, to_sql

        expr = compile_expr(rank_by, field="--rank-by")
        for name in expr.fields:
            if not name.startswith(("enterprise.", "project.")) or rb.fields.get(name) is None:
                raise HuiqiError(f"排序表达式只能引用企业或项目字段,{name} 不是已登记的字段", field="--rank-by",
                                 hint=rb.fields.suggest(name))
        if src.kind == "parquet" and identity and not src.path.is_dir():
            cols = {r[0] for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet('{str(src.path).replace(chr(39), chr(39) * 2)}')").fetchall()}
            missing = [n for n in expr.fields if n not in cols]
            if missing:
                raise HuiqiError("排序表达式引用的列不在人口中:" + "、".join(missing), field="--rank-by")
            sql = to_sql(expr, lambda n: '"' + n.replace('"', '""') + '"', "duckdb")
            con.execute(f"""CREATE TABLE rank_keys AS SELECT id, project_id, ({sql}) AS key, file_row_number AS seq
                            FROM read_parquet('{str(src.path).replace(chr(39), chr(39) * 2)}', file_row_number = true)""")
        else:
            table, _ = read_population(src, rb.fields)
            missing = [n for n in expr.fields if n not in table.schema.names]
            if missing:
                raise HuiqiError("排序表达式引用的列不在人口中:" + "、".join(missing), field="--rank-by")
            con.register("rank_src", table.append_column("seq", pa.array(range(table.num_rows), pa.int64())))
            sql = to_sql(expr, lambda n: '"' + n.replace('"', '""') + '"', "duckdb")
            con.execute(f"CREATE TABLE rank_keys AS SELECT id, project_id, ({sql}) AS key, seq FROM rank_src")
            con.unregister("rank_src")
    return "c.key"


def _run_pool(con: duckdb.DuckDBPyConnection, scenario: str, year: int, pool: str, label: str, cap: int,
              rules: list[str] | None, method: Method, key_sql: str) -> PoolResult:
    rule_filter = ""
    args: list[Any] = [scenario, year]
    if rules is not None:
        rule_filter = "AND d.rule IN (" + ", ".join("?" for _ in rules) + ")"
        args += rules
    where = f"d.scenario = ? AND d.year = ? AND d.status = 'granted' AND d.allocated > 0 {rule_filter}"
    demand, claimants = con.execute(
        f"SELECT coalesce(sum(CAST(d.allocated AS HUGEINT)), 0), count(*) FROM detail d WHERE {where}", args
    ).fetchall()[0]
    demand, claimants = int(demand), int(claimants)
    full = claimants
    partial = unfunded = 0
    allocated = demand
    if demand > cap:
        use_keys = key_sql == "c.key"
        # Population order of the subject: its own row (project) or the enterprise's first row.
        keys_join = """
                LEFT JOIN rank_keys kp ON d.project_id IS NOT NULL AND kp.id = d.id AND kp.project_id = d.project_id
                LEFT JOIN (SELECT id, arg_min(key, seq) AS key FROM rank_keys GROUP BY id) ke
                       ON d.project_id IS NULL AND ke.id = d.id""" if use_keys else ""
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE claims AS
            SELECT c.rid, c.amount, c.seq, {key_sql} AS key FROM (
                SELECT d.rowid AS rid, d.allocated AS amount, coalesce(p.seq, e.seq) AS seq
                       {", coalesce(kp.key, ke.key) AS key" if use_keys else ""}
                FROM detail d
                LEFT JOIN pop_rows p ON d.project_id IS NOT NULL AND p.id = d.id AND p.project_id = d.project_id
                LEFT JOIN ents e ON e.id = d.id {keys_join}
                WHERE {where}) c""", args)
        con.execute("DELETE FROM alloc_out")
        allocate_sql(con, "SELECT rid, amount, seq, key FROM claims", cap, method, "alloc_out")
        stats = con.execute("""
            SELECT coalesce(sum(a.allocated), 0),
                   count(*) FILTER (WHERE a.allocated = 0),
                   count(*) FILTER (WHERE a.allocated > 0 AND a.allocated < c.amount),
                   count(*) FILTER (WHERE a.allocated = c.amount)
            FROM alloc_out a JOIN claims c USING (rid)""").fetchall()[0]
        allocated, unfunded, partial, full = (int(x) for x in stats)
        con.execute("UPDATE detail SET allocated = a.allocated FROM alloc_out a WHERE detail.rowid = a.rid")
    return PoolResult(pool, label, scenario, year, cap, demand, allocated, claimants, full, partial, unfunded,
                      method, list(rules or []))
