"""资金池分配 — what happens when a fund is oversubscribed.

A fund pool is a rule cap with ``scope: fund`` (all rules sharing the cap ``group``,
e.g. Shiyan's 3000万元 市级工业转型升级专项资金) or ``--budget`` (one pool over every
granted amount). Each granted (rule, subject) with an amount is a **claim**. When the
claims of a pool (demand) exceed its cap, the cap is shared by one documented method:

``pro_rata`` (按比例,最大余数法)
    Each claim gets ``floor(amount × cap / demand)`` yuan; the yuan left over (fewer
    than the number of claims) go one each to the claims with the largest remainders
    ``amount × cap mod demand``, ties in population order. Totals are exact to the yuan:
    the allocations add up to the cap, never more, never less. Integer arithmetic
    (HUGEINT in DuckDB, Python int here) — no floating point.
``rank`` (按排序)
    Claims are ordered by a key (default: the amount, largest first; or ``--rank-by``
    expression over population fields, largest first), ties in population order; each is
    paid in full while the fund lasts, the marginal claim gets the remaining balance, the
    rest get nothing.
``first_come`` (先到先得)
    Same as rank, in population order (row order of the population file = order of
    application).

Claims at a ceiling (``upper_bound`` amounts, 最高/不超过) enter with their ceiling: the
demand is then a maximum. If demand <= cap every claim is paid in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["METHODS", "METHOD_LABELS", "Method", "PoolResult", "allocate", "allocate_sql"]

Method = Literal["pro_rata", "rank", "first_come"]
METHODS: tuple[str, ...] = ("pro_rata", "rank", "first_come")
METHOD_LABELS = {
    "pro_rata": "按比例分配(最大余数法,精确到元)",
    "rank": "按排序分配(从高到低,额满为止)",
    "first_come": "先到先得(按人口顺序,额满为止)",
}


@dataclass
class PoolResult:
    """One pool in one scenario and year: demand, allocation and shortfall (integer yuan)."""

    pool: str
    label: str
    scenario: str
    year: int
    cap: int
    demand: int
    allocated: int
    claimants: int
    full: int
    partial: int
    unfunded: int
    method: str
    rules: list[str] = field(default_factory=list)

    @property
    def shortfall(self) -> int:
        return max(0, self.demand - self.cap)

    @property
    def oversubscribed(self) -> bool:
        return self.demand > self.cap

    @property
    def remaining(self) -> int:
        return self.cap - self.allocated

    def as_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool, "label": self.label, "scenario": self.scenario, "year": self.year,
            "cap": self.cap, "demand": self.demand, "allocated": self.allocated, "shortfall": self.shortfall,
            "remaining": self.remaining, "claimants": self.claimants, "full": self.full, "partial": self.partial,
            "unfunded": self.unfunded, "method": self.method, "rules": list(self.rules),
        }


def allocate(amounts: Sequence[int], cap: int, method: Method = "pro_rata",
             keys: Sequence[Any] | None = None) -> list[int]:
    """Reference allocation in Python (list order = population order); same rules as :func:`allocate_sql`."""
    if cap < 0:
        raise ValueError("cap must be >= 0")
    demand = sum(amounts)
    if demand <= cap:
        return list(amounts)
    n = len(amounts)
    if method == "pro_rata":
        base = [a * cap // demand for a in amounts]
        rem = [a * cap % demand for a in amounts]
        leftover = cap - sum(base)
        for i in sorted(range(n), key=lambda i: (-rem[i], i))[:leftover]:
            base[i] += 1
        return base
    if method == "rank":
        ks = list(keys) if keys is not None else list(amounts)
        order = sorted(range(n), key=lambda i: (ks[i] is None, -(ks[i] or 0), i))
    else:
        order = list(range(n))
    out = [0] * n
    left = cap
    for i in order:
        pay = min(amounts[i], left)
        out[i] = pay
        left -= pay
    return out


def allocate_sql(con: Any, claims_sql: str, cap: int, method: Method, out_table: str) -> None:
    """Allocate the claims of ``claims_sql`` (columns rid, amount, seq, key) into ``out_table(rid, allocated)``.

    Only called for an oversubscribed pool (demand > cap). Runs entirely in DuckDB, so a
    pool with millions of claims never comes into Python.
    """
    cap_sql = f"CAST({int(cap)} AS HUGEINT)"
    if method == "pro_rata":
        sql = f"""
        INSERT INTO {out_table}
        WITH c AS ({claims_sql}),
        t AS (SELECT CAST(sum(amount) AS HUGEINT) AS d FROM c),
        q AS (SELECT rid, seq, CAST(amount AS HUGEINT) * {cap_sql} // t.d AS base,
                     CAST(amount AS HUGEINT) * {cap_sql} % t.d AS rem FROM c, t),
        lf AS (SELECT {cap_sql} - sum(base) AS leftover FROM q)
        SELECT rid, CAST(base + CASE WHEN row_number() OVER (ORDER BY rem DESC, seq NULLS LAST, rid)
                                     <= lf.leftover THEN 1 ELSE 0 END AS BIGINT)
        FROM q, lf
        """
    else:
        order = "key DESC NULLS LAST, seq NULLS LAST, rid" if method == "rank" else "seq NULLS LAST, rid"
        sql = f"""
        INSERT INTO {out_table}
        WITH c AS ({claims_sql}),
        w AS (SELECT rid, amount, coalesce(sum(CAST(amount AS HUGEINT)) OVER (
                  ORDER BY {order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before FROM c)
        SELECT rid, CAST(greatest(CAST(0 AS HUGEINT), least(CAST(amount AS HUGEINT), {cap_sql} - before)) AS BIGINT)
        FROM w
        """
    con.execute(sql)
