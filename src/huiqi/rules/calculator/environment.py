"""Profile → expression environments, and parameters in force on the calculation date."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from huiqi.errors import HuiqiError
from huiqi.profile import Profile, profile_env
from huiqi.rules.calculator.formatting import format_quantity
from huiqi.rules.calculator.plan import FieldInfo, Plan, parse_param_value

__all__ = ["ENTERPRISE", "ProfileLike", "ProfileView", "Subject", "build_envs", "lookup_field", "normalize_value", "param_env", "profile_field",
           "view_profile"]

# The subject id of rules whose beneficiary is the enterprise (not one of its projects).
ENTERPRISE = "enterprise"

# A loaded Profile, or a plain mapping with the same keys (ad-hoc use, tests).
ProfileLike = Profile | Mapping[str, Any]


def profile_field(profile: ProfileLike, name: str) -> Any:
    """``profile.name`` of a Profile, or ``profile["name"]`` of a plain mapping (ad-hoc use, cohort rows)."""
    if isinstance(profile, Mapping):
        return profile.get(name)
    return getattr(profile, name, None)


def _as_mapping(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dict(dump())
    return dict(vars(obj))


def normalize_value(value: Any, info: FieldInfo | None) -> Any:
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
        out[k] = normalize_value(v, info)
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


def view_profile(profile: ProfileLike) -> ProfileView:
    region = _as_mapping(profile_field(profile, "region"))
    enterprise = _as_mapping(profile_field(profile, "enterprise"))
    projects = []
    for i, p in enumerate(profile_field(profile, "projects") or ()):
        pm = _as_mapping(p)
        extra = pm.pop("fields", None) or pm.pop("values", None)
        if isinstance(extra, Mapping):
            pm.update(extra)
        pm.setdefault("id", f"p{i + 1}")
        projects.append(pm)
    history = [_as_mapping(h) for h in (profile_field(profile, "history") or ())]
    return ProfileView(str(profile_field(profile, "name") or "未命名企业"), region, enterprise, projects, history)


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
        if value is None:
            try:
                value = params.value(name, on)
            except (KeyError, LookupError, HuiqiError):
                value = None
        if isinstance(value, str):
            value = parse_param_value(value)
        values[name] = value
        if value is not None:
            info = plan.fields.get(f"param.{name}")
            shown[name] = format_quantity(value, info.unit if info else None) if isinstance(value, Decimal) else str(value)
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


def build_envs(plan: Plan, profile: ProfileLike, view: ProfileView, on: date,
               param_values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Subject]]:
    """Flat environments (``enterprise.x``, ``project.x``, ``region.k``, ``param.p``, ``date``).

    ``huiqi.profile.profile_env`` is the single definition of how a profile is seen by
    rules (list fields become ``enterprise.titles.<item>`` flags, dates ISO text); plain
    mappings (ad-hoc use) get the same flat shape here.
    """
    registry = plan.registry
    if isinstance(profile, Profile):
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


def lookup_field(env: Mapping[str, object], name: str) -> object:
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
