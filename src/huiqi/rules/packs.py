"""Loading rule packs: YAML → validated models → compiled, cross-checked RuleBase.

A rule pack (``src/huiqi/rulepacks/<document-id>.yaml``) is untrusted text written by
people, so everything is checked before a calculator sees it, and every error names
the file, the line, the rule id and the field with a Chinese reason:

* YAML is read with a SafeLoader subclass (``huiqi.profile.LineLoader``) only;
* the structure is validated by the pydantic models in ``huiqi.rules.model``;
* every expression (conditions, formulas, tier bands, lookup values, caps, stacking
  levels, rank/quota keys) is compiled once with ``compile_expr`` — never ``eval``;
* every field an expression reads must be declared in ``data/fields.yaml`` (or be a
  parameter, a region key or ``date``); enterprise rules may not read ``project.*``;
* rule ids are unique across all packs; parameters are date-versioned values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from huiqi.errors import HuiqiError, RuleError
from huiqi.profile import (
    REGION_KEYS,
    FieldRegistry,
    Profile,
    Project,
    closest,
    default_registry,
    line_of,
    load_yaml,
    profile_env,
)
from huiqi.rules.expr import Expr, compile_expr
from huiqi.rules.expr_ast import Bool, Cmp, Field, In, Neg, Num, Str, walk
from huiqi.rules.model import (
    RULES_SCHEMA_VERSION,
    Amount,
    Band,
    Cap,
    Condition,
    Jurisdiction,
    Lead,
    Parameter,
    Quota,
    Rank,
    Rule,
    RulePack,
    Stacking,
    Validity,
)

__all__ = [
    "CompiledAmount",
    "CompiledBand",
    "CompiledCap",
    "CompiledCondition",
    "CompiledQuota",
    "CompiledRank",
    "CompiledRule",
    "CompiledStacking",
    "LoadedLead",
    "LoadedPack",
    "ParamDef",
    "ParameterSet",
    "RuleBase",
    "builtin_packs_dir",
    "discover_pack_files",
    "load_packs",
    "load_parameters",
    "parse_literal",
]

ParamValue = Decimal | str | bool


def builtin_packs_dir() -> Path:
    return Path(str(resources.files("huiqi").joinpath("rulepacks")))


def builtin_parameters_path() -> Path:
    return Path(str(resources.files("huiqi").joinpath("data", "parameters.yaml")))


# -- literals and parameters ----------------------------------------------------------------


def parse_literal(text: Any, *, source: str | None = None, field_name: str | None = None) -> ParamValue:
    """A constant written in rule language: "3.70%" → 0.037, "500万元" → 5000000, "A类" → "A类".

    Uses the expression parser so that parameters, overrides and tier bounds read
    numbers exactly like rules do. Text that is not a constant is kept as a string.
    """
    if isinstance(text, bool):
        return text
    if isinstance(text, int | Decimal):
        return Decimal(text)
    raw = str(text).strip()
    try:
        expr = compile_expr(raw, source=source, field=field_name)
    except RuleError:
        return raw
    node = expr.ast
    if isinstance(node, Num | Str | Bool) or (isinstance(node, Neg) and isinstance(node.operand, Num)):
        value = expr.evaluate({}).value
        assert value is not None
        return value
    return raw


def _constant_number(value: Any, *, file: str, line: int | None, where: str, rule_id: str) -> Decimal:
    """Tier band bounds and rank awards must be numeric constants (500万元, 3000000)."""
    parsed = parse_literal(value)
    if not isinstance(parsed, Decimal) or isinstance(parsed, bool):
        raise RuleError(f"规则 {rule_id}:{where} 必须是数字常量(如 500万元),实际是 {value!r}",
                        file=file, line=line, field=where)
    return parsed


@dataclass(frozen=True)
class ParamDef:
    name: str
    label: str
    unit: str
    values: tuple[tuple[date, ParamValue], ...]  # sorted by date
    source: str | None = None

    def value(self, on: date) -> ParamValue | None:
        current: ParamValue | None = None
        for start, value in self.values:
            if start <= on:
                current = value
            else:
                break
        return current


class ParameterSet:
    """Named, date-versioned values (LPR …): the value in force is the latest ``from`` <= date."""

    def __init__(self, defs: Mapping[str, ParamDef] | None = None,
                 overrides: Mapping[str, ParamValue] | None = None) -> None:
        self.defs: dict[str, ParamDef] = dict(defs or {})
        self.overrides: dict[str, ParamValue] = dict(overrides or {})

    def __contains__(self, name: object) -> bool:
        return name in self.defs

    def names(self) -> list[str]:
        return sorted(self.defs)

    def get(self, name: str) -> ParamDef:
        if name not in self.defs:
            near = closest(name, self.defs)
            raise HuiqiError(f"未知的参数 {name}", field=name,
                             hint=f"您是否要写 {near[0]}?" if near else "可用:" + "、".join(self.names()))
        return self.defs[name]

    def value(self, name: str, on: date) -> ParamValue | None:
        """The value in force on ``on`` (an override wins); None before the first ``from``."""
        definition = self.get(name)
        if name in self.overrides:
            return self.overrides[name]
        return definition.value(on)

    def values(self, on: date) -> dict[str, ParamValue | None]:
        return {name: self.value(name, on) for name in self.defs}

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> ParameterSet:
        """``--param lpr_1y=3.45%``: the given text replaces the dated values."""
        if not overrides:
            return self
        merged = dict(self.overrides)
        for name, raw in overrides.items():
            self.get(name)
            merged[name] = parse_literal(raw)
        return ParameterSet(self.defs, merged)

    def merged(self, other: Mapping[str, ParamDef]) -> ParameterSet:
        defs = dict(self.defs)
        defs.update(other)
        return ParameterSet(defs, self.overrides)


def _param_defs(data: Any, *, file: str, loc: Sequence[Any], root: Any,
                skip: Sequence[str] = ()) -> dict[str, ParamDef]:
    """Validate a ``name: {label, unit, values}`` mapping into ParamDefs."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RuleError("参数应为“名称: {label, unit, values}”的映射", file=file, line=line_of(root, loc))
    out: dict[str, ParamDef] = {}
    for name, raw in data.items():
        if name in skip:
            continue
        ploc = [*loc, name]
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*", name):
            raise RuleError(f"参数名 {name} 不合法:只能由字母、汉字、数字、下划线组成", file=file,
                            line=line_of(root, ploc))
        try:
            param = Parameter.model_validate(raw)
        except ValidationError as exc:
            raise _translate(exc, root=root, file=file, base_loc=ploc, model=Parameter) from None
        values: list[tuple[date, ParamValue]] = []
        for i, pv in enumerate(sorted(param.values, key=lambda v: v.from_)):
            if values and values[-1][0] == pv.from_:
                raise RuleError(f"参数 {name} 在 {pv.from_} 有两个取值", file=file,
                                line=line_of(root, [*ploc, "values", i]), field=f"{name}.values")
            values.append((pv.from_, parse_literal(pv.value)))
        out[name] = ParamDef(name, param.label, param.unit, tuple(values), f"{file}:{line_of(root, ploc)}")
    return out


def load_parameters(path: str | Path | None = None) -> ParameterSet:
    """The global parameters (default: data/parameters.yaml; absent file = none)."""
    p = Path(path) if path is not None else builtin_parameters_path()
    if path is None and not p.is_file():
        return ParameterSet()
    data = load_yaml(p)
    if data is not None and not isinstance(data, dict):
        raise RuleError("参数文件应为“名称: {label, unit, values}”的映射", file=str(p))
    if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
        # Accept a wrapped form too: {schema_version, parameters: {...}}.
        return ParameterSet(_param_defs(data["parameters"], file=str(p), loc=["parameters"], root=data))
    return ParameterSet(_param_defs(data, file=str(p), loc=[], root=data, skip=("schema_version",)))


# -- compiled structures --------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedPack:
    """One validated pack file."""

    pack: RulePack
    path: Path
    line: int | None = None

    @property
    def id(self) -> str:
        return self.pack.document.id

    @property
    def document(self) -> Any:
        return self.pack.document

    @property
    def file(self) -> str:
        return str(self.path)

    @property
    def tests_path(self) -> Path:
        return self.path.with_name(self.path.name.removesuffix(".yaml").removesuffix(".yml") + ".tests.yaml")


@dataclass(frozen=True)
class CompiledCondition:
    condition: Condition
    expr: Expr
    line: int | None

    @property
    def label(self) -> str:
        return self.condition.label or self.condition.when


@dataclass(frozen=True)
class CompiledBand:
    band: Band
    lower: Decimal | None
    upper: Decimal | None
    amount: Expr

    def contains(self, x: Decimal) -> bool:
        if self.lower is not None and (x < self.lower or (x == self.lower and not self.band.lower_inclusive)):
            return False
        return not (self.upper is not None and
                    (x > self.upper or (x == self.upper and not self.band.upper_inclusive)))


@dataclass(frozen=True)
class CompiledAmount:
    amount: Amount
    formula: Expr | None = None
    tiers_on: Expr | None = None
    bands: tuple[CompiledBand, ...] = ()
    lookup_on: Expr | None = None
    lookup_table: Mapping[str, Expr] = field(default_factory=dict)

    @property
    def upper_bound(self) -> bool:
        return self.amount.upper_bound

    @property
    def rounding(self) -> str:
        return self.amount.rounding

    def band_for(self, x: Decimal) -> CompiledBand | None:
        """The first band containing x (bands never overlap: checked at load)."""
        return next((b for b in self.bands if b.contains(x)), None)

    def exprs(self) -> Iterator[Expr]:
        for e in (self.formula, self.tiers_on, self.lookup_on):
            if e is not None:
                yield e
        for b in self.bands:
            yield b.amount
        yield from self.lookup_table.values()


@dataclass(frozen=True)
class CompiledCap:
    cap: Cap
    amount: Expr

    @property
    def scope(self) -> str:
        return self.cap.scope

    @property
    def group(self) -> str | None:
        return self.cap.group


@dataclass(frozen=True)
class CompiledStacking:
    stacking: Stacking
    level: Expr | None

    @property
    def group(self) -> str:
        return self.stacking.group

    @property
    def mode(self) -> str:
        return self.stacking.mode


@dataclass(frozen=True)
class CompiledRank:
    rank: Rank
    by: Expr
    within: Expr | None
    awards: tuple[int, ...]  # integer yuan, 1st, 2nd …


@dataclass(frozen=True)
class CompiledQuota:
    quota: Quota
    per: Expr
    by: Expr


@dataclass(frozen=True)
class CompiledRule:
    """A rule with every expression compiled and its pack's defaults resolved."""

    rule: Rule
    pack: LoadedPack
    line: int | None
    conditions: tuple[CompiledCondition, ...]
    amount: CompiledAmount | None
    caps: tuple[CompiledCap, ...]
    stacking: tuple[CompiledStacking, ...]
    rank: CompiledRank | None
    quota: CompiledQuota | None

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def title(self) -> str:
        return self.rule.title

    @property
    def beneficiary(self) -> str:
        return self.rule.beneficiary

    @property
    def per_project(self) -> bool:
        return self.rule.beneficiary == "project"

    @property
    def file(self) -> str:
        return self.pack.file

    @property
    def source(self) -> str:
        return f"{self.pack.file}:{self.line}" if self.line else self.pack.file

    @property
    def validity(self) -> Validity:
        """The rule's own validity window replaces the pack's (contract)."""
        return self.rule.validity or self.pack.pack.validity

    def in_force(self, on: date) -> bool:
        v = self.validity
        return (v.from_ is None or v.from_ <= on) and (v.to is None or on <= v.to)

    @property
    def jurisdiction(self) -> Jurisdiction:
        """Pack jurisdiction with the rule's non-empty keys laid over it; exclusions add up."""
        base = self.pack.pack.jurisdiction
        own = self.rule.jurisdiction
        if own is None:
            return base
        return Jurisdiction(
            province=own.province or base.province,
            city=own.city or base.city,
            county=own.county or base.county,
            districts=own.districts if own.districts is not None else base.districts,
            excluded_areas=[*base.excluded_areas, *[a for a in own.excluded_areas if a not in base.excluded_areas]],
            note=own.note or base.note,
        )

    @property
    def department(self) -> list[str]:
        return self.rule.department or self.pack.pack.department

    @property
    def population(self) -> bool:
        """Rank/quota rules need a cohort of applicants."""
        return self.rank is not None or self.quota is not None

    def exprs(self) -> Iterator[Expr]:
        """Every compiled expression of the rule (for SQL translation, field listings …)."""
        for c in self.conditions:
            yield c.expr
        if self.amount is not None:
            yield from self.amount.exprs()
        for cap in self.caps:
            yield cap.amount
        for s in self.stacking:
            if s.level is not None:
                yield s.level
        if self.rank is not None:
            yield self.rank.by
            if self.rank.within is not None:
                yield self.rank.within
        if self.quota is not None:
            yield self.quota.per
            yield self.quota.by

    @property
    def fields(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for e in self.exprs():
            for name in e.fields:
                seen.setdefault(name, None)
        return tuple(seen)


@dataclass(frozen=True)
class LoadedLead:
    lead: Lead
    pack: LoadedPack
    line: int | None

    @property
    def title(self) -> str:
        return self.lead.title

    @property
    def department(self) -> list[str]:
        return self.lead.department or self.pack.pack.department


_BRACKETS = str.maketrans("[]()（）【】﹝﹞〈〉", "〔〕〔〕〔〕〔〕〔〕〔〕")


def _fold(text: str) -> str:
    """文号 / title comparison: drop spaces, unify bracket forms (〔2022〕 [2022] (2022))."""
    return re.sub(r"\s+", "", text).translate(_BRACKETS)


@dataclass(frozen=True)
class Selection:
    """Which rules and which documents' leads a run covers (``None`` = all)."""

    rule_ids: frozenset[str] | None
    documents: frozenset[str] | None

    def has_rule(self, rule_id: str) -> bool:
        return self.rule_ids is None or rule_id in self.rule_ids


class RuleBase:
    """Everything the calculator needs: packs, compiled rules, leads, fields, parameters."""

    def __init__(self, packs: Sequence[LoadedPack], rules: Sequence[CompiledRule], leads: Sequence[LoadedLead],
                 fields: FieldRegistry, params: ParameterSet) -> None:
        self.packs = list(packs)
        self.rules = list(rules)
        self.leads = list(leads)
        self.fields = fields
        self.params = params
        self._by_id = {r.id: r for r in self.rules}

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, rule_id: str) -> CompiledRule:
        if rule_id in self._by_id:
            return self._by_id[rule_id]
        near = closest(rule_id, self._by_id)
        raise HuiqiError(f"未知的规则 {rule_id}", field="rule", hint=f"您是否要写 {near[0]}?" if near else None)

    def has_rule(self, rule_id: str) -> bool:
        return rule_id in self._by_id

    def pack(self, ref: str) -> LoadedPack:
        hits = self._match(ref)
        if len(hits) == 1:
            return hits[0]
        if not hits:
            near = closest(ref, [p.id for p in self.packs])
            raise HuiqiError(f"没有与「{ref}」对应的规则包", field="policy",
                             hint=f"您是否要写 {near[0]}?" if near else "可用文件简称、文号或标题中的一段")
        listing = "、".join(p.id for p in hits)
        raise HuiqiError(f"「{ref}」匹配到多个规则包:{listing}", field="policy", hint="请写得更具体些")

    def _match(self, ref: str) -> list[LoadedPack]:
        ref = ref.strip()
        folded = _fold(ref)
        tests = (
            lambda p: p.id == ref,
            lambda p: bool(p.document.doc_number) and _fold(p.document.doc_number) == folded,
            lambda p: p.document.title == ref or (p.document.source_file or "") == ref,
            lambda p: folded in _fold(p.document.title) or (bool(p.document.doc_number)
                                                             and folded in _fold(p.document.doc_number)),
        )
        for test in tests:
            hits = [p for p in self.packs if test(p)]
            if hits:
                return hits
        return []

    def select(self, policies: Iterable[str] | None) -> Selection:
        """The one reading of ``--policy`` / ``policies`` for every command and engine.

        Each reference is a rule id, a rule-id prefix (``linhai.tech_upgrade``), a rule
        pack id, a 文号 or a piece of a document title. Rules of a named document are all
        selected and the document's pack-level leads are shown; naming rules alone shows
        no pack leads. An unknown reference is an error with a suggestion.
        """
        if policies is None:
            return Selection(None, None)
        refs = [p.strip() for p in policies if p and p.strip()]
        if not refs:
            return Selection(None, None)
        rules: set[str] = set()
        documents: set[str] = set()
        for ref in refs:
            if ref in self._by_id:
                rules.add(ref)
                continue
            prefix = ref.rstrip(".") + "."
            by_prefix = {r.id for r in self.rules if r.id.startswith(prefix)}
            hits = self._match(ref)
            if not by_prefix and not hits:
                near = closest(ref, [*self._by_id, *(p.id for p in self.packs)])
                raise HuiqiError(f"没有与「{ref}」对应的规则包或规则", field="policy",
                                 hint=f"您是否要写 {near[0]}?" if near else "可用规则 id、规则包 id、文号或标题中的一段")
            rules.update(by_prefix)
            for pack in hits:
                documents.add(pack.document.id)
                rules.update(r.id for r in self.rules if r.pack.id == pack.id)
        return Selection(frozenset(rules), frozenset(documents))

    def filter(self, policies: Iterable[str] | None) -> RuleBase:
        """Only the packs named by document id, 文号 or a piece of the title."""
        if policies is None:
            return self
        wanted: list[LoadedPack] = []
        for ref in policies:
            hits = self._match(ref)
            if not hits:
                self.pack(ref)  # raises with a suggestion
            wanted.extend(h for h in hits if h not in wanted)
        ids = {p.id for p in wanted}
        return RuleBase(wanted, [r for r in self.rules if r.pack.id in ids],
                        [ld for ld in self.leads if ld.pack.id in ids], self.fields, self.params)

    def env(self, profile: Profile, project: Project | str | None = None, on: date | None = None,
            overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The expression environment for one subject (uses this base's fields and parameters)."""
        return profile_env(profile, project, on=on, params=self.params.with_overrides(overrides),
                           fields=self.fields)

    def labels(self) -> dict[str, str]:
        """Field path → Chinese label, incl. parameters (for ``explain``)."""
        out = self.fields.labels()
        out.update({f"param.{n}": d.label for n, d in self.params.defs.items()})
        out["date"] = "计算日期"
        for r in self.rules:
            for name in r.fields:
                if name not in out:
                    spec = self.fields.get(name)
                    if spec is not None:
                        out[name] = spec.label
        return out

    def units(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.fields.units())
        for n, d in self.params.defs.items():
            if d.unit in ("%", "percent"):
                out[f"param.{n}"] = "percent"
            elif d.unit in ("元", "万元"):
                out[f"param.{n}"] = "money"
        return out

    def tests_files(self) -> list[Path]:
        return [p.tests_path for p in self.packs if p.tests_path.is_file()]


# -- pydantic error translation ------------------------------------------------------------


_TYPE_MESSAGES = {
    "string_type": "应为文字",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "date_type": "应为日期(YYYY-MM-DD)",
    "date_parsing": "应为日期(YYYY-MM-DD)",
    "date_from_datetime_parsing": "应为日期(YYYY-MM-DD)",
    "date_from_datetime_inexact": "应为日期(YYYY-MM-DD),不带时间",
    "list_type": "应为列表(用“- ”或 [ … ] 书写)",
    "dict_type": "应为映射(键: 值)",
    "model_type": "应为映射(键: 值)",
    "model_attributes_type": "应为映射(键: 值)",
    "string_pattern_mismatch": "格式不符:只能用小写英文字母、数字、点、下划线和短横线",
    "string_too_short": "不能为空",
    "too_short": "不能为空",
}


def _unwrap(tp: Any) -> list[Any]:
    """The alternatives of Optional/Union/Annotated types."""
    origin = get_origin(tp)
    if origin is Union or str(origin) == "<class 'types.UnionType'>":
        out: list[Any] = []
        for arg in get_args(tp):
            out.extend(_unwrap(arg))
        return out
    if str(origin) == "<class 'typing.Annotated'>" or (origin is not None and hasattr(tp, "__metadata__")):
        return _unwrap(get_args(tp)[0])
    return [tp]


def _model_keys(model: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or name): f.annotation for name, f in model.model_fields.items()}


def _type_at(model: type[BaseModel], loc: Sequence[Any]) -> Any:
    """The annotation reached by following ``loc`` from ``model`` (None when lost)."""
    tp: Any = model
    for part in loc:
        nxt = None
        for alt in _unwrap(tp):
            if isinstance(alt, type) and issubclass(alt, BaseModel) and isinstance(part, str):
                nxt = _model_keys(alt).get(part)
            elif get_origin(alt) is list and isinstance(part, int):
                nxt = get_args(alt)[0]
            elif get_origin(alt) is dict and isinstance(part, str):
                nxt = get_args(alt)[1]
            if nxt is not None:
                break
        if nxt is None:
            continue  # a union tag such as 'str' or 'int'
        tp = nxt
    return tp


def _display_path(root: Any, loc: Sequence[Any], keep_last: bool) -> str:
    parts: list[str] = []
    cur = root
    for i, part in enumerate(loc):
        if isinstance(cur, dict) and part in cur:
            parts.append(f".{part}" if parts else str(part))
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            parts.append(f"[{part}]")
            cur = cur[part]
        elif keep_last and i == len(loc) - 1:
            parts.append(f".{part}" if parts else str(part))
        else:
            cur = None
    return "".join(parts)


def _translate(exc: ValidationError, *, root: Any, file: str, base_loc: Sequence[Any] = (),
               model: type[BaseModel] = RulePack) -> RuleError:
    problems: list[tuple[int | None, str, str, str | None, str | None]] = []
    seen: set[str] = set()
    # A misspelt key shows up twice (extra "kindd" + missing "kind"); the extra one says more.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    for err in errors:
        loc = [*base_loc, *err["loc"]]
        kind = err["type"]
        keep_last = kind in ("missing", "extra_forbidden")
        path = _display_path(root, loc, keep_last)
        if path in seen:
            continue  # one message per place: union branches (str | int) repeat themselves
        seen.add(path)
        line = line_of(root, loc)
        hint: str | None = None
        last = err["loc"][-1] if err["loc"] else ""
        if kind == "missing":
            msg = f"缺少必填项 {last}"
        elif kind == "extra_forbidden":
            parent = _type_at(model, err["loc"][:-1])
            keys: list[str] = []
            for alt in _unwrap(parent):
                if isinstance(alt, type) and issubclass(alt, BaseModel):
                    keys = list(_model_keys(alt))
            near = closest(str(last), keys)
            msg = f"未知的键 {last}"
            hint = f"您是否要写 {near[0]}?" if near else ("可用的键:" + "、".join(keys) if keys else None)
        elif kind == "literal_error":
            expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            near = closest(str(err.get("input")), expected)
            msg = f"取值 {err.get('input')} 无效,可选:" + "、".join(expected)
            hint = f"您是否要写 {near[0]}?" if near else None
        elif kind == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        elif kind in _TYPE_MESSAGES:
            shown = err.get("input")
            msg = f"{_TYPE_MESSAGES[kind]},实际是 {shown!r}" if not isinstance(shown, dict | list) \
                else _TYPE_MESSAGES[kind]
        else:
            msg = str(err["msg"])
        rule_id = None
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = root.get("rules") if isinstance(root, dict) else None
            if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
                rule_id = rules[loc[1]].get("id")
        problems.append((line, path, msg, hint, None if rule_id is None else str(rule_id)))
    line, path, msg, hint, rule_id = problems[0]
    prefix = f"规则 {rule_id}:" if rule_id else ""
    text = f"{prefix}{path}:{msg}" if path else f"{prefix}{msg}"
    if len(problems) > 1:
        more = "\n".join(f"  第{p[0]}行 {p[1]}:{p[2]}" + (f"({p[3]})" if p[3] else "") for p in problems[1:10])
        extra = f"\n  ……另有 {len(problems) - 10} 处" if len(problems) > 10 else ""
        text += f"\n另有 {len(problems) - 1} 处错误:\n{more}{extra}"
    return RuleError(text, file=file, line=line, field=path or None, hint=hint)


# -- loading --------------------------------------------------------------------------------


def discover_pack_files(paths: Sequence[str | Path] | None = None) -> list[Path]:
    """Pack files (``*.yaml``/``*.yml``, not ``*.tests.yaml``) under the given files/dirs."""
    if paths is None:
        base = builtin_packs_dir()
        return _pack_files_in(base) if base.is_dir() else []
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(_pack_files_in(p))
        elif p.is_file():
            out.append(p)
        else:
            raise RuleError("规则包文件或目录不存在", file=str(p))
    return list(dict.fromkeys(out))


def _pack_files_in(directory: Path) -> list[Path]:
    files = [*directory.rglob("*.yaml"), *directory.rglob("*.yml")]
    return sorted(f for f in files if not f.name.endswith((".tests.yaml", ".tests.yml")))


def load_packs(
    paths: Sequence[str | Path] | None = None,
    *,
    fields: FieldRegistry | None = None,
    parameters: str | Path | ParameterSet | None = None,
) -> RuleBase:
    """Load, validate and compile rule packs (None = the built-in ``src/huiqi/rulepacks``).

    Raises RuleError for the first invalid pack, naming file, line, rule and field.
    """
    files = discover_pack_files(paths)
    if paths is not None and not files:
        raise RuleError("给定的路径中没有规则包(*.yaml)", file=", ".join(map(str, paths)))
    registry = fields or default_registry()
    params = parameters if isinstance(parameters, ParameterSet) else load_parameters(parameters)
    global_names = set(params.defs)

    raw_packs: list[tuple[Path, Any, RulePack]] = []
    pack_params: dict[str, ParamDef] = {}
    for path in files:
        data = load_yaml(path)
        pack = _validate_pack(path, data)
        defs = _param_defs(data.get("parameters"), file=str(path), loc=["parameters"], root=data)
        for name, definition in defs.items():
            if name in global_names or name in pack_params:
                where = "data/parameters.yaml" if name in global_names else pack_params[name].source
                raise RuleError(f"参数 {name} 已在 {where} 中定义,参数名须全局唯一", file=str(path),
                                line=line_of(data, ["parameters", name]), field=f"parameters.{name}")
            pack_params[name] = definition
        raw_packs.append((path, data, pack))
    params = params.merged(pack_params)

    doc_ids: dict[str, Path] = {}
    for path, data, pack in raw_packs:
        if pack.document.id in doc_ids:
            raise RuleError(f"文件简称 document.id = {pack.document.id} 与 {doc_ids[pack.document.id]} 重复",
                            file=str(path), line=line_of(data, ["document", "id"]), field="document.id")
        doc_ids[pack.document.id] = path

    packs: list[LoadedPack] = []
    rules: list[CompiledRule] = []
    leads: list[LoadedLead] = []
    seen_rules: dict[str, str] = {}
    for path, data, pack in raw_packs:
        loaded = LoadedPack(pack, path, getattr(data, "line", None))
        packs.append(loaded)
        compiler = _PackCompiler(loaded, data, registry, params, set(doc_ids))
        for i, rule in enumerate(pack.rules):
            line = line_of(data, ["rules", i])
            if rule.id in seen_rules:
                raise RuleError(f"规则 id {rule.id} 重复(已在 {seen_rules[rule.id]} 中使用)", file=str(path),
                                line=line_of(data, ["rules", i, "id"]), field="id", clause=rule.citation.clause)
            seen_rules[rule.id] = f"{path}:{line}"
            rules.append(compiler.rule(i, rule))
        for i, lead in enumerate(pack.leads):
            compiler.citation(lead.citation, ["leads", i, "citation"], f"线索「{lead.title}」的")
            leads.append(LoadedLead(lead, loaded, line_of(data, ["leads", i])))
    return RuleBase(packs, rules, leads, registry, params)


def _validate_pack(path: Path, data: Any) -> RulePack:
    if not isinstance(data, dict):
        raise RuleError("规则包应为映射(document / rules …)", file=str(path), line=getattr(data, "line", None))
    try:
        pack = RulePack.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, root=data, file=str(path)) from None
    major = pack.schema_version.split(".")[0]
    if major != RULES_SCHEMA_VERSION.split(".")[0]:
        raise RuleError(f"规则包 schema_version {pack.schema_version} 与程序支持的 {RULES_SCHEMA_VERSION} 不兼容",
                        file=str(path), line=line_of(data, ["schema_version"]), field="schema_version")
    return pack


_NUMERIC_TYPES = ("money", "number", "integer", "percent")
_TEXT_TYPES = ("enum", "text", "date")


class _PackCompiler:
    def __init__(self, pack: LoadedPack, data: Any, registry: FieldRegistry, params: ParameterSet,
                 doc_ids: set[str]) -> None:
        self.pack = pack
        self.data = data
        self.registry = registry
        self.params = params
        self.doc_ids = doc_ids
        self.file = str(pack.path)
        self._check_validity(pack.pack.validity, ["validity"], "规则包")

    # helpers ------------------------------------------------------------------------------

    def line(self, loc: Sequence[Any]) -> int | None:
        return line_of(self.data, loc)

    def fail(self, msg: str, loc: Sequence[Any], rule: Rule | None, where: str, hint: str | None = None) -> RuleError:
        prefix = f"规则 {rule.id}:" if rule is not None else ""
        return RuleError(prefix + msg, file=self.file, line=self.line(loc), field=where,
                         clause=rule.citation.clause if rule is not None else None, hint=hint)

    def _check_validity(self, v: Validity | None, loc: list[Any], what: str, rule: Rule | None = None) -> None:
        if v is not None and v.from_ is not None and v.to is not None and v.from_ > v.to:
            raise self.fail(f"{what}的有效期起始日 {v.from_} 晚于截止日 {v.to}", loc, rule, "validity")

    def citation(self, citation: Any, loc: list[Any], what: str, rule: Rule | None = None) -> None:
        if citation.document not in self.doc_ids:
            near = closest(citation.document, self.doc_ids)
            raise self.fail(f"{what}引文指向未知的文件 {citation.document}", [*loc, "document"], rule,
                            "citation.document",
                            f"您是否要写 {near[0]}?" if near else f"本规则包的文件简称是 {self.pack.id}")
        if not citation.quote.strip():
            raise self.fail(f"{what}引文 quote 不能为空", [*loc, "quote"], rule, "citation.quote")

    def expr(self, text: str, loc: list[Any], rule: Rule, where: str, *, want: str | None = None) -> Expr:
        line = self.line(loc)
        try:
            compiled = compile_expr(text, source=self.file, line=line, field=where, clause=rule.citation.clause)
        except RuleError as exc:
            # The expression compiler knows the position in the text; add which rule it is.
            exc.message = f"规则 {rule.id}:{exc.message}"
            exc.args = (exc.message,)
            raise
        self._check_fields(compiled, loc, rule, where)
        spec = self.registry.get(compiled.text.strip()) if isinstance(compiled.ast, Field) else None
        if spec is not None and want == "bool" and spec.type != "boolean":
            raise self.fail(f"{where} 必须是真假判断,而{spec.label}({compiled.text.strip()})是"
                            f"{spec.type}类型;请写出比较,如 {compiled.text.strip()} >= …", loc, rule, where)
        if spec is not None and want == "number" and spec.type not in _NUMERIC_TYPES:
            raise self.fail(f"{where} 必须是金额或数值,而{spec.label}({compiled.text.strip()})是{spec.type}类型",
                            loc, rule, where)
        self._check_literals(compiled, loc, rule, where)
        if want == "bool" and compiled.type not in ("bool", "any", "null"):
            raise self.fail(f"{where} 必须是真假判断(如 x >= 500万元),而「{text}」的结果是"
                            f"{'数值' if compiled.type == 'number' else '文字'}", loc, rule, where)
        if want == "number" and compiled.type not in ("number", "any", "null"):
            raise self.fail(f"{where} 必须是金额或数值,而「{text}」的结果是"
                            f"{'真假值' if compiled.type == 'bool' else '文字'}", loc, rule, where)
        return compiled

    def _check_fields(self, compiled: Expr, loc: list[Any], rule: Rule, where: str) -> None:
        for name in compiled.fields:
            scope, _, rest = name.partition(".")
            if name == "date":
                continue
            if scope == "region":
                if rest not in REGION_KEYS:
                    near = closest(rest, REGION_KEYS)
                    raise self.fail(f"{where} 引用了未知的地区字段 {name}", loc, rule, where,
                                    f"您是否要写 region.{near[0]}?" if near else "可用:" + "、".join(REGION_KEYS))
                continue
            if scope == "param":
                if rest not in self.params:
                    near = closest(rest, self.params.names())
                    raise self.fail(f"{where} 引用了未定义的参数 {name}", loc, rule, where,
                                    f"您是否要写 param.{near[0]}?" if near
                                    else "参数在 data/parameters.yaml 或规则包 parameters 中定义")
                continue
            if scope not in ("enterprise", "project"):
                raise self.fail(f"{where} 引用了 {name}:字段名必须以 enterprise.、project.、region.、param. 开头"
                                f"或为 date", loc, rule, where, self.registry.suggest(name))
            if scope == "project" and rule.beneficiary != "project":
                raise self.fail(f"{where} 引用了项目字段 {name},但本规则的受益对象是"
                                f"{rule.beneficiary}(按企业计算,没有项目)", loc, rule, where,
                                "按项目计算的规则请写 beneficiary: project")
            spec = self.registry.get(name)
            if spec is None:
                raise self.fail(f"{where} 引用了未登记的字段 {name}", loc, rule, where,
                                self.registry.suggest(name) or "字段须先在 data/fields.yaml 中登记")
            if spec.type == "list":
                example = f"{name}.{spec.values[0]}" if spec.values else f"{name}.<值>"
                raise self.fail(f"{where} 直接引用了列表字段 {name}", loc, rule, where,
                                f"列表字段按成员判断,写作 {example}(真/假)")

    def _check_literals(self, compiled: Expr, loc: list[Any], rule: Rule, where: str) -> None:
        """``enterprise.muju_class == "E"``: a value the field can never have is a typo."""
        for node in walk(compiled.ast):
            pairs: list[tuple[Field, Any]] = []
            if isinstance(node, Cmp):
                if isinstance(node.left, Field):
                    pairs.append((node.left, node.right))
                if isinstance(node.right, Field):
                    pairs.append((node.right, node.left))
            elif isinstance(node, In) and isinstance(node.needle, Field):
                pairs.extend((node.needle, item) for item in node.items)
            for fld, other in pairs:
                spec = self.registry.get(fld.name)
                if spec is None:
                    continue
                if spec.type in _NUMERIC_TYPES and isinstance(other, Str):
                    raise self.fail(f"{where}:{spec.label}({fld.name})是数值,不能与文字“{other.value}”比较",
                                    loc, rule, where)
                if spec.type in _TEXT_TYPES and isinstance(other, Num):
                    raise self.fail(f"{where}:{spec.label}({fld.name})是文字,不能与数字比较;请给数字加引号",
                                    loc, rule, where)
                if spec.type == "enum" and isinstance(other, Str) and other.value not in spec.values:
                    near = closest(other.value, spec.values)
                    raise self.fail(f"{where}:{spec.label}({fld.name})不可能取值“{other.value}”,"
                                    "可选:" + "、".join(spec.values), loc, rule, where,
                                    f"您是否要写 “{near[0]}”?" if near else None)

    # rules --------------------------------------------------------------------------------

    def rule(self, index: int, rule: Rule) -> CompiledRule:
        base: list[Any] = ["rules", index]
        self.citation(rule.citation, [*base, "citation"], "", rule)  # message reads 规则 X:引文…
        self._check_validity(rule.validity, [*base, "validity"], "规则", rule)
        conditions = tuple(
            CompiledCondition(c, self.expr(c.when, [*base, "conditions", j, "when"], rule,
                                           f"conditions[{j}].when", want="bool"),
                              self.line([*base, "conditions", j]))
            for j, c in enumerate(rule.conditions)
        )
        amount = self.amount(rule, [*base, "amount"]) if rule.amount is not None else None
        caps = tuple(
            CompiledCap(cap, self.expr(cap.amount, [*base, "caps", j, "amount"], rule, f"caps[{j}].amount",
                                       want="number"))
            for j, cap in enumerate(rule.caps)
        )
        for j, cap in enumerate(rule.caps):
            constant = parse_literal(cap.amount)
            if isinstance(constant, Decimal) and not isinstance(constant, bool) and constant < 0:
                raise self.fail(f"caps[{j}] 的上限金额 {cap.amount} 是负数:上限不能小于零",
                                [*base, "caps", j, "amount"], rule, f"caps[{j}].amount")
            if cap.scope in ("enterprise_year", "fund") and not cap.group:
                raise self.fail(f"caps[{j}] 的范围是 {cap.scope},必须给出共享上限的组名 group",
                                [*base, "caps", j], rule, f"caps[{j}].group")
        stacking = tuple(self.stacking(rule, s, [*base, "stacking", j], j) for j, s in enumerate(rule.stacking))
        rank = self.rank(rule, rule.rank, [*base, "rank"]) if rule.rank is not None else None
        quota = None
        if rule.quota is not None:
            q = rule.quota
            if q.limit < 1:
                raise self.fail("quota.limit 必须至少为 1", [*base, "quota", "limit"], rule, "quota.limit")
            quota = CompiledQuota(q, self.expr(q.per, [*base, "quota", "per"], rule, "quota.per"),
                                  self.expr(q.by, [*base, "quota", "by"], rule, "quota.by", want="number"))
        return CompiledRule(rule, self.pack, self.line(base), conditions, amount, caps, stacking, rank, quota)

    def amount(self, rule: Rule, loc: list[Any]) -> CompiledAmount:
        a = rule.amount
        assert a is not None
        if a.formula is not None:
            return CompiledAmount(a, formula=self.expr(a.formula, [*loc, "formula"], rule, "amount.formula",
                                                       want="number"))
        if a.tiers is not None:
            on = self.expr(a.tiers.on, [*loc, "tiers", "on"], rule, "amount.tiers.on", want="number")
            if not a.tiers.bands:
                raise self.fail("amount.tiers.bands 不能为空", [*loc, "tiers", "bands"], rule, "amount.tiers.bands")
            bands: list[CompiledBand] = []
            for j, band in enumerate(a.tiers.bands):
                bloc = [*loc, "tiers", "bands", j]
                where = f"amount.tiers.bands[{j}]"
                lower = None if band.lower is None else _constant_number(
                    band.lower, file=self.file, line=self.line([*bloc, "lower"]), where=f"{where}.lower",
                    rule_id=rule.id)
                upper = None if band.upper is None else _constant_number(
                    band.upper, file=self.file, line=self.line([*bloc, "upper"]), where=f"{where}.upper",
                    rule_id=rule.id)
                if lower is not None and upper is not None and (
                        lower > upper or (lower == upper and not (band.lower_inclusive and band.upper_inclusive))):
                    raise self.fail(f"{where} 的下限 {band.lower} 不小于上限 {band.upper}:该档为空", bloc, rule,
                                    where)
                compiled = CompiledBand(band, lower, upper,
                                        self.expr(band.amount, [*bloc, "amount"], rule, f"{where}.amount",
                                                  want="number"))
                for k, other in enumerate(bands):
                    if _overlap(other, compiled):
                        raise self.fail(f"{where} 与第{k + 1}档(bands[{k}])重叠:同一数值会落入两档", bloc, rule,
                                        where, "边界处请用 lower_inclusive / upper_inclusive 明确含不含本数")
                bands.append(compiled)
            return CompiledAmount(a, tiers_on=on, bands=tuple(bands))
        assert a.lookup is not None
        on = self.expr(a.lookup.on, [*loc, "lookup", "on"], rule, "amount.lookup.on")
        if not a.lookup.table:
            raise self.fail("amount.lookup.table 不能为空", [*loc, "lookup", "table"], rule, "amount.lookup.table")
        spec = self.registry.get(a.lookup.on.strip())
        table: dict[str, Expr] = {}
        for key, value in a.lookup.table.items():
            kloc = [*loc, "lookup", "table", key]
            if spec is not None and spec.type == "enum" and key not in spec.values:
                near = closest(key, spec.values)
                raise self.fail(f"amount.lookup.table 的键 {key} 不是{spec.label}的可选值("
                                + "、".join(spec.values) + ")", kloc, rule, "amount.lookup.table",
                                f"您是否要写 {near[0]}?" if near else None)
            table[key] = self.expr(value, kloc, rule, f"amount.lookup.table[{key}]", want="number")
        return CompiledAmount(a, lookup_on=on, lookup_table=table)

    def stacking(self, rule: Rule, s: Stacking, loc: list[Any], j: int) -> CompiledStacking:
        if s.mode == "once_per_level" and not s.level:
            raise self.fail(f"stacking[{j}] 的方式为 once_per_level,必须给出级别表达式 level", loc, rule,
                            f"stacking[{j}].level")
        level = self.expr(s.level, [*loc, "level"], rule, f"stacking[{j}].level") if s.level else None
        return CompiledStacking(s, level)

    def rank(self, rule: Rule, r: Rank, loc: list[Any]) -> CompiledRank:
        if not r.awards:
            raise self.fail("rank.awards 不能为空", [*loc, "awards"], rule, "rank.awards")
        awards: list[int] = []
        for j, award in enumerate(r.awards):
            value = _constant_number(award, file=self.file, line=self.line([*loc, "awards", j]),
                                     where=f"rank.awards[{j}]", rule_id=rule.id)
            if value != value.to_integral_value() or value < 0:
                raise self.fail(f"rank.awards[{j}] 必须是非负的整数元", [*loc, "awards", j], rule, "rank.awards")
            awards.append(int(value))
        by = self.expr(r.by, [*loc, "by"], rule, "rank.by", want="number")
        within = self.expr(r.within, [*loc, "within"], rule, "rank.within") if r.within else None
        return CompiledRank(r, by, within, tuple(awards))


def _overlap(a: CompiledBand, b: CompiledBand) -> bool:
    """Do two bands share a value? Bounds are inclusive or not, as written."""
    lows = [(x.lower, x.band.lower_inclusive) for x in (a, b) if x.lower is not None]
    highs = [(x.upper, x.band.upper_inclusive) for x in (a, b) if x.upper is not None]
    if not lows or not highs:
        return True  # both unbounded on one side: they meet somewhere out there
    # The intersection runs from the tighter lower bound to the tighter upper bound;
    # at equal values an exclusive bound is the tighter one.
    low = max(lows, key=lambda t: (t[0], not t[1]))
    high = min(highs, key=lambda t: (t[0], t[1]))
    return low[0] < high[0] or (low[0] == high[0] and low[1] and high[1])
