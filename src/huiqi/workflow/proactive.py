"""免申即享: find the eligible enterprises in the government's own data, without applications.

A department runs the round's rules over a population file (tax and social-insurance data
joined by 统一社会信用代码 — one row per enterprise or project, ``id`` = the credit code),
reviews the list of enterprises and amounts (:func:`eligible_list`), then confirms it as a
round whose applications are created already approved (the service does that and closes
the round through the same decision and ledger code as an application round).

The per-row calculator path (:func:`huiqi.simulation.per_row.run_per_row`) is used on
purpose: the list is small enough, every entry carries the calculator's own explanation,
and rank/quota rules are decided over the whole population (the population is the cohort).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from huiqi.profile import Profile
from huiqi.simulation.per_row import profiles_from_table, run_per_row
from huiqi.simulation.population import read_population

__all__ = ["Eligible", "eligible_list"]


@dataclass
class Eligible:
    enterprise: str  # 统一社会信用代码 (population ``id``)
    name: str
    rule: str
    subject: str  # "enterprise" or a project id
    amount: int
    upper_bound: bool
    county: str | None
    district: str | None
    profile: Profile

    def as_dict(self) -> dict[str, Any]:
        return {"enterprise": self.enterprise, "name": self.name, "rule": self.rule, "subject": self.subject,
                "amount": self.amount, "upper_bound": self.upper_bound, "county": self.county,
                "district": self.district}


def eligible_list(rulebase: Any, population: str | Path, rules: list[str], on: date) -> tuple[list[Eligible],
                                                                                                list[str]]:
    """(every granted (enterprise, rule, subject) with an amount > 0, warnings about the file)."""
    table, warnings = read_population(population, rulebase.fields)
    profiles = profiles_from_table(table)
    by_id = {p.source: p for p in profiles}
    result = run_per_row(rulebase, profiles, on, policies=rules)
    warnings = warnings + result.warnings
    wanted = set(rules)
    out: list[Eligible] = []
    for row in result.arrow().to_pylist():
        if row["rule"] not in wanted or row["status"] != "granted" or not row["amount"]:
            continue
        prof = by_id[row["id"]]
        out.append(Eligible(
            enterprise=str(row["id"]), name=prof.name, rule=row["rule"], subject=row["project_id"] or "enterprise",
            amount=int(row["amount"]), upper_bound=bool(row["upper_bound"]), county=row["county"],
            district=row["district"], profile=prof))
    return out, warnings
