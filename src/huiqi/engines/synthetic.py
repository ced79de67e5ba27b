"""Synthetic populations for engine tests and benchmarks (the real generator is ``huiqi synth``).

Values are drawn around every threshold the rules use — each numeric constant a field
is compared with, every tier bound and lookup key, one unit below / at / above — so
that random populations exercise each boundary; any cell may be empty (unknown).

``python -m huiqi.engines.synthetic --n 1000000 --out /tmp/pop.parquet --run`` writes a
population and times the DuckDB engine on it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from huiqi.engines.compile import REGION_COLUMNS, field_kind
from huiqi.rules.calculator import all_pexprs, plan_for
from huiqi.rules.expr_ast import Cmp, Field, In, Num, Str, Tier, walk

__all__ = ["FieldDomain", "domains", "profiles_to_arrow", "regions", "synthetic_population"]

_ARROW = {"money": pa.int64(), "integer": pa.int64(), "number": pa.decimal128(38, 6), "percent": pa.decimal128(38, 6),
          "boolean": pa.bool_(), "flag": pa.bool_(), "enum": pa.string(), "text": pa.string(), "date": pa.string()}


@dataclass
class FieldDomain:
    path: str
    kind: str
    values: list[Any]


def _step(kind: str) -> Decimal:
    return {"money": Decimal(1), "integer": Decimal(1), "percent": Decimal("0.0001")}.get(kind, Decimal("0.01"))


def domains(rulebase: Any) -> dict[str, FieldDomain]:
    """Candidate values per field read by the rules: thresholds ± one unit, enum values, both booleans."""
    plan = plan_for(rulebase)
    registry = plan.registry
    consts: dict[str, set[Decimal]] = {}
    strings: dict[str, set[str]] = {}
    fields: list[str] = []
    for pr in plan.rules:
        for pe in all_pexprs(pr):
            for name in pe.expr.fields:
                if name.startswith(("enterprise.", "project.")) and name not in fields:
                    fields.append(name)
            for node in walk(pe.expr.ast):
                if isinstance(node, Cmp):
                    for a, b in ((node.left, node.right), (node.right, node.left)):
                        if isinstance(a, Field) and isinstance(b, Num):
                            consts.setdefault(a.name, set()).add(b.value)
                        if isinstance(a, Field) and isinstance(b, Str):
                            strings.setdefault(a.name, set()).add(b.value)
                elif isinstance(node, In) and isinstance(node.needle, Field):
                    strings.setdefault(node.needle.name, set()).update(
                        i.value for i in node.items if isinstance(i, Str))
                elif isinstance(node, Tier) and isinstance(node.x, Field):
                    consts.setdefault(node.x.name, set()).update(node.bounds)
        if pr.tiers_on is not None and isinstance(pr.tiers_on.expr.ast, Field):
            for band in pr.bands:
                for bound in (band.lower, band.upper):
                    if bound is not None:
                        consts.setdefault(pr.tiers_on.expr.ast.name, set()).add(bound)
        if pr.lookup_on is not None and isinstance(pr.lookup_on.expr.ast, Field):
            strings.setdefault(pr.lookup_on.expr.ast.name, set()).update(pr.table)
    out: dict[str, FieldDomain] = {}
    for name in fields:
        kind = field_kind(registry, name)
        spec = registry.get(name) if registry is not None else None
        if kind in ("boolean", "flag"):
            values: list[Any] = [True, False]
        elif kind == "enum":
            values = sorted(set(spec.values if spec is not None else ()) | strings.get(name, set()))
        elif kind in ("text", "date"):
            values = sorted(strings.get(name, set())) or ["x"]
        else:
            step = _step(kind)
            nums = {Decimal(0), Decimal(7) if kind in ("money", "integer") else Decimal("0.5")}
            for c in consts.get(name, ()):
                nums.update({c - step, c, c + step, c * 2})
            if kind in ("money", "integer"):
                values = sorted({int(v) for v in nums if v >= 0 and v == v.to_integral_value()})
            else:
                values = sorted({v.quantize(Decimal("0.000001")) for v in nums if v >= 0})
        out[name] = FieldDomain(name, kind, values)
    return out


def regions(rulebase: Any) -> list[dict[str, str | None]]:
    """Regions of every jurisdiction (with each district), one outsider, and incomplete ones."""
    plan = plan_for(rulebase)
    seen: list[dict[str, str | None]] = []

    def add(r: dict[str, str | None]) -> None:
        if r not in seen:
            seen.append(r)

    for pr in plan.rules:
        for j in pr.jurisdictions:
            base = {"province": j.province, "city": j.city, "county": j.county, "district": None}
            add(base)
            for d in [*(j.districts or ()), *j.excluded_areas]:
                add({**base, "district": d})
                add({**base, "county": d, "district": None})
            add({**base, "city": None})
    add({"province": "浙江省", "city": "杭州市", "county": "西湖区", "district": None})
    add({"province": None, "city": None, "county": None, "district": None})
    return seen


def profiles_to_arrow(profiles: Sequence[Any], registry: Any, ids: Sequence[str] | None = None,
                      columns: Iterable[str] | None = None) -> pa.Table:
    """A population table from calculator profiles: one row per (profile, project)."""
    cols = list(columns) if columns is not None else [s.path for s in registry.all() if s.type != "list"]
    data: dict[str, list[Any]] = {c: [] for c in ("id", "name", "project_id", *REGION_COLUMNS, *cols)}
    for k, p in enumerate(profiles):
        ident = ids[k] if ids is not None else f"E{k:06d}"
        projects = list(p.projects) or [None]
        for proj in projects:
            data["id"].append(ident)
            data["name"].append(p.name)
            data["project_id"].append(None if proj is None else proj.id)
            for r in REGION_COLUMNS:
                data[r].append(getattr(p.region, r))
            for c in cols:
                scope, _, name = c.partition(".")
                source = p.enterprise if scope == "enterprise" else ({} if proj is None else proj.fields)
                data[c].append(source.get(name))
    arrays = {}
    for c, values in data.items():
        kind = field_kind(registry, c) if "." in c else "text"
        arrays[c] = pa.array(values, _ARROW.get(kind, pa.string()))
    return pa.table(arrays)


def synthetic_population(rulebase: Any, n: int, seed: int = 0, *, null_share: float = 0.3,
                         projects: Sequence[float] = (0.35, 0.4, 0.2, 0.05)) -> pa.Table:
    """``n`` enterprises (more rows: 0–3 projects each, by the ``projects`` shares)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    doms = domains(rulebase)
    regs = regions(rulebase)
    counts = rng.choice(len(projects), size=n, p=np.array(projects) / sum(projects))
    rows_per = np.maximum(counts, 1)
    total = int(rows_per.sum())
    ent_index = np.repeat(np.arange(n), rows_per)
    first = np.concatenate([[0], np.cumsum(rows_per)[:-1]])
    pos = np.arange(total) - np.repeat(first, rows_per)
    has_project = np.repeat(counts > 0, rows_per)
    ids = np.char.add("E", np.char.zfill(ent_index.astype(str), 8))
    data: dict[str, Any] = {
        "id": pa.array(ids),
        "name": pa.array(np.char.add("企业", ent_index.astype(str))),
        "project_id": pa.array(np.char.add("p", (pos + 1).astype(str)), mask=~has_project),
    }
    reg_idx = rng.integers(0, len(regs), size=n)[ent_index]
    for r in REGION_COLUMNS:
        vals = [reg.get(r) for reg in regs]
        data[r] = pa.array([vals[i] for i in reg_idx], pa.string())
    for name, dom in doms.items():
        per_enterprise = name.startswith("enterprise.")
        size = n if per_enterprise else total
        choice = rng.integers(0, len(dom.values), size=size)
        mask = rng.random(size) < null_share
        if per_enterprise:
            choice, mask = choice[ent_index], mask[ent_index]
        else:
            mask = mask | ~has_project
        typ = _ARROW.get(dom.kind, pa.string())
        if dom.kind in ("money", "integer"):
            arr = np.array(dom.values, dtype=np.int64)[choice]
            data[name] = pa.array(arr, typ, mask=mask)
        elif dom.kind in ("boolean", "flag"):
            data[name] = pa.array(np.array(dom.values, dtype=bool)[choice], typ, mask=mask)
        else:
            values = [dom.values[i] for i in choice]
            data[name] = pa.array([None if m else v for v, m in zip(values, mask, strict=True)], typ)
    return pa.table(data)


def _main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - manual benchmark
    from huiqi.engines import run_population
    from huiqi.rules.packs import load_packs

    parser = argparse.ArgumentParser(description="合成企业名录并测量人口引擎速度")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp/huiqi-pop.parquet"))
    parser.add_argument("--date", default="2022-09-01")
    parser.add_argument("--run", action="store_true")
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--mode", default="wide")
    args = parser.parse_args(argv)
    rb = load_packs()
    t = time.perf_counter()
    table = synthetic_population(rb, args.n, args.seed)
    import pyarrow.parquet as pq

    pq.write_table(table, args.out)
    print(f"生成 {args.n} 家企业 / {table.num_rows} 行,用时 {time.perf_counter() - t:.1f}s → {args.out}")
    if args.run:
        res = run_population(rb, args.out, date.fromisoformat(args.date), engine=args.engine,  # type: ignore[arg-type]
                             layout=args.mode, progress=None)
        print(f"{res.engine}: {res.rows} 行 × {len(res.rules)} 条规则 = {res.rule_evaluations} 次规则求值;"
              f"总用时 {res.seconds:.1f}s,{res.timings};{res.evaluations_per_second:,.0f} 次/秒")
        print(res.status_counts())






if __name__ == "__main__":  # pragma: no cover
    _main()
