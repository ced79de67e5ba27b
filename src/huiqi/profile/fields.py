"""The field registry: every enterprise/project field rules and profiles may use.

Each field is declared in ``src/huiqi/data/fields.yaml`` with a Chinese label, a type and,
for numbers, a range (money and quantities are ≥ 0 unless ``min`` says otherwise).
Values are read through the one vocabulary of :mod:`huiqi.values` (``600万元`` → 6000000
yuan, ``12%`` → Decimal("0.12"), ``是`` → True) so that rules only ever see exact values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast, get_args

from huiqi.errors import ProfileError, RuleError
from huiqi.profile.yamlload import line_of, load_yaml
from huiqi.values import Bounds, ValueProblem, default_bounds, parse_value

__all__ = [
    "FIELDS_SCHEMA_VERSION",
    "FIELD_TYPES",
    "REGION_KEYS",
    "REGION_LABELS",
    "TYPE_LABELS",
    "FieldRegistry",
    "FieldSpec",
    "FieldType",
    "Scope",
    "builtin_fields_path",
    "closest",
    "coerce_value",
    "default_registry",
    "shown_value",
]

FIELDS_SCHEMA_VERSION = "1.0"

FieldType = Literal["money", "number", "integer", "percent", "boolean", "enum", "text", "date", "list"]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
Scope = Literal["enterprise", "project", "region"]

TYPE_LABELS: dict[str, str] = {
    "money": "金额(元,可写 600万元 / 1.5亿元 / 6000000)",
    "number": "数值",
    "integer": "整数",
    "percent": "百分比(可写 12% 或 0.12)",
    "boolean": "是/否",
    "enum": "枚举值",
    "text": "文字",
    "date": "日期(YYYY-MM-DD)",
    "list": "文字列表",
}

REGION_KEYS = ("province", "city", "county", "district")
REGION_LABELS = {"province": "省", "city": "市", "county": "县(市、区)", "district": "区(开发区、园区)"}



def closest(name: str, candidates: Iterable[str], n: int = 1, cutoff: float = 0.5) -> list[str]:
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=cutoff)



# -- field registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One declared field: ``enterprise.muju_class`` = 亩均评价类别 (enum A/B/C/D)."""

    name: str
    scope: Scope
    label: str
    type: FieldType
    unit: str = ""
    values: tuple[str, ...] = ()
    description: str = ""
    # For list membership fields (enterprise.titles.国家级企业技术中心): the list field.
    member_of: str | None = None
    # Declared range (min/max in fields.yaml); None = the type's default range.
    bounds: Bounds | None = None

    @property
    def path(self) -> str:
        return f"{self.scope}.{self.name}"

    @property
    def expr_unit(self) -> Literal["money", "percent", "number"] | None:
        """Unit hint for ``huiqi.rules.expr.explain`` (prints money as 万元, rates as %)."""
        if self.type == "money":
            return "money"
        if self.type == "percent":
            return "percent"
        if self.type in ("number", "integer"):
            return "number"
        return None

    def describe(self) -> str:
        """``设备投资额(金额,元)`` for messages."""
        kind = TYPE_LABELS[self.type].split("(")[0]
        if self.type == "enum" and self.values:
            kind += ":" + "/".join(self.values)
        if self.unit and self.type != "money":
            kind += f",单位 {self.unit}"
        return f"{self.label}({kind})"

    def coerce(self, raw: Any, *, where: str, file: str | None = None, line: int | None = None) -> Any:
        """The value in the form rules see; raises ProfileError naming label and expected type."""
        try:
            return coerce_value(self, raw)
        except ValueProblem as bad:
            shown = shown_value(raw)
            raise ProfileError(
                f"{where}({self.label})的值 {shown} 无效:{bad.reason}",
                file=file, line=line, field=where,
                hint=bad.hint or f"应为{TYPE_LABELS[self.type]}",
            ) from None

    @property
    def range(self) -> Bounds:
        """The declared range, or the type's default (money and quantities ≥ 0)."""
        return self.bounds if self.bounds is not None else default_bounds(self.type)

    def parse(self, raw: Any) -> Any:
        """The value in the form rules see; raises :class:`~huiqi.values.ValueProblem`."""
        return parse_value(self.type, raw, unit=self.unit if self.type != "money" else "", bounds=self.range,
                           values=self.values) if self.type != "list" else _parse_list(self, raw)


def _parse_list(spec: FieldSpec, raw: Any) -> list[str]:
    if isinstance(raw, str):
        items = [p.strip() for p in re.split(r"[、,,;;]", raw) if p.strip()]
    elif isinstance(raw, (list, tuple)):
        if any(isinstance(x, (list, dict)) for x in raw):
            raise ValueProblem("列表中的每一项应为文字")
        items = [str(x).strip() for x in raw]
    else:
        raise ValueProblem("应为文字列表,如 [国家级企业技术中心, 省级专精特新]")
    if spec.values:
        for item in items:
            if item not in spec.values:
                near = closest(item, spec.values)
                raise ValueProblem(f"“{item}”不在可选值之中,可选:" + "、".join(spec.values),
                                   hint=f"您是否要写 {near[0]}?" if near else None)
    return items


def coerce_value(spec: FieldSpec, raw: Any) -> Any:
    """``spec.parse(raw)`` with enum suggestions (None stays None)."""
    if raw is None:
        return None
    try:
        return spec.parse(raw)
    except ValueProblem as problem:
        if spec.type == "enum" and problem.hint is None and isinstance(raw, str):
            near = closest(raw.strip(), spec.values)
            if near:
                raise ValueProblem(problem.reason, hint=f"您是否要写 {near[0]}?") from None
        raise


def shown_value(raw: Any) -> str:
    """A value as quoted in a message: short, whatever its size."""
    text = f"“{raw}”" if isinstance(raw, str) else str(raw) if isinstance(raw, (int, Decimal, bool)) else "(非单个值)"
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) >= 10**30:
        text = "(位数过多的整数)"
    return text if len(text) <= 40 else text[:37] + "…"


_SPEC_KEYS = ("label", "type", "unit", "values", "description", "min", "max")
_NAME = re.compile(r"^[A-Za-z\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*$")

class FieldRegistry:
    """All fields rules and profiles may use, from ``data/fields.yaml``."""

    def __init__(self, specs: Iterable[FieldSpec], schema_version: str = FIELDS_SCHEMA_VERSION,
                 source: str | None = None) -> None:
        self.schema_version = schema_version
        self.source = source
        self.enterprise: dict[str, FieldSpec] = {}
        self.project: dict[str, FieldSpec] = {}
        for spec in specs:
            self._scope(spec.scope)[spec.name] = spec
        self.region: dict[str, FieldSpec] = {
            key: FieldSpec(key, "region", REGION_LABELS[key], "text") for key in REGION_KEYS
        }

    def _scope(self, scope: str) -> dict[str, FieldSpec]:
        if scope == "enterprise":
            return self.enterprise
        if scope == "project":
            return self.project
        if scope == "region":
            return self.region
        raise KeyError(scope)

    # loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> FieldRegistry:
        """The registry in ``path`` (default: the built-in data/fields.yaml)."""
        if path is None:
            return default_registry()
        p = Path(path)
        return cls.from_data(load_yaml(p), source=str(p))

    @classmethod
    def from_data(cls, data: Any, source: str | None = None) -> FieldRegistry:
        if not isinstance(data, dict):
            raise RuleError("字段登记表应为映射(schema_version / enterprise / project)", file=source)
        unknown = [k for k in data if k not in ("schema_version", "enterprise", "project")]
        if unknown:
            raise RuleError(f"字段登记表中有未知的顶层键 {unknown[0]}", file=source,
                            line=line_of(data, [unknown[0]]), hint="只允许 schema_version、enterprise、project")
        specs: list[FieldSpec] = []
        for scope in ("enterprise", "project"):
            block = data.get(scope) or {}
            if not isinstance(block, dict):
                raise RuleError(f"{scope} 应为“字段名: {{label, type, …}}”的映射", file=source,
                                line=line_of(data, [scope]))
            for name, raw in block.items():
                specs.append(_spec_from_data(scope, name, raw, data, source))
        return cls(specs, str(data.get("schema_version", FIELDS_SCHEMA_VERSION)), source)

    # lookup -------------------------------------------------------------------------------

    def all(self) -> list[FieldSpec]:
        return [*self.enterprise.values(), *self.project.values()]

    def get(self, path: str) -> FieldSpec | None:
        """``enterprise.x`` / ``project.x`` / ``region.city`` / ``enterprise.titles.<item>``."""
        scope, _, rest = path.partition(".")
        if scope not in ("enterprise", "project", "region") or not rest:
            return None
        table = self._scope(scope)
        if rest in table:
            return table[rest]
        name, _, item = rest.partition(".")
        base = table.get(name)
        if base is not None and base.type == "list" and item and (not base.values or item in base.values):
            return FieldSpec(f"{name}.{item}", base.scope, f"{base.label}含“{item}”", "boolean",
                             description=f"{base.label}中是否有 {item}", member_of=base.path)
        return None

    def label(self, path: str) -> str:
        spec = self.get(path)
        return spec.label if spec is not None else path

    def labels(self) -> dict[str, str]:
        return {s.path: s.label for s in (*self.all(), *self.region.values())}

    def units(self) -> dict[str, Literal["money", "percent", "number"]]:
        return {s.path: u for s in self.all() if (u := s.expr_unit) is not None}

    def suggest(self, path: str) -> str | None:
        """“您是否要写 equipment_investment(设备投资额)?” for an unknown field path."""
        scope, _, rest = path.partition(".")
        if scope in ("enterprise", "project", "region"):
            table = self._scope(scope)
            names = closest(rest, table, cutoff=0.5)
            if not names:
                # Maybe a Chinese label was written instead of the name.
                by_label = {s.label: s.name for s in table.values()}
                hits = closest(rest, by_label, cutoff=0.5)
                names = [by_label[h] for h in hits]
            if names:
                spec = table[names[0]]
                return f"您是否要写 {scope}.{spec.name}({spec.label})?"
            other = "project" if scope == "enterprise" else "enterprise"
            if scope != "region" and rest in self._scope(other):
                return f"{rest} 是 {other} 字段,应写 {other}.{rest}"
            return None
        candidates = [s.path for s in self.all()]
        hits = closest(path, candidates, cutoff=0.5)
        return f"您是否要写 {hits[0]}?" if hits else None


def _spec_from_data(scope: str, name: Any, raw: Any, data: Any, source: str | None) -> FieldSpec:
    line = line_of(data, [scope, name])
    where = f"{scope}.{name}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise RuleError(f"字段名 {name} 不合法:只能由字母、汉字、数字、下划线组成,且不能以下划线开头",
                        file=source, line=line, field=where)
    if not isinstance(raw, dict):
        raise RuleError("字段定义应为 {label: …, type: …} 映射", file=source, line=line, field=where)
    for key in raw:
        if key not in _SPEC_KEYS:
            near = closest(str(key), _SPEC_KEYS)
            raise RuleError(f"字段定义中有未知的键 {key}", file=source, line=line_of(data, [scope, name, key]),
                            field=where, hint=f"您是否要写 {near[0]}?" if near else "可用:" + "、".join(_SPEC_KEYS))
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        near = closest(str(kind), FIELD_TYPES)
        raise RuleError(f"字段类型 {kind} 无效,可选:" + "、".join(FIELD_TYPES), file=source, line=line,
                        field=where, hint=f"您是否要写 {near[0]}?" if near else None)
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise RuleError("字段缺少中文名称 label", file=source, line=line, field=where)
    values = raw.get("values") or []
    if not isinstance(values, list):
        raise RuleError("values 应为列表", file=source, line=line, field=where)
    if kind == "enum" and not values:
        raise RuleError("枚举字段必须列出 values", file=source, line=line, field=where)
    return FieldSpec(
        name=name, scope=cast(Scope, scope), label=label.strip(), type=cast(FieldType, kind),
        unit=str(raw.get("unit") or ("元" if kind == "money" else "")),
        values=tuple(str(v) for v in values), description=str(raw.get("description") or ""),
        bounds=_bounds(kind, raw, source, line, where),
    )


def _bounds(kind: str, raw: dict[str, Any], source: str | None, line: int | None, where: str) -> Bounds | None:
    """``min``/``max`` of a numeric field; ``min: null`` removes the default lower bound of 0."""
    if "min" not in raw and "max" not in raw:
        return None
    if kind not in ("money", "number", "integer", "percent"):
        raise RuleError("只有数值字段(money、number、integer、percent)可以声明 min/max", file=source, line=line,
                        field=where)
    default = default_bounds(kind)
    ends: list[Decimal | None] = []
    for key, fallback in (("min", default.low), ("max", default.high)):
        if key not in raw:
            ends.append(fallback)
            continue
        value = raw[key]
        if value is None:
            ends.append(None)
            continue
        try:
            ends.append(Decimal(parse_value(kind, value, bounds=Bounds(None, None))))
        except ValueProblem as bad:
            raise RuleError(f"{key} 的值无效:{bad.reason}", file=source, line=line, field=where) from None
    low, high = ends
    if low is not None and high is not None and low > high:
        raise RuleError("min 大于 max", file=source, line=line, field=where)
    return Bounds(low, high)


def builtin_fields_path() -> Path:
    return Path(str(resources.files("huiqi").joinpath("data", "fields.yaml")))


@lru_cache(maxsize=1)
def default_registry() -> FieldRegistry:
    path = builtin_fields_path()
    if not path.is_file():
        raise RuleError("缺少字段登记表 data/fields.yaml", file=str(path))
    return FieldRegistry.from_data(load_yaml(path), source=str(path))


