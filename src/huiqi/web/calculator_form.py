"""The calculator form: which fields a city's rules read (from the field registry), in the order
of the money they can unlock (the calculator's own ask-next), and the form → profile mapping.

Nothing here decides eligibility: the profile built from the form goes through
``huiqi.profile.profile_from_data`` and ``huiqi.rules.run.run_calc`` like a profile file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from huiqi.web import services

MAX_PROJECTS = 5


@dataclass(frozen=True)
class City:
    key: str
    label: str
    region: dict[str, str]
    packs: tuple[str, ...]
    titles: tuple[str, ...]


@dataclass
class FormField:
    path: str  # enterprise.x / project.y
    name: str
    scope: str
    label: str
    type: str
    unit: str = ""
    values: tuple[str, ...] = ()
    description: str = ""
    money_at_stake: int = 0

    @property
    def placeholder(self) -> str:
        return {"money": "如 600万元", "percent": "如 35%", "date": "YYYY-MM-DD"}.get(
            self.type, f"单位:{self.unit}" if self.unit else "")


@dataclass
class CityForm:
    city: City
    enterprise: list[FormField] = field(default_factory=list)
    project: list[FormField] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def cities() -> dict[str, City]:
    """Each place with rule packs: 临海市, 滨州市, 十堰市 … (key = the place's short name)."""
    rb = services.rulebase()
    grouped: dict[tuple[str | None, str | None, str | None], list[Any]] = {}
    for pack in rb.packs:
        j = pack.pack.jurisdiction
        grouped.setdefault((j.province, j.city, j.county), []).append(pack)
    out: dict[str, City] = {}
    for (province, city, county), packs in grouped.items():
        place = county or city or province or "全国"
        region = {k: v for k, v in (("province", province), ("city", city), ("county", county)) if v}
        key = place.removesuffix("市").removesuffix("县").removesuffix("区")
        out[key] = City(key, place, region, tuple(p.id for p in packs), tuple(p.document.title for p in packs))
    return dict(sorted(out.items(), key=lambda kv: kv[1].label))


@functools.lru_cache(maxsize=16)
def city_form(key: str) -> CityForm:
    """The fields the city's rules read, most money at stake first (ask-next on an empty profile)."""
    from huiqi.profile import profile_from_data
    from huiqi.rules.run import run_calc

    rb = services.rulebase()
    city = cities()[key]
    wanted: dict[str, None] = {}
    for cr in rb.rules:
        if cr.pack.id not in city.packs:
            continue
        for path in cr.fields:
            spec = rb.fields.get(path)
            if spec is None:
                continue
            list_path = spec.member_of or spec.path
            if list_path.startswith(("enterprise.", "project.")):
                wanted.setdefault(list_path, None)
    blank = profile_from_data({"region": city.region, "projects": [{"id": "p1"}]}, fields=rb.fields,
                              source="form")
    stake: dict[str, int] = {}
    on = default_date(key)
    for q in run_calc(rb, blank, on, policies=list(city.packs), evaluations="/nonexistent").ask_next:
        path = q.field if q.field.startswith(("enterprise.", "project.")) else f"{q.subject}.{q.field}"
        spec = rb.fields.get(path)
        key_path = spec.member_of or spec.path if spec is not None else path
        stake[key_path] = max(stake.get(key_path, 0), q.money_at_stake)
    form = CityForm(city)
    for path in wanted:
        spec = rb.fields.get(path)
        if spec is None:
            continue
        ff = FormField(path, spec.name, spec.scope, spec.label, spec.type, spec.unit, tuple(spec.values),
                       spec.description, stake.get(path, 0))
        (form.enterprise if spec.scope == "enterprise" else form.project).append(ff)
    order = list(wanted)
    for fields in (form.enterprise, form.project):
        fields.sort(key=lambda f: (-f.money_at_stake, order.index(f.path)))
    return form


def default_date(key: str) -> date:
    """Today, unless none of the city's documents is in force today: then the last day one was."""
    rb = services.rulebase()
    today = date.today()
    windows = [(p.pack.validity.from_, p.pack.validity.to) for p in rb.packs if p.id in cities()[key].packs]
    if any((lo is None or lo <= today) and (hi is None or today <= hi) for lo, hi in windows):
        return today
    ends = [hi for lo, hi in windows if hi is not None and hi < today]
    if ends:
        return max(ends)
    starts = [lo for lo, hi in windows if lo is not None and lo > today]
    return min(starts) if starts else today


def profile_data(form: CityForm, values: Any) -> dict[str, Any]:
    """Form values (a multi-dict) → profile data as a profile file would hold it; blanks are left out."""

    def value(name: str, ff: FormField) -> Any:
        if ff.type == "list":
            items = [v for v in values.getlist(name) if v]
            return items or None
        raw = (values.get(name) or "").strip()
        return raw or None

    enterprise = {f.name: v for f in form.enterprise if (v := value(f"enterprise.{f.name}", f)) is not None}
    region = dict(form.city.region)
    district = (values.get("region.district") or "").strip()
    if district:
        region["district"] = district
    projects = []
    for i in range(1, project_count(values) + 1):
        fields = {f.name: v for f in form.project if (v := value(f"p{i}.{f.name}", f)) is not None}
        name = (values.get(f"p{i}._name") or "").strip()
        if fields or name:
            projects.append({"id": f"p{i}", **({"name": name} if name else {}), **fields})
    data: dict[str, Any] = {"name": (values.get("name") or "").strip() or "未命名企业", "region": region,
                            "enterprise": enterprise}
    if projects:
        data["projects"] = projects
    return data


def project_count(values: Any) -> int:
    try:
        n = int(values.get("projects") or 1)
    except ValueError:
        n = 1
    if values.get("action") == "add_project":
        n += 1
    return max(1, min(MAX_PROJECTS, n))


def form_values(profile: dict[str, Any]) -> dict[str, Any]:
    """A saved profile (profile data) → form field values, the inverse of :func:`profile_data`."""
    out: dict[str, Any] = {"name": profile.get("name", "")}
    region = profile.get("region") or {}
    if region.get("district"):
        out["region.district"] = region["district"]
    for k, v in (profile.get("enterprise") or {}).items():
        out[f"enterprise.{k}"] = v
    for i, p in enumerate(profile.get("projects") or [], start=1):
        out[f"p{i}._name"] = p.get("name", "")
        for k, v in p.items():
            if k not in ("id", "name"):
                out[f"p{i}.{k}"] = v
    out["projects"] = str(max(1, len(profile.get("projects") or [])))
    return out


def city_of_region(region: dict[str, Any]) -> str | None:
    for key, city in cities().items():
        if all(region.get(k) == v for k, v in city.region.items()):
            return key
    return None
