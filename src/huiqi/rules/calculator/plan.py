"""The one typed plan: every rule of a RuleBase compiled once for the calculator.

:func:`plan_for` turns the loader's :class:`~huiqi.rules.packs.RuleBase` (compiled
expressions, merged jurisdictions, resolved validity) into :class:`PRule` objects with
field labels and units, simple condition shapes (for near misses and the
actual/required columns) and the most each rule can pay; the plan is cached on the
RuleBase while it lives.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from huiqi.errors import RuleError
from huiqi.rules.calculator.formatting import format_quantity, render_expr
from huiqi.rules.expr import Expr, compile_expr, format_value, infer_units
from huiqi.rules.expr_ast import Bool, Call, Cmp, Field, In, Node, Not, Num, Str, Tier, Unit
from huiqi.rules.model import Cap, Jurisdiction, Rule, RulePack, Stacking

if TYPE_CHECKING:
    from huiqi.profile import FieldRegistry
    from huiqi.rules.packs import ParameterSet, RuleBase

__all__ = ["BUILTIN_LABELS", "FieldInfo", "PBand", "PCap", "PCond", "PExpr", "PRule", "PStack", "Plan", "Shape",
           "Threshold", "all_pexprs", "cap_group", "literal_value", "parse_param_value", "plan_for"]

BUILTIN_LABELS = {
    "region.province": "所在省份",
    "region.city": "所在城市",
    "region.county": "所在县(市、区)",
    "region.district": "所在区(开发区、园区)",
    "date": "计算日期",
}


@dataclass(frozen=True, slots=True)
class FieldInfo:
    path: str
    label: str
    type: str
    unit: Unit | None
    description: str | None = None


def _unit_of_type(type_name: str) -> Unit | None:
    if type_name == "money":
        return "money"
    if type_name == "percent":
        return "percent"
    if type_name in ("number", "integer"):
        return "number"
    return None


def _field_info(rulebase: RuleBase, packs: Sequence[RulePack], path: str) -> FieldInfo:
    if path in BUILTIN_LABELS:
        return FieldInfo(path, BUILTIN_LABELS[path], "text", None)
    if path.startswith("param."):
        name = path[len("param."):]
        for pack in packs:
            if name in pack.parameters:
                p = pack.parameters[name]
                return FieldInfo(path, p.label, "percent" if p.unit == "%" else "number",
                                 "percent" if p.unit == "%" else None)
        param = rulebase.params.defs.get(name)
        is_pct = param is not None and param.unit == "%"
        return FieldInfo(path, (param.label if param is not None else None) or name,
                         "percent" if is_pct else "number", "percent" if is_pct else None)
    spec = rulebase.fields.get(path)
    if spec is None:
        return FieldInfo(path, path.split(".")[-1], "number", None)
    type_name = str(spec.type or "text")
    return FieldInfo(path, str(spec.label or path), type_name, _unit_of_type(type_name), spec.description)


@dataclass(slots=True)
class PExpr:
    """A compiled expression with the labels and units its explanation needs."""

    expr: Expr
    labels: dict[str, str]
    units: dict[str, Unit]

    def evaluate(self, env: Mapping[str, object]) -> tuple[object, tuple[str, ...]]:
        r = self.expr.evaluate(env)
        return r.value, r.missing

    def explain(self, env: Mapping[str, object]) -> str:
        return render_expr(self.expr, env, self.labels, self.units)

    @property
    def text(self) -> str:
        return self.expr.text


@dataclass(slots=True)
class Threshold:
    """A condition ``field OP constant`` (normalized so the field is on the left)."""

    field: str
    op: str
    value: Decimal
    value_text: str


@dataclass(frozen=True, slots=True)
class Shape:
    """A condition on one field against constants: membership, equality or a flag."""

    kind: Literal["in", "eq", "flag"]
    field: str
    items: tuple[str, ...] = ()
    negated: bool = False


@dataclass(slots=True)
class PCond:
    pexpr: PExpr
    label: str | None
    threshold: Threshold | None
    # ``field in [...]`` / ``field == c`` / a bare flag get actual/required columns too.
    member_of: Shape | None


@dataclass(slots=True)
class PBand:
    lower: Decimal | None
    lower_inclusive: bool
    upper: Decimal | None
    upper_inclusive: bool
    amount: PExpr
    label: str | None

    def contains(self, x: Decimal) -> bool:
        if self.lower is not None and (x < self.lower or (x == self.lower and not self.lower_inclusive)):
            return False
        return not (self.upper is not None and (x > self.upper or (x == self.upper and not self.upper_inclusive)))

    def describe(self, unit: Unit | None) -> str:
        if self.label:
            return self.label
        parts = []
        if self.lower is not None:
            parts.append(f"{'≥' if self.lower_inclusive else '>'} {format_quantity(self.lower, unit)}")
        if self.upper is not None:
            parts.append(f"{'≤' if self.upper_inclusive else '<'} {format_quantity(self.upper, unit)}")
        return " 且 ".join(parts) or "全部"


@dataclass(slots=True)
class PCap:
    cap: Cap
    pexpr: PExpr


@dataclass(slots=True)
class PStack:
    stacking: Stacking
    level: PExpr | None


@dataclass(slots=True)
class PRule:
    index: int
    rule: Rule
    pack: RulePack
    valid_from: date | None
    valid_to: date | None
    jurisdictions: tuple[Jurisdiction, ...]
    per_project: bool
    conds: list[PCond]
    formula: PExpr | None = None
    tiers_on: PExpr | None = None
    bands: list[PBand] = field(default_factory=list)
    lookup_on: PExpr | None = None
    table: dict[str, PExpr] = field(default_factory=dict)
    caps: list[PCap] = field(default_factory=list)
    stacks: list[PStack] = field(default_factory=list)
    rank_by: PExpr | None = None
    rank_within: PExpr | None = None
    rank_awards: list[Decimal] = field(default_factory=list)
    quota_per: PExpr | None = None
    quota_by: PExpr | None = None
    static_max: Decimal | None = None
    tier_threshold_field: str | None = None
    jurisdiction_key: tuple[Any, ...] = ()


@dataclass(slots=True)
class Plan:
    registry: FieldRegistry
    parameters: ParameterSet
    packs: list[RulePack]
    rules: list[PRule]
    fields: dict[str, FieldInfo]
    params: list[str]
    # stacking group → ids of the rules in it (history matches by rule id)
    stack_groups: dict[str, set[str]]
    cap_groups: dict[str, set[str]]
    owner: RuleBase | None = None


_PLANS: dict[int, tuple[weakref.ref[RuleBase] | None, Plan]] = {}


def plan_for(rulebase: RuleBase) -> Plan:
    """The compiled plan of a RuleBase, built on first use and cached while it lives."""
    key = id(rulebase)
    hit = _PLANS.get(key)
    if hit is not None:
        old_ref, old_plan = hit
        if (old_ref is None and old_plan.owner is rulebase) or (old_ref is not None and old_ref() is rulebase):
            return old_plan
    plan = _build_plan(rulebase)

    def forget(_: object, k: int = key) -> None:
        _PLANS.pop(k, None)

    ref: weakref.ref[RuleBase] | None
    try:
        ref = weakref.ref(rulebase, forget)
    except TypeError:
        # Not weak-referenceable: keep it alive with the plan so the id stays unique.
        ref = None
        plan.owner = rulebase
    _PLANS[key] = (ref, plan)
    return plan


def literal_value(text: Any, *, source: str | None = None) -> Decimal:
    """A constant amount ("300万元", 3000000, "10%") as an exact Decimal."""
    if isinstance(text, bool):
        raise RuleError(f"金额不能是真假值:{text!r}", file=source)
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, Decimal):
        return text
    value = compile_expr(str(text), source=source).evaluate({}).value
    if not isinstance(value, Decimal):
        raise RuleError(f"应为金额或数值常量:{text!r}", file=source)
    return value


def parse_param_value(text: str) -> Decimal | str:
    """A ``--param`` override: 3.45% / 500万元 / 0.5 are exact numbers, anything else text."""
    try:
        value = compile_expr(text.strip()).evaluate({}).value
    except RuleError:
        return text
    return value if isinstance(value, Decimal) else text


def _build_plan(rulebase: RuleBase) -> Plan:
    packs = [loaded.pack for loaded in rulebase.packs]
    fields: dict[str, FieldInfo] = {}

    def info(path: str) -> FieldInfo:
        if path not in fields:
            fields[path] = _field_info(rulebase, packs, path)
        return fields[path]

    def pexpr(text: str, source: str, what: str, clause: str, ready: Expr | None = None) -> PExpr:
        # The loader already compiled every expression of the RuleBase; reuse those
        # objects (compiling here is only the fallback for a part it did not compile).
        e = ready if ready is not None else compile_expr(text, source=source, field=what, clause=clause)
        labels = {f: info(f).label for f in e.fields}
        units: dict[str, Unit] = {}
        for f in e.fields:
            u = info(f).unit
            if u is not None:
                units[f] = u
        # Fields without a registered unit get one inferred from the literals they
        # meet (x >= 500万元 makes x money); done once here, not per explanation.
        units = infer_units(e.ast, units)
        return PExpr(e, labels, units)

    rules: list[PRule] = []
    stack_groups: dict[str, set[str]] = {}
    cap_groups: dict[str, set[str]] = {}
    params: dict[str, None] = {}
    for index, cr in enumerate(rulebase.rules):
        rule, pack = cr.rule, cr.pack.pack
        clause = rule.citation.clause
        src = cr.source
        # The loader lays the rule's jurisdiction over the pack's (CompiledRule.jurisdiction).
        pr = PRule(
            index=index,
            rule=rule,
            pack=pack,
            # Contract: a rule's own validity replaces the pack's (a measure may run
            # on a different schedule than the document), it is not merged field-wise.
            valid_from=(rule.validity or pack.validity).from_,
            valid_to=(rule.validity or pack.validity).to,
            jurisdictions=(cr.jurisdiction,),
            per_project=rule.beneficiary == "project",
            conds=[],
        )
        pr.jurisdiction_key = tuple(
            (j.province, j.city, j.county, tuple(j.districts or ()), tuple(j.excluded_areas)) for j in pr.jurisdictions)
        c_conds = cr.conditions
        for i, cond in enumerate(rule.conditions):
            ready = c_conds[i].expr if i < len(c_conds) else None
            pe = pexpr(cond.when, src, f"conditions[{i}]", clause, ready)
            pr.conds.append(PCond(pe, cond.label, _threshold(pe.expr.ast), _membership(pe.expr.ast)))
        amount = rule.amount
        c_amount = cr.amount
        if amount is not None:
            if amount.formula is not None:
                pr.formula = pexpr(amount.formula, src, "amount.formula", clause, c_amount.formula if c_amount else None)
            elif amount.tiers is not None:
                pr.tiers_on = pexpr(amount.tiers.on, src, "amount.tiers.on", clause, c_amount.tiers_on if c_amount else None)
                if isinstance(pr.tiers_on.expr.ast, Field):
                    pr.tier_threshold_field = pr.tiers_on.expr.ast.name
                c_bands = c_amount.bands if c_amount else ()
                for j, band in enumerate(amount.tiers.bands):
                    ready = c_bands[j].amount if j < len(c_bands) else None
                    pr.bands.append(PBand(
                        None if band.lower is None else literal_value(band.lower, source=src),
                        band.lower_inclusive,
                        None if band.upper is None else literal_value(band.upper, source=src),
                        band.upper_inclusive,
                        pexpr(band.amount, src, f"amount.tiers.bands[{j}]", clause, ready),
                        band.label,
                    ))
            elif amount.lookup is not None:
                pr.lookup_on = pexpr(amount.lookup.on, src, "amount.lookup.on", clause, c_amount.lookup_on if c_amount else None)
                c_table = c_amount.lookup_table if c_amount else {}
                for key, text in amount.lookup.table.items():
                    pr.table[str(key)] = pexpr(text, src, f"amount.lookup.table[{key}]", clause, c_table.get(key))
        c_caps = cr.caps
        for j, cap in enumerate(rule.caps):
            ready = c_caps[j].amount if j < len(c_caps) else None
            pr.caps.append(PCap(cap, pexpr(cap.amount, src, f"caps[{j}]", clause, ready)))
            if cap.scope in ("enterprise_year", "enterprise"):
                cap_groups.setdefault(cap_group(cap, rule), set()).add(rule.id)
        c_stacks = cr.stacking
        for j, st in enumerate(rule.stacking):
            ready = c_stacks[j].level if j < len(c_stacks) else None
            level = pexpr(st.level, src, f"stacking[{j}].level", clause, ready) if st.level else None
            pr.stacks.append(PStack(st, level))
            stack_groups.setdefault(st.group, set()).add(rule.id)
        if rule.rank is not None:
            c_rank = cr.rank
            pr.rank_by = pexpr(rule.rank.by, src, "rank.by", clause, c_rank.by if c_rank else None)
            if rule.rank.within:
                pr.rank_within = pexpr(rule.rank.within, src, "rank.within", clause, c_rank.within if c_rank else None)
            pr.rank_awards = [literal_value(a, source=src) for a in rule.rank.awards]
        if rule.quota is not None:
            c_quota = cr.quota
            pr.quota_per = pexpr(rule.quota.per, src, "quota.per", clause, c_quota.per if c_quota else None)
            pr.quota_by = pexpr(rule.quota.by, src, "quota.by", clause, c_quota.by if c_quota else None)
        pr.static_max = _static_max(pr)
        for pe in all_pexprs(pr):
            for f in pe.expr.fields:
                if f.startswith("param."):
                    params.setdefault(f[len("param."):], None)
        rules.append(pr)
    return Plan(rulebase.fields, rulebase.params, packs, rules, fields,
                list(params), stack_groups, cap_groups)


def all_pexprs(pr: PRule) -> Iterable[PExpr]:
    for c in pr.conds:
        yield c.pexpr
    for pe in (pr.formula, pr.tiers_on, pr.lookup_on, pr.rank_by, pr.rank_within, pr.quota_per, pr.quota_by):
        if pe is not None:
            yield pe
    for b in pr.bands:
        yield b.amount
    yield from pr.table.values()
    for cap in pr.caps:
        yield cap.pexpr
    for s in pr.stacks:
        if s.level is not None:
            yield s.level


def cap_group(cap: Cap, rule: Rule) -> str:
    return cap.group or f"{cap.scope}:{rule.id}"


_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}


def _threshold(node: Node) -> Threshold | None:
    if not isinstance(node, Cmp) or node.op in ("==", "!="):
        return None
    if isinstance(node.left, Field) and isinstance(node.right, Num):
        return Threshold(node.left.name, node.op, node.right.value, node.right.text)
    if isinstance(node.left, Num) and isinstance(node.right, Field):
        return Threshold(node.right.name, _FLIP[node.op], node.left.value, node.left.text)
    return None


def _const_text(node: Node) -> str | None:
    if isinstance(node, Num | Str | Bool):
        return format_value(node.value)
    return None


def _membership(node: Node) -> Shape | None:
    if isinstance(node, In) and isinstance(node.needle, Field):
        items = [_const_text(i) for i in node.items]
        if None in items:
            return None
        return Shape("in", node.needle.name, tuple(i for i in items if i is not None), node.negated)
    if isinstance(node, Cmp) and node.op in ("==", "!="):
        field_node, const = (node.left, node.right) if isinstance(node.left, Field) else (node.right, node.left)
        text = _const_text(const)
        if not isinstance(field_node, Field) or text is None:
            return None
        if isinstance(const, Bool):
            # x == true / x != false read as a flag
            return Shape("flag", field_node.name, negated=const.value == (node.op == "!="))
        return Shape("eq", field_node.name, (text,), node.op == "!=")
    if isinstance(node, Field):
        return Shape("flag", node.name)
    if isinstance(node, Not) and isinstance(node.operand, Field):
        return Shape("flag", node.operand.name, negated=True)
    return None


def _const_upper(node: Node) -> Decimal | None:
    """An upper bound of an amount expression that holds whatever the fields are."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Call):
        if node.func == "min":
            known = [u for u in map(_const_upper, node.args) if u is not None]
            return min(known) if known else None
        if node.func in ("max", "if", "coalesce"):
            args = node.args[1:] if node.func == "if" else node.args
            ups = [_const_upper(a) for a in args]
            return max(u for u in ups if u is not None) if ups and None not in ups else None
        if node.func in ("floor", "round_yuan"):
            return _const_upper(node.args[0])
    if isinstance(node, Tier):
        ups = [_const_upper(v) for v in (*node.values, node.default) if not _is_null(v)]
        return max(u for u in ups if u is not None) if ups and None not in ups else None
    return None


def _is_null(node: Node) -> bool:
    return type(node).__name__ == "Null"


def _static_max(pr: PRule) -> Decimal | None:
    """The most a rule can pay, known without any enterprise data (for ask-next)."""
    candidates: list[Decimal] = []
    if pr.formula is not None:
        u = _const_upper(pr.formula.expr.ast)
        if u is not None:
            candidates.append(u)
    if pr.bands:
        ups = [_const_upper(b.amount.expr.ast) for b in pr.bands]
        if None not in ups:
            candidates.append(max(u for u in ups if u is not None))
    if pr.table:
        ups = [_const_upper(p.expr.ast) for p in pr.table.values()]
        if None not in ups:
            candidates.append(max(u for u in ups if u is not None))
    if pr.rank_awards:
        candidates.append(max(pr.rank_awards))
    for c in pr.caps:
        if c.cap.scope in ("award", "enterprise_year", "enterprise"):
            u = _const_upper(c.pexpr.expr.ast)
            if u is not None:
                candidates.append(u)
    return min(candidates) if candidates else None
