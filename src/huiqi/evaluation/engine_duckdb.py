"""DuckDB engine: one set-based query over the whole population (see ``sql.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from decimal import Decimal

import pyarrow as pa

from huiqi.engines.sources import first_line
from huiqi.errors import InputError
from huiqi.evaluation.methodology import Methodology
from huiqi.evaluation.population import (
    Population,
    SourceInfo,
    check_columns,
    describe,
    kind_of_sql,
    open_source,
)
from huiqi.evaluation.sql import QueryBuilder

SOURCE_VIEW = "population_src"
Progress = Callable[[str], None]


def query_arrow(con: object, sql: str) -> pa.Table:
    """Arrow table of a query (``to_arrow_table`` in DuckDB 2, ``arrow`` before)."""
    rel = con.sql(sql)  # type: ignore[attr-defined]
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    table = fetch()
    if isinstance(table, pa.RecordBatchReader):  # pragma: no cover - older DuckDB
        table = table.read_all()
    assert isinstance(table, pa.Table)
    return table


def inspect(con: object, m: Methodology, population: Population, tmp: list[object],
            year: int | None = None) -> SourceInfo:
    """Register the population (through the enterprise registry) as ``population_src`` and check its columns."""
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    view = open_source(con, population, SOURCE_VIEW, tmp, year=year)
    columns = {name: kind_of_sql(t) for name, t in view.columns.items()}
    file = str(view.path) if view.path is not None else None
    warnings = [*view.warnings, *check_columns(m, columns, file or view.description)]
    return SourceInfo(describe(population), columns, warnings, file)


def check_rows(run: Callable[[str], list[tuple[object, ...]]], qb: QueryBuilder, file: str | None) -> None:
    """Duplicate or empty ids and unreadable cells → InputError naming row and column."""
    dups = run(qb.duplicate_query())
    if dups:
        empty = [d for d in dups if d[0] in (None, "")]
        if empty:
            raise InputError("企业名录中有企业编号(id)为空的行", file=file)
        listed = "、".join(f"{d[0]}({d[1]}次)" for d in dups)
        raise InputError(f"企业编号重复:{listed}", file=file, field="id")
    query = qb.validation_query()
    if query is None:
        return
    bad = run(query)
    if bad:
        col, ident, value, line = bad[0]
        spec = qb.m.inputs[str(col).removeprefix("enterprise.")]
        raise InputError(
            f"第{line}行(企业 {ident})列 {col} 的值 {value!r} 不是有效的{_type_word(spec.type)}"
            + (f"(共 {len(bad)} 处以上)" if len(bad) > 1 else ""),
            file=file, line=int(str(line)), field=str(col),
            hint="金额写整数元(如 6000000),不要写“万元”或千分位逗号",
        )


def _type_word(t: str) -> str:
    return {"money": "金额(元)", "number": "数值", "integer": "整数", "boolean": "真假值(是/否、true/false、1/0)"}.get(t, t)


def run(
    population: Population,
    m: Methodology,
    *,
    year: int | None,
    params: Mapping[str, Decimal] | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> tuple[pa.Table, SourceInfo]:
    import duckdb

    step = progress or (lambda _msg: None)
    con = duckdb.connect()
    tmp: list[object] = []
    try:
        if threads or os.environ.get("HUIQI_THREADS"):
            con.execute(f"SET threads = {int(threads or os.environ['HUIQI_THREADS'])}")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        step("读取企业名录")
        info = inspect(con, m, population, tmp)
        qb = QueryBuilder(m, "duckdb", SOURCE_VIEW, info.columns, year=year, params=params)

        def fetch(sql: str) -> list[tuple[object, ...]]:
            return con.execute(sql).fetchall()

        try:
            step("检查数据")
            check_rows(fetch, qb, info.file)
            step("计算指标、排名与分档")
            table = query_arrow(con, qb.build())
        except duckdb.Error as exc:
            # A file damaged past its header fails only here: the same words as when reading it.
            raise InputError(f"读取企业名录时出错:{first_line(exc)}", file=info.file or info.description,
                             hint="文件可能已损坏,或扩展名与内容不符") from None
        return table, info
    finally:
        con.close()
        for holder in tmp:
            holder.cleanup()  # type: ignore[attr-defined]
