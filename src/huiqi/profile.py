"""Enterprise profiles (企业画像) and the field registry they are checked against.

A profile is what an enterprise tells the calculator about itself: region, enterprise
facts (营业收入, 亩均评价类别 …), awards already received (for stacking) and projects.
Every enterprise/project field must be declared in ``src/huiqi/data/fields.yaml`` with
a Chinese label and a type; values are coerced here once (``600万元`` → 6000000 yuan,
``12%`` → Decimal("0.12"), ``是`` → True) so that rules only ever see exact values.

Also home of the line-tracking YAML loader shared with the rule-pack loader: rule and
profile files are untrusted text, so they are read with ``yaml.SafeLoader`` only, and
every mapping remembers the line it started on so errors can point into the file.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model

from huiqi.errors import HuiqiError, ProfileError, RuleError

PROFILE_SCHEMA_VERSION = "1.0"
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


# -- YAML with line numbers ----------------------------------------------------------------


class LineDict(dict[Any, Any]):
    """A mapping read from YAML that remembers where it and each of its keys started."""

    line: int | None = None
    key_lines: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}


class LineList(list[Any]):
    """A sequence read from YAML that remembers the line of each item."""

    line: int | None = None
    item_lines: list[int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines = []


class LineLoader(yaml.SafeLoader):
    """SafeLoader (no Python objects, ever) + line numbers + exact numbers + strict booleans.

    * YAML 1.1 reads ``on:``/``yes``/``no`` as booleans; ``on`` is a key of tiers and
      lookups, and 是/否 answers are common, so only true/false count as booleans.
    * Floats are read as ``Decimal`` from their text: money and rates never pass
      through binary floating point.
    """


# Drop the YAML 1.1 bool resolver (yes/no/on/off) and add a strict one.
LineLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "映射的键不能是列表或映射", key_node.start_mark
            ) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 {key}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)  # type: ignore[no-untyped-call]
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)  # type: ignore[no-untyped-call]
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_float(loader: LineLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(None, None, f"无法识别的数字 {text}", node.start_mark) from None
    if not value.is_finite():
        raise yaml.constructor.ConstructorError(None, None, f"数字必须是有限数:{text}", node.start_mark)
    return value


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)  # type: ignore[arg-type]
LineLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)  # type: ignore[arg-type]


def load_yaml(path: Path, *, error: type[HuiqiError] = RuleError, text: str | None = None) -> Any:
    """Parse one YAML (or JSON) file safely; syntax errors name the file and line."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise error("文件不存在", file=str(path)) from None
        except UnicodeDecodeError:
            raise error("文件不是 UTF-8 编码", file=str(path)) from None
        except OSError as exc:
            raise error(f"无法读取文件:{exc.strerror}", file=str(path)) from None
    try:
        return yaml.load(text, Loader=LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = _yaml_problem_zh(exc.problem or exc.context or "")
        raise error(f"YAML 格式错误:{problem}", file=str(path), line=line,
                    hint="检查缩进(只能用空格)、冒号后的空格与引号是否成对") from None
    except yaml.YAMLError as exc:
        raise error(f"YAML 格式错误:{exc}", file=str(path)) from None


_YAML_PROBLEMS = {
    "found character '\\t' that cannot start any token": "出现了制表符(Tab),请改用空格缩进",
    "mapping values are not allowed here": "此处不能出现“键: 值”(可能缺少空格、引号或缩进不对)",
    "could not find expected ':'": "缺少冒号“:”",
    "found undefined alias": "引用了未定义的锚点",
    "expected <block end>, but found '-'": "列表项“-”的缩进不对",
}


def _yaml_problem_zh(problem: str) -> str:
    for english, chinese in _YAML_PROBLEMS.items():
        if problem.startswith(english):
            return chinese
    return problem or "无法解析"


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    """The line of the deepest node along ``loc`` (keys / list indices) in LineDict data."""
    line: int | None = getattr(data, "line", None)
    cur = data
    for part in loc:
        if isinstance(cur, LineDict) and part in cur:
            line = cur.key_lines.get(part, line)
            cur = cur[part]
        elif isinstance(cur, LineList) and isinstance(part, int) and 0 <= part < len(cur):
            line = cur.item_lines[part]
            cur = cur[part]
        else:
            break
    return line


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
            return _coerce(self, raw)
        except _Bad as bad:
            shown = raw if not isinstance(raw, str) else f"“{raw}”"
            raise ProfileError(
                f"{where}({self.label})的值 {shown} 无效:{bad.reason}",
                file=file, line=line, field=where,
                hint=bad.hint or f"应为{TYPE_LABELS[self.type]}",
            ) from None


class _Bad(Exception):
    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


_MONEY_UNITS = ("万亿元", "千万元", "百万元", "十万元", "千元", "百元", "亿元", "万元", "元", "亿", "万", "千万", "百万")
_TRUE = {"是", "true", "yes", "y", "有", "对", "1", "真"}
_FALSE = {"否", "false", "no", "n", "无", "没有", "不是", "0", "假"}


def _as_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise _Bad("应为数值,而不是真假值")
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    raise _Bad("应为数值")


def _parse_decimal_text(text: str) -> Decimal:
    from huiqi.ingest.numbers import parse_number

    text = text.strip()
    negative = text.startswith(("-", "－"))
    if negative:
        text = text[1:]
    try:
        value = parse_number(text)
    except HuiqiError:
        raise _Bad("无法识别的数字") from None
    return -value if negative else value


def parse_money_value(raw: Any) -> int:
    """Integer yuan from 600万元 / 1.5亿元 / 6,000,000 / 6000000 (never via float)."""
    from huiqi.ingest.numbers import money_multiplier

    if isinstance(raw, str):
        text = raw.strip().replace(" ", "").replace("人民币", "")
        unit = next((u for u in _MONEY_UNITS if text.endswith(u)), "")
        number = text[: len(text) - len(unit)] if unit else text
        if not number:
            raise _Bad("缺少数字")
        value = _parse_decimal_text(number) * (money_multiplier(unit) if unit else 1)
    else:
        value = _as_decimal(raw)
    if value != value.to_integral_value():
        raise _Bad("金额须精确到元(整数元)")
    return int(value)


def parse_percent_value(raw: Any) -> Decimal:
    """12% → 0.12; a bare number is taken as the fraction itself (0.12)."""
    if isinstance(raw, str):
        text = raw.strip().replace("％", "%")
        if text.endswith("%"):
            return _parse_decimal_text(text[:-1]) / 100
        if text.startswith("百分之"):
            return _parse_decimal_text(text[3:]) / 100
        return _parse_decimal_text(text)
    return _as_decimal(raw)


def _coerce(spec: FieldSpec, raw: Any) -> Any:
    if raw is None:
        return None
    kind = spec.type
    if kind == "money":
        return parse_money_value(raw)
    if kind == "percent":
        return parse_percent_value(raw)
    if kind in ("number", "integer"):
        if isinstance(raw, str):
            text = raw.strip()
            if spec.unit and text.endswith(spec.unit):
                text = text[: -len(spec.unit)]
            value = _parse_decimal_text(text)
        else:
            value = _as_decimal(raw)
        if kind == "integer":
            if value != value.to_integral_value():
                raise _Bad("应为整数")
            return int(value)
        return value
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _Bad("应为 是/否(或 true/false)")
    if kind == "enum":
        if isinstance(raw, bool) or isinstance(raw, (list, dict)):
            raise _Bad("应为以下之一:" + "、".join(spec.values))
        text = str(raw).strip()
        if text in spec.values:
            return text
        near = closest(text, spec.values)
        raise _Bad("不在可选值之中,可选:" + "、".join(spec.values),
                   hint=f"您是否要写 {near[0]}?" if near else None)
    if kind == "text":
        if isinstance(raw, (list, dict, bool)):
            raise _Bad("应为文字")
        return str(raw).strip()
    if kind == "date":
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            raise _Bad("日期格式应为 YYYY-MM-DD") from None
    if kind == "list":
        if isinstance(raw, str):
            items = [p.strip() for p in re.split(r"[、,,;;]", raw) if p.strip()]
        elif isinstance(raw, (list, tuple)):
            items = [str(x).strip() for x in raw]
        else:
            raise _Bad("应为文字列表,如 [国家级企业技术中心, 省级专精特新]")
        if spec.values:
            for item in items:
                if item not in spec.values:
                    near = closest(item, spec.values)
                    raise _Bad(f"“{item}”不在可选值之中,可选:" + "、".join(spec.values),
                               hint=f"您是否要写 {near[0]}?" if near else None)
        return items
    raise AssertionError(kind)  # pragma: no cover


_SPEC_KEYS = ("label", "type", "unit", "values", "description")
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
    )


def builtin_fields_path() -> Path:
    return Path(str(resources.files("huiqi").joinpath("data", "fields.yaml")))


@lru_cache(maxsize=1)
def default_registry() -> FieldRegistry:
    path = builtin_fields_path()
    if not path.is_file():
        raise RuleError("缺少字段登记表 data/fields.yaml", file=str(path))
    return FieldRegistry.from_data(load_yaml(path), source=str(path))


# -- profiles ------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegionInfo(_Model):
    province: str | None = None
    city: str | None = None
    county: str | None = None
    district: str | None = Field(default=None, description="区、开发区、园区(用于区域限定的规则)")


class HistoryEntry(_Model):
    """An award already received: 同一企业同一级别只享受一次 needs it."""

    rule: str = Field(description="规则 id,或叠加组名")
    year: int
    level: str | None = None
    amount: int | None = Field(None, description="金额(元)")


class Project(_Model):
    id: str
    name: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, description="项目字段,已按登记表换算")


class Profile(_Model):
    schema_version: str = PROFILE_SCHEMA_VERSION
    name: str = ""
    region: RegionInfo = Field(default_factory=lambda: RegionInfo())
    enterprise: dict[str, Any] = Field(default_factory=dict, description="企业字段,已按登记表换算")
    history: list[HistoryEntry] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)
    source: str | None = Field(None, description="画像文件路径")

    def project(self, project_id: str) -> Project:
        for p in self.projects:
            if p.id == project_id:
                return p
        near = closest(project_id, [p.id for p in self.projects])
        raise ProfileError(f"画像中没有编号为 {project_id} 的项目", file=self.source,
                           hint=f"您是否要写 {near[0]}?" if near else None)


_PROFILE_KEYS = ("schema_version", "name", "region", "enterprise", "history", "projects")
_HISTORY_KEYS = ("rule", "year", "level", "amount")


def load_profile(path: str | Path, fields: FieldRegistry | None = None) -> Profile:
    """Read a YAML or JSON profile, check every field against the registry, coerce values."""
    p = Path(path)
    try:
        data = load_yaml(p, error=ProfileError)
    except ProfileError:
        if p.suffix.lower() != ".json" or not p.is_file():
            raise
        # JSON is read through the YAML loader for line numbers; the few JSON texts YAML
        # refuses (tab indentation) fall back to the JSON parser, numbers still exact.
        try:
            data = json.loads(p.read_text(encoding="utf-8-sig"), parse_float=Decimal)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise ProfileError(f"JSON 格式错误:{getattr(exc, 'msg', exc)}", file=str(p), line=line) from None
    return profile_from_data(data, fields=fields, source=str(p))


def profile_from_data(data: Any, *, fields: FieldRegistry | None = None, source: str | None = None,
                      base_loc: Sequence[Any] = (), root: Any = None) -> Profile:
    """Build a Profile from parsed data (a profile file, or a test case's inline profile)."""
    reg = fields or default_registry()
    root = data if root is None else root

    def err(msg: str, loc: Sequence[Any], where: str | None = None, hint: str | None = None) -> ProfileError:
        return ProfileError(msg, file=source, line=line_of(root, [*base_loc, *loc]), field=where, hint=hint)

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise err("画像应为映射(name / region / enterprise / projects …)", [])
    for key in data:
        if key not in _PROFILE_KEYS:
            near = closest(str(key), _PROFILE_KEYS)
            if isinstance(key, str) and (reg.get(f"enterprise.{key}") is not None):
                hint = f"企业字段应写在 enterprise 下:enterprise: {{{key}: …}}"
            else:
                hint = f"您是否要写 {near[0]}?" if near else "可用:" + "、".join(_PROFILE_KEYS)
            raise err(f"画像中有未知的键 {key}", [key], str(key), hint)
    region = _region(data.get("region"), err)
    enterprise = _fields(reg, "enterprise", data.get("enterprise"), ["enterprise"], err)
    history = _history(data.get("history"), err)
    projects: list[Project] = []
    raw_projects = data.get("projects") or []
    if not isinstance(raw_projects, list):
        raise err("projects 应为列表", ["projects"], "projects")
    seen: set[str] = set()
    for i, raw in enumerate(raw_projects):
        loc = ["projects", i]
        if not isinstance(raw, dict):
            raise err("每个项目应为映射 {id: …, name: …, 字段: …}", loc, f"projects[{i}]")
        values = {k: v for k, v in raw.items() if k not in ("id", "name", "fields")}
        if isinstance(raw.get("fields"), dict):  # the dumped form of Project
            values.update(raw["fields"])
        pid = str(raw.get("id") if raw.get("id") is not None else f"p{i + 1}")
        if pid in seen:
            raise err(f"项目编号 {pid} 重复", loc, f"projects[{i}].id")
        seen.add(pid)
        name = raw.get("name")
        projects.append(Project(id=pid, name=None if name is None else str(name),
                                fields=_fields(reg, "project", values, loc, err)))
    version = str(data.get("schema_version", PROFILE_SCHEMA_VERSION))
    if version.split(".")[0] != PROFILE_SCHEMA_VERSION.split(".")[0]:
        raise err(f"画像的 schema_version {version} 与程序支持的 {PROFILE_SCHEMA_VERSION} 不兼容",
                  ["schema_version"], "schema_version")
    return Profile(schema_version=version, name=str(data.get("name") or ""), region=region,
                   enterprise=enterprise, history=history, projects=projects, source=source)


_ErrFn = Any  # Callable[[str, Sequence[Any], str | None, str | None], ProfileError]


def _region(raw: Any, err: _ErrFn) -> RegionInfo:
    if raw is None:
        return RegionInfo()
    if not isinstance(raw, dict):
        raise err("region 应为映射 {province, city, county, district}", ["region"], "region")
    for key in raw:
        if key not in REGION_KEYS:
            near = closest(str(key), REGION_KEYS)
            raise err(f"region 中有未知的键 {key}", ["region", key], f"region.{key}",
                      f"您是否要写 {near[0]}?" if near else "可用:" + "、".join(REGION_KEYS))
    values = {k: (None if v is None else str(v).strip() or None) for k, v in raw.items()}
    _check_region_names(values, err)
    return RegionInfo(**values)


@lru_cache(maxsize=1)
def _region_table() -> dict[str, list[str]]:
    raw = json.loads(resources.files("huiqi").joinpath("data", "regions.json").read_text("utf-8"))
    return {p["name"]: [c["name"] for c in p.get("cities", [])] for p in raw.get("provinces", [])}


def _check_region_names(values: dict[str, str | None], err: _ErrFn) -> None:
    """Misspelt 台洲市 would silently make every local rule out of jurisdiction; catch it here."""
    table = _region_table()
    province, city = values.get("province"), values.get("city")
    if province and province not in table:
        near = closest(province, table)
        raise err(f"未知的省份 {province}", ["region", "province"], "region.province",
                  f"您是否要写 {near[0]}?" if near else "请写全称,如 浙江省")
    if province and city and table.get(province) and city not in table[province]:
        near = closest(city, table[province])
        raise err(f"{province}没有 {city}", ["region", "city"], "region.city",
                  f"您是否要写 {near[0]}?" if near else "请写地级市全称,如 台州市")


def _history(raw: Any, err: _ErrFn) -> list[HistoryEntry]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise err("history 应为列表", ["history"], "history")
    out: list[HistoryEntry] = []
    for i, item in enumerate(raw):
        loc = ["history", i]
        where = f"history[{i}]"
        if not isinstance(item, dict):
            raise err("每条历史记录应为 {rule, year, level, amount}", loc, where)
        for key in item:
            if key not in _HISTORY_KEYS:
                near = closest(str(key), _HISTORY_KEYS)
                raise err(f"历史记录中有未知的键 {key}", [*loc, key], f"{where}.{key}",
                          f"您是否要写 {near[0]}?" if near else None)
        if not item.get("rule"):
            raise err("历史记录缺少 rule(规则 id 或叠加组名)", loc, f"{where}.rule")
        try:
            year = int(_coerce(FieldSpec("year", "enterprise", "年份", "integer"), item.get("year")))
            amount = None if item.get("amount") is None else parse_money_value(item["amount"])
        except (_Bad, TypeError) as bad:
            reason = bad.reason if isinstance(bad, _Bad) else "缺少年份"
            raise err(f"历史记录无效:{reason}", loc, where) from None
        level = item.get("level")
        out.append(HistoryEntry(rule=str(item["rule"]), year=year,
                                level=None if level is None else str(level), amount=amount))
    return out


def _fields(reg: FieldRegistry, scope: Literal["enterprise", "project"], raw: Any, loc: list[Any],
            err: _ErrFn) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise err(f"{scope} 应为“字段名: 值”的映射", loc, scope)
    table = reg.enterprise if scope == "enterprise" else reg.project
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{scope}.{key}"
        key_loc = [*loc, key]
        spec = table.get(str(key))
        if spec is None:
            raise err(f"未知的字段 {path}", key_loc, path, reg.suggest(path) or "用 huiqi schema profile 查看全部字段")
        try:
            out[spec.name] = _coerce(spec, value)
        except _Bad as bad:
            shown = f"“{value}”" if isinstance(value, str) else str(value)
            raise err(f"{path}({spec.label})的值 {shown} 无效:{bad.reason}", key_loc, path,
                      bad.hint or f"应为{TYPE_LABELS[spec.type]}") from None
    return out


# -- expression environment ----------------------------------------------------------------


def _env_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()  # ISO text compares in date order
    return value


def profile_env(
    profile: Profile,
    project: Project | str | None = None,
    on: date | None = None,
    params: Any = None,
    fields: FieldRegistry | None = None,
) -> dict[str, Any]:
    """The flat environment rules are evaluated in.

    Keys: ``enterprise.<f>``, ``project.<f>`` (only with a project), ``region.<k>``,
    ``param.<name>``, ``date``. Absent values are left out so that the expression
    language reports them as missing. A list field ``enterprise.titles`` is exposed as
    membership flags ``enterprise.titles.<item>`` (true/false for each declared value).
    ``params`` is a ParameterSet (values taken on ``on``) or a ready mapping name → value.
    """
    reg = fields
    env: dict[str, Any] = {}

    def put(scope: str, values: Mapping[str, Any]) -> None:
        nonlocal reg
        for name, value in values.items():
            if value is None:
                continue
            if isinstance(value, list):
                if reg is None:
                    reg = default_registry()
                spec = reg.get(f"{scope}.{name}")
                items = {str(v) for v in value}
                for item in (*(spec.values if spec else ()), *sorted(items)):
                    env[f"{scope}.{name}.{item}"] = item in items
                continue
            env[f"{scope}.{name}"] = _env_value(value)

    put("enterprise", profile.enterprise)
    if project is not None:
        proj = profile.project(project) if isinstance(project, str) else project
        put("project", proj.fields)
        env["project.id"] = proj.id
    for key in REGION_KEYS:
        value = getattr(profile.region, key)
        if value:
            env[f"region.{key}"] = value
    when = on or date.today()
    env["date"] = when.isoformat()
    if params is not None:
        values = params.values(when) if hasattr(params, "values") and callable(params.values) \
            and not isinstance(params, Mapping) else params
        for name, value in values.items():
            if value is not None:
                env[f"param.{name}"] = value
    return env


# -- JSON schema ---------------------------------------------------------------------------


def _json_type(spec: FieldSpec) -> Any:
    if spec.type == "money":
        return int | str
    if spec.type in ("number", "percent"):
        return Decimal | str
    if spec.type == "integer":
        return int | str
    if spec.type == "boolean":
        return bool | Literal["是", "否"]
    if spec.type == "enum":
        return Literal.__getitem__(spec.values)
    if spec.type == "date":
        return date
    if spec.type == "list":
        return list[Literal.__getitem__(spec.values)] if spec.values else list[str]  # type: ignore[misc]
    return str


def _field_model(name: str, specs: Iterable[FieldSpec], extra: dict[str, Any] | None = None) -> type[BaseModel]:
    defs: dict[str, Any] = dict(extra or {})
    for spec in specs:
        description = spec.description or spec.label
        defs[spec.name] = (
            _json_type(spec) | None,
            Field(None, title=spec.label, description=f"{description}。类型:{TYPE_LABELS[spec.type]}",
                  json_schema_extra={"x-type": spec.type, "x-unit": spec.unit, "x-label": spec.label}),
        )
    return create_model(name, __config__=ConfigDict(extra="forbid"), **defs)


def profile_model(fields: FieldRegistry | None = None) -> type[BaseModel]:
    """A pydantic model of the profile FILE, its enterprise/project properties from the registry."""
    reg = fields or default_registry()
    enterprise = _field_model("EnterpriseFields", reg.enterprise.values())
    project = _field_model("ProjectFields", reg.project.values(), {
        "id": (str, Field(description="项目编号(同一画像内唯一)")),
        "name": (str | None, Field(None, description="项目名称")),
    })
    history = create_model(
        "HistoryItem", __config__=ConfigDict(extra="forbid"),
        rule=(str, Field(description="规则 id 或叠加组名")), year=(int, Field(description="获奖年份")),
        level=(str | None, Field(None, description="级别,如 国家级、省级")),
        amount=(int | str | None, Field(None, description="金额(元,可写 30万元)")),
    )
    model = create_model(
        "ProfileFile", __config__=ConfigDict(extra="forbid", title="惠企企业画像"),
        __doc__="企业画像:地区、企业字段、已获奖励、项目。字段见 data/fields.yaml。",
        schema_version=(str, Field(PROFILE_SCHEMA_VERSION)),
        name=(str, Field("", description="企业名称")),
        region=(RegionInfo, Field(default_factory=lambda: RegionInfo())),
        enterprise=(enterprise, Field(default_factory=enterprise)),
        history=(list[history], Field(default_factory=list, description="已获得的奖励(用于叠加规则)")),  # type: ignore[valid-type]
        projects=(list[project], Field(default_factory=list)),  # type: ignore[valid-type]
    )
    return model


def profile_json_schema(fields: FieldRegistry | None = None) -> dict[str, Any]:
    schema = profile_model(fields).model_json_schema()
    schema["x-schema-version"] = PROFILE_SCHEMA_VERSION
    return schema


# -- cohorts -------------------------------------------------------------------------------


def load_cohort(path: str | Path, fields: FieldRegistry | None = None) -> list[Profile]:
    """Applicants for rank/quota rules: one row per applicant, one project per row (id = row number).

    Columns: name, province, city, county, district, enterprise.<field>, project.<field>
    (project.name allowed). Empty cells are missing values.
    """
    p = Path(path)
    reg = fields or default_registry()
    rows = _read_table(p)
    if not rows:
        raise ProfileError("申报企业名单为空", file=str(p))
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    allowed_plain = ("name", *REGION_KEYS)
    for col, name in enumerate(header, start=1):
        if not name:
            continue
        if name in allowed_plain or name == "project.name":
            continue
        spec = reg.get(name)
        if spec is None or spec.scope == "region" or spec.member_of is not None:
            hint = reg.suggest(name) if "." in name else None
            if hint is None:
                near = closest(name, allowed_plain)
                hint = f"您是否要写 {near[0]}?" if near else "列名应为 name、province、city、county、district、enterprise.<字段>、project.<字段>"
            raise ProfileError(f"第1行第{col}列:未知的列名 {name}", file=str(p), line=1,
                               field=name, hint=hint)
    profiles: list[Profile] = []
    for r, row in enumerate(rows[1:], start=2):
        cells = {h: v for h, v in zip(header, row, strict=False) if h}
        if all(v is None or str(v).strip() == "" for v in cells.values()):
            continue
        region: dict[str, str | None] = {}
        enterprise: dict[str, Any] = {}
        project: dict[str, Any] = {}
        name = ""
        for col, h in enumerate(header, start=1):
            if not h or col > len(row):
                continue
            value = row[col - 1]
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                if h == "name":
                    name = str(value).strip()
                elif h in REGION_KEYS:
                    region[h] = str(value).strip()
                elif h == "project.name":
                    project["name"] = str(value).strip()
                else:
                    spec = reg.get(h)
                    assert spec is not None
                    target = enterprise if spec.scope == "enterprise" else project
                    target[spec.name] = _coerce(spec, value)
            except _Bad as bad:
                label = reg.label(h) if "." in h else h
                raise ProfileError(f"第{r}行第{col}列({h} {label})的值 {value!r} 无效:{bad.reason}",
                                   file=str(p), line=r, field=h,
                                   hint=bad.hint or (f"应为{TYPE_LABELS[spec.type]}" if spec else None)) from None
        _check_region_names(region, lambda msg, loc, where=None, hint=None, r=r: ProfileError(
            f"第{r}行:{msg}", file=str(p), line=r, field=where, hint=hint))
        projects = []
        if project:
            pname = project.pop("name", None)
            projects.append(Project(id=str(r - 1), name=pname, fields=project))
        profiles.append(Profile(name=name or f"第{r - 1}家", region=RegionInfo(**region), enterprise=enterprise,
                                projects=projects, source=f"{p}:{r}"))
    return profiles


def _read_table(path: Path) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ProfileError("文件不存在", file=str(path))
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise ProfileError(f"无法读取 Excel 文件:{exc}", file=str(path)) from None
        try:
            ws = wb.worksheets[0]
            return [[_excel_cell(c) for c in row] for row in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    if suffix in (".csv", ".txt"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = path.read_text(encoding="gb18030")
            except UnicodeDecodeError:
                raise ProfileError("CSV 文件既不是 UTF-8 也不是 GB18030 编码", file=str(path)) from None
        return [list(r) for r in csv.reader(text.splitlines())]
    raise ProfileError(f"不支持的名单格式 {suffix or '(无扩展名)'}", file=str(path), hint="请用 .csv 或 .xlsx")


def _excel_cell(value: Any) -> Any:
    # Excel stores numbers as binary floats; 6000000.0 must become an exact integer again.
    if isinstance(value, float):
        d = Decimal(repr(value))
        return int(d) if d == d.to_integral_value() else d
    return value
