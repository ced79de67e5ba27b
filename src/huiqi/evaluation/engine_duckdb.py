"""DuckDB engine: one set-based query over the whole population (see ``sql.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from huiqi.errors import InputError
from huiqi.evaluation.methodology import Methodology
from huiqi.evaluation.population import (
    Population,
    SourceInfo,
    check_columns,
    check_path,
    describe,
    kind_of_sql,
    read_excel,
    split_duckdb_path,
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


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def open_source(con: object, population: Population) -> str | None:
    """Register the population as the view ``population_src``; returns the file name if any."""
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    if isinstance(population, pa.Table):
        con.register(SOURCE_VIEW, population)
        return None
    if not isinstance(population, (str, Path)):
        con.register(SOURCE_VIEW, pa.Table.from_pylist([dict(r) for r in population]))
        return None
    check_path(population)
    file, table = split_duckdb_path(population)
    suffix = file.suffix.lower()
    if file.is_dir():
        con.execute(f"CREATE VIEW {SOURCE_VIEW} AS SELECT * FROM read_parquet({_sql_path(file / '*.parquet')})")
    elif suffix == ".parquet":
        con.execute(f"CREATE VIEW {SOURCE_VIEW} AS SELECT * FROM read_parquet({_sql_path(file)})")
    elif suffix == ".csv":
        # Every cell as text, so that 12.35 is read as the decimal 12.35 (no binary float).
        con.execute(f"CREATE VIEW {SOURCE_VIEW} AS SELECT * FROM read_csv({_sql_path(file)}, header = true, "
                    f"all_varchar = true, encoding = 'utf-8')")
    elif suffix == ".xlsx":
        con.register(SOURCE_VIEW, read_excel(file))
    else:
        con.execute(f"ATTACH {_sql_path(file)} AS popdb (READ_ONLY)")
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'popdb'").fetchall()}
        tables |= {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE database_name = 'popdb'").fetchall()}
        if table not in tables:
            raise InputError(f"DuckDB 文件中没有表 {table}", file=str(file),
                             hint=f"现有的表:{'、'.join(sorted(tables)) or '无'};用 文件::表名 指定")
        con.execute(f'CREATE VIEW {SOURCE_VIEW} AS SELECT * FROM popdb."{table}"')
    return str(file)


def inspect(con: object, m: Methodology, population: Population) -> SourceInfo:
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    file = open_source(con, population)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {SOURCE_VIEW}").fetchall()
    except duckdb.Error as exc:
        raise InputError(f"无法读取企业名录:{exc}", file=file) from None
    columns = {str(r[0]): kind_of_sql(str(r[1])) for r in described}
    warnings = check_columns(m, columns, file)
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
    try:
        if threads or os.environ.get("HUIQI_THREADS"):
            con.execute(f"SET threads = {int(threads or os.environ['HUIQI_THREADS'])}")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        step("读取企业名录")
        info = inspect(con, m, population)
        qb = QueryBuilder(m, "duckdb", SOURCE_VIEW, info.columns, year=year, params=params)

        def fetch(sql: str) -> list[tuple[object, ...]]:
            return con.execute(sql).fetchall()

        step("检查数据")
        check_rows(fetch, qb, info.file)
        step("计算指标、排名与分档")
        try:
            table = query_arrow(con, qb.build())
        except duckdb.Error as exc:
            raise InputError(f"评价计算失败:{exc}", file=info.file) from None
        return table, info
    finally:
        con.close()
