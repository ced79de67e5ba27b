"""The analysis store: a DuckDB database (spilling to a temporary directory) holding what a report needs.

Tables: ``detail`` (granted and undecided results, with the allocation), ``counts`` (status
counts per rule), ``rules`` (one row per selected rule and scenario), ``ents`` and
``pop_rows`` (the population's enterprises and rows, for areas and first-come order).
The engine's results are reduced batch by batch; nothing holds the full (rules × population)
table in Python.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from huiqi.errors import HuiqiError, InputError
from huiqi.fsutil import make_temp_dir
from huiqi.registry.reader import RegistryView, open_registry
from huiqi.rules.packs import CompiledRule, RuleBase
from huiqi.simulation.engine_run import EngineRun
from huiqi.simulation.population import PopulationSource
from huiqi.simulation.result import NO_AREA, ScenarioInfo

__all__ = [
    "AnalysisStore",
    "default_memory_limit",
    "load_enterprises",
    "load_rule_table",
    "selected_rules",
]


def selected_rules(rulebase: RuleBase, policies: list[str] | None) -> list[CompiledRule]:
    chosen = rulebase.select(policies)
    return [r for r in rulebase.rules if chosen.has_rule(r.id)]


def _static_max(rulebase: RuleBase) -> dict[str, int | None]:
    from huiqi.rules.calculator import plan_for

    out: dict[str, int | None] = {}
    for pr in plan_for(rulebase).rules:
        sm = pr.static_max
        out[pr.rule.id] = None if sm is None else int(sm.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return out


class AnalysisStore:
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


def default_memory_limit() -> str:
    """Half of the machine's memory (DuckDB spills the rest to the temporary directory)."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return f"{max(1, pages // 2 // (1 << 30))}GB"
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return "4GB"


def load_rule_table(con: duckdb.DuckDBPyConnection, scenarios: list[ScenarioInfo],
                    policies: list[str] | None) -> None:
    """``rules``: one row per selected rule and scenario (title, department, static maximum, fund group)."""
    rows = []
    for s in scenarios:
        static = _static_max(s.rulebase)
        for pos, r in enumerate(selected_rules(s.rulebase, policies)):
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


def load_enterprises(con: duckdb.DuckDBPyConnection, src: PopulationSource, rb: RuleBase,
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
