"""亩均效益综合评价方法 — the methodology file: one YAML per city and year.

A methodology says which enterprise fields are needed, how each indicator is computed
from them (formulas in the safe expression language of :mod:`huiqi.rules.expr`), how
an indicator value becomes a score (benchmark, direction, weight, cap), how the
population is split into tracks that are graded separately, who is excluded, how total
scores become classes A/B/C/D (percentile bands or score thresholds) and which special
rules move a class afterwards (安全事故 → 最高C类, 建设期投资 → A类 …).

The pydantic models below are the documented schema (``methodology_json_schema()``
exports it as JSON Schema); :func:`load_methodology` reads a file and reports errors
in Chinese with file and line, the same way rule packs do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from huiqi.errors import RuleError
from huiqi.rules.expr import Expr, compile_expr
from huiqi.rules.expr_ast import Arith, Num, walk
from huiqi.rules.expr_ast import Field as FieldNode

METHODOLOGY_SCHEMA_VERSION = "1.0"
BUILTIN_DIR = Path(__file__).resolve().parents[1] / "data" / "methodologies"

# Columns every population has besides enterprise.<field>; expressions may use them
# (e.g. an exclusion "industry in [...]" or a track split by district).
STANDARD_COLUMNS: dict[str, str] = {
    "id": "企业编号",
    "name": "企业名称",
    "province": "省",
    "city": "市",
    "county": "县(市、区)",
    "district": "乡镇(街道)/园区",
    "industry": "行业",
}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


def parse_decimal(value: object) -> object:
    """YAML number or text ("20%", "1.2", "3000万元") → exact Decimal.

    Floats go through repr() so that 1.2 stays 1.2 (not its binary expansion); text is
    read by the expression language's literal parser, so 20% and 500万元 mean exactly
    what they mean in rule files.
    """
    if isinstance(value, bool) or value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = compile_expr(value.strip()).evaluate({}).value
        except RuleError:
            return value  # pydantic then reports "not a valid decimal" with the location
        if isinstance(result, Decimal):
            return result
    return value


Dec = Annotated[Decimal, BeforeValidator(parse_decimal)]
ClassName = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9+\-]{0,3}$", description="类别代码,如 A、B、C、D")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Source(_Model):
    """Where a methodology (or a part of it) comes from."""

    title: str = Field(description="文件名称")
    doc_number: str | None = Field(None, description="文号,如 浙政发〔2018〕5号;不确定时不写")
    clause: str | None = Field(None, description="条款,如 二/5")
    quote: str | None = Field(None, description="原文摘录")
    kind: Literal["seed", "published", "modelled"] = Field(
        "published",
        description="seed = 种子文件原文;published = 公开发布的文件;modelled = 参照通行做法建模(非原文规定)",
    )
    note: str | None = None


class InputField(_Model):
    """An enterprise field the method reads, referenced as ``enterprise.<name>``."""

    label: str = Field(description="中文名称")
    type: Literal["money", "number", "integer", "boolean", "enum", "text"]
    unit: str | None = Field(None, description="单位,如 元、亩、吨标准煤")
    values: list[str] | None = Field(None, description="enum 的取值")
    allow_negative: bool = Field(
        False, description="是否允许负值;不允许时负值视为无效数据(按指标的缺失处理方式处理)"
    )
    optional: bool = Field(False, description="人口表可以没有这一列(视为全部缺失);否则缺列即报错")
    description: str | None = None

    @property
    def numeric(self) -> bool:
        return self.type in ("money", "number", "integer")


class Parameter(_Model):
    label: str
    value: Dec
    unit: str | None = None
    source: str | None = None


class Benchmark(_Model):
    """The value at which an indicator earns exactly its weight.

    fixed: the given value (optionally per track); mean / median: of the indicator over
    the graded enterprises of the track whose value is valid; parameter: a named
    methodology parameter (e.g. 上年度全县平均值). Every method is multiplied by
    ``multiple`` (default 1), e.g. 上年平均值 × 1.1.
    """

    method: Literal["fixed", "mean", "median", "parameter"]
    value: Dec | None = Field(None, description="fixed:基准值")
    by_track: dict[str, Dec] = Field(default_factory=dict, description="fixed:按分组(track id)给出的基准值")
    parameter: str | None = Field(None, description="parameter:参数名")
    multiple: Dec = Field(Decimal(1), description="倍数,如 1.1 表示基准值取 1.1 倍")
    note: str | None = None


MissingTreatment = Literal["exclude", "zero", "track_average"]


class Indicator(_Model):
    id: str = Field(description="英文标识,小写字母开头,如 tax_per_mu")
    label: str = Field(description="中文名称,如 亩均税收")
    unit: str | None = Field(None, description="指标单位,如 万元/亩")
    formula: str = Field(description="计算公式(规则表达式语言);除数只能是单个字段或常数")
    direction: Literal["higher", "lower"] = Field(description="higher = 越高越好;lower = 越低越好")
    weight: Dec = Field(description="权重(满分)")
    track_weights: dict[str, Dec] = Field(default_factory=dict, description="按分组覆盖权重")
    tracks: list[str] | None = Field(None, description="只在这些分组中计分;不写 = 所有分组")
    benchmark: Benchmark
    cap: Dec | None = Field(None, description="得分上限 = cap × 权重;不写则用 scoring.cap")
    floor: Dec | None = Field(None, description="得分下限;不写则用 scoring.floor")
    missing: MissingTreatment = Field(
        "exclude",
        description="数据缺失、为负(不允许时)或无效时:exclude = 不参评;zero = 该项0分;track_average = 取组内该项平均得分",
    )
    zero_divisor: Literal["exclude", "zero", "track_average", "max_score"] | None = Field(
        None, description="除数字段为零时的处理;不写则同 missing;max_score = 该项得满分上限(如无排放)"
    )
    source: str | None = Field(None, description="出处或说明")

    @property
    def zero_divisor_treatment(self) -> str:
        return self.zero_divisor or self.missing


class Scoring(_Model):
    cap: Dec = Field(Decimal("1.2"), description="每项得分上限 = cap × 权重")
    floor: Dec = Field(Decimal(0), description="每项得分下限(负的指标值最低得此分)")
    decimals: int = Field(4, ge=2, le=6, description="得分保留小数位(四舍五入)")


SPLIT_COLUMNS = ("industry", "district", "county", "city")


class Track(_Model):
    """A group of enterprises graded separately (规上 / 规下, or per industry)."""

    id: str
    label: str
    when: str | None = Field(None, description="属于本组的条件;不写 = 其余全部")
    split_by: Literal["industry", "district", "county", "city"] | None = Field(
        None, description="再按该列的取值分成多个子组,各自排名"
    )


class Band(_Model):
    class_: ClassName = Field(alias="class")
    label: str | None = Field(None, description="显示名,默认“A类”")
    upto: Dec | None = Field(None, description="percentile:累计比例上限(如 20%、75%、95%);最后一档不写")
    min_score: Dec | None = Field(None, description="threshold:最低总分(含本数);最后一档不写")

    @property
    def display(self) -> str:
        return self.label or f"{self.class_}类"


class Grading(_Model):
    method: Literal["percentile", "threshold"]
    bands: list[Band] = Field(min_length=2)
    rounding: Literal["floor", "half_up", "ceil"] = Field(
        "floor",
        description="percentile:各档累计名额 = 取整(组内参评数 × 累计比例) 的取整方式",
    )

    @model_validator(mode="after")
    def _check_bands(self) -> Grading:
        names = [b.class_ for b in self.bands]
        if len(set(names)) != len(names):
            raise ValueError(f"类别重复:{names}")
        *upper, last = self.bands
        if self.method == "percentile":
            if any(b.min_score is not None for b in self.bands):
                raise ValueError("percentile 分档不使用 min_score")
            if any(b.upto is None for b in upper) or last.upto not in (None, Decimal(1)):
                raise ValueError("percentile 分档:除最后一档外都要写 upto(累计比例),最后一档不写")
            shares = [b.upto for b in upper]
            if any(s is None or not Decimal(0) < s < Decimal(1) for s in shares) or shares != sorted(set(shares)):  # type: ignore[type-var]
                raise ValueError("percentile 分档:upto 必须在 0 与 100% 之间且严格递增")
        else:
            if any(b.upto is not None for b in self.bands):
                raise ValueError("threshold 分档不使用 upto")
            if any(b.min_score is None for b in upper) or last.min_score is not None:
                raise ValueError("threshold 分档:除最后一档外都要写 min_score,最后一档不写")
            mins = [b.min_score for b in upper]
            if mins != sorted(set(mins), reverse=True):  # type: ignore[type-var]
                raise ValueError("threshold 分档:min_score 必须严格递减")
        return self


class Exclusion(_Model):
    id: str
    label: str = Field(description="不参评原因(中文)")
    when: str
    source: str | None = None


class ClassRule(_Model):
    """A rule applied after banding: set the class, or bound it from above/below."""

    id: str
    label: str = Field(description="规则说明(中文),出现在评价理由中")
    when: str
    action: Literal["set", "not_below", "not_above"] = Field(
        description="set = 直接定为该类;not_below = 不低于该类(如 不列入D类 → not_below C);not_above = 不高于该类"
    )
    class_: ClassName = Field(alias="class")
    quota: Literal["counted", "exempt"] = Field(
        "counted",
        description="exempt = 不占比例:该企业不参与分档排名,不挤占其他企业的名额",
    )
    source: str | None = None


class Consequence(_Model):
    """A differentiated policy driven by the class (差别电价、水价、用地资格 …)."""

    id: str
    label: str
    kind: Literal["per_unit", "share", "eligibility"] = Field(
        description="per_unit = 单价 × 用量(如 元/千瓦时 × 年用电量);share = 比例 × 金额;eligibility = 资格效果"
    )
    input: str | None = Field(None, description="per_unit/share:用量或金额字段,如 enterprise.electricity_kwh")
    unit: str | None = Field(None, description="单价单位,如 元/千瓦时")
    rates: dict[str, Dec] = Field(default_factory=dict, description="按类别的单价或比例;未列出的类别为0")
    effect: Literal["barred", "priority", "eligible"] | None = Field(None, description="eligibility:效果")
    classes: list[str] = Field(default_factory=list, description="eligibility:适用的类别")
    source: str | None = None
    note: str | None = None


class Methodology(_Model):
    """A complete 亩均效益综合评价 method for one place and year."""

    schema_version: Literal["1.0"] = "1.0"
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-_]{0,59}$", description="方法标识,如 zhejiang-county")
    name: str = Field(description="中文名称")
    region: dict[str, str | None] = Field(default_factory=dict, description="适用地区 province/city/county")
    year: int | None = Field(None, ge=2000, le=2100, description="评价数据年度(默认)")
    description: str | None = None
    sources: list[Source] = Field(default_factory=list)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    inputs: dict[str, InputField]
    indicators: list[Indicator] = Field(min_length=1)
    scoring: Scoring = Field(default_factory=Scoring)
    tracks: list[Track] = Field(min_length=1)
    grading: Grading
    exclusions: list[Exclusion] = Field(default_factory=list)
    class_rules: list[ClassRule] = Field(default_factory=list)
    consequences: list[Consequence] = Field(default_factory=list)

    _file: str | None = PrivateAttr(None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    # -- derived ----------------------------------------------------------------------

    @property
    def file(self) -> str | None:
        return self._file

    def line_of(self, *path: str | int) -> int | None:
        """Line of the YAML node at ``path`` (or its closest ancestor)."""
        for end in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    @property
    def class_names(self) -> list[str]:
        return [b.class_ for b in self.grading.bands]

    def band(self, name: str) -> Band:
        return next(b for b in self.grading.bands if b.class_ == name)

    def track(self, track_id: str) -> Track:
        return next(t for t in self.tracks if t.id == track_id)

    def weight(self, indicator: Indicator, track_id: str) -> Decimal:
        return indicator.track_weights.get(track_id, indicator.weight)

    def applies(self, indicator: Indicator, track_id: str) -> bool:
        return indicator.tracks is None or track_id in indicator.tracks

    def cap_score(self, indicator: Indicator, track_id: str) -> Decimal:
        """Largest score of an indicator in a track (cap × weight), at 6 places."""
        cap = indicator.cap if indicator.cap is not None else self.scoring.cap
        return q6(cap * self.weight(indicator, track_id))

    def floor_score(self, indicator: Indicator) -> Decimal:
        return q6(indicator.floor if indicator.floor is not None else self.scoring.floor)

    def labels(self) -> dict[str, str]:
        out = {f"enterprise.{k}": v.label for k, v in self.inputs.items()}
        out.update(STANDARD_COLUMNS)
        return out

    @cached_property
    def compiled(self) -> CompiledMethodology:
        return _compile(self)

    def fingerprint(self) -> str:
        import hashlib

        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()[:16]


# -- compiled form ---------------------------------------------------------------------

SIX = Decimal("0.000001")


def q6(value: Decimal) -> Decimal:
    """Round half away from zero to 6 places — the precision of DECIMAL(38,6)."""
    from huiqi.rules.expr_ast import CTX

    return value.quantize(SIX, None, CTX)


@dataclass(frozen=True)
class CompiledIndicator:
    spec: Indicator
    formula: Expr
    divisors: tuple[str, ...]           # fields used as divisors: 0 → zero_divisor, < 0 → invalid
    nonnegative: tuple[str, ...]        # fields that must not be negative (allow_negative: false)


@dataclass(frozen=True)
class CompiledMethodology:
    spec: Methodology
    indicators: tuple[CompiledIndicator, ...]
    tracks: tuple[tuple[Track, Expr | None], ...]
    exclusions: tuple[tuple[Exclusion, Expr], ...]
    rules: tuple[tuple[ClassRule, Expr], ...]
    fields: tuple[str, ...]             # every field any expression or consequence reads

    def needs(self) -> dict[str, list[str]]:
        """Field → the indicators / rules that read it (for "missing column" errors)."""
        out: dict[str, list[str]] = {}
        for ci in self.indicators:
            for f in ci.formula.fields:
                out.setdefault(f, []).append(f"指标「{ci.spec.label}」")
        for track, expr in self.tracks:
            for f in expr.fields if expr else ():
                out.setdefault(f, []).append(f"分组「{track.label}」")
        for ex, expr in self.exclusions:
            for f in expr.fields:
                out.setdefault(f, []).append(f"排除条件「{ex.label}」")
        for rule, expr in self.rules:
            for f in expr.fields:
                out.setdefault(f, []).append(f"特别规则「{rule.label}」")
        for c in self.spec.consequences:
            if c.input:
                out.setdefault(c.input, []).append(f"差别化政策「{c.label}」")
        for track in self.spec.tracks:
            if track.split_by:
                out.setdefault(track.split_by, []).append(f"分组「{track.label}」")
        return out


def _compile(m: Methodology) -> CompiledMethodology:
    file = m.file
    allowed = set(STANDARD_COLUMNS) | {f"enterprise.{k}" for k in m.inputs}

    def comp(text: str, path: tuple[str | int, ...], what: str, want: str) -> Expr:
        line = m.line_of(*path)
        expr = compile_expr(text, source=file, line=line, field=".".join(map(str, path)))
        for name in expr.fields:
            if name not in allowed:
                raise RuleError(
                    f"{what}引用了未声明的字段 {name}",
                    file=file, line=line, field=".".join(map(str, path)),
                    hint=_suggest(name, allowed) or "请在 inputs 中声明 enterprise.<名称>,或使用 id/name/province/city/county/district/industry",
                )
        if want == "number" and expr.type not in ("number", "any", "null"):
            raise RuleError(f"{what}必须是数值表达式", file=file, line=line, field=".".join(map(str, path)))
        if want == "bool" and expr.type not in ("bool", "any", "null"):
            raise RuleError(f"{what}必须是条件(真假值)表达式", file=file, line=line, field=".".join(map(str, path)))
        return expr

    indicators: list[CompiledIndicator] = []
    for i, ind in enumerate(m.indicators):
        expr = comp(ind.formula, ("indicators", i, "formula"), f"指标「{ind.label}」的公式", "number")
        divisors: list[str] = []
        for node in walk(expr.ast):
            if isinstance(node, Arith) and node.op == "/":
                if isinstance(node.right, FieldNode):
                    divisors.append(node.right.name)
                elif not isinstance(node.right, Num):
                    raise RuleError(
                        f"指标「{ind.label}」的公式中,除数必须是单个字段或常数(这样才能对除数为零的企业给出明确处理)",
                        file=file, line=m.line_of("indicators", i, "formula"), field=f"indicators.{i}.formula",
                        hint="把复杂的分母拆成一个输入字段,或改写公式",
                    )
        nonneg = tuple(f for f in expr.fields if f.startswith("enterprise.")
                       and m.inputs[f.removeprefix("enterprise.")].numeric
                       and not m.inputs[f.removeprefix("enterprise.")].allow_negative)
        indicators.append(CompiledIndicator(ind, expr, tuple(dict.fromkeys(divisors)), nonneg))
    tracks: tuple[tuple[Track, Expr | None], ...] = tuple(
        (t, comp(t.when, ("tracks", i, "when"), f"分组「{t.label}」的条件", "bool") if t.when else None)
        for i, t in enumerate(m.tracks)
    )
    exclusions = tuple(
        (e, comp(e.when, ("exclusions", i, "when"), f"排除条件「{e.label}」", "bool"))
        for i, e in enumerate(m.exclusions)
    )
    rules = tuple(
        (r, comp(r.when, ("class_rules", i, "when"), f"特别规则「{r.label}」的条件", "bool"))
        for i, r in enumerate(m.class_rules)
    )
    fields: dict[str, None] = {}
    for ci in indicators:
        fields.update(dict.fromkeys(ci.formula.fields))
    conditions: list[Expr | None] = [e for _, e in tracks] + [e for _, e in exclusions] + [e for _, e in rules]
    for cond in conditions:
        if cond is not None:
            fields.update(dict.fromkeys(cond.fields))
    for c in m.consequences:
        if c.input:
            fields[c.input] = None
    for t in m.tracks:
        if t.split_by:
            fields[t.split_by] = None
    return CompiledMethodology(m, tuple(indicators), tracks, exclusions, rules, tuple(fields))


def _suggest(name: str, allowed: set[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
    return f"您是否要写 {close[0]}?" if close else None


# -- semantic checks -------------------------------------------------------------------

def _check(m: Methodology) -> None:
    file = m.file

    def fail(message: str, *path: str | int, hint: str | None = None) -> None:
        raise RuleError(message, file=file, line=m.line_of(*path),
                        field=".".join(map(str, path)) or None, hint=hint)

    for name in m.inputs:
        if not _FIELD_NAME.match(name):
            fail(f"字段名 {name!r} 不合规:只能用小写英文字母、数字和下划线,字母开头", "inputs", name)
        spec = m.inputs[name]
        if spec.type == "enum" and not spec.values:
            fail(f"枚举字段 {name} 需要 values", "inputs", name)
    sections: list[tuple[str, list[str]]] = [
        ("indicators", [x.id for x in m.indicators]), ("tracks", [x.id for x in m.tracks]),
        ("exclusions", [x.id for x in m.exclusions]), ("class_rules", [x.id for x in m.class_rules]),
        ("consequences", [x.id for x in m.consequences]),
    ]
    for section, ids in sections:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if not _ID.match(ident):
                fail(f"标识 {ident!r} 不合规:只能用小写英文字母、数字和下划线,字母开头,最长40字符",
                     section, i, "id")
            if ident in seen:
                fail(f"标识 {ident} 重复", section, i, "id")
            seen.add(ident)
    track_ids = {t.id for t in m.tracks}
    classes = set(m.class_names)
    for i, ind in enumerate(m.indicators):
        for key in (*ind.track_weights, *(ind.tracks or ()), *ind.benchmark.by_track):
            if key not in track_ids:
                fail(f"指标「{ind.label}」引用了不存在的分组 {key}", "indicators", i,
                     hint=f"已定义的分组:{'、'.join(sorted(track_ids))}")
        weights = [ind.weight, *ind.track_weights.values()]
        if any(w <= 0 for w in weights):
            fail(f"指标「{ind.label}」的权重必须大于0", "indicators", i, "weight")
        b = ind.benchmark
        if b.method == "fixed":
            applicable = [t for t in m.tracks if ind.tracks is None or t.id in ind.tracks]
            lacking = [t.id for t in applicable if t.id not in b.by_track and b.value is None]
            if lacking:
                fail(f"指标「{ind.label}」的固定基准值缺少分组 {'、'.join(lacking)}", "indicators", i, "benchmark")
            if any(v <= 0 for v in [*([b.value] if b.value is not None else []), *b.by_track.values()]):
                fail(f"指标「{ind.label}」的固定基准值必须大于0", "indicators", i, "benchmark")
        elif b.method == "parameter":
            if not b.parameter or b.parameter not in m.parameters:
                fail(f"指标「{ind.label}」的基准参数 {b.parameter!r} 未在 parameters 中定义",
                     "indicators", i, "benchmark", "parameter")
        elif b.value is not None or b.by_track or b.parameter:
            fail(f"指标「{ind.label}」:基准方法 {b.method} 不使用 value/by_track/parameter",
                 "indicators", i, "benchmark")
        if b.multiple <= 0:
            fail(f"指标「{ind.label}」的基准倍数必须大于0", "indicators", i, "benchmark", "multiple")
        cap = ind.cap if ind.cap is not None else m.scoring.cap
        if cap <= 0:
            fail(f"指标「{ind.label}」的得分上限倍数必须大于0", "indicators", i, "cap")
    for i, t in enumerate(m.tracks):
        if t.when is None and i != len(m.tracks) - 1:
            fail(f"分组「{t.label}」没有条件,只能放在最后(“其余全部”)", "tracks", i)
    for i, r in enumerate(m.class_rules):
        if r.class_ not in classes:
            fail(f"特别规则「{r.label}」的类别 {r.class_} 不在分档 {'、'.join(m.class_names)} 中",
                 "class_rules", i, "class")
    for i, c in enumerate(m.consequences):
        for cls in (*c.rates, *c.classes):
            if cls not in classes:
                fail(f"差别化政策「{c.label}」的类别 {cls} 不在分档中", "consequences", i)
        if c.kind in ("per_unit", "share"):
            if not c.input or not c.input.startswith("enterprise.") or c.input.removeprefix("enterprise.") not in m.inputs:
                fail(f"差别化政策「{c.label}」的 input 必须是已声明的 enterprise.<字段>", "consequences", i, "input")
            elif not m.inputs[c.input.removeprefix("enterprise.")].numeric:
                fail(f"差别化政策「{c.label}」的 input 必须是数值字段", "consequences", i, "input")
            if not c.rates:
                fail(f"差别化政策「{c.label}」缺少 rates", "consequences", i)
        elif not c.effect or not c.classes:
            fail(f"差别化政策「{c.label}」(eligibility)需要 effect 和 classes", "consequences", i)
    if m.grading.method == "threshold" and any(r.quota == "exempt" for r in m.class_rules):
        pass  # harmless: without quotas "不占比例" changes nothing; kept for documentation


# -- YAML with line numbers ----------------------------------------------------------------

def _lines_of(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out[(*path, key.value)] = key.start_mark.line + 1
                _lines_of(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines_of(item, (*path, i), out)


def _loc_path(loc: tuple[int | str, ...]) -> tuple[str | int, ...]:
    # pydantic uses field names ("class_") where YAML has aliases ("class").
    return tuple("class" if p == "class_" else p for p in loc)


def load_methodology(path: str | Path) -> Methodology:
    """Read and check a methodology file; a built-in name ("zhejiang-county") also works.

    Errors are :class:`RuleError` in Chinese naming the file and line.
    """
    p = resolve_methodology_path(path)
    text = _read_text(p)
    return methodology_from_text(text, file=str(p))


def resolve_methodology_path(path: str | Path) -> Path:
    p = Path(path)
    if p.is_file():
        return p
    builtin = BUILTIN_DIR / f"{p.name.removesuffix('.yaml')}.yaml"
    if p.suffix in ("", ".yaml") and len(p.parts) == 1 and builtin.is_file():
        return builtin
    available = "、".join(builtin_methodologies())
    raise RuleError(f"评价方法文件不存在:{path}", hint=f"内置方法:{available};或给出 YAML 文件路径")


def _read_text(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleError(f"评价方法文件不是 UTF-8 编码:{exc}", file=str(p)) from None
    except OSError as exc:
        raise RuleError(f"无法读取评价方法文件:{exc.strerror or exc}", file=str(p)) from None


def methodology_from_text(text: str, *, file: str | None = None) -> Methodology:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleError(f"YAML 格式错误:{getattr(exc, 'problem', None) or exc}", file=file,
                        line=mark.line + 1 if mark is not None else None) from None
    if not isinstance(data, dict):
        raise RuleError("评价方法文件的顶层必须是映射(键: 值)", file=file, line=1)
    lines: dict[tuple[str | int, ...], int] = {}
    if root is not None:
        _lines_of(root, (), lines)
    try:
        m = Methodology.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = _loc_path(tuple(err["loc"]))
        line = None
        for end in range(len(path), -1, -1):
            line = lines.get(path[:end])
            if line is not None:
                break
        more = f"(另有 {len(exc.errors()) - 1} 处错误)" if len(exc.errors()) > 1 else ""
        raise RuleError(f"{_pydantic_message(err)}{more}", file=file, line=line,
                        field=".".join(map(str, path)) or None) from None
    m._file = file
    m._lines = lines
    _check(m)
    _ = m.compiled  # compile every expression now, so errors surface at load time
    return m


_PYDANTIC_ZH = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的键(拼写错误?)",
    "literal_error": "取值不在允许范围内",
    "decimal_parsing": "不是有效的数值",
    "decimal_type": "不是有效的数值",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "bool_parsing": "应为 true/false",
    "dict_type": "应为映射(键: 值)",
    "list_type": "应为列表",
    "too_short": "条目太少",
    "string_pattern_mismatch": "格式不符",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
}


def _pydantic_message(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", ""))
    text = _PYDANTIC_ZH.get(kind)
    msg = str(err.get("msg", ""))
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{text}:{msg.split('Input should be ')[-1]}"
    if kind == "extra_forbidden":
        return f"{text}:{err['loc'][-1]}"
    return f"{text or '格式错误'}({msg})"


def builtin_methodologies() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def iter_builtin() -> Iterator[Methodology]:
    for name in builtin_methodologies():
        yield load_methodology(BUILTIN_DIR / f"{name}.yaml")


def methodology_json_schema() -> dict[str, Any]:
    """JSON Schema of the methodology file (for editors and `huiqi schema`)."""
    schema = Methodology.model_json_schema(by_alias=True)
    schema["title"] = "亩均效益综合评价方法(Huiqi methodology)"
    return schema
