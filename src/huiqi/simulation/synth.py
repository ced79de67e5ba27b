"""合成企业人口: a realistic, deterministic synthetic population for one seed city.

The distributions live in ``synth.yaml`` next to this module (documented there, one
entry per field: log-normal money with mu/sigma, Bernoulli flags, categorical enums,
shares of another field, null rates). The population has the format of
docs/simulation-contract.md: one row per (enterprise, project), region columns, and
``enterprise.<field>`` / ``project.<field>`` columns named exactly as in the rules.

Scale: enterprises are generated in fixed chunks of :data:`CHUNK` (each chunk its own
random streams, keyed by seed, chunk number and field name), converted to Arrow and
streamed to the writer, so 10,000,000 enterprises never sit in memory at once and the
same seed always gives the same file whatever the machine. Values are drawn in
float64 and rounded once to integer yuan (money) or to a fixed number of decimals
(stored exactly as decimal(20,6)); nothing stored is a binary float.
"""

from __future__ import annotations

import functools
import re
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from huiqi.errors import HuiqiError, InputError
from huiqi.fsutil import atomic_path
from huiqi.profile import FieldRegistry, FieldSpec, closest, default_registry, load_yaml
from huiqi.registry.credit_code import make_credit_code

__all__ = [
    "CHUNK",
    "DECIMAL_TYPE",
    "SynthConfig",
    "SynthSummary",
    "generate_batches",
    "load_synth_config",
    "population_schema",
    "resolve_city",
    "synthesize",
]

CHUNK = 100_000  # enterprises per chunk; part of the seed → changing it changes the data
DECIMAL_TYPE = pa.decimal128(20, 6)  # percent and number columns: exact decimals
_SCALE = 1_000_000  # internal fixed point for decimal columns (6 places)
_MAX_MONEY = 10**13  # 10万亿元: clip absurd log-normal tails before int64 conversion
XLSX_MAX_ROWS = 1_000_000
BASE_COLUMNS = ("id", "credit_code", "name", "province", "city", "county", "district", "industry", "year",
                "project_id")

Progress = Callable[[int, int], None]  # (enterprises done, total)


# -- configuration ----------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dist(_Model):
    """One field's distribution (see the header of synth.yaml)."""

    kind: Literal["lognormal", "share", "uniform", "normal", "bernoulli", "categorical", "constant", "threshold"]
    mu: float | None = None
    sigma: float | None = None
    p_zero: float = Field(0.0, ge=0, le=1)
    round_to: int = Field(1, ge=1)
    decimals: int = Field(4, ge=0, le=6)
    of: str | None = None
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    min: float | None = None
    max: float | None = None
    p: float | None = Field(None, ge=0, le=1)
    weights: dict[str | int, float] | None = None
    value: Any = None
    null_rate: float | None = Field(None, ge=0, le=1)
    when: str | None = None
    otherwise: Any = None
    at: float | None = None  # threshold: ``of`` ≥ at → above, else below
    above: Any = None
    below: Any = None


class CityConfig(_Model):
    names: list[str] = Field(default_factory=list)
    packs: list[str]
    id_prefix: str
    division: str = Field("000000", pattern=r"^\d{6}$", description="行政区划代码(统一社会信用代码第3–8位)")
    province: str
    city: str
    county: str | None = None
    county_is_district: bool = False
    project_share: float | None = Field(None, ge=0, le=1)
    districts: dict[str, float]
    fields: dict[str, Dist] = Field(default_factory=dict)


class NameConfig(_Model):
    brand_chars: str
    industries: list[str]


class Defaults(_Model):
    null_rate: dict[str, float] = Field(default_factory=lambda: {"enterprise": 0.02, "project": 0.03})
    project_share: float = 0.4
    projects_per_enterprise: dict[int, float] = Field(default_factory=lambda: {1: 1.0})


class SynthConfig(_Model):
    schema_version: str = "1.0"
    defaults: Defaults = Field(default_factory=Defaults)
    always: list[str] = Field(default_factory=list)
    from_evaluation: list[str] = Field(default_factory=list)  # never synthesized: huiqi evaluate decides them
    grows: list[str] = Field(default_factory=list)  # scaled by each enterprise's growth from year to year
    growth: Dist | None = None  # yearly growth factor of the ``grows`` fields (per enterprise and year)
    default_year: int = 2023
    fields: dict[str, Dist]
    cities: dict[str, CityConfig]
    names: NameConfig


def builtin_config_path() -> Path:
    return Path(str(resources.files("huiqi").joinpath("simulation", "synth.yaml")))


def load_synth_config(path: str | Path | None = None) -> SynthConfig:
    p = Path(path) if path is not None else builtin_config_path()
    if not p.is_file():
        raise InputError("合成数据配置文件不存在", file=str(p))
    data = load_yaml(p, error=InputError)
    try:
        return SynthConfig.model_validate(_plain(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise InputError(f"合成数据配置无效:{where}:{first['msg']}", file=str(p), field=where) from None


def _plain(data: Any) -> Any:
    """LineDict/Decimal from the located YAML loader → plain dict/float for the config model."""
    from decimal import Decimal

    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, Decimal):
        return float(data)  # distribution parameters only, never money
    return data


def resolve_city(config: SynthConfig, city: str) -> tuple[str, CityConfig]:
    """``临海`` / ``临海市`` / ``linhai`` / ``linhai-2022-22`` → the city's config."""
    key = city.strip()
    for cid, cfg in config.cities.items():
        if key == cid or key in cfg.names or key in cfg.packs or key == cfg.city or key == cfg.county:
            return cid, cfg
    options = [n for cid, cfg in config.cities.items() for n in (cid, *cfg.names)]
    near = closest(key, options)
    listing = "、".join(f"{cfg.names[0] if cfg.names else cid}({cid})" for cid, cfg in config.cities.items())
    raise HuiqiError(f"没有城市「{city}」的合成数据配置", field="--city",
                     hint=(f"您是否要写 {near[0]}?" if near else "") + f"可选:{listing},或 all(全部)")


def resolve_cities(config: SynthConfig, spec: str) -> list[tuple[str, CityConfig]]:
    """``十堰`` → one city; ``linhai,binzhou`` or ``all``/``全部`` → several (a mixed population)."""
    if spec.strip().lower() in ("all", "全部", "*"):
        return list(config.cities.items())
    parts = [p for p in re.split(r"[,,、+]", spec) if p.strip()]
    if not parts:
        raise HuiqiError("请给出城市", field="--city")
    out: list[tuple[str, CityConfig]] = []
    for part in parts:
        hit = resolve_city(config, part)
        if hit[0] not in [c for c, _ in out]:
            out.append(hit)
    return out


# -- plan: which columns, in which order --------------------------------------------------------


@dataclass(frozen=True)
class FieldPlan:
    path: str
    spec: FieldSpec
    dist: Dist
    null_rate: float

    @property
    def scope(self) -> str:
        return self.spec.scope

    @property
    def storage(self) -> str:
        t = self.spec.type
        if t in ("money", "integer"):
            return "int"
        if t in ("number", "percent"):
            return "dec"
        if t == "boolean":
            return "bool"
        return "cat"


def _arrow_type(storage: str) -> pa.DataType:
    return {"int": pa.int64(), "dec": DECIMAL_TYPE, "bool": pa.bool_(), "cat": pa.string()}[storage]


def plan_fields(config: SynthConfig, city: CityConfig, registry: FieldRegistry | None = None,
                rule_fields: list[str] | None = None) -> list[FieldPlan]:
    """Columns to generate: ``always`` + every field the city's rules read + their dependencies."""
    reg = registry or default_registry()
    if rule_fields is None:
        rule_fields = city_rule_fields(city)
    wanted = [f for f in dict.fromkeys([*config.always, *rule_fields]) if f not in config.from_evaluation]
    dists = {**config.fields, **city.fields}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(path: str, chain: tuple[str, ...]) -> None:
        if path in ordered:
            return
        if path in visiting:
            raise InputError("合成数据配置中字段相互依赖(of/when 成环):" + " → ".join((*chain, path)))
        if path not in dists:
            near = closest(path, dists)
            raise InputError(f"合成数据配置缺少字段 {path} 的分布", field=path,
                             hint=f"您是否要写 {near[0]}?" if near else "请在 synth.yaml 的 fields 中补充")
        visiting.add(path)
        d = dists[path]
        for dep in (d.of, d.when):
            if dep:
                visit(dep, (*chain, path))
        visiting.discard(path)
        ordered.append(path)

    for path in wanted:
        visit(path, ())
    plans: list[FieldPlan] = []
    for path in ordered:
        spec = reg.get(path)
        if spec is None:
            raise InputError(f"合成数据配置中的字段 {path} 没有在字段登记表中登记", field=path,
                             hint=reg.suggest(path))
        if spec.type in ("list", "date"):
            raise InputError(f"字段 {path}({spec.label})的类型 {spec.type} 暂不支持合成", field=path)
        d = dists[path]
        _check_dist(path, spec, d)
        rate = d.null_rate if d.null_rate is not None else config.defaults.null_rate.get(spec.scope, 0.0)
        plans.append(FieldPlan(path, spec, d, rate))
    # Enterprise columns first (they repeat on every project row), then project columns.
    return [p for p in plans if p.scope == "enterprise"] + [p for p in plans if p.scope == "project"]


def _check_dist(path: str, spec: FieldSpec, d: Dist) -> None:
    need: dict[str, tuple[str, ...]] = {
        "lognormal": ("mu", "sigma"), "share": ("of", "low", "high"), "uniform": ("low", "high"),
        "normal": ("mean", "sd"), "bernoulli": ("p",), "categorical": ("weights",), "constant": ("value",),
        "threshold": ("of", "at", "above", "below"),
    }
    missing = [k for k in need[d.kind] if getattr(d, k) is None]
    if missing:
        raise InputError(f"字段 {path} 的分布 {d.kind} 缺少参数 " + "、".join(missing), field=path)
    if d.kind == "bernoulli" and spec.type != "boolean":
        raise InputError(f"字段 {path}({spec.label})是{spec.type}类型,不能用 bernoulli", field=path)
    if spec.type == "boolean" and d.kind not in ("bernoulli", "constant"):
        raise InputError(f"字段 {path}({spec.label})是真假值,应使用 bernoulli", field=path)
    if spec.type in ("enum", "text") and d.kind not in ("categorical", "constant", "threshold"):
        raise InputError(f"字段 {path}({spec.label})是文字/枚举,应使用 categorical", field=path)
    if d.kind == "categorical" and d.weights is not None:
        if spec.type == "enum":
            bad = [str(k) for k in d.weights if str(k) not in spec.values]
            if bad:
                raise InputError(f"字段 {path}({spec.label})不可能取值 " + "、".join(bad) + ",可选:"
                                 + "、".join(spec.values), field=path)
        if sum(d.weights.values()) <= 0:
            raise InputError(f"字段 {path} 的 weights 之和必须大于0", field=path)


@functools.lru_cache(maxsize=1)
def _builtin_rule_fields() -> tuple[tuple[str, tuple[str, ...]], ...]:
    from huiqi.rules.packs import load_packs

    return tuple((r.pack.id, r.fields) for r in load_packs().rules)


def city_rule_fields(city: CityConfig) -> list[str]:
    """Fields read by the rules of the city's packs (enterprise.* / project.*)."""
    out: dict[str, None] = {}
    for pack_id, fields in _builtin_rule_fields():
        if pack_id not in city.packs:
            continue
        for name in fields:
            if name.startswith(("enterprise.", "project.")):
                out.setdefault(name, None)
    return list(out)


def population_schema(plans: list[FieldPlan]) -> pa.Schema:
    cols = [pa.field(c, pa.int32() if c == "year" else pa.string()) for c in BASE_COLUMNS]
    cols += [pa.field(p.path, _arrow_type(p.storage)) for p in plans]
    return pa.schema(cols)


# -- generation ---------------------------------------------------------------------------------


@dataclass
class _Col:
    """A generated column: int64 (money/integer, or decimal scaled by 10^6), bool, or category index."""

    values: np.ndarray
    null: np.ndarray
    storage: str
    labels: list[Any] = field(default_factory=list)


def _rng(seed: int, chunk: int, name: str) -> np.random.Generator:
    # One stream per (seed, chunk, column): adding a column never changes the others.
    return np.random.default_rng(np.random.SeedSequence([seed, chunk, zlib.crc32(name.encode("utf-8"))]))


def _truthy(col: _Col) -> np.ndarray:
    if col.values.dtype == np.bool_:
        return col.values & ~col.null
    if col.labels:
        return ~col.null
    return (col.values != 0) & ~col.null


def _round_money(x: np.ndarray, step: int) -> np.ndarray:
    x = np.clip(x, 0, _MAX_MONEY)
    return (np.rint(x / step) * step).astype(np.int64)


def _to_storage(x: np.ndarray, plan: FieldPlan) -> np.ndarray:
    if plan.storage == "int":
        step = plan.dist.round_to if plan.spec.type == "money" else max(1, plan.dist.round_to)
        return _round_money(x, step)
    # decimal: round to the configured places, keep as integer multiples of 10^-6
    places = plan.dist.decimals
    return (np.rint(x * 10**places).astype(np.int64) * 10 ** (6 - places)).astype(np.int64)


def _draw(plan: FieldPlan, rng: np.random.Generator, n: int, cols: Mapping[str, _Col]) -> _Col:
    d = plan.dist
    null = np.zeros(n, dtype=np.bool_)
    labels: list[Any] = []
    if d.kind == "bernoulli":
        assert d.p is not None
        values: np.ndarray = rng.random(n) < d.p
    elif d.kind == "categorical":
        assert d.weights is not None
        keys = list(d.weights)
        w = np.array([d.weights[k] for k in keys], dtype=np.float64)
        idx = rng.choice(len(keys), size=n, p=w / w.sum())
        if plan.storage == "cat":
            labels = [str(k) for k in keys]
            values = idx.astype(np.int32)
        else:
            mapped = np.array([float(k) for k in keys], dtype=np.float64)[idx]
            values = _to_storage(mapped, plan)
    elif d.kind == "threshold":
        assert d.of is not None and d.at is not None
        labels = [str(d.above), str(d.below)]
        values = _threshold_index(cols[d.of], d.at)
        null |= cols[d.of].null
    elif d.kind == "constant":
        if plan.storage == "bool":
            values = np.full(n, bool(d.value))
        elif plan.storage == "cat":
            labels = [str(d.value)]
            values = np.zeros(n, dtype=np.int32)
        else:
            values = _to_storage(np.full(n, float(d.value)), plan)
    else:
        if d.kind == "lognormal":
            assert d.mu is not None and d.sigma is not None
            x = np.exp(rng.normal(d.mu, d.sigma, n))
        elif d.kind == "uniform":
            assert d.low is not None and d.high is not None
            x = rng.uniform(d.low, d.high, n)
        elif d.kind == "normal":
            assert d.mean is not None and d.sd is not None
            x = rng.normal(d.mean, d.sd, n)
        else:  # share of another column
            assert d.of is not None and d.low is not None and d.high is not None
            base = cols[d.of]
            base_values = base.values.astype(np.float64)
            if base.storage == "dec":
                base_values = base_values / _SCALE
            x = base_values * rng.uniform(d.low, d.high, n)
            null |= base.null
        if d.min is not None or d.max is not None:
            x = np.clip(x, d.min if d.min is not None else -np.inf, d.max if d.max is not None else np.inf)
        if d.p_zero:
            x = np.where(rng.random(n) < d.p_zero, 0.0, x)
        values = _to_storage(x, plan)
    if plan.null_rate:
        null = null | (rng.random(n) < plan.null_rate)
    if d.when:
        cond = cols[d.when]
        applies = _truthy(cond)
        # Not applicable → the ``otherwise`` value (0 / false); an enum without one is left empty.
        na_is_null = plan.storage == "cat" and d.otherwise is None
        if plan.storage == "cat" and d.otherwise is not None:
            if str(d.otherwise) not in labels:
                labels.append(str(d.otherwise))
            values = np.where(applies, values, labels.index(str(d.otherwise))).astype(np.int32)
        elif plan.storage == "bool":
            values = np.where(applies, values, bool(d.otherwise))
        elif plan.storage != "cat":
            other = _to_storage(np.array([float(d.otherwise or 0)]), plan)[0]
            values = np.where(applies, values, other)
        # Unknown whether the enterprise has the business at all → unknown amount too.
        null = (null & applies) | cond.null | (~applies & na_is_null)
    return _Col(values, null, plan.storage, labels)


def _threshold_index(base: _Col, at: float) -> np.ndarray:
    """0 (above) where the base column reaches ``at``, else 1 (below)."""
    values = base.values.astype(np.float64) / (_SCALE if base.storage == "dec" else 1)
    return np.where(values >= at, 0, 1).astype(np.int32)


def _to_arrow(col: _Col) -> pa.Array:
    storage = col.storage
    mask = col.null if col.null.any() else None
    if storage == "int":
        return pa.array(col.values, type=pa.int64(), mask=mask)
    if storage == "bool":
        return pa.array(col.values.astype(np.bool_), type=pa.bool_(), mask=mask)
    if storage == "cat":
        idx = pa.array(col.values.astype(np.int32), mask=mask)
        return pa.array(col.labels, type=pa.string()).take(idx)
    # decimal128: 16-byte little-endian two's complement of the unscaled integer
    v = col.values.astype(np.int64)
    words = np.empty((v.size, 2), dtype=np.int64)
    words[:, 0] = v
    words[:, 1] = np.where(v < 0, -1, 0)
    validity = None if mask is None else pa.array(~col.null).buffers()[1]
    return pa.Array.from_buffers(DECIMAL_TYPE, v.size, [validity, pa.py_buffer(words.tobytes())],
                                 null_count=-1)


def generate_batches(config: SynthConfig, city_id: str, n: int, seed: int,
                     plans: list[FieldPlan] | None = None, schema: pa.Schema | None = None,
                     years: list[int] | None = None) -> Iterator[pa.RecordBatch]:
    """The registry as Arrow record batches: per chunk of :data:`CHUNK` enterprises, one batch per year.

    The latest year is drawn from the distributions; an earlier year divides the
    ``grows`` fields by the enterprise's growth since then (so tax, value added and
    revenue stay in proportion) and re-derives the fields that follow them (规上/规下).
    """
    city = config.cities[city_id]
    years = sorted(years or [config.default_year])
    plans = plans if plans is not None else plan_fields(config, city)
    schema = schema if schema is not None else population_schema(plans)
    districts = list(city.districts)
    dw = np.array([city.districts[k] for k in districts], dtype=np.float64)
    ppe = config.defaults.projects_per_enterprise
    counts = np.array(list(ppe), dtype=np.int64)
    cw = np.array([ppe[k] for k in ppe], dtype=np.float64)
    share = city.project_share if city.project_share is not None else config.defaults.project_share
    short = city.names[0] if city.names else city.city
    chars = config.names.brand_chars
    brands = pa.array([a + b for a in chars for b in chars if a != b], type=pa.string())
    industries = pa.array(config.names.industries, type=pa.string())
    for chunk, start in enumerate(range(0, n, CHUNK)):
        m = min(CHUNK, n - start)
        rs = _rng(seed, chunk, f"{city_id}:__structure__")
        district_idx = rs.choice(len(districts), size=m, p=dw / dw.sum())
        has_project = rs.random(m) < share
        nproj = np.where(has_project, counts[rs.choice(len(counts), size=m, p=cw / cw.sum())], 0)
        reps = np.maximum(nproj, 1)
        ent_of_row = np.repeat(np.arange(m), reps)
        rows = int(reps.sum())
        # project number within its enterprise: 1, 2, … (0 rows = enterprise without project)
        first_row = np.cumsum(reps) - reps
        k_in_ent = np.arange(rows) - np.repeat(first_row, reps) + 1
        row_has_project = np.repeat(has_project, reps)

        numbers = pa.array(np.arange(start + 1, start + m + 1, dtype=np.int64))
        ids = pc.binary_join_element_wise(
            city.id_prefix, pc.utf8_lpad(pc.cast(numbers, pa.string()), width=8, padding="0"), "")
        bi = rs.integers(0, len(brands), m)
        ii = rs.integers(0, len(industries), m)
        names = pc.binary_join_element_wise(short, brands.take(pa.array(bi)), industries.take(pa.array(ii)),
                                            "有限公司", "")
        dist_names = pa.array(districts, type=pa.string()).take(pa.array(district_idx))
        take_rows = pa.array(ent_of_row)
        codes = pa.array([make_credit_code(city.division, int(k)) for k in range(start + 1, start + m + 1)],
                         type=pa.string())
        cols_arrow: dict[str, pa.Array] = {
            "id": ids.take(take_rows),
            "credit_code": codes.take(take_rows),
            "industry": industries.take(pa.array(ii)).take(take_rows),
            "name": names.take(take_rows),
            "province": pa.array([city.province] * rows, type=pa.string()),
            "city": pa.array([city.city] * rows, type=pa.string()),
            "county": (dist_names if city.county_is_district
                       else pa.array([city.county] * m, type=pa.string())).take(take_rows),
            "district": dist_names.take(take_rows),
        }
        pid = pc.binary_join_element_wise(cols_arrow["id"], pc.cast(pa.array(k_in_ent), pa.string()), "-P")
        cols_arrow["project_id"] = pc.if_else(pa.array(row_has_project), pid, pa.nulls(rows, pa.string()))

        ent_cols: dict[str, _Col] = {}
        row_cols: dict[str, _Col] = {}
        for p in plans:
            rng = _rng(seed, chunk, f"{city_id}:{p.path}")
            if p.scope == "enterprise":
                col = _draw(p, rng, m, ent_cols)
                ent_cols[p.path] = col
                row_col = _Col(col.values[ent_of_row], col.null[ent_of_row], col.storage, col.labels)
                row_cols[p.path] = row_col
            else:
                col = _draw(p, rng, rows, row_cols)
                # Rows of enterprises without a project carry no project data at all.
                col = _Col(col.values, col.null | ~row_has_project, col.storage, col.labels)
                row_cols[p.path] = col
            cols_arrow[p.path] = _to_arrow(row_cols[p.path])
        growth = _growth_factors(config, seed, chunk, city_id, m, len(years))
        for back, year in enumerate(reversed(years)):
            out = dict(cols_arrow)
            if back:
                out.update(_earlier_year(plans, row_cols, growth[back][ent_of_row], set(config.grows)))
            out["year"] = pa.array(np.full(rows, year, dtype=np.int32))
            yield pa.RecordBatch.from_arrays([out[f.name] for f in schema], schema=schema)


def _growth_factors(config: SynthConfig, seed: int, chunk: int, city_id: str, m: int, n_years: int) -> np.ndarray:
    """[k][enterprise]: the ``grows`` fields k years before the latest are divided by this (k = 0: 1)."""
    out = np.ones((n_years, m), dtype=np.float64)
    d = config.growth
    if d is None or n_years < 2:
        return out
    rng = _rng(seed, chunk, f"{city_id}:__growth__")
    mean, sd = d.mean or 0.0, d.sd or 0.0
    for k in range(1, n_years):
        yearly = np.clip(rng.normal(mean, sd, m), d.min if d.min is not None else -0.9, d.max if d.max is not None else 3.0)
        out[k] = out[k - 1] * (1.0 + yearly)
    return out


def _earlier_year(plans: list[FieldPlan], cols: Mapping[str, _Col], factor: np.ndarray,
                  grows: set[str]) -> dict[str, pa.Array]:
    """The columns that change in an earlier year: the growing fields, and thresholds over them."""
    changed: dict[str, _Col] = {}
    for p in plans:
        if p.scope != "enterprise":
            continue
        col = cols[p.path]
        if p.path in grows and p.storage in ("int", "dec"):
            scaled = col.values.astype(np.float64) / factor
            values = (_round_money(scaled, p.dist.round_to if p.storage == "int" else 1) if p.storage == "int"
                      else np.rint(scaled).astype(np.int64))
            changed[p.path] = _Col(values, col.null, col.storage, col.labels)
        elif p.dist.kind == "threshold" and p.dist.of in changed:
            assert p.dist.at is not None
            changed[p.path] = _Col(_threshold_index(changed[p.dist.of], p.dist.at), col.null, col.storage, col.labels)
    return {k: _to_arrow(v) for k, v in changed.items()}


# -- writing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthSummary:
    city: str
    path: Path
    enterprises: int
    rows: int
    projects: int
    columns: int
    seconds: float
    seed: int
    packs: tuple[str, ...]
    years: tuple[int, ...] = ()


def synthesize(city: str, n: int, seed: int, out: str | Path, *, config: str | Path | SynthConfig | None = None,
               progress: Progress | None = None, years: list[int] | None = None) -> SynthSummary:
    """Write a registry of ``n`` enterprises for ``city`` to ``out`` (.parquet / .csv / .xlsx).

    ``years``: one row set per year (default: the config's ``default_year``).
    """
    if n < 1:
        raise HuiqiError(f"企业数 n 必须至少为 1,收到 {n}", field="--n")
    if seed < 0:
        raise HuiqiError(f"随机种子必须是非负整数,收到 {seed}", field="--seed")
    target = Path(out)
    suffix = target.suffix.lower()
    if suffix not in (".parquet", ".csv", ".xlsx"):
        raise HuiqiError(f"不支持的输出格式 {suffix or '(无扩展名)'}", field="--out",
                         hint="请用 .parquet(大规模)、.csv 或 .xlsx(少量企业)")
    if suffix == ".xlsx" and n > XLSX_MAX_ROWS // 2:
        raise HuiqiError(f"Excel 最多约 {XLSX_MAX_ROWS:,} 行,{n:,} 家企业请输出 .parquet", field="--out")
    cfg = config if isinstance(config, SynthConfig) else load_synth_config(config)
    years = sorted(set(years or [cfg.default_year]))
    if suffix == ".xlsx" and n * len(years) > XLSX_MAX_ROWS // 2:
        raise HuiqiError(f"Excel 最多约 {XLSX_MAX_ROWS:,} 行,{n:,} 家企业 × {len(years)} 个年度请输出 .parquet",
                         field="--out")
    cities = resolve_cities(cfg, city)
    # A mixed population has the union of the cities' columns (each city generates all of them).
    union: list[str] = list(dict.fromkeys(f for _, c in cities for f in city_rule_fields(c)))
    plans_by_city = {cid: plan_fields(cfg, c, rule_fields=union) for cid, c in cities}
    first = plans_by_city[cities[0][0]]
    order = {p.path: i for i, p in enumerate(first)}
    for cid, plans in plans_by_city.items():
        if {p.path for p in plans} != set(order):
            raise InputError(f"城市 {cid} 的字段与其他城市不一致(of/when 依赖不同)", field="--city")
    schema = population_schema(first)
    shares = [n // len(cities) + (1 if i < n % len(cities) else 0) for i in range(len(cities))]
    started = time.perf_counter()
    rows = projects = done = 0
    with atomic_path(target) as tmp:
        writer = _open_writer(tmp, suffix, schema)
        try:
            for (cid, _cfg), share in zip(cities, shares, strict=True):
                if share == 0:
                    continue
                for batch in generate_batches(cfg, cid, share, seed, plans_by_city[cid], schema, years):
                    rows += batch.num_rows
                    projects += batch.num_rows - batch.column("project_id").null_count
                    if batch.column("year")[0].as_py() == years[-1]:
                        done += len(pc.unique(batch.column("id")))
                    if suffix == ".xlsx" and rows > XLSX_MAX_ROWS:
                        raise HuiqiError(f"生成的行数超过 Excel 的上限({XLSX_MAX_ROWS:,} 行),请输出 .parquet",
                                         field="--out")
                    writer.write(batch)
                    if progress is not None:
                        progress(done, n)
        finally:
            writer.close()
    city_id = "+".join(cid for cid, _ in cities)
    packs = tuple(p for _, c in cities for p in c.packs)
    return SynthSummary(city_id, target, n, rows, projects, len(schema), time.perf_counter() - started, seed,
                        packs, tuple(years))


class _Writer(Protocol):
    """What synthesize needs of an output format: append a batch, then close."""

    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class _ParquetWriter:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        self._w = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, batch: pa.RecordBatch) -> None:
        self._w.write_batch(batch, row_group_size=batch.num_rows)

    def close(self) -> None:
        self._w.close()


class _CsvWriter:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow.csv as pcsv

        self._w = pcsv.CSVWriter(path, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        self._w.write_batch(batch)

    def close(self) -> None:
        self._w.close()


class _XlsxWriter:
    """Small populations for people who open them in Excel (constant memory mode)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import xlsxwriter

        self._wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self._ws = self._wb.add_worksheet("企业人口")
        self._names = schema.names
        self._ws.write_row(0, 0, self._names)
        self._row = 1

    def write(self, batch: pa.RecordBatch) -> None:
        for record in batch.to_pylist():
            # Excel has no exact decimal: percent/number cells become numbers (≤ 15 digits, exact enough
            # to read back through profile loading, which re-parses them as Decimal).
            values = [float(v) if v is not None and not isinstance(v, int | bool | str) else v
                      for v in (record[k] for k in self._names)]
            self._ws.write_row(self._row, 0, values)
            self._row += 1

    def close(self) -> None:
        self._wb.close()


def _open_writer(path: Path, suffix: str, schema: pa.Schema) -> _Writer:
    if suffix == ".parquet":
        return _ParquetWriter(path, schema)
    if suffix == ".csv":
        return _CsvWriter(path, schema)
    return _XlsxWriter(path, schema)
