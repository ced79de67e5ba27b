"""差别化政策 — what a class means for an enterprise: yearly surcharges and eligibility effects.

A methodology lists consequences per class:

* ``per_unit``: a price difference × the enterprise's yearly quantity, e.g. 差别电价
  C类 +0.1元/千瓦时 × 年用电量 → a yearly amount in whole yuan;
* ``share``: a percentage of a money field (e.g. 城镇土地使用税减免 50% × 税额);
* ``eligibility``: an effect without an amount — ``barred`` (C、D类不得受让工业用地),
  ``priority`` (A、B类新增用电优先保障) or ``eligible`` (A、B类可享受某项奖励).

Amounts are ``round_yuan(quantity × rate)`` with the expression language's rounding
(6-place product, then half away from zero to the yuan): exact, never float. The same
definitions are used by the set-based engines (``sql_columns``), the reference engine
(``apply_row``) and for one enterprise (``effects_for``, for the calculator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TYPE_CHECKING, Any

from huiqi.evaluation.methodology import Consequence, Methodology

if TYPE_CHECKING:
    from huiqi.evaluation.sql import QueryBuilder

_CTX = Context(prec=100, rounding=ROUND_HALF_UP)
_SIX = Decimal("0.000001")
AMOUNT_KINDS = ("per_unit", "share")


def amount(quantity: Decimal | None, rate: Decimal) -> Decimal | None:
    """round_yuan(quantity × rate): the product at 6 places, then half away from zero to the yuan.

    A zero rate owes nothing even when the quantity is unknown (A、B类 pay no surcharge).
    """
    if rate == 0:
        return Decimal(0)
    if quantity is None:
        return None
    product = _CTX.multiply(quantity.quantize(_SIX, ROUND_HALF_UP, _CTX), rate.quantize(_SIX, ROUND_HALF_UP, _CTX))
    result = product.quantize(_SIX, ROUND_HALF_UP, _CTX).quantize(Decimal(1), ROUND_HALF_UP, _CTX)
    return abs(result) if result == 0 else result


def text(c: Consequence) -> str:
    """Eligibility effects are listed by their label, written as the effect (不得受让工业用地…)."""
    return c.label


# -- set-based (DuckDB / Spark) --------------------------------------------------------------------

def sql_columns(qb: QueryBuilder, cls: str) -> list[str]:
    """Columns <id>_amount, consequence_total and eligibility for the final projection."""
    from huiqi.evaluation.sql import typed_name

    out: list[str] = []
    elig: list[str] = []
    amounts: list[str] = []
    for c in qb.m.consequences:
        if c.kind in AMOUNT_KINDS:
            assert c.input is not None
            qty = qb.q(typed_name(c.input))
            arms = " ".join(f"WHEN {qb.s(k)} THEN {qb.num(v)}" for k, v in c.rates.items())
            rate = f"CASE {cls} {arms} ELSE {qb.num(Decimal(0))} END"
            value = qb.arith("round_yuan(x * r)", x=qty, r=rate)
            col = (f"CASE WHEN exc IS NULL THEN CASE WHEN {rate} = 0 THEN CAST(0 AS DECIMAL(38,0)) "
                   f"ELSE CAST({value} AS DECIMAL(38,0)) END END")
            out.append(f"{col} AS {qb.q(c.id + '_amount')}")
            amounts.append(col)
        else:
            classes = ", ".join(qb.s(k) for k in c.classes)
            elig.append(f"CASE WHEN exc IS NULL AND {cls} IN ({classes}) THEN {qb.s(text(c))} END")
    if amounts:
        total = " + ".join(f"COALESCE({a}, CAST(0 AS DECIMAL(38,0)))" for a in amounts)
        out.append(f"CASE WHEN exc IS NULL THEN CAST({total} AS DECIMAL(38,0)) END AS consequence_total")
    out.append(f"NULLIF({qb.concat_ws(elig)}, '') AS eligibility" if elig
               else f"CAST(NULL AS {qb.string_type}) AS eligibility")
    return out


# -- row by row (reference engine) ---------------------------------------------------------------------

def apply_row(m: Methodology, row: dict[str, Any], env: Mapping[str, Any], graded: bool) -> None:
    amounts: list[Decimal | None] = []
    elig: list[str] = []
    for c in m.consequences:
        if c.kind in AMOUNT_KINDS:
            assert c.input is not None
            value = amount(env.get(c.input), c.rates.get(row["class"], Decimal(0))) if graded else None
            if graded:
                amounts.append(value)
            row[f"{c.id}_amount"] = value
        elif graded and row["class"] in c.classes:
            elig.append(text(c))
    if any(c.kind in AMOUNT_KINDS for c in m.consequences):
        row["consequence_total"] = sum((a or Decimal(0) for a in amounts), Decimal(0)) if graded else None
    row["eligibility"] = "；".join(elig) or None


# -- one enterprise (calculator, explanations) ------------------------------------------------------------

@dataclass(frozen=True)
class Effect:
    id: str
    label: str
    kind: str
    applies: bool                 # the class triggers it (a rate of 0 still "applies" as 0元)
    amount: Decimal | None        # yuan per year, for per_unit / share
    rate: Decimal | None
    quantity: Decimal | None
    unit: str | None
    source: str | None
    explanation: str


def effects_for(m: Methodology, cls: str, enterprise: Mapping[str, Any]) -> list[Effect]:
    """The consequences of class ``cls`` for one enterprise (fields as ``{"electricity_kwh": …}``
    or ``{"enterprise.electricity_kwh": …}``), with a Chinese explanation each."""
    out: list[Effect] = []
    for c in m.consequences:
        if c.kind in AMOUNT_KINDS:
            assert c.input is not None
            short = c.input.removeprefix("enterprise.")
            raw = enterprise.get(c.input, enterprise.get(short))
            qty = None if raw is None else Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
            rate = c.rates.get(cls, Decimal(0))
            value = amount(qty, rate)
            label = m.inputs[short].label
            unit = m.inputs[short].unit or ""
            if qty is None:
                why = f"{c.label}:{cls}类单价 {rate}{c.unit or ''},缺少{label},无法计算年度金额"
            else:
                why = f"{c.label}:{label} {qty}{unit} × {rate}{c.unit or ''} = {value}元/年"
            out.append(Effect(c.id, c.label, c.kind, rate != 0, value, rate, qty, c.unit, c.source, why))
        else:
            hit = cls in c.classes
            why = f"{c.label}({'、'.join(c.classes)}类)" + ("" if hit else f":{cls}类不适用")
            out.append(Effect(c.id, c.label, c.kind, hit, None, None, None, None, c.source, why))
    return out
