"""Spark engine: the same query as DuckDB (``sql.py``, dialect "spark"), in local mode or on a cluster.

The SparkSession is taken from ``SparkSession.getActiveSession()`` when one exists (a
cluster job or the test fixture), otherwise a local one is started once per process.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from huiqi.engines.spark_engine import available
from huiqi.errors import InputError
from huiqi.evaluation.engine_duckdb import check_rows
from huiqi.evaluation.methodology import Methodology
from huiqi.evaluation.population import (
    Population,
    SourceInfo,
    check_columns,
    describe,
    to_parquet,
)
from huiqi.evaluation.sql import QueryBuilder, SourceKind

SOURCE_VIEW = "population_src"


def get_spark() -> Any:
    ok, reason = available()
    if not ok:
        raise InputError(f"无法使用 Spark 引擎:{reason}", hint="改用 --engine duckdb")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    cores = os.environ.get("HUIQI_SPARK_CORES", "*")
    return (SparkSession.builder.master(f"local[{cores}]")
            .appName("huiqi-evaluate")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", os.environ.get("HUIQI_SPARK_PARTITIONS", "8"))
            .config("spark.sql.session.timeZone", "Asia/Shanghai")
            .getOrCreate())


def _kind(data_type: Any) -> SourceKind:
    from pyspark.sql import types as T

    if isinstance(data_type, (T.StringType, T.NullType)):
        return "string"
    if isinstance(data_type, (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.DecimalType, T.FloatType,
                              T.DoubleType)):
        return "numeric"
    if isinstance(data_type, T.BooleanType):
        return "boolean"
    return "other"


def _load(spark: Any, population: Population, tmp: Path) -> tuple[Any, str | None]:
    """The registry's canonical view, through Parquet (keeps DECIMAL types on every pyspark version)."""
    path = tmp / "population.parquet"
    name = to_parquet(population, path)
    return spark.read.parquet(str(path)), name if isinstance(population, (str, Path)) else None


def _to_arrow(df: Any, tmp: Path) -> pa.Table:
    to_arrow_fn = getattr(df, "toArrow", None)
    if to_arrow_fn is not None:
        table = to_arrow_fn()
        assert isinstance(table, pa.Table)
        return table
    import pyarrow.parquet as pq  # pragma: no cover - pyspark < 4

    out = tmp / "result"
    df.write.parquet(str(out))
    return pq.read_table(out)


def run(
    population: Population,
    m: Methodology,
    *,
    year: int | None,
    params: Mapping[str, Decimal] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pa.Table, SourceInfo]:
    step = progress or (lambda _msg: None)
    step("启动 Spark")
    spark = get_spark()
    with tempfile.TemporaryDirectory(prefix="huiqi-spark-") as tmpdir:
        tmp = Path(tmpdir)
        step("读取企业名录")
        df, file = _load(spark, population, tmp)
        columns = {f.name: _kind(f.dataType) for f in df.schema.fields}
        warnings = check_columns(m, columns, file)
        info = SourceInfo(describe(population), columns, warnings, file)
        df.createOrReplaceTempView(SOURCE_VIEW)
        qb = QueryBuilder(m, "spark", SOURCE_VIEW, columns, year=year, params=params)
        step("检查数据")
        check_rows(lambda sql: [tuple(r) for r in spark.sql(sql).collect()], qb, file)
        step("计算指标、排名与分档")
        try:
            table = _to_arrow(spark.sql(qb.build()), tmp)
        except Exception as exc:  # py4j wraps every Spark error; its first line is the SQL message
            raise InputError(f"Spark 评价计算失败:{str(exc).splitlines()[0]}", file=file) from None
        finally:
            spark.catalog.dropTempView(SOURCE_VIEW)
    return table, info
