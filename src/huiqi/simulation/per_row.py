"""The per-row reference: the single-enterprise calculator in a loop over a population.

``run_per_row`` produces exactly the engine result table of docs/simulation-contract.md
(one row per rule and subject) by calling :func:`huiqi.rules.calculator.calculate` once
per enterprise — the semantics every batch engine must match to the yuan. It is slow
on purpose (it is the benchmark's baseline) and is also the stand-in engine while the
set-based ones are unavailable. Rank/quota rules are decided over the whole population
first (the population is the cohort), then each enterprise is calculated.

Rows of project rules for an enterprise without any project are dropped: the calculator
shows them as a placeholder "待填写的项目"; in a population such an enterprise simply
has no project subject.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from huiqi.profile import Profile, Project, RegionInfo
from huiqi.rules.packs import RuleBase
from huiqi.simulation.population import PopulationSource, applies_to_region, read_population

__all__ = ["RESULT_SCHEMA", "PerRowResult", "profiles_from_table", "run_per_row"]

RESULT_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("project_id", pa.string()),
    ("rule", pa.string()),
    ("document", pa.string()),
    ("clause", pa.string()),
    ("department", pa.string()),
    ("kind", pa.string()),
    ("beneficiary", pa.string()),
    ("status", pa.string()),
    ("amount", pa.int64()),
    ("upper_bound", pa.bool_()),
    ("missing", pa.list_(pa.string())),
    ("province", pa.string()),
    ("city", pa.string()),
    ("county", pa.string()),
    ("district", pa.string()),
])

Progress = Callable[[int, int], None]


@dataclass
class PerRowResult:
    """Same surface as the engines' PopulationResult: ``arrow()``, rows, warnings, evaluations, seconds."""

    table: pa.Table
    enterprises: int
    population_rows: int
    rule_evaluations: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    engine: str = "per_row"

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def arrow(self) -> pa.Table:
        return self.table


def profiles_from_table(table: pa.Table) -> list[Profile]:
    """Group rows by ``id`` (file order) into profiles: enterprise fields from the first row."""
    names = table.schema.names
    ent_cols = [n for n in names if n.startswith("enterprise.")]
    proj_cols = [n for n in names if n.startswith("project.")]
    records = table.to_pylist()
    by_id: dict[str, Profile] = {}
    for rec in records:
        ent_id = str(rec["id"])
        prof = by_id.get(ent_id)
        if prof is None:
            region = RegionInfo(**{k: (rec.get(k) or None) for k in ("province", "city", "county", "district")})
            enterprise = {c.split(".", 1)[1]: rec[c] for c in ent_cols if rec[c] is not None}
            prof = Profile(name=str(rec.get("name") or ent_id), region=region, enterprise=enterprise,
                           source=ent_id)
            by_id[ent_id] = prof
        pid = rec.get("project_id")
        if pid is not None and str(pid).strip():
            values = {c.split(".", 1)[1]: rec[c] for c in proj_cols if rec[c] is not None}
            prof.projects.append(Project(id=str(pid), fields=values))
    return list(by_id.values())


def run_per_row(
    rulebase: RuleBase,
    population: str | Path | PopulationSource | pa.Table | Sequence[Profile],
    on: date,
    *,
    params: dict[str, str] | None = None,
    policies: list[str] | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
) -> PerRowResult:
    """Every rule × every enterprise of ``population`` with the single-case calculator."""
    from huiqi.rules.calculator import calculate
    from huiqi.rules.cohort import population_decisions

    started = time.perf_counter()
    warnings: list[str] = []
    if isinstance(population, Sequence) and not isinstance(population, str | pa.Table):
        profiles = list(population)
        pop_rows = sum(max(1, len(p.projects)) for p in profiles)
    else:
        table, warnings = read_population(population, rulebase.fields, limit=limit)
        pop_rows = table.num_rows
        profiles = profiles_from_table(table)
    warnings += _missing_column_warnings(rulebase, profiles, policies)
    decisions = population_decisions(rulebase, profiles, on, policies=policies, params=params)
    rules = {r.id: r for r in rulebase.rules}
    cols: dict[str, list[Any]] = {name: [] for name in RESULT_SCHEMA.names}
    n_rules = 0
    for i, prof in enumerate(profiles):
        report = calculate(rulebase, prof, on, policies, params, population=decisions[id(prof)])
        n_rules = max(n_rules, len({r.rule for r in report.results}))
        project_ids = {p.id for p in prof.projects}
        region = prof.region
        for r in report.results:
            compiled = rules.get(r.rule)
            per_project = compiled.per_project if compiled is not None else r.subject != "enterprise"
            if per_project and r.subject not in project_ids:
                continue  # placeholder for "no project filled in"
            cols["id"].append(prof.source)
            cols["project_id"].append(r.subject if per_project else None)
            cols["rule"].append(r.rule)
            cols["document"].append(r.document)
            cols["clause"].append(r.clause)
            cols["department"].append(r.department[0] if r.department else None)
            cols["kind"].append(r.kind)
            cols["beneficiary"].append(compiled.beneficiary if compiled is not None else None)
            cols["status"].append(r.status)
            cols["amount"].append(r.amount if r.status == "granted" else None)
            cols["upper_bound"].append(bool(r.upper_bound) if r.status == "granted" else False)
            cols["missing"].append([m.field for m in r.missing] if r.status == "undecided" else None)
            cols["province"].append(region.province)
            cols["city"].append(region.city)
            cols["county"].append(region.county)
            cols["district"].append(region.district)
        if progress is not None and (i % 200 == 0 or i == len(profiles) - 1):
            progress(i + 1, len(profiles))
    table_out = pa.table(cols, schema=RESULT_SCHEMA)
    selected = n_rules or len(rulebase.rules)
    return PerRowResult(table_out, len(profiles), pop_rows, pop_rows * selected,
                        time.perf_counter() - started, warnings)


def _missing_column_warnings(rulebase: RuleBase, profiles: Sequence[Profile],
                             policies: list[str] | None) -> list[str]:
    """A field no enterprise has at all is probably a missing column: say which rules it blocks."""
    seen_ent: set[str] = set()
    seen_proj: set[str] = set()
    for p in profiles:
        seen_ent.update(p.enterprise)
        for pr in p.projects:
            seen_proj.update(pr.fields)
    wanted = set(policies or ())
    regions = {(p.region.province, p.region.city, p.region.county) for p in profiles}
    blocked: dict[str, list[str]] = {}
    for rule in rulebase.rules:
        if wanted and rule.id not in wanted and rule.pack.id not in wanted:
            continue
        if not any(applies_to_region(rule, *r) for r in regions):
            continue  # other cities' rules are out of jurisdiction anyway: no noise about their fields
        for name in rule.fields:
            scope, _, rest = name.partition(".")
            if (scope == "enterprise" and rest not in seen_ent) or (scope == "project" and rest not in seen_proj):
                blocked.setdefault(name, []).append(rule.id)
    out = []
    for name, rule_ids in blocked.items():
        spec = rulebase.fields.get(name)
        label = f"({spec.label})" if spec else ""
        out.append(f"人口中没有列 {name}{label}(或全部为空):规则 {'、'.join(rule_ids)} 将无法判定")
    return out
