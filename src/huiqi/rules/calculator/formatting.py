"""Number and money text shared by every part of the calculator (no plan knowledge here)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

from huiqi.rules.expr import Expr, format_value, render_node
from huiqi.rules.expr_ast import Unit
from huiqi.rules.model import Stacking

__all__ = ["chain_step", "fmt_money", "format_quantity", "quote_suffix", "render_expr"]


def render_expr(expr: Expr, env: Mapping[str, object], labels: Mapping[str, str],
                  units: Mapping[str, Unit]) -> str:
    # expr.explain would re-infer units on every call; the plan already holds them.
    return render_node(expr.ast, env, labels, units)


@lru_cache(maxsize=8192, typed=True)
def _fmt_cached(value: object, unit: Unit | None) -> str:
    return format_value(value, unit)


def format_quantity(value: object, unit: Unit | None) -> str:
    # The same thresholds and amounts are formatted on every calculation; typed=True
    # keeps True and Decimal(1) (equal in Python) apart.
    try:
        return _fmt_cached(value, unit)
    except TypeError:  # unhashable
        return format_value(value, unit)


def fmt_money(value: int | Decimal | None) -> str:
    if value is None:
        return "金额待定"
    return format_quantity(Decimal(value), "money")


def chain_step(formula: str | None, step: str, value: Decimal) -> str | None:
    """Append one step ("受单个项目最高300万元限制") to the formula chain: "… → step = value"."""
    if formula is None:
        return None
    return f"{formula} → {step} = {fmt_money(value)}"


def quote_suffix(st: Stacking) -> str:
    return f"(原文:“{st.quote}”)" if st.quote else ""
