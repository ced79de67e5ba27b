"""The vectorised credit-code check (Arrow) gives the SQL check's verdict for every code."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.registry.credit_code import ALPHABET, check_sql, count_invalid, make_credit_code

# Valid codes, codes with one character changed (often to one outside the alphabet or a
# multi-byte one), truncated or lengthened codes, and missing cells.
_CHARS = ALPHABET + "IOZSVa中é -"


@st.composite
def codes(draw: st.DrawFn) -> str | None:
    code = make_credit_code(draw(st.sampled_from(["331082", "371600", "420300"])), draw(st.integers(0, 10**9)))
    kind = draw(st.sampled_from(["valid", "replace", "cut", "extend", "none"]))
    if kind == "replace":
        at = draw(st.integers(0, 17))
        code = code[:at] + draw(st.sampled_from(_CHARS)) + code[at + 1:]
    elif kind == "cut":
        code = code[:draw(st.integers(0, 17))]
    elif kind == "extend":
        code += draw(st.sampled_from(_CHARS))
    elif kind == "none":
        return None
    return code


def _sql_invalid(values: list[str | None]) -> int:
    con = duckdb.connect()
    con.register("t", pa.table({"c": pa.array(values, pa.string())}))
    return int(con.execute(f"SELECT count(*) FILTER (WHERE c IS NOT NULL AND NOT {check_sql('c')}) FROM t")
               .fetchall()[0][0])


@settings(max_examples=60, deadline=None)
@given(st.lists(codes(), min_size=1, max_size=40), st.integers(0, 5))
def test_count_invalid_agrees_with_sql(values: list[str | None], skip: int) -> None:
    assert count_invalid(pa.array(values, pa.string())) == _sql_invalid(values)
    # A slice (non-zero offset) and a chunked column read the same buffers correctly.
    part = values[skip:]
    assert count_invalid(pa.array(values, pa.string()).slice(skip)) == _sql_invalid(part)
    chunked = pa.chunked_array([pa.array(values[:skip], pa.string()), pa.array(part, pa.string())])
    assert count_invalid(chunked) == _sql_invalid(values)


def test_count_invalid_examples() -> None:
    good = make_credit_code("331082", 12)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    assert count_invalid(pa.array([good, None, wrong_check, good[:16], "91110000600037341I"])) == 3
    assert count_invalid(pa.array([None, None], pa.string())) == 0
