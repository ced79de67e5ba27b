"""Condition lines and the per-result explanation text of a calculation.

The statement of a condition itself comes from :mod:`huiqi.rules.explain`; this module
adds the check mark, the actual/required columns and the whole explanation block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huiqi.rules.calculator.environment import ENTERPRISE, lookup_field, normalize_value
from huiqi.rules.calculator.formatting import fmt_money, format_quantity
from huiqi.rules.calculator.plan import BUILTIN_LABELS, PCond, Plan
from huiqi.rules.explain import Statement, state_condition
from huiqi.rules.result import STATUS_LABELS

__all__ = ["condition_outcome", "condition_statement", "explanation_text", "field_label"]

# Display symbols; ≥/≤ read better than >=/<= in Chinese text.
_SYM = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}


# 民法典 第1259条: 以上/以下 include the number, 超过/不满 do not; say which, every time.
_INCLUSIVE = {">=": "(含)", "<=": "(含)", ">": "(不含)", "<": "(不含)", "==": "", "!=": ""}


def condition_outcome(pc: PCond, env: Mapping[str, object], value: object, plan: Plan) -> dict[str, Any]:
    """One condition line: what the rule requires, and only true statements about the values.

    The text comes from :func:`huiqi.rules.explain.state_condition` (see its docstring
    for why it is always true); ``actual``/``required`` are the structured columns of
    the simple shapes (one threshold, one membership, one flag).
    """
    # Plain dicts: the whole report is validated once at the end (one pydantic-core
    # call instead of hundreds of model constructions per calculation).
    status = "true" if value is True else "false" if value is False else "unknown"
    mark = {"true": "✓", "false": "✗", "unknown": "?"}[status]
    suffix = " — 无法判定" if status == "unknown" else ""
    stmt = condition_statement(pc, env, value)
    single = stmt.single
    actual: str | None = None
    required: str | None = None
    label = pc.label
    th = pc.threshold
    shape = pc.member_of
    if th is not None:
        info = plan.fields.get(th.field)
        name = info.label if info else th.field
        actual_raw = lookup_field(env, th.field)
        unit = pc.pexpr.units.get(th.field)
        actual = None if actual_raw is None else format_quantity(normalize_value(actual_raw, info), unit)
        required = f"{_SYM[th.op]} {format_quantity(th.value, unit)}{_INCLUSIVE[th.op]}"
        label = label or f"{name} {required}"
    elif shape is not None:
        info = plan.fields.get(shape.field)
        name = info.label if info else shape.field
        actual_raw = lookup_field(env, shape.field)
        actual = None if actual_raw is None else format_quantity(normalize_value(actual_raw, info), pc.pexpr.units.get(shape.field))
        if shape.kind == "flag":
            required = f"为{'否' if shape.negated else '是'}"
            label = label or (name if not shape.negated else f"非{name}")
        elif shape.kind == "eq":
            required = f"{'不为' if shape.negated else '为'} {shape.items[0]}"
        else:
            required = f"{'不属于' if shape.negated else '属于'} {'、'.join(shape.items)}"
        label = label or f"{name}{required}"
    if single is not None and single.kind == "flag" and pc.label:
        # The author's label states the requirement; say whether it holds and why not.
        if status == "true":
            text = f"{mark} {pc.label}"
        elif status == "false":
            text = f"{mark} {pc.label}(实际:{single.bare})"
        else:
            text = f"{mark} {pc.label}:{single.text}{suffix}"
    elif single is not None and (th is not None or shape is not None):
        text = f"{mark} {single.text}{suffix}"
    else:
        prefix = f"{pc.label}:" if pc.label else ""
        text = f"{mark} {prefix}{stmt.text}{suffix}"
    return dict(label=label or stmt.text, expr=pc.pexpr.text, status=status,
                actual=actual, required=required, text=text)


def condition_statement(pc: PCond, env: Mapping[str, object], value: object) -> Statement:
    """The condition ``pc`` stated for ``env`` (``value``: its evaluated truth)."""
    met = value if isinstance(value, bool) else None
    return state_condition(pc.pexpr.expr.ast, env, pc.pexpr.labels, pc.pexpr.units, met)


def field_label(plan: Plan, name: str) -> str:
    info = plan.fields.get(name)
    return info.label if info is not None else BUILTIN_LABELS.get(name, name)


def explanation_text(r: Mapping[str, Any]) -> str:
    subject = "" if r["subject"] == ENTERPRISE else f"(项目 {r['subject_name'] or r['subject']})"
    lines = [f"【{STATUS_LABELS[r['status']]}】{r['title']}{subject}:{r['reason']}"]
    if r["conditions"]:
        lines.append("条件:")
        lines.extend(f"  {c['text']}" for c in r["conditions"])
    if r["missing"]:
        lines.append("需补充:" + "、".join(m["label"] for m in r["missing"]))
    if r["formula"]:
        lines.append(f"金额:{r['formula']}")
    lines.extend(f"上限:{c}" for c in r["caps_applied"])
    if r["upper_bound"]:
        lines.append(f"注:原文为“最高/不超过”,{fmt_money(r['amount'])} 为可获金额上限")
    if r["stages"] is not None:
        plan = r["stages"]
        parts = "、".join(f"{st['label']} {fmt_money(st['amount'])}" for st in plan["stages"])
        lines.append(f"分阶段:合计 {fmt_money(plan['total'])}(确定总额,不是上限):{parts}"
                     + (f";{plan['note']}" if plan["note"] else ""))
    lines.extend(f"叠加:{s}" for s in r["stacking"])
    if r["near_miss"] is not None:
        lines.append(f"差一点:{r['near_miss'].text}")
    if r["benefit"]:
        lines.append(f"支持内容:{r['benefit']}")
    doc = f"《{r['document_title']}》" + (f"({r['doc_number']})" if r["doc_number"] else "")
    lines.append(f"依据:{doc} {r['clause']}:“{r['quote']}”")
    if r["department"]:
        lines.append(f"责任部门:{'、'.join(r['department'])}")
    return "\n".join(lines)
