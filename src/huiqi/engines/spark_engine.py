"""Spark engine: the same compiled SQL (dialect "spark") through ``spark.sql`` over a temp view.

Flow: the population is opened and checked by DuckDB exactly as for the DuckDB engine,
written once as typed Parquet to a staging directory, read by Spark as the temp view
``population`` (plus ``first_project``); the compiled parts run as one ``spark.sql``
statement; the compact result rows come back as Arrow (small runs) or Parquet (large
runs) into the same DuckDB ``results`` view, so callers see no difference.

Local mode by default (``local[*]``); ``master="spark://host:7077"`` (or ``yarn``,
``k8s://…``) runs on a cluster — the staging directory must then be on storage every
executor can read (``HUIQI_SPARK_STAGING``, e.g. an NFS mount or ``hdfs://``/``s3a://``
path, see docs/simulation.md "Spark").
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huiqi.engines.compile import CompiledSql
from huiqi.engines.duckdb_engine import CORE_SCHEMA, Workspace
from huiqi.engines.population import Population
from huiqi.errors import InputError

__all__ = ["ARROW_ROWS", "available", "execute", "get_session"]

# Up to this many population rows the results come back through Arrow in memory;
# larger runs are written by Spark as Parquet and read back by DuckDB.
ARROW_ROWS = int(os.environ.get("HUIQI_SPARK_ARROW_ROWS", "200000"))
# Session settings for the duration of a run. The compiled query is one wide projection
# of a few thousand expressions: Catalyst's constraint propagation (used by PruneFilters)
# and CollapseProject make planning take minutes and can exhaust the driver's heap.
PLAN_SETTINGS = {
    "spark.sql.constraintPropagation.enabled": "false",
    "spark.sql.optimizer.excludedRules": "org.apache.spark.sql.catalyst.optimizer.CollapseProject,"
                                         "org.apache.spark.sql.catalyst.optimizer.PruneFilters",
}
# Small runs: generating and compiling Java for the wide projection costs more than
# interpreting it for a few thousand rows (large runs keep whole-stage code generation).
SMALL_RUN_SETTINGS = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN",
                      "spark.sql.adaptive.enabled": "false"}


def available() -> tuple[bool, str]:
    """(usable, reason): pyspark importable and a Java runtime on PATH or JAVA_HOME."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False, "未安装 pyspark(pip install 'huiqi[spark]')"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return False, "找不到 Java 运行环境(Spark 需要 Java 17)"
    return True, ""


def get_session(master: str | None = None) -> Any:
    """The active SparkSession, or a new one (``master`` or local[*])."""
    ok, reason = available()
    if not ok:
        raise InputError(f"无法使用 Spark 引擎:{reason}", hint="改用 --engine duckdb")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and (master is None or active.sparkContext.master == master):
        return active
    builder = (SparkSession.builder.appName("huiqi-simulate")
               .master(master or f"local[{os.environ.get('HUIQI_SPARK_CORES', '*')}]")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "Asia/Shanghai"))
    if master is None:
        # Local mode: few cores, few partitions; a cluster keeps its own defaults.
        builder = builder.config("spark.sql.shuffle.partitions", os.environ.get("HUIQI_SPARK_PARTITIONS", "8"))
    return builder.getOrCreate()


def _staging(workspace: Workspace) -> str:
    root = os.environ.get("HUIQI_SPARK_STAGING")
    if root:
        return root.rstrip("/") + "/" + workspace.path.name
    return str(workspace.path / "spark")


def execute(
    compiled: CompiledSql,
    population: Population,
    workspace: Workspace,
    *,
    master: str | None = None,
    table: str = "results",
    progress: Callable[[str], None] | None = None,
) -> tuple[str, str, dict[str, float]]:
    """Run ``compiled`` (dialect spark) on Spark; results land in DuckDB as ``<table>_core`` + view ``<table>``."""
    if compiled.dialect != "spark":
        raise ValueError("compiled SQL must use the spark dialect")
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    con = population.con
    t = time.perf_counter()
    say("启动 Spark")
    spark = get_session(master)
    timings["spark_session"] = time.perf_counter() - t
    staging = _staging(workspace)
    local = "://" not in staging
    if local:
        Path(staging).mkdir(parents=True, exist_ok=True)
        if not Path(staging).is_relative_to(workspace.path):
            workspace.extra.append(Path(staging))
    t = time.perf_counter()
    say("准备企业名录(Parquet)")
    source = f"{staging}/population.parquet"
    con.execute(f"COPY (SELECT * FROM population) TO '{source}' (FORMAT parquet)")
    frame = spark.read.parquet(source)
    frame.createOrReplaceTempView("population")
    if population.has_projects:
        first = spark.sql("SELECT id, min(project_id) AS project_id FROM population "
                          "WHERE project_id IS NOT NULL GROUP BY id").cache()
        first.createOrReplaceTempView("first_project")
    if compiled.regions_sql is not None:
        spark.sql(compiled.regions_sql).cache().createOrReplaceTempView("region_gates")
    timings["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    say("Spark 计算")
    core = f"{table}_core"
    settings = dict(PLAN_SETTINGS)
    if population.rows <= ARROW_ROWS:
        settings.update(SMALL_RUN_SETTINGS)
    saved = _apply(spark, settings)
    try:
        if not compiled.parts:
            con.execute(f"CREATE OR REPLACE TABLE {core} ({CORE_SCHEMA})")
        else:
            result = spark.sql(compiled.sql)
            if population.rows <= ARROW_ROWS:
                arrow = result.toArrow()
                con.register("__huiqi_spark_results", arrow)
                src = "__huiqi_spark_results"
            else:
                out = f"{staging}/results"
                result.write.mode("overwrite").parquet(out)
                if not local:
                    raise InputError("集群模式下结果写在共享存储上,DuckDB 无法直接读取", file=out,
                                     hint="请把 HUIQI_SPARK_STAGING 设为本机也能访问的共享目录(如 NFS 挂载点)")
                src = f"read_parquet('{out}/*.parquet')"
            con.execute(f"CREATE OR REPLACE TABLE {core} AS SELECT CAST(id AS VARCHAR) AS id, "
                        "CAST(project_id AS VARCHAR) AS project_id, CAST(ri AS SMALLINT) AS ri, "
                        "CAST(sc AS TINYINT) AS sc, CAST(amount AS BIGINT) AS amount, upper_bound, "
                        "CAST(mm AS BIGINT) AS mm, province, city, county, district FROM " + src)
            if src == "__huiqi_spark_results":
                con.unregister("__huiqi_spark_results")
    except InputError:
        raise
    except Exception as exc:  # py4j / AnalysisException: report, don't dump a JVM trace
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Spark 计算出错:{message[:500]}", file=population.description) from None
    finally:
        _restore(spark, saved)
        if population.has_projects:
            spark.catalog.dropTempView("first_project")
        if compiled.regions_sql is not None:
            spark.catalog.dropTempView("region_gates")
    con.execute(f"CREATE OR REPLACE VIEW {table} AS {compiled.results_view(core)}")
    timings["execute"] = time.perf_counter() - t
    return table, core, timings


def _apply(spark: Any, settings: dict[str, str]) -> dict[str, str | None]:
    """Set session options, returning the previous values (the session may be the caller's)."""
    saved: dict[str, str | None] = {}
    for key, value in settings.items():
        saved[key] = spark.conf.get(key, None)
        spark.conf.set(key, value)
    return saved


def _restore(spark: Any, saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)
