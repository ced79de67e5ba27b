"""Typed registry rows for Python callers: one record per enterprise and year.

For the calculator's cohorts (``huiqi calc --cohort 名录.xlsx``) and the 免申即享 runs that
check every enterprise of a registry against the rules: each record holds the
enterprise's fields and its projects, typed by the field registry (money in integer
yuan, percentages and numbers as Decimal, booleans, text), and converts to the
calculator's :class:`~huiqi.profile.Profile`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from huiqi.profile import FieldRegistry, Profile, Project, RegionInfo, default_registry
from huiqi.registry.reader import ClassSource, RegistrySource, RegistryView, YearChoice

__all__ = ["RegistryData", "RegistryRecord", "load_applicants", "read_registry"]

REGION = ("province", "city", "county", "district")


@dataclass
class RegistryRecord:
    """One enterprise in one year: identity, region, enterprise fields and projects (typed values)."""

    id: str
    name: str | None
    year: int | None
    credit_code: str | None
    industry: str | None
    region: dict[str, str | None]
    enterprise: dict[str, Any] = field(default_factory=dict)  # field name (no scope) → value
    projects: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", field name → value}
    rows: list[int] = field(default_factory=list)  # rows of the file this record was read from (1 = first data row)

    def profile(self, source: str | None = None) -> Profile:
        """The record as a calculator profile (projects keep their ids)."""
        projects = [Project(id=str(p["id"]), name=p.get("name"),
                            fields={k: v for k, v in p.items() if k not in ("id", "name")})
                    for p in self.projects]
        return Profile(name=self.name or self.id, region=RegionInfo(**self.region), enterprise=dict(self.enterprise),
                       projects=projects, source=source)


@dataclass
class RegistryData:
    """A registry read in full and typed (for small and medium registries; engines read lazily)."""

    table: pa.Table
    view: RegistryView
    warnings: list[str]

    @property
    def year(self) -> int | None:
        return self.view.year

    @property
    def years(self) -> list[int]:
        return self.view.years

    def records(self) -> Iterator[RegistryRecord]:
        """One record per (enterprise, year), in file order of first appearance."""
        names = self.table.schema.names
        fields = [n for n in names if n.startswith("enterprise.")]
        project_fields = [n for n in names if n.startswith("project.") and n != "project.name"]
        records: dict[tuple[str, int | None], RegistryRecord] = {}
        for i, row in enumerate(self.table.to_pylist(), start=1):
            key = (str(row["id"]), row.get("year"))
            rec = records.get(key)
            if rec is None:
                rec = RegistryRecord(
                    id=key[0], name=row.get("name"), year=row.get("year"), credit_code=row.get("credit_code"),
                    industry=row.get("industry"), region={k: row.get(k) for k in REGION},
                    enterprise={f.removeprefix("enterprise."): row[f] for f in fields if row[f] is not None})
                records[key] = rec
            rec.rows.append(i)
            if row.get("project_id"):
                project = {"id": row["project_id"], "name": row.get("project.name")}
                project.update({f.removeprefix("project."): row[f] for f in project_fields if row[f] is not None})
                rec.projects.append(project)
        yield from records.values()

    def profiles(self) -> list[Profile]:
        where = self.view.description
        return [r.profile(f"{where}:{r.id}") for r in self.records()]


def read_registry(source: str | Path | RegistrySource, *, year: YearChoice = None,
                  fields: FieldRegistry | None = None, classes: ClassSource | None = None) -> RegistryData:
    """Read and type a registry file (see :func:`huiqi.registry.reader.open_registry` for ``year``)."""
    from huiqi.simulation.population import read_typed

    reg = fields or default_registry()
    table, view, warnings = read_typed(source, reg, year=year, classes=classes)
    return RegistryData(table, view, warnings)


def is_registry(path: str | Path, fields: FieldRegistry | None = None) -> bool:
    """Has the file a key column (统一社会信用代码 or id)? Older cohort lists have neither."""
    from huiqi.errors import InputError
    from huiqi.registry.reader import read_registry_table

    try:
        read_registry_table(path, fields=fields, limit=0)
    except InputError as exc:
        if exc.field == "id":
            return False
        raise
    return True


def load_applicants(path: str | Path, fields: FieldRegistry | None = None, *,
                    year: YearChoice = "latest") -> list[Profile]:
    """``calc --cohort``: a registry (key column 统一社会信用代码 or id) read by the registry
    reader, one profile per enterprise with its projects; an older applicant list without a
    key column is read as before (one applicant and one project per row)."""
    from huiqi.profile import load_cohort

    if is_registry(path, fields):
        return read_registry(path, year=year, fields=fields).profiles()
    return load_cohort(path, fields)
