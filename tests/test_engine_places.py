"""Place names in the population engine: the SQL normalization is the calculator's, name for name."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.rules.calculator import PLACE_SUFFIXES, norm_place
from huiqi.rules.mechanisms.jurisdiction import normalized_place_sql
from huiqi.rules.mechanisms.sql import SqlDialect

STEMS = ["临海", "房", "十堰经济技术开发", "自治", "新", "台州", "郧阳", "省", "区", ""]
names = st.builds(lambda stem, sfx, extra: stem + sfx + extra, st.sampled_from(STEMS),
                  st.sampled_from(["", *PLACE_SUFFIXES]), st.sampled_from(["", "区", "市", "县"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(names, min_size=1, max_size=20))
def test_sql_place_normalization_matches_calculator(values: list[str]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (county VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    got = [r[0] for r in con.execute(f"SELECT {normalized_place_sql(SqlDialect('duckdb'), 'county')} FROM t").fetchall()]
    assert got == [norm_place(v) for v in values]


def test_null_place_stays_null() -> None:
    con = duckdb.connect()
    sql = normalized_place_sql(SqlDialect("duckdb"), "county")
    assert con.execute(f"SELECT {sql} FROM (SELECT CAST(NULL AS VARCHAR) AS county)").fetchall() == [(None,)]
