"""The result of a simulation and its aggregate queries.

Per measure, department, district and year; undecided fields; reform minus baseline.

The detail lives in the analysis database (:mod:`huiqi.simulation.store`); every query here
is DuckDB SQL over its tables ``detail``, ``counts``, ``rules`` and ``ents``. Money is integer
yuan; sums are exact (HUGEINT, returned as int).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb

from huiqi.rules.packs import RuleBase
from huiqi.simulation.allocation import PoolResult
from huiqi.simulation.reform import AppliedReform

__all__ = [
    "BASELINE",
    "BUDGET_POOL",
    "KEPT_STATUSES",
    "NO_AREA",
    "REFORM",
    "SCENARIO_LABELS",
    "STATUSES",
    "ScenarioInfo",
    "SimulationResult",
]

BASELINE, REFORM = "baseline", "reform"
SCENARIO_LABELS = {BASELINE: "现行政策", REFORM: "改革方案"}
KEPT_STATUSES = ("granted", "undecided")
STATUSES = ("granted", "undecided", "not_eligible", "stacked_out", "not_in_force", "out_of_jurisdiction", "lead")
BUDGET_POOL = "__budget__"
NO_AREA = "(未填地区)"


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
