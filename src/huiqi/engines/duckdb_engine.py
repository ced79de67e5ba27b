"""DuckDB engine (default): the compiled rule SQL over a population, results in a DuckDB table.

Memory stays bounded for large populations: the population is streamed from its file
(``read_parquet`` / ``read_csv``, never loaded whole, each scan reading only the columns
the rules need), DuckDB runs with a ``memory_limit`` and spills to ``temp_directory``,
and the results table stores one compact row per (rule, subject).

Query layouts (``compile_rulebase_sql(layout=…)``): ``"wide"`` — one scan computing all
rules as columns, UNNESTed into rows (default, fastest); ``"per_rule"`` — one INSERT per
rule. ``single_statement=True`` runs all parts as one UNION ALL. ``docs/simulation.md``
records the measurements.
"""

from __future__ import annotations

import os
import shutil
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from huiqi.engines.compile import CORE_COLUMNS, REGION_COLUMNS, STAGE_PLACEHOLDER, CompiledSql, Staged
from huiqi.engines.population import Population
from huiqi.engines.sources import sql_ident
from huiqi.errors import InputError
from huiqi.fsutil import OwnedTempDir

__all__ = ["DEFAULT_MEMORY_LIMIT", "FILE_BACKED_ROWS", "KEYS_TABLE", "REGIONS_TABLE", "connect", "execute", "summarize"]

DEFAULT_MEMORY_LIMIT = os.environ.get("HUIQI_DUCKDB_MEMORY_LIMIT", "4GB")
# Above this many population rows the results go to a database file in the work directory
# (compressed, written as it fills). An in-memory table of 10M rows × 54 rules spills too,
# but ran out of memory under a 2GB limit; small runs stay in memory (faster).
FILE_BACKED_ROWS = int(os.environ.get("HUIQI_DUCKDB_FILE_ROWS", "2000000"))


class Workspace:
    """A temporary directory (spill files, result database) removed with its owner."""

    def __init__(self, root: str | Path | None = None) -> None:
        # Named after our pid: a killed run's directory is removed by the next run (huiqi.fsutil).
        self._dir = OwnedTempDir("engine", root)
        self.path = self._dir.path
        self.extra: list[Path] = []  # staging directories elsewhere (Spark), removed too

    def cleanup(self) -> None:
        for path in self.extra:
            shutil.rmtree(path, ignore_errors=True)
        self._dir.cleanup()


def connect(workspace: Workspace, memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    config: dict[str, Any] = {
        # Beyond the limit DuckDB spills (joins, windows and the in-memory results table)
        # to the temp directory: 10 million rows × 54 rules is half a billion result rows.
        "memory_limit": memory_limit or DEFAULT_MEMORY_LIMIT,
        "temp_directory": str(workspace.path / "spill"),
        # Results need no particular order; dropping it lets DuckDB stream and spill freely.
        "preserve_insertion_order": False,
    }
    if threads:
        config["threads"] = int(threads)
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")  # a library must not draw on the terminal
    return con


REGIONS_TABLE = "population_regions"  # distinct (province, city, county, district) and their row counts
KEYS_TABLE = "enterprise_keys"  # one row per enterprise: id and its smallest project id (NULL: no project)


def summarize(population: Population) -> None:
    """One scan for everything a run needs besides the rules: the distinct regions (gates,
    warnings) and, with projects, each enterprise's first project (and so the number of
    enterprises and of those without a project). Five scans of the population did this."""
    con = population.con
    region = ", ".join(sql_ident(c) for c in REGION_COLUMNS)
    if not population.has_projects:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {REGIONS_TABLE} AS "
                    f"SELECT {region}, count(*) AS n FROM population GROUP BY ALL")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {KEYS_TABLE} AS SELECT id, CAST(NULL AS VARCHAR) AS project_id "
                    "FROM population WHERE FALSE")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE huiqi_summary AS SELECT GROUPING(id) AS __by_region, id, {region}, "
                f"min(project_id) AS project_id, count(*) AS n FROM population "
                f"GROUP BY GROUPING SETS ((id), ({region}))")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REGIONS_TABLE} AS SELECT {region}, n FROM huiqi_summary "
                "WHERE __by_region = 1")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {KEYS_TABLE} AS SELECT id, project_id FROM huiqi_summary "
                "WHERE __by_region = 0")
    con.execute("DROP TABLE huiqi_summary")


def prepare(population: Population, compiled: CompiledSql) -> None:
    """The small tables the compiled parts join (after :func:`summarize`).

    ``first_project``: the row of each enterprise that carries its own fields (smallest
    project id); ``region_gates``: jurisdiction tests per distinct region (a real table,
    so the optimizer cannot inline the gate expressions back into the per-row scan).
    """
    if population.has_projects:
        population.con.execute(
            f"CREATE OR REPLACE TEMP TABLE first_project AS SELECT id, project_id FROM {KEYS_TABLE} "
            "WHERE project_id IS NOT NULL")
    if compiled.regions_sql is not None:
        population.con.execute(f"CREATE OR REPLACE TEMP TABLE region_gates AS {compiled.regions_sql}")


def execute(
    compiled: CompiledSql,
    population: Population,
    workspace: Workspace,
    *,
    table: str = "results",
    progress: Callable[[str], None] | None = None,
    single_statement: bool = False,
    store: str = "table",
) -> tuple[str, str, dict[str, float]]:
    """Materialize the results; returns (relation name, timings in seconds).

    Rows are stored compactly in ``<table>_core`` (rule index and status code instead of
    six strings per row) and shown with the contract columns by the view ``<table>``.
    ``store="view"``: ``<table>_core`` is a view of the compiled SQL instead — nothing is
    computed until it is queried, and every query computes the rules again (for one
    aggregate over a population too large to keep its results).
    """
    con = population.con
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepare(population, compiled)
    timings["prepare"] = time.perf_counter() - t0
    core = f"{table}_core"
    t1 = time.perf_counter()
    if store == "view":
        if compiled.staged is not None and not single_statement:
            body = _staged_view(compiled.staged)
        else:
            body = compiled.sql if compiled.parts else f"SELECT * FROM (SELECT {_empty_core()}) WHERE FALSE"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {core} AS {body}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS {compiled.results_view(core)}")
        timings["execute"] = time.perf_counter() - t1
        return table, core, timings
    stored = core
    if population.rows > FILE_BACKED_ROWS:
        con.execute(f"ATTACH '{workspace.path / 'results.duckdb'}' AS huiqi_results")
        stored = f"huiqi_results.{core}"
    staged = compiled.staged if not single_statement else None
    try:
        if staged is not None:
            stored = f"{stored}_rows"
            _run_staged(con, staged, stored, timings, progress)
            columns = ", ".join(CORE_COLUMNS)
            body = f"SELECT {columns} FROM {stored}"
            if staged.out_of_area is not None:
                body += f" UNION ALL {staged.out_of_area}"
            con.execute(f"CREATE OR REPLACE TEMP VIEW {core} AS {body}")
        elif single_statement:
            con.execute(f"CREATE OR REPLACE TABLE {stored} AS {compiled.sql}")
        else:
            for k, (label, sql) in enumerate(compiled.parts):
                if progress is not None:
                    progress(f"计算 {label}")
                if k == 0:
                    con.execute(f"CREATE OR REPLACE TABLE {stored} AS {sql}")
                else:
                    con.execute(f"INSERT INTO {stored} {sql}")
        if staged is None and not compiled.parts:
            con.execute(f"CREATE OR REPLACE TABLE {stored} ({CORE_SCHEMA})")
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise InputError(f"计算企业名录时出错:{message}", file=population.description,
                         hint="若提示除数为零或数值溢出,请检查名录中的数值;若提示文件损坏,请重新导出文件") from None
    core = core if staged is not None else stored
    con.execute(f"CREATE OR REPLACE VIEW {table} AS {compiled.results_view(core)}")
    timings["execute"] = time.perf_counter() - t1
    return table, core, timings


def _run_staged(con: duckdb.DuckDBPyConnection, staged: Staged, stored: str, timings: dict[str, float],
                progress: Callable[[str], None] | None) -> None:
    """One scan writes the result rows; the few that window passes decide (ranks, quotas,
    stacking, shared caps) are read back, decided and replaced."""
    t = time.perf_counter()
    if progress is not None:
        progress("计算 全部规则")
    con.execute(f"CREATE OR REPLACE TABLE {stored} AS {staged.first}")
    timings["first_pass"] = time.perf_counter() - t
    if staged.windows is None:
        return
    if progress is not None:
        progress("计算 排名/名额/叠加/共享上限")
    t = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TEMP TABLE huiqi_decided AS {staged.windows.replace(STAGE_PLACEHOLDER, stored)}")
    con.execute(f"DELETE FROM {stored} WHERE __act")
    con.execute(f"INSERT INTO {stored} ({', '.join(CORE_COLUMNS)}) SELECT * FROM huiqi_decided")
    con.execute("DROP TABLE huiqi_decided")
    timings["window_passes"] = time.perf_counter() - t


def _staged_view(staged: Staged) -> str:
    """The staged flow as one query: the scan is a MATERIALIZED CTE that the window passes
    read back, so the rules are computed once per query (the union of ``compiled.parts``
    scans the population and computes the windowed rules a second time)."""
    columns = ", ".join(CORE_COLUMNS)
    body = f"SELECT {columns} FROM {STAGE_PLACEHOLDER} WHERE NOT __act"
    if staged.windows is not None:
        body += f" UNION ALL SELECT * FROM ({staged.windows}) AS __decided"
    body = f"WITH {STAGE_PLACEHOLDER} AS MATERIALIZED ({staged.first}) {body}"
    if staged.out_of_area is not None:
        body = f"SELECT * FROM ({body}) AS __inside UNION ALL {staged.out_of_area}"
    return body


def _empty_core() -> str:
    return ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in (c.split(" ", 1) for c in CORE_SCHEMA.split(", ")))


CORE_SCHEMA = ("id VARCHAR, project_id VARCHAR, ri SMALLINT, sc TINYINT, amount BIGINT, upper_bound BOOLEAN, "
               "mm BIGINT, province VARCHAR, city VARCHAR, county VARCHAR, district VARCHAR")


def keep_alive(owner: object, workspace: Workspace, con: duckdb.DuckDBPyConnection | None) -> weakref.finalize:
    """Close the connection (if ours), then remove the workspace, when ``owner`` is collected."""

    def _close(c: duckdb.DuckDBPyConnection | None = con, w: Workspace = workspace) -> None:
        try:
            if c is not None:
                c.close()
        finally:
            w.cleanup()

    return weakref.finalize(owner, _close)
