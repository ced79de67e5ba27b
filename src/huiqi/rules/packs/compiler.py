"""Cross-checks and compiles one validated pack's rules (fields, types, literals, bands, caps).

Every failure is a RuleError naming the file, line, rule id, clause and field.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from huiqi.errors import RuleError
from huiqi.profile import REGION_KEYS, FieldRegistry, closest, line_of
from huiqi.rules.expr import Expr, compile_expr
from huiqi.rules.expr_ast import Cmp, Field, In, Num, Str, walk
from huiqi.rules.model import Rank, Rule, Stacking, Validity
from huiqi.rules.packs.compiled import (
    CompiledAmount,
    CompiledBand,
    CompiledCap,
    CompiledCondition,
    CompiledQuota,
    CompiledRank,
    CompiledRule,
    CompiledStacking,
    LoadedPack,
)
from huiqi.rules.packs.parameters import ParameterSet, constant_number, parse_literal

__all__ = ["PackCompiler"]

_NUMERIC_TYPES = ("money", "number", "integer", "percent")


_TEXT_TYPES = ("enum", "text", "date")


class PackCompiler:
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
                lower = None if band.lower is None else constant_number(
                    band.lower, file=self.file, line=self.line([*bloc, "lower"]), where=f"{where}.lower",
                    rule_id=rule.id)
                upper = None if band.upper is None else constant_number(
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
            value = constant_number(award, file=self.file, line=self.line([*loc, "awards", j]),
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
