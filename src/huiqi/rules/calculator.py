"""惠企计算器: which measures apply to one enterprise, how much, why, and what is missing.

Semantics are those of docs/rules-contract.md ("Rule semantics"). The work is split
in two so that a calculation stays in the low milliseconds:

* :func:`plan_for` compiles every rule of a RuleBase once (conditions, amount parts,
  caps, stacking levels, field labels and units, the shape of simple thresholds for
  near misses) and caches the plan on the RuleBase;
* :func:`calculate` evaluates the plan against one profile: per rule and subject
  (the enterprise or each project) validity → jurisdiction → conditions (three-valued)
  → amount → award caps → rounding; then, across results, history-based stacking,
  in-calculation stacking, shared enterprise caps (in rule order), near misses,
  ask-next questions and leads.

Money is exact: expressions yield ``Decimal``; amounts are rounded once to integer
yuan (half_up unless the rule says floor) and never touch float.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Literal

from huiqi.errors import HuiqiError, RuleError
from huiqi.rules.explain import Statement, state_condition
from huiqi.rules.expr import Expr, compile_expr, format_value, infer_units, render_node
from huiqi.rules.expr_ast import Bool, Call, Cmp, Field, In, Node, Not, Num, Str, Tier, Unit
from huiqi.rules.model import Cap, Lead, Rule, RulePack, Stacking
from huiqi.rules.result import (
    STATUS_LABELS,
    CalcReport,
    LeadResult,
    NearMiss,
    Question,
    Status,
)

__all__ = ["calculate", "condition_statement", "parse_param_value", "plan_for"]

_ONE = Decimal(1)
_ZERO = Decimal(0)
ENTERPRISE = "enterprise"
ASK_NEXT_LIMIT = 5

# Display symbols; ≥/≤ read better than >=/<= in Chinese text.
_SYM = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}
_NEGATE = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}
# 民法典 第1259条: 以上/以下 include the number, 超过/不满 do not; say which, every time.
_INCLUSIVE = {">=": "(含)", "<=": "(含)", ">": "(不含)", "<": "(不含)", "==": "", "!=": ""}

_BUILTIN_LABELS = {
    "region.province": "所在省份",
    "region.city": "所在城市",
    "region.county": "所在县(市、区)",
    "region.district": "所在区(开发区、园区)",
    "date": "计算日期",
}


# -- field registry adapter ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldInfo:
    path: str
    label: str
    type: str
    unit: Unit | None
    description: str | None = None


def _attr(obj: Any, *names: str) -> Any:
    """First present attribute or mapping key (R1's objects may be models or dicts)."""
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return None


def _unit_of_type(type_name: str) -> Unit | None:
    if type_name == "money":
        return "money"
    if type_name == "percent":
        return "percent"
    if type_name in ("number", "integer"):
        return "number"
    return None


def _registry(rulebase: Any) -> Any:
    return _attr(rulebase, "fields", "registry", "field_registry")


def _field_info(rulebase: Any, packs: Sequence[RulePack], path: str) -> FieldInfo:
    if path in _BUILTIN_LABELS:
        return FieldInfo(path, _BUILTIN_LABELS[path], "text", None)
    if path.startswith("param."):
        name = path[len("param."):]
        for pack in packs:
            if name in pack.parameters:
                p = pack.parameters[name]
                return FieldInfo(path, p.label, "percent" if p.unit == "%" else "number",
                                 "percent" if p.unit == "%" else None)
        params = _attr(rulebase, "params", "parameters")
        spec = None
        getter = getattr(params, "get", None) if params is not None else None
        if callable(getter):
            try:
                spec = getter(name)
            except (KeyError, LookupError, TypeError, HuiqiError):
                spec = None
        if spec is None and params is not None:
            defs = _attr(params, "definitions", "params", "parameters")
            if isinstance(defs, Mapping):
                spec = defs.get(name)
        label = _attr(spec, "label") if spec is not None else None
        unit_text = _attr(spec, "unit") if spec is not None else None
        is_pct = unit_text == "%"
        return FieldInfo(path, label or name, "percent" if is_pct else "number",
                         "percent" if is_pct else None)
    registry = _registry(rulebase)
    spec = None
    if registry is not None:
        getter = getattr(registry, "get", None)
        if callable(getter):
            try:
                spec = getter(path)
            except (KeyError, LookupError, TypeError):
                spec = None
    if spec is None:
        return FieldInfo(path, path.split(".")[-1], "number", None)
    type_name = str(_attr(spec, "type") or "text")
    return FieldInfo(path, str(_attr(spec, "label") or path), type_name, _unit_of_type(type_name),
                     _attr(spec, "description"))


# -- compiled plan ------------------------------------------------------------------------


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
        return _explain_fast(self.expr, env, self.labels, self.units)

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
            parts.append(f"{'≥' if self.lower_inclusive else '>'} {_fmt(self.lower, unit)}")
        if self.upper is not None:
            parts.append(f"{'≤' if self.upper_inclusive else '<'} {_fmt(self.upper, unit)}")
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
    jurisdictions: tuple[Any, ...]
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
    registry: Any
    parameters: Any
    packs: list[RulePack]
    rules: list[PRule]
    fields: dict[str, FieldInfo]
    params: list[str]
    # stacking group → ids of the rules in it (history matches by rule id)
    stack_groups: dict[str, set[str]]
    cap_groups: dict[str, set[str]]
    owner: Any = None


_PLANS: dict[int, tuple[weakref.ref[Any] | None, Plan]] = {}


def _packs_of(rulebase: Any) -> list[RulePack]:
    packs = _attr(rulebase, "packs")
    if isinstance(packs, Mapping):
        packs = list(packs.values())
    out: list[RulePack] = []
    for p in packs or ():
        out.append(p if isinstance(p, RulePack) else _attr(p, "pack", "model"))
    return out


def plan_for(rulebase: Any) -> Plan:
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

    ref: weakref.ref[Any] | None
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


def _rule_entries(rulebase: Any, packs: list[RulePack]) -> list[tuple[Rule, RulePack, Any]]:
    """(rule, pack, R1's CompiledRule or None) in pack order."""
    compiled = _attr(rulebase, "rules")
    if compiled and all(hasattr(cr, "rule") and hasattr(cr, "pack") for cr in compiled):
        out = []
        for cr in compiled:
            pack = cr.pack if isinstance(cr.pack, RulePack) else _attr(cr.pack, "pack")
            out.append((cr.rule, pack, cr))
        return out
    return [(rule, pack, None) for pack in packs for rule in pack.rules]


def _build_plan(rulebase: Any) -> Plan:
    packs = _packs_of(rulebase)
    fields: dict[str, FieldInfo] = {}

    def info(path: str) -> FieldInfo:
        if path not in fields:
            fields[path] = _field_info(rulebase, packs, path)
        return fields[path]

    def pexpr(text: str, source: str, what: str, clause: str, ready: Expr | None = None) -> PExpr:
        # R1 already compiled every expression of the RuleBase; reuse those objects
        # and compile here only when handed bare RulePacks.
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
    for index, (rule, pack, cr) in enumerate(_rule_entries(rulebase, packs)):
        clause = rule.citation.clause
        src = str(_attr(cr, "source") or f"{pack.document.id}:{rule.id}") if cr is not None else f"{pack.document.id}:{rule.id}"
        # R1 lays the rule's jurisdiction over the pack's; without R1, both must match.
        merged = _attr(cr, "jurisdiction") if cr is not None else None
        pr = PRule(
            index=index,
            rule=rule,
            pack=pack,
            # Contract: a rule's own validity replaces the pack's (a measure may run
            # on a different schedule than the document), it is not merged field-wise.
            valid_from=(rule.validity or pack.validity).from_,
            valid_to=(rule.validity or pack.validity).to,
            jurisdictions=(merged,) if merged is not None else
            tuple(j for j in (pack.jurisdiction, rule.jurisdiction) if j is not None),
            per_project=rule.beneficiary == "project",
            conds=[],
        )
        pr.jurisdiction_key = tuple(
            (j.province, j.city, j.county, tuple(j.districts or ()), tuple(j.excluded_areas)) for j in pr.jurisdictions)
        c_conds = list(_attr(cr, "conditions") or ()) if cr is not None else []
        for i, cond in enumerate(rule.conditions):
            ready = c_conds[i].expr if i < len(c_conds) else None
            pe = pexpr(cond.when, src, f"conditions[{i}]", clause, ready)
            pr.conds.append(PCond(pe, cond.label, _threshold(pe.expr.ast), _membership(pe.expr.ast)))
        amount = rule.amount
        c_amount = _attr(cr, "amount") if cr is not None else None
        if amount is not None:
            if amount.formula is not None:
                pr.formula = pexpr(amount.formula, src, "amount.formula", clause, _attr(c_amount, "formula"))
            elif amount.tiers is not None:
                pr.tiers_on = pexpr(amount.tiers.on, src, "amount.tiers.on", clause, _attr(c_amount, "tiers_on"))
                if isinstance(pr.tiers_on.expr.ast, Field):
                    pr.tier_threshold_field = pr.tiers_on.expr.ast.name
                c_bands = list(_attr(c_amount, "bands") or ())
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
                pr.lookup_on = pexpr(amount.lookup.on, src, "amount.lookup.on", clause, _attr(c_amount, "lookup_on"))
                c_table = _attr(c_amount, "lookup_table") or {}
                for key, text in amount.lookup.table.items():
                    pr.table[str(key)] = pexpr(text, src, f"amount.lookup.table[{key}]", clause, c_table.get(key))
        c_caps = list(_attr(cr, "caps") or ()) if cr is not None else []
        for j, cap in enumerate(rule.caps):
            ready = c_caps[j].amount if j < len(c_caps) else None
            pr.caps.append(PCap(cap, pexpr(cap.amount, src, f"caps[{j}]", clause, ready)))
            if cap.scope in ("enterprise_year", "enterprise"):
                cap_groups.setdefault(cap_group(cap, rule), set()).add(rule.id)
        c_stacks = list(_attr(cr, "stacking") or ()) if cr is not None else []
        for j, st in enumerate(rule.stacking):
            ready = c_stacks[j].level if j < len(c_stacks) else None
            level = pexpr(st.level, src, f"stacking[{j}].level", clause, ready) if st.level else None
            pr.stacks.append(PStack(st, level))
            stack_groups.setdefault(st.group, set()).add(rule.id)
        if rule.rank is not None:
            c_rank = _attr(cr, "rank") if cr is not None else None
            pr.rank_by = pexpr(rule.rank.by, src, "rank.by", clause, _attr(c_rank, "by"))
            if rule.rank.within:
                pr.rank_within = pexpr(rule.rank.within, src, "rank.within", clause, _attr(c_rank, "within"))
            pr.rank_awards = [literal_value(a, source=src) for a in rule.rank.awards]
        if rule.quota is not None:
            c_quota = _attr(cr, "quota") if cr is not None else None
            pr.quota_per = pexpr(rule.quota.per, src, "quota.per", clause, _attr(c_quota, "per"))
            pr.quota_by = pexpr(rule.quota.by, src, "quota.by", clause, _attr(c_quota, "by"))
        pr.static_max = _static_max(pr)
        for pe in all_pexprs(pr):
            for f in pe.expr.fields:
                if f.startswith("param."):
                    params.setdefault(f[len("param."):], None)
        rules.append(pr)
    return Plan(_registry(rulebase), _attr(rulebase, "params", "parameters"), packs, rules, fields,
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


# -- explanations -------------------------------------------------------------------------


def _explain_fast(expr: Expr, env: Mapping[str, object], labels: Mapping[str, str],
                  units: Mapping[str, Unit]) -> str:
    # expr.explain would re-infer units on every call; the plan already holds them.
    return render_node(expr.ast, env, labels, units)


@lru_cache(maxsize=8192, typed=True)
def _fmt_cached(value: object, unit: Unit | None) -> str:
    return format_value(value, unit)


def _fmt(value: object, unit: Unit | None) -> str:
    # The same thresholds and amounts are formatted on every calculation; typed=True
    # keeps True and Decimal(1) (equal in Python) apart.
    try:
        return _fmt_cached(value, unit)
    except TypeError:  # unhashable
        return format_value(value, unit)


def fmt_money(value: int | Decimal | None) -> str:
    if value is None:
        return "金额待定"
    return _fmt(Decimal(value), "money")


# -- profile → environment ----------------------------------------------------------------


def _as_mapping(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dict(dump())
    return dict(vars(obj))


def _norm_value(value: Any, info: FieldInfo | None) -> Any:
    """Profiles should already be typed by R1's loader; accept the written forms too."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and info is not None and info.type in ("money", "number", "integer", "percent"):
        parsed = parse_param_value(value)
        return parsed
    return value


def _values(raw: Mapping[str, Any], prefix: str, plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        info = plan.fields.get(f"{prefix}.{k}")
        out[k] = _norm_value(v, info)
    return out


@dataclass(slots=True)
class Subject:
    id: str
    name: str | None
    env: dict[str, Any]


@dataclass(slots=True)
class ProfileView:
    """What the calculator reads from a profile, whatever R1's class looks like."""

    name: str
    region: dict[str, Any]
    enterprise: dict[str, Any]
    projects: list[dict[str, Any]]
    history: list[dict[str, Any]]


def view_profile(profile: Any) -> ProfileView:
    region = _as_mapping(_attr(profile, "region"))
    enterprise = _as_mapping(_attr(profile, "enterprise"))
    projects = []
    for i, p in enumerate(_attr(profile, "projects") or ()):
        pm = _as_mapping(p)
        extra = pm.pop("fields", None) or pm.pop("values", None)
        if isinstance(extra, Mapping):
            pm.update(extra)
        pm.setdefault("id", f"p{i + 1}")
        projects.append(pm)
    history = [_as_mapping(h) for h in (_attr(profile, "history") or ())]
    return ProfileView(str(_attr(profile, "name") or "未命名企业"), region, enterprise, projects, history)


def param_env(plan: Plan, on: date, overrides: Mapping[str, str] | None) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    shown: dict[str, str] = {}
    params = plan.parameters
    for name in plan.params:
        if overrides and name in overrides:
            values[name] = parse_param_value(str(overrides[name]))
            shown[name] = str(overrides[name])
            continue
        value: Any = None
        for pack in plan.packs:
            if name in pack.parameters:
                value = _param_in_force(pack.parameters[name].values, on)
                break
        if value is None and params is not None and hasattr(params, "value"):
            try:
                value = params.value(name, on)
            except (KeyError, LookupError, HuiqiError):
                value = None
        if isinstance(value, str):
            value = parse_param_value(value)
        values[name] = value
        if value is not None:
            info = plan.fields.get(f"param.{name}")
            shown[name] = _fmt(value, info.unit if info else None) if isinstance(value, Decimal) else str(value)
    for name, text in (overrides or {}).items():
        if name not in values:
            values[name] = parse_param_value(str(text))
            shown[name] = str(text)
    return values, shown


def _param_in_force(entries: Sequence[Any], on: date) -> Decimal | str | None:
    best = None
    for e in entries:
        if e.from_ <= on and (best is None or e.from_ >= best.from_):
            best = e
    return None if best is None else parse_param_value(best.value)


# -- evaluation of one rule for one subject -----------------------------------------------


@dataclass(slots=True)
class Work:
    """Mutable state of one (rule, subject) while the calculation proceeds."""

    pr: PRule
    subject: Subject
    status: Status
    reason: str = ""
    amount: Decimal | None = None  # before rounding until finalized; int after
    raw_amount: Decimal | None = None
    conds: list[dict[str, Any]] = field(default_factory=list)
    failed: list[PCond] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    formula: str | None = None
    caps_applied: list[str] = field(default_factory=list)
    stacking: list[str] = field(default_factory=list)
    near_miss: NearMiss | None = None
    levels: dict[str, str | None] = field(default_factory=dict)
    max_possible: Decimal | None = None
    population: bool = False
    stages: dict[str, Any] | None = None


# Administrative suffixes a place name may carry or omit (checked in this order).
PLACE_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "新区", "省", "市", "县", "区")


def norm_place(name: str) -> str:
    for suffix in PLACE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def same_place(a: str, b: str) -> bool:
    return a == b or norm_place(a) == norm_place(b)


def jurisdiction_status(pr: PRule, region: Mapping[str, Any]) -> tuple[Status | None, str, list[str]]:
    """(status or None when it applies, reason, missing region fields)."""
    missing: list[str] = []
    for j in pr.jurisdictions:
        for level in ("province", "city", "county"):
            want = getattr(j, level)
            if not want:
                continue
            have = region.get(level)
            if not have:
                missing.append(f"region.{level}")
            elif not same_place(str(have), want):
                return "out_of_jurisdiction", f"适用地区为{want},企业所在地为{have}", []
        places = [str(region.get(k)) for k in ("county", "district") if region.get(k)]
        for area in j.excluded_areas:
            if any(same_place(p, area) for p in places):
                return "out_of_jurisdiction", f"{area}不在适用范围内(明确排除)", []
        if j.districts:
            if any(same_place(p, d) for p in places for d in j.districts):
                continue
            if not region.get("district"):
                missing.append("region.district")
            else:
                allowed = "、".join(j.districts)
                return "out_of_jurisdiction", f"仅适用于{allowed},企业所在{region.get('district')}不在其中", []
    if missing:
        return "undecided", "无法判断是否属于适用地区", list(dict.fromkeys(missing))
    return None, "", []


def _cond_outcome(pc: PCond, env: Mapping[str, object], value: object, plan: Plan) -> dict[str, Any]:
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
        actual_raw = _lookup(env, th.field)
        unit = pc.pexpr.units.get(th.field)
        actual = None if actual_raw is None else _fmt(_norm_value(actual_raw, info), unit)
        required = f"{_SYM[th.op]} {_fmt(th.value, unit)}{_INCLUSIVE[th.op]}"
        label = label or f"{name} {required}"
    elif shape is not None:
        info = plan.fields.get(shape.field)
        name = info.label if info else shape.field
        actual_raw = _lookup(env, shape.field)
        actual = None if actual_raw is None else _fmt(_norm_value(actual_raw, info), pc.pexpr.units.get(shape.field))
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


def _lookup(env: Mapping[str, object], name: str) -> object:
    if name in env:
        return env[name]
    cur: object = env
    for part in name.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
        if cur is None:
            return None
    return cur


def round_amount(value: Decimal, mode: Literal["half_up", "floor"]) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_FLOOR if mode == "floor" else ROUND_HALF_UP))


@dataclass(slots=True)
class Core:
    """Result of conditions + amount + award caps, independent of other rules."""

    status: Status
    reason: str = ""
    amount: int | None = None
    raw: Decimal | None = None
    formula: str | None = None
    caps: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[PCond] = field(default_factory=list)
    conds: list[dict[str, Any]] = field(default_factory=list)
    below_tiers: Decimal | None = None  # value of tiers.on when under the lowest band


def evaluate_core(pr: PRule, env: Mapping[str, object], plan: Plan, *, explain: bool,
                   override_amount: Decimal | None = None, skip_amount: bool = False) -> Core:
    missing: list[str] = []
    failed: list[PCond] = []
    conds: list[dict[str, Any]] = []
    for pc in pr.conds:
        value, miss = pc.pexpr.evaluate(env)
        if value is False:
            failed.append(pc)
        elif value is not True:
            missing.extend(miss)
        if explain:
            conds.append(_cond_outcome(pc, env, value, plan))
    if failed:
        n = len(failed)
        first = conds[pr.conds.index(failed[0])]["text"].lstrip("✗ ") if explain else ""
        reason = f"不满足条件:{first}" + (f" 等{n}项" if n > 1 else "")
        return Core("not_eligible", reason, missing=[], failed=failed, conds=conds)
    core = Core("granted", conds=conds)
    if missing:
        core.status, core.missing = "undecided", list(dict.fromkeys(missing))
    if skip_amount:
        return core
    amount_missing: list[str] = []
    raw: Decimal | None
    if override_amount is not None:
        raw, core.formula = override_amount, f"按排名奖励 {fmt_money(override_amount)}"
    else:
        raw = _amount(pr, env, core, amount_missing, explain)
        if core.status == "not_eligible":
            return core
    if raw is None and not amount_missing and pr.rule.amount is None:
        # Non-monetary measure (优先保障用地 …): eligible, no amount.
        return core
    # Award caps: single-award ceilings (单个项目最高 …). Shared caps come later.
    if raw is not None:
        core.raw = raw
        for pcap in pr.caps:
            if pcap.cap.scope != "award":
                continue
            cap_value, cap_miss = pcap.pexpr.evaluate(env)
            if not isinstance(cap_value, Decimal):
                amount_missing.extend(cap_miss)
                raw = None
                break
            label = pcap.cap.label or f"最高{fmt_money(cap_value)}"
            if raw > cap_value:
                if explain:
                    core.caps.append(f"按公式 {fmt_money(raw)},受{label}上限限制,按 {fmt_money(cap_value)} 计")
                    # The cap belongs in the formula chain, which ends in the granted amount.
                    core.formula = _chain(core.formula, f"受{label}限制", cap_value)
                raw = cap_value
            elif explain:
                core.caps.append(f"未超过{label}上限({fmt_money(cap_value)})")
    if raw is None:
        if amount_missing:
            core.missing = list(dict.fromkeys([*core.missing, *amount_missing]))
        if core.status == "granted":
            core.status = "undecided"
        return core
    if raw <= 0:
        core.status, core.reason = "not_eligible", "按规则计算金额为0"
        core.amount = 0
        return core
    mode = pr.rule.amount.rounding if pr.rule.amount is not None else "half_up"
    core.amount = round_amount(raw, mode)
    if explain and Decimal(core.amount) != raw:
        word = "向下取整" if mode == "floor" else "四舍五入"
        core.caps.append(f"{fmt_money(raw)} {word}到元为 {fmt_money(core.amount)}")
        core.formula = _chain(core.formula, f"{word}到元", Decimal(core.amount))
    return core


def _chain(formula: str | None, step: str, value: Decimal) -> str | None:
    """Append one step ("受单个项目最高300万元限制") to the formula chain: "… → step = value"."""
    if formula is None:
        return None
    return f"{formula} → {step} = {fmt_money(value)}"


def _amount(pr: PRule, env: Mapping[str, object], core: Core, missing: list[str], explain: bool) -> Decimal | None:
    if pr.formula is not None:
        value, miss = pr.formula.evaluate(env)
        if isinstance(value, Decimal):
            if explain:
                body = pr.formula.explain(env)
                core.formula = (f"定额 {fmt_money(value)}" if isinstance(pr.formula.expr.ast, Num)
                                else f"{body} = {fmt_money(value)}")
            return value
        missing.extend(miss)
        if explain:
            core.formula = f"{pr.formula.explain(env)} = 待定"
        return None
    if pr.tiers_on is not None:
        x, miss = pr.tiers_on.evaluate(env)
        if not isinstance(x, Decimal):
            missing.extend(miss)
            if explain:
                core.formula = f"按{pr.tiers_on.explain(env)}分档 = 待定"
            return None
        for band in pr.bands:
            if band.contains(x):
                value, miss = band.amount.evaluate(env)
                if explain:
                    on_text = pr.tiers_on.explain(env)
                    amt = band.amount.explain(env)
                    shown = fmt_money(value) if isinstance(value, Decimal) else "待定"
                    core.formula = (f"{on_text},属于「{band.describe(_top_unit(pr.tiers_on))}」档:"
                                    + (shown if isinstance(band.amount.expr.ast, Num) else f"{amt} = {shown}"))
                if isinstance(value, Decimal):
                    return value
                missing.extend(miss)
                return None
        lows = [b.lower for b in pr.bands if b.lower is not None]
        if lows and x < min(lows):
            core.below_tiers = x
        core.status = "not_eligible"
        core.reason = f"{pr.tiers_on.explain(env)},不在任何档次内"
        return None
    if pr.lookup_on is not None:
        key, miss = pr.lookup_on.evaluate(env)
        if key is None:
            missing.extend(miss)
            if explain:
                core.formula = f"按{pr.lookup_on.explain(env)}查表 = 待定"
            return None
        key_str = key_text(key)
        entry = pr.table.get(key_str)
        if entry is None:
            for k, v in pr.table.items():
                if strip_class(k) == strip_class(key_str):
                    entry = v
                    break
        if entry is None:
            core.status = "not_eligible"
            listed = "、".join(pr.table)
            core.reason = f"{pr.lookup_on.explain(env)},不在可享受的范围({listed})内"
            return None
        value, miss = entry.evaluate(env)
        if explain:
            shown = fmt_money(value) if isinstance(value, Decimal) else "待定"
            core.formula = f"{pr.lookup_on.explain(env)} → " + (
                shown if isinstance(entry.expr.ast, Num) else f"{entry.explain(env)} = {shown}")
        if isinstance(value, Decimal):
            return value
        missing.extend(miss)
        return None
    return None


def _top_unit(pe: PExpr) -> Unit | None:
    ast = pe.expr.ast
    if isinstance(ast, Field):
        return pe.units.get(ast.name)
    return "money" if any(pe.units.get(f) == "money" for f in pe.expr.fields) else None


def key_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def strip_class(text: str) -> str:
    return text[:-1] if text.endswith("类") and len(text) > 1 else text


# -- near misses --------------------------------------------------------------------------


def _smallest_unit(info: FieldInfo | None, unit: Unit | None) -> Decimal:
    type_name = info.type if info else None
    if type_name in ("money", "integer") or unit == "money":
        return _ONE
    if type_name == "percent" or unit == "percent":
        return Decimal("0.0001")
    return Decimal("0.01")


def _set_field(env: Mapping[str, Any], name: str, value: Decimal) -> dict[str, Any]:
    out = dict(env)
    head, _, rest = name.partition(".")
    if rest and isinstance(out.get(head), Mapping):
        inner = dict(out[head])
        inner[rest] = value
        out[head] = inner
    else:
        out[name] = value
    return out


def _near_miss(pr: PRule, env: Mapping[str, Any], core: Core, plan: Plan) -> NearMiss | None:
    target: tuple[str, str, Decimal] | None = None  # field, op, threshold
    unit: Unit | None = None
    if len(core.failed) == 1 and core.failed[0].threshold is not None:
        th = core.failed[0].threshold
        target = (th.field, th.op, th.value)
        unit = core.failed[0].pexpr.units.get(th.field)
    elif not core.failed and core.below_tiers is not None and pr.tier_threshold_field is not None:
        low = min((b for b in pr.bands if b.lower is not None), key=lambda b: b.lower or _ZERO)
        assert low.lower is not None
        target = (pr.tier_threshold_field, ">=" if low.lower_inclusive else ">", low.lower)
        unit = pr.tiers_on.units.get(pr.tier_threshold_field) if pr.tiers_on else None
    if target is None:
        return None
    name, op, c = target
    info = plan.fields.get(name)
    actual = _lookup(env, name)
    actual = _norm_value(actual, info)
    if not isinstance(actual, Decimal | int) or isinstance(actual, bool):
        return None
    actual = Decimal(actual)
    step = _smallest_unit(info, unit)
    if op in (">=", ">"):
        needed = c if op == ">=" else c + step
        gap = needed - actual
        direction: Literal["increase", "decrease"] = "increase"
    else:
        needed = c if op == "<=" else c - step
        gap = actual - needed
        direction = "decrease"
    if gap <= 0:
        return None
    label = info.label if info else name
    what = unit or (info.unit if info else None)
    gap_value: int | Decimal = int(gap) if what == "money" and gap == gap.to_integral_value() else gap
    gap_text = _fmt(gap, what)
    met = evaluate_core(pr, _set_field(env, name, needed), plan, explain=False)
    non_monetary = pr.rule.kind == "非资金" and pr.rule.amount is None
    if met.status != "granted" or (not met.amount and not non_monetary):
        # A hint promises money: none when the amount would be 0 or cannot be known
        # (滨州 担保费: 1元 more guarantee pays 0.005元, i.e. nothing).
        return None
    threshold_value: int | Decimal = int(needed) if what == "money" and needed == needed.to_integral_value() else needed
    hint = NearMiss(field=name, label=label, gap=gap_value, gap_text=gap_text, direction=direction,
                    threshold=threshold_value, amount_if_met=met.amount)
    return _with_text(hint, pr)


def _with_text(hint: NearMiss, pr: PRule) -> NearMiss:
    verb = "再增加" if hint.direction == "increase" else "需减少"
    if hint.amount_if_met is None:  # a non-monetary measure (列入亩均评价A类 …)
        gain = f":{pr.rule.benefit}" if pr.rule.benefit else "该项支持"
    else:
        prefix = "最高" if pr.rule.amount is not None and pr.rule.amount.upper_bound else "约"
        gain = f"{prefix} {fmt_money(hint.amount_if_met)}"
    return hint.model_copy(update={"text": f"{verb} {hint.gap_text} {hint.label}即可获得{gain}"})


def _settle_near_misses(works: list[Work], view: ProfileView, on: date, plan: Plan) -> None:
    """Promise only what the grant would pay: history stacking and shared caps apply too.

    ``_near_miss`` already ran the rule (conditions, formula, award caps, rounding) with
    the threshold met; here awards already received can rule it out (once, once per
    level, exclusive this year) or use up an enterprise ceiling.
    """
    for w in works:
        hint = w.near_miss
        if hint is None or w.status != "not_eligible":
            continue
        env = _set_field(w.subject.env, hint.field, Decimal(hint.threshold if hint.threshold is not None else 0))
        if _history_blocks(w.pr, env, view, on, plan):
            w.near_miss = None
            continue
        if hint.amount_if_met is None:
            continue
        probe = Work(w.pr, w.subject, "granted", amount=Decimal(hint.amount_if_met))
        promised = round_amount(min(Decimal(hint.amount_if_met), _capped_ceiling(probe, view, on, plan)), "half_up")
        if promised <= 0:
            w.near_miss = None
        elif promised != hint.amount_if_met:
            w.near_miss = _with_text(hint.model_copy(update={"amount_if_met": promised}), w.pr)


def _history_blocks(pr: PRule, env: Mapping[str, Any], view: ProfileView, on: date, plan: Plan) -> bool:
    """Would awards already received rule this grant out (the tests of _apply_history_stacking)?"""
    for ps in pr.stacks:
        st = ps.stacking
        hits = _history_matches(view, plan.stack_groups.get(st.group, set()), st.group)
        if not hits:
            continue
        if st.mode == "once":
            return True
        if st.mode == "once_per_level" and ps.level is not None:
            level, _ = ps.level.evaluate(env)
            if level is not None and any(str(h.get("level")) == str(level) for h in hits):
                return True
        if st.mode == "exclusive" and any(_int(h.get("year")) == on.year for h in hits):
            return True
    return False


# -- the calculation ----------------------------------------------------------------------


@dataclass(slots=True)
class PopulationDecision:
    """Outcome of a rank/quota rule for one applicant, decided by huiqi.rules.cohort."""

    status: Status
    reason: str
    award: Decimal | None = None  # rank: the positional award
    position: int | None = None  # 1-based place in its group (ranked applicants only)
    group: str | None = None
    group_size: int | None = None
    key: Decimal | str | None = None  # the value it was ordered by


def selected_rules(plan: Plan, rulebase: Any, policies: Sequence[str] | None) -> list[PRule]:
    """Rules of the named documents (id, 文号 or a piece of the title) or rule ids/prefixes."""
    chosen = rulebase.select(policies)
    return [pr for pr in plan.rules if chosen.has_rule(pr.rule.id)]


def selected_documents(plan: Plan, rulebase: Any, policies: Sequence[str] | None) -> set[str] | None:
    """Documents whose pack-level leads are shown: ``None`` = all; named by id, 文号 or title.

    Naming only rule ids selects no document (the user asked for those rules, not the pack).
    """
    documents = rulebase.select(policies).documents
    return None if documents is None else set(documents)


def _subjects(pr: PRule, view: ProfileView, base: dict[str, Any], project_envs: list[Subject]) -> list[Subject]:
    if not pr.per_project:
        return [Subject(ENTERPRISE, None, base)]
    return project_envs


def build_envs(plan: Plan, profile: Any, view: ProfileView, on: date,
               param_values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Subject]]:
    """Flat environments (``enterprise.x``, ``project.x``, ``region.k``, ``param.p``, ``date``).

    R1's ``profile_env`` is the single definition of how a profile is seen by rules
    (list fields become ``enterprise.titles.<item>`` flags, dates ISO text); other
    profile-like objects (plain mappings in ad-hoc use) get the same flat shape here.
    """
    registry = plan.registry
    try:
        from huiqi.profile import Profile, profile_env
    except ImportError:  # pragma: no cover - R1's module is part of the package
        Profile = None  # type: ignore[assignment,misc]
    if Profile is not None and isinstance(profile, Profile):
        base = profile_env(profile, None, on, param_values, fields=registry)
        subjects = [Subject(p.id, p.name, profile_env(profile, p, on, param_values, fields=registry))
                    for p in profile.projects]
        return base, subjects
    base = {f"enterprise.{k}": v for k, v in _values(view.enterprise, "enterprise", plan).items() if v is not None}
    base.update({f"region.{k}": view.region.get(k) for k in ("province", "city", "county", "district")
                 if view.region.get(k)})
    base.update({f"param.{k}": v for k, v in param_values.items() if v is not None})
    base["date"] = on.isoformat()
    projects: list[Subject] = []
    for p in view.projects:
        env = dict(base)
        values = {k: v for k, v in p.items() if k not in ("id", "name")}
        env.update({f"project.{k}": v for k, v in _values(values, "project", plan).items() if v is not None})
        projects.append(Subject(str(p["id"]), p.get("name"), env))
    return base, projects


def calculate(
    rulebase: Any,
    profile: Any,
    on: date,
    policies: list[str] | None = None,
    params: dict[str, str] | None = None,
    cohort: list[Any] | None = None,
    *,
    population: Mapping[tuple[str, str], PopulationDecision] | None = None,
) -> CalcReport:
    """Every rule of ``rulebase`` against ``profile`` on date ``on``.

    ``policies`` limits to document ids (or rule ids / id prefixes); ``params``
    overrides parameters (``{"lpr_1y": "3.45%"}``); ``cohort`` is the list of
    applicants for rank/quota rules (the profile is ranked among them).
    ``population`` is the precomputed cohort decision (used by huiqi.rules.cohort).
    """
    plan = plan_for(rulebase)
    if cohort and population is None:
        from huiqi.rules.cohort import population_decisions

        # The profile competes as itself: a cohort row with the same name is taken to
        # be the same applicant (e.g. the CSV also lists the enterprise being checked).
        name = _attr(profile, "name")
        applicants = [a for a in cohort if a is not profile and not (name and _attr(a, "name") == name)]
        applicants.append(profile)
        population = population_decisions(rulebase, applicants, on, policies=policies, params=params)[id(profile)]
    view = view_profile(profile)
    param_values, shown = param_env(plan, on, params)
    base, projects = build_envs(plan, profile, view, on, param_values)
    works: list[Work] = []
    region_cache: dict[tuple[Any, ...], tuple[Status | None, str, list[str]]] = {}
    for pr in selected_rules(plan, rulebase, policies):
        subjects = _subjects(pr, view, base, projects)
        gate = rule_gate(pr, view, on, region_cache)
        if gate[0] in ("not_in_force", "out_of_jurisdiction"):
            for subject in subjects or [Subject("project", None, base)]:
                works.append(Work(pr, subject, gate[0], reason=gate[1]))  # type: ignore[arg-type]
            continue
        if pr.per_project and not subjects:
            w = Work(pr, Subject("project", "待填写的项目", base), "undecided", reason="档案中没有填写项目信息")
            w.missing = [f for pe in all_pexprs(pr) for f in pe.expr.fields if f.startswith("project.")]
            w.missing = list(dict.fromkeys(w.missing))
            w.max_possible = pr.static_max
            works.append(w)
            continue
        for subject in subjects:
            works.append(_evaluate(pr, subject, gate, plan, population))
    _apply_history_stacking(works, view, on, plan)
    _apply_staged_payments(works, view)
    _settle_near_misses(works, view, on, plan)
    _apply_group_stacking(works, lambda w: _capped_ceiling(w, view, on, plan))
    _apply_shared_caps(works, view, on, plan)
    results = [_to_result(w, plan) for w in works]
    total = sum(r["amount"] or 0 for r in results if r["status"] == "granted" and not r["upper_bound"])
    ceiling = sum(r["amount"] or 0 for r in results if r["status"] == "granted" and r["upper_bound"])
    return CalcReport.model_validate({
        "profile": view.name,
        "date": on,
        "results": results,
        "total_granted": total,
        "total_upper_bound": ceiling,
        "ask_next": _ask_next(works, plan),
        "leads": _leads(plan, works, view, on, selected_documents(plan, rulebase, policies)),
        "parameters": shown,
    })


def rule_gate(pr: PRule, view: ProfileView, on: date,
          cache: dict[tuple[Any, ...], tuple[Status | None, str, list[str]]]) -> tuple[Status | None, str, list[str]]:
    """Validity, then jurisdiction: the same for every subject of a rule."""
    if (pr.valid_from and on < pr.valid_from) or (pr.valid_to and on > pr.valid_to):
        start = pr.valid_from.isoformat() if pr.valid_from else "不限"
        end = pr.valid_to.isoformat() if pr.valid_to else "不限"
        return "not_in_force", f"有效期 {start} 至 {end},计算日期 {on.isoformat()} 不在有效期内", []
    # Most rules share their pack's jurisdiction: decide each distinct one once per calculation.
    key = pr.jurisdiction_key
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = jurisdiction_status(pr, view.region)
    return hit


def _evaluate(pr: PRule, subject: Subject, gate: tuple[Status | None, str, list[str]], plan: Plan,
              population: Mapping[tuple[str, str], PopulationDecision] | None) -> Work:
    rule = pr.rule
    _, reason, region_missing = gate
    env = subject.env
    is_population = pr.rank_by is not None or pr.quota_by is not None
    decision = population.get((rule.id, subject.id)) if population is not None and is_population else None
    override = decision.award if decision is not None and pr.rank_by is not None else None
    try:
        core = evaluate_core(pr, env, plan, explain=True, override_amount=override,
                              skip_amount=pr.rank_by is not None and override is None)
    except RuleError as exc:
        return Work(pr, subject, "undecided", reason=f"计算出错:{exc.message}")
    w = Work(pr, subject, core.status, reason=core.reason, amount=Decimal(core.amount) if core.amount is not None else None,
             raw_amount=core.raw, conds=core.conds, failed=core.failed, missing=core.missing,
             formula=core.formula, caps_applied=core.caps, population=is_population)
    if region_missing and w.status != "not_eligible":
        w.status, w.reason = "undecided", reason
        w.missing = list(dict.fromkeys([*region_missing, *w.missing]))
    if w.status == "not_eligible":
        try:
            w.near_miss = _near_miss(pr, env, core, plan)
        except RuleError:
            w.near_miss = None
        w.amount = None
        return w
    if not rule.computable or (rule.kind != "非资金" and rule.amount is None and rule.rank is None):
        w.status = "lead"
        w.reason = rule.note or "一事一议/给予一定支持,需与责任部门沟通"
        w.amount = None
        return w
    if is_population and w.status == "granted":
        if decision is None:
            w.status = "undecided"
            w.reason = "需在申报企业中排名" if pr.rank_by is not None else "需在申报企业中按名额排序"
            w.max_possible = max(pr.rank_awards) if pr.rank_awards else (w.amount or pr.static_max)
            w.amount = None
            return w
        if decision.status != "granted":
            w.status, w.reason, w.amount = decision.status, decision.reason, None
            return w
        if pr.rank_by is not None and decision.award is not None:
            w.formula = f"{decision.reason},按名次奖励 {fmt_money(decision.award)}"
        else:
            w.stacking.append(decision.reason)
    if w.status == "undecided":
        w.max_possible = w.amount if w.amount is not None else _undecided_max(pr, env)
        w.amount = None
        if not w.reason:
            names = "、".join(plan.fields[m].label if m in plan.fields else m for m in w.missing)
            w.reason = f"缺少信息:{names}" if names else "无法判定"
        return w
    for ps in pr.stacks:
        if ps.level is not None:
            lv, _ = ps.level.evaluate(env)
            w.levels[ps.stacking.group] = None if lv is None else str(lv)
    if w.amount is None:
        w.reason = w.reason or "符合条件(非资金支持)"
    return w


def _undecided_max(pr: PRule, env: Mapping[str, Any]) -> Decimal | None:
    """Most the rule could pay once the missing data arrive (caps, tiers, table)."""
    best = pr.static_max
    if pr.bands or pr.table:
        values = []
        for pe in [b.amount for b in pr.bands] + list(pr.table.values()):
            v, _ = pe.evaluate(env)
            values.append(v if isinstance(v, Decimal) else None)
        if values and None not in values:
            top = max(v for v in values if v is not None)
            best = top if best is None else min(best, top)
    return best


def _history_matches(view: ProfileView, rule_ids: set[str], group: str | None = None) -> list[dict[str, Any]]:
    # A history entry names the rule it came from, or (for awards that predate the
    # rule packs) the stacking/cap group itself.
    return [h for h in view.history if str(h.get("rule")) in rule_ids or (group and str(h.get("rule")) == group)]


def _apply_history_stacking(works: list[Work], view: ProfileView, on: date, plan: Plan) -> None:
    """once / once_per_level / exclusive against awards already received."""
    if not view.history:
        return
    for w in works:
        if w.status not in ("granted", "undecided"):
            continue
        for ps in w.pr.stacks:
            st = ps.stacking
            group_rules = plan.stack_groups.get(st.group, set())
            hits = _history_matches(view, group_rules, st.group)
            if not hits:
                continue
            if st.mode == "once":
                h = hits[0]
                w.status, w.amount = "not_eligible", None
                w.reason = f"已享受:{h.get('year', '')}年已获「{_rule_title(plan, str(h.get('rule')))}」,同类支持只享受一次"
                w.stacking.append(w.reason + _quote(st))
                break
            if st.mode == "once_per_level":
                level = w.levels.get(st.group)
                if ps.level is not None and level is None and w.status == "granted":
                    lv, _ = ps.level.evaluate(w.subject.env)
                    level = None if lv is None else str(lv)
                same = [h for h in hits if level is not None and str(h.get("level")) == level]
                if same:
                    h = same[0]
                    w.status, w.amount = "not_eligible", None
                    w.reason = (f"已享受:{h.get('year', '')}年已获{level}「{_rule_title(plan, str(h.get('rule')))}」,"
                                "同一企业同一级别只享受一次")
                    w.stacking.append(w.reason + _quote(st))
                    break
            if st.mode == "exclusive":
                same_year = [h for h in hits if _int(h.get("year")) == on.year]
                if same_year and w.status == "granted":
                    h = same_year[0]
                    w.status, w.amount = "stacked_out", None
                    w.reason = (f"本年度已享受「{_rule_title(plan, str(h.get('rule')))}」,"
                                f"{st.note or '同一项目只能享受一次补助'}")
                    w.stacking.append(w.reason + _quote(st))
                    break


def _apply_staged_payments(works: list[Work], view: ProfileView) -> None:
    """A fixed total paid in stages (分阶段补助300万元): the stages already paid (history
    entries of the rule) are listed and deducted; the result is what is still to be paid."""
    for w in works:
        amount = w.pr.rule.amount
        if amount is None or amount.paid_in_stages is None or w.status != "granted" or w.amount is None:
            continue
        total = int(w.amount)
        history = sorted((h for h in view.history if str(h.get("rule")) == w.pr.rule.id),
                         key=lambda h: _int(h.get("year")) or 0)
        stages: list[dict[str, Any]] = [
            {"label": f"{h.get('year', '')}年已拨付" if h.get("year") else "已拨付",
             "amount": int(_money(h.get("amount"))), "year": _int(h.get("year")), "paid": True}
            for h in history]
        paid = sum(int(st["amount"]) for st in stages)
        remaining = max(total - paid, 0)
        if remaining:
            stages.append({"label": "待拨付(后续阶段)", "amount": remaining, "year": None, "paid": False})
        w.stages = {"total": total, "paid": paid, "remaining": remaining, "stages": stages,
                    "note": amount.paid_in_stages.note}
        if paid:
            w.formula = _chain(w.formula, "减去已拨付的阶段", Decimal(remaining))
        if remaining <= 0:
            w.status, w.amount = "not_eligible", None
            w.reason = f"分阶段补助合计 {fmt_money(total)} 已全部拨付"
        else:
            w.amount = Decimal(remaining)


def _quote(st: Stacking) -> str:
    return f"(原文:“{st.quote}”)" if st.quote else ""


def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _rule_title(plan: Plan, rule_id: str) -> str:
    for pr in plan.rules:
        if pr.rule.id == rule_id:
            return pr.rule.title
    return rule_id


def _prior_awards(view: ProfileView, on: date, plan: Plan, group: str, scope: str) -> Decimal:
    """Awards already received that count against a shared ceiling (this year, or ever)."""
    prior = Decimal(0)
    for h in _history_matches(view, plan.cap_groups.get(group, set()), group):
        if scope == "enterprise" or _int(h.get("year")) == on.year:
            prior += _money(h.get("amount"))
    return prior


def _capped_ceiling(w: Work, view: ProfileView, on: date, plan: Plan) -> Decimal:
    """The most ``w`` can pay once every cap that applies to it has bitten.

    Award caps are already inside ``w.amount``; the enterprise-level ceilings of its
    shared-cap groups (less what earlier years used) are applied here, so that a group
    winner is chosen on what it would really pay (临海 二/十: 5% of 7000万 = 350万 is
    capped at 200万 and loses to 10% capped at 300万).
    """
    amount = w.amount or _ZERO
    for pc in w.pr.caps:
        scope = pc.cap.scope
        if scope not in ("enterprise_year", "enterprise"):
            continue
        cap_value, _ = pc.pexpr.evaluate(w.subject.env)
        if not isinstance(cap_value, Decimal):
            continue
        room = max(cap_value - _prior_awards(view, on, plan, cap_group(pc.cap, w.pr.rule), scope), _ZERO)
        amount = min(amount, room)
    return amount


def _apply_group_stacking(works: list[Work], capped: Callable[[Work], Decimal]) -> None:
    """max_in_group / exclusive / once / once_per_level among this calculation's grants.

    ``capped(w)`` is what ``w`` pays after all its caps: the winner is chosen on that,
    never on the amount before a shared ceiling.
    """
    groups: dict[tuple[str, ...], list[tuple[Work, Stacking]]] = {}
    for w in works:
        if w.status != "granted":
            continue
        for ps in w.pr.stacks:
            st = ps.stacking
            if st.mode in ("max_in_group", "exclusive"):
                scope = w.subject.id if w.pr.per_project else ENTERPRISE
                key: tuple[str, ...] = (st.mode, st.group, scope)
            elif st.mode == "once":
                key = (st.mode, st.group)
            else:
                key = (st.mode, st.group, w.levels.get(st.group) or "")
            groups.setdefault(key, []).append((w, st))
    for members in groups.values():
        alive = [(w, st) for w, st in members if w.status == "granted"]
        if len(alive) < 2:
            continue
        # Highest amount after caps wins; ties go to the earlier rule (pack order), then subject.
        value = {id(w): capped(w) for w, _ in alive}
        winner, _ = max(alive, key=lambda ws: (value[id(ws[0])], -ws[0].pr.index))
        compared = "、".join(f"「{w.pr.rule.title}」{fmt_money(value[id(w)])}" for w, _ in alive)
        for w, st in alive:
            if w is winner:
                w.stacking.append(f"与同组({st.group})其他支持不叠加,按各项受上限约束后的金额比较({compared}),"
                                  "本项金额最高,予以保留")
                continue
            w.status = "stacked_out"
            who = winner.pr.rule.title + (f"(项目 {winner.subject.id})" if winner.pr.per_project else "")
            if st.mode == "exclusive":
                why = st.note or "同一项目只能享受一次补助"
            elif st.mode == "max_in_group":
                why = st.note or "不重复享受,按就高原则"
            else:
                why = st.note or "同类支持只享受一次"
            w.reason = f"{why}:已按「{who}」{fmt_money(value[id(winner)])} 享受(按受上限约束后的金额比较)"
            w.stacking.append(w.reason + _quote(st))


def _apply_shared_caps(works: list[Work], view: ProfileView, on: date, plan: Plan) -> None:
    """enterprise_year / enterprise caps, allocated in rule order; fund caps only noted."""
    used: dict[str, Decimal] = {}
    for w in works:
        for pc in w.pr.caps:
            scope = pc.cap.scope
            if scope == "fund" and w.status == "granted":
                v, _ = pc.pexpr.evaluate(w.subject.env)
                w.caps_applied.append(f"{pc.cap.label or '资金总额'}上限 {fmt_money(v if isinstance(v, Decimal) else None)}"
                                      "(按全部申报统筹,单企业计算不扣减)")
                continue
            if scope not in ("enterprise_year", "enterprise") or w.status != "granted" or w.amount is None:
                continue
            group = cap_group(pc.cap, w.pr.rule)
            if group not in used:
                # Awards already received count against the same ceiling.
                used[group] = _prior_awards(view, on, plan, group, scope)
            cap_value, _ = pc.pexpr.evaluate(w.subject.env)
            if not isinstance(cap_value, Decimal):
                continue
            remaining = max(cap_value - used[group], _ZERO)
            label = pc.cap.label or ("同一企业同一年度" if scope == "enterprise_year" else "同一企业") + f"最高{fmt_money(cap_value)}"
            if w.amount > remaining:
                w.caps_applied.append(
                    f"{label}:已分配 {fmt_money(used[group])},本项由 {fmt_money(w.amount)} 调减为 {fmt_money(remaining)}")
                w.formula = _chain(w.formula, f"受{label}限制(已分配 {fmt_money(used[group])})", remaining)
                w.amount = remaining
            else:
                w.caps_applied.append(f"{label}:已分配 {fmt_money(used[group])},本项未受限")
            used[group] += w.amount
            if w.amount <= 0:
                w.status = "stacked_out"
                w.reason = f"{label}已用完"


def _money(v: Any) -> Decimal:
    if v is None:
        return _ZERO
    if isinstance(v, int | Decimal) and not isinstance(v, bool):
        return Decimal(v)
    parsed = parse_param_value(str(v))
    return parsed if isinstance(parsed, Decimal) else _ZERO


def _to_result(w: Work, plan: Plan) -> dict[str, Any]:
    """The result as a plain dict (validated with the whole report in one go)."""
    rule, pack = w.pr.rule, w.pr.pack
    upper = bool(rule.amount and rule.amount.upper_bound)
    amount = int(w.amount) if w.amount is not None and w.status == "granted" else None
    if w.status == "granted":
        if amount is None:
            w.reason = w.reason or "符合条件"
        else:
            w.reason = f"可获{'最高 ' if upper else ''}{fmt_money(amount)}" + ("(上限)" if upper else "")
    near = w.near_miss if w.status == "not_eligible" else None
    if near is not None:
        w.reason = f"{w.reason};{near.text}" if w.reason else near.text
    missing = [{"field": m, "label": _label(plan, m)} for m in w.missing]
    doc = pack.document
    result: dict[str, Any] = {
        "document": doc.id,
        "document_title": doc.title,
        "doc_number": doc.doc_number,
        "clause": rule.citation.clause,
        "quote": rule.citation.quote,
        "rule": rule.id,
        "title": rule.title,
        "department": list(rule.department or pack.department),
        "kind": rule.kind,
        "subject": w.subject.id,
        "subject_name": w.subject.name,
        "status": w.status,
        "reason": w.reason,
        "amount": amount,
        "upper_bound": upper and amount is not None,
        "conditions": w.conds,
        "formula": w.formula,
        "caps_applied": w.caps_applied,
        "stacking": w.stacking,
        "missing": missing,
        "near_miss": near,
        "benefit": rule.benefit,
        "stages": w.stages,
        "class_effect": _class_effect(rule) if w.status == "granted" else None,
    }
    result["explanation"] = _explanation(result)
    return result


def _class_effect(rule: Rule) -> dict[str, Any] | None:
    effect = rule.class_effect
    if effect is None:
        return None
    return {"class_override": effect.class_ if effect.action == "set" else None,
            "class_floor": effect.class_ if effect.action == "not_below" else None,
            "quota_exempt": effect.quota == "exempt", "rule": rule.id, "label": rule.benefit or rule.title}


def _label(plan: Plan, name: str) -> str:
    info = plan.fields.get(name)
    return info.label if info is not None else _BUILTIN_LABELS.get(name, name)


def _explanation(r: Mapping[str, Any]) -> str:
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


@dataclass(slots=True)
class _Ask:
    path: str
    subject: str
    subject_name: str | None
    order: int
    rules: list[PRule] = field(default_factory=list)
    stake: Decimal = _ZERO
    pending: bool = False


def _ask_next(works: list[Work], plan: Plan) -> list[Question]:
    """Missing fields ranked by the most money their answer could unlock.

    A rule's stake is its maximum possible amount (see ``_undecided_max``); a field
    that decides several rules adds their stakes. Stacking between those rules is not
    subtracted, so the figure is an upper bound — it is for ordering questions.
    """
    asks: dict[tuple[str, str], _Ask] = {}
    for w in works:
        if w.status != "undecided" or not w.missing:
            continue
        for m in w.missing:
            subject = w.subject.id if m.startswith("project.") else ENTERPRISE
            key = (m, subject)
            a = asks.get(key)
            if a is None:
                a = asks[key] = _Ask(m, subject, w.subject.name if subject != ENTERPRISE else None, len(asks))
            if w.pr not in a.rules:
                a.rules.append(w.pr)
            if w.max_possible is None:
                a.pending = True
            else:
                a.stake += w.max_possible
    ranked = sorted(asks.values(), key=lambda a: (-a.stake, -len(a.rules), a.order))
    out = []
    for a in ranked[:ASK_NEXT_LIMIT]:
        info = plan.fields.get(a.path)
        label = _label(plan, a.path)
        money_at_stake = round_amount(a.stake, "half_up")
        who = f"(项目 {a.subject_name or a.subject})" if a.subject != ENTERPRISE else ""
        if money_at_stake:
            money = f"最高涉及 {fmt_money(money_at_stake)}" + (",另有金额待定的支持" if a.pending else "")
        else:
            money = "金额待定"
        out.append(Question(
            field=a.path, label=label, type=info.type if info else "text", subject=a.subject,
            subject_name=a.subject_name, description=(info.description or None) if info else None,
            rules=[pr.rule.id for pr in a.rules], rule_titles=[pr.rule.title for pr in a.rules],
            money_at_stake=money_at_stake, amount_pending=a.pending,
            text=f"请补充{label}{who}:可判定 {len(a.rules)} 项政策,{money}"))
    return out


def _leads(plan: Plan, works: list[Work], view: ProfileView, on: date, documents: set[str] | None) -> list[LeadResult]:
    out: list[LeadResult] = []
    for w in works:
        if w.status == "lead":
            rule, pack = w.pr.rule, w.pr.pack
            out.append(LeadResult(
                document=pack.document.id, document_title=pack.document.title,
                doc_number=pack.document.doc_number, clause=rule.citation.clause, quote=rule.citation.quote,
                rule=rule.id, title=rule.title, department=list(rule.department or pack.department),
                reason=w.reason, benefit=rule.benefit))
    for pack in plan.packs:
        if documents is not None and pack.document.id not in documents:
            continue
        if (pack.validity.from_ and on < pack.validity.from_) or (pack.validity.to and on > pack.validity.to):
            continue
        probe = PRule(0, _LEAD_PROBE, pack, None, None, (pack.jurisdiction,), False, [])
        status, _, _ = jurisdiction_status(probe, view.region)
        if status == "out_of_jurisdiction":
            continue
        for lead in pack.leads:
            out.append(_lead_result(pack, lead))
    return out


def _lead_result(pack: RulePack, lead: Lead) -> LeadResult:
    return LeadResult(
        document=pack.document.id, document_title=pack.document.title, doc_number=pack.document.doc_number,
        clause=lead.citation.clause, quote=lead.citation.quote, rule=None, title=lead.title,
        department=list(lead.department or pack.department), reason=lead.reason)


# A stand-in rule so pack-level jurisdiction checks can reuse jurisdiction_status.
_LEAD_PROBE = Rule.model_validate({
    "id": "lead.probe", "title": "线索", "kind": "非资金", "computable": False,
    "citation": {"document": "x", "clause": "-", "quote": "-"},
})
