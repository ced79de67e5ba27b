"""Enterprise profiles (企业画像): the model, the loader and the environment rules see.

A profile is what an enterprise tells the calculator about itself: region, enterprise
facts (营业收入, 亩均评价类别 …), awards already received (for stacking) and projects.
Every enterprise/project field must be declared in the field registry; values are read
through :mod:`huiqi.values`. Profiles are user files: read with the bounded YAML/JSON
loader, refused when empty, with at most ``limits.profile_projects()`` projects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from huiqi import limits
from huiqi.errors import ProfileError
from huiqi.profile.fields import (
    REGION_KEYS,
    TYPE_LABELS,
    FieldRegistry,
    FieldSpec,
    closest,
    coerce_value,
    default_registry,
    shown_value,
)
from huiqi.profile.yamlload import line_of, load_json, load_yaml, read_text_limited
from huiqi.values import ValueProblem, parse_money

__all__ = [
    "PROFILE_SCHEMA_VERSION",
    "HistoryEntry",
    "Profile",
    "Project",
    "RegionInfo",
    "check_region_names",
    "load_profile",
    "profile_env",
    "profile_from_data",
]

PROFILE_SCHEMA_VERSION = "1.0"


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
    text = read_text_limited(p, error=ProfileError)
    try:
        data = load_yaml(p, error=ProfileError, text=text)
    except ProfileError:
        if p.suffix.lower() != ".json":
            raise
        # JSON is read through the YAML loader for line numbers; the few JSON texts YAML
        # refuses (tab indentation) fall back to the strict JSON parser (numbers exact,
        # duplicate keys refused as in YAML).
        data = load_json(p, error=ProfileError, text=text)
    if data is None or (isinstance(data, dict) and not data):
        raise ProfileError("画像为空:至少应写出 name、region、enterprise 或 projects 之一", file=str(p),
                           hint="示例见 examples/ 目录,格式见 docs/profile.md")
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
    most = limits.profile_projects()
    if len(raw_projects) > most:
        raise err(f"项目过多({len(raw_projects):,} 个,上限 {most:,} 个)", ["projects"], "projects",
                  f"可用环境变量 {limits.PROFILE_PROJECTS_ENV} 调整上限;大量企业或项目请用 huiqi simulate")
    seen: set[str] = set()
    for i, raw in enumerate(raw_projects):
        loc = ["projects", i]
        if not isinstance(raw, dict):
            raise err("每个项目应为映射 {id: …, name: …, 字段: …}", loc, f"projects[{i}]")
        values = {k: v for k, v in raw.items() if k not in ("id", "name", "fields")}
        if isinstance(raw.get("fields"), dict):  # the dumped form of Project
            values.update(raw["fields"])
        pid = _project_id(raw.get("id"), i, lambda msg, i=i, loc=loc: err(msg, [*loc, "id"], f"projects[{i}].id"))
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


def _project_id(raw: Any, index: int, err: Any) -> str:
    """A project id is a non-empty text (or a whole number); absent → p1, p2 …"""
    if raw is None:
        return f"p{index + 1}"
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise err("项目编号 id 应为文字,如 p1 或 一期")
    text = str(raw).strip()
    if not text:
        raise err("项目编号 id 不能为空")
    if len(text) > 200:
        raise err("项目编号 id 过长(最多 200 个字符)")
    return text


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
    check_region_names(values, err)
    return RegionInfo(**values)


@lru_cache(maxsize=1)
def _region_table() -> dict[str, list[str]]:
    raw = json.loads(resources.files("huiqi").joinpath("data", "regions.json").read_text("utf-8"))
    return {p["name"]: [c["name"] for c in p.get("cities", [])] for p in raw.get("provinces", [])}


def check_region_names(values: dict[str, str | None], err: _ErrFn) -> None:
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
            year_value = coerce_value(FieldSpec("year", "enterprise", "年份", "integer"), item.get("year"))
            if year_value is None:
                raise ValueProblem("缺少年份")
            year = int(year_value)
            if not 1900 <= year <= 2200:
                raise ValueProblem(f"年份 {year} 不合理")
            amount = None if item.get("amount") is None else parse_money(item["amount"])
        except ValueProblem as bad:
            raise err(f"历史记录无效:{bad.reason}", loc, where) from None
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
            out[spec.name] = coerce_value(spec, value)
        except ValueProblem as bad:
            shown = shown_value(value)
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


