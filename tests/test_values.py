"""The one value vocabulary: Python and its SQL twin read every text cell the same way."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.values import (
    MONEY_UNITS,
    Bounds,
    ValueProblem,
    parse_bool,
    parse_date,
    parse_money,
    parse_percent,
    parse_value,
    sql_value,
)
from tests.fuzzing import budget, record_budget

EXAMPLES = budget(300)


@pytest.mark.parametrize(("text", "yuan"), [
    ("600万元", 6_000_000), ("5千万元", 50_000_000), ("5千万", 50_000_000), ("1.5亿元", 150_000_000),
    ("6,000,000", 6_000_000), ("６００万元", 6_000_000), (" 人民币 300 万元 ", 3_000_000), ("4500亿", 450_000_000_000),
    ("12元", 12), ("0", 0),
])
def test_money_vocabulary(text: str, yuan: int) -> None:
    assert parse_money(text) == yuan


@pytest.mark.parametrize(("text", "reason"), [
    ("-1500万元", "负数"), ("1.5元", "整数元"), ("9" * 40, "位数过多"), ("1e308", "科学计数法"),
    ("三百万元", "阿拉伯数字"), ("万元", "无法识别"), ("1,00", "无法识别"), ("2" * 16, "过大"),
])
def test_money_refusals(text: str, reason: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_money(text)
    assert reason in info.value.reason + (info.value.hint or "")


def test_other_kinds() -> None:
    assert parse_percent("12%") == Decimal("0.12") and parse_percent("百分之3.5") == Decimal("0.035")
    assert parse_percent("0.12") == Decimal("0.12")
    assert parse_bool("t") is True and parse_bool("F") is False and parse_bool("是") is True
    assert parse_date("2023-02-28") == date(2023, 2, 28)
    with pytest.raises(ValueProblem, match="不存在"):
        parse_date("2023-02-30")
    with pytest.raises(ValueProblem, match="负数"):
        parse_value("number", "-3", unit="亩")
    assert parse_value("number", "-3", bounds=Bounds(None, None)) == Decimal(-3)
    assert parse_value("integer", "12辆", unit="辆") == 12
    with pytest.raises(ValueProblem):
        parse_percent("12%%")
    with pytest.raises(ValueProblem, match="过大"):
        parse_money(Decimal("1e308"))
    with pytest.raises(ValueProblem, match="过大"):
        parse_money(10**5000)


# -- Python and SQL agree ---------------------------------------------------------------------------

_CON = duckdb.connect()
_PIECES = ["0", "1", "2", "5", "9", "12", "1,000", ",", ".", "-", "+", "%", "％", "百分之", "人民币", " ", "\u3000",
           "１", "５", "．", "e", "E", "t", "T", "是", "否", "yes", "n", "万", "千", "亿", "元", "辆", "亩",
           "2023-02-30", "2024-02-29", "-", "A", "B", "三", "9" * 19, "0.1234567", *MONEY_UNITS[:8]]
TEXT = st.lists(st.sampled_from(_PIECES), min_size=0, max_size=6).map("".join) | st.text(max_size=8)
KINDS = [("money", "", None), ("percent", "", None), ("number", "亩", None), ("integer", "辆", None),
         ("number", "", Bounds(None, None)), ("boolean", "", None), ("date", "", None), ("enum", "", None)]


def _python(kind: str, unit: str, bounds: Bounds | None, text: str) -> tuple[bool, Any]:
    try:
        value = parse_value(kind, text, unit=unit, bounds=bounds, values=("A", "B"))
    except ValueProblem:
        return False, None
    if isinstance(value, str) and kind in ("text",):
        value = value or None
    return True, value


def _sql(kind: str, unit: str, bounds: Bounds | None, text: str) -> tuple[bool, Any]:
    sv = sql_value(kind, "raw", unit=unit, bounds=bounds, values=("A", "B"))
    value_sql = sv.value.replace("{c}", "p")
    bad_sql = sv.bad.replace("{c}", "p")
    row = _CON.execute(f"SELECT {value_sql}, {bad_sql}, p FROM (SELECT {sv.pre} AS p FROM (SELECT ? AS raw))",
                       [text]).fetchone()
    assert row is not None
    value, bad, prepared = row
    if prepared is None:  # an empty cell is a missing value, not an error
        return True, None
    return not bad, (value if not bad else None)


def _same(kind: str, py: tuple[bool, Any], sql: tuple[bool, Any]) -> bool:
    if py[0] != sql[0]:
        return False
    if not py[0] or py[1] is None or sql[1] is None:
        return True
    if kind in ("money", "integer"):
        return Decimal(py[1]) == Decimal(sql[1])
    if kind in ("number", "percent"):
        return Decimal(py[1]) == Decimal(sql[1])
    return bool(py[1] == sql[1])


@pytest.mark.parametrize(("kind", "unit", "bounds"), KINDS, ids=[f"{k}{u}{'-free' if b else ''}" for k, u, b in KINDS])
def test_python_and_sql_parse_alike(kind: str, unit: str, bounds: Bounds | None) -> None:
    record_budget(f"values: Python vs SQL ({kind}{unit})", EXAMPLES)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(TEXT)
    def check(text: str) -> None:
        py = _python(kind, unit, bounds, text)
        if py[0] and py[1] is None and text.strip(" \t\r\n\u3000\u00a0") != "":
            py = (True, None)
        sql = _sql(kind, unit, bounds, text)
        if not text.strip(" \t\r\n\u3000\u00a0"):
            return  # both treat a blank cell as missing (Python callers skip it before parsing)
        assert _same(kind, py, sql), (text, py, sql)

    check()


@pytest.mark.parametrize("text", ["5千万元", "t", "是", "1,234.5万元", "-3", "2023-02-30", "12%", "1e5"])
def test_examples_agree(text: str) -> None:
    for kind, unit, bounds in KINDS:
        assert _same(kind, _python(kind, unit, bounds, text), _sql(kind, unit, bounds, text)), (kind, text)
