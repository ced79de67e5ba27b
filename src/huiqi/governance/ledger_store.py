"""Targets, actuals and the project ledger in the database (every write audited)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from huiqi.document import Document
from huiqi.governance.actuals import Actual, read_actuals
from huiqi.governance.indicators import Catalog, MonitoredTarget, load_catalog, monitored_targets
from huiqi.governance.monitoring import TargetStatus, evaluate_target
from huiqi.governance.project_io import read_projects
from huiqi.governance.projects import FactorStatus, MonthlyInvestment, Project, ProjectLevel
from huiqi.governance.tables import gov_actuals, gov_project_investments, gov_projects, gov_targets
from huiqi.governance.tasks import document_identity
from huiqi.store import audit
from huiqi.store.db import utc_now

# ---- targets -----------------------------------------------------------------------------


def sync_targets(conn: sa.Connection, document: Document, *, actor: str, catalog: Catalog | None = None) -> int:
    """Store the document's monitored targets; targets gone from the document are retired."""
    identity = document_identity(document)
    targets = monitored_targets(document, catalog)
    existing = {r.id: r for r in conn.execute(sa.select(gov_targets)
                                              .where(gov_targets.c.document_identity == identity)).all()}
    now = utc_now()
    for t in targets:
        values = {"document_identity": identity, "series": t.series, "region": t.region,
                  "spec_json": t.model_dump_json(), "retired": False, "updated_at": now}
        old = existing.pop(t.id, None)
        if old is None:
            conn.execute(sa.insert(gov_targets).values(id=t.id, **values))
            audit.record(conn, actor=actor, action="target.create", entity="gov_target", entity_id=t.id,
                         before=None, after={"indicator": t.indicator_text, "value": str(t.value), "unit": t.unit})
        elif old.spec_json != values["spec_json"] or old.retired:
            conn.execute(sa.update(gov_targets).where(gov_targets.c.id == t.id).values(**values))
            audit.record(conn, actor=actor, action="target.update", entity="gov_target", entity_id=t.id,
                         before={"spec": old.spec_json}, after={"spec": values["spec_json"]})
    for old in existing.values():
        if not old.retired:
            conn.execute(sa.update(gov_targets).where(gov_targets.c.id == old.id).values(retired=True, updated_at=now))
            audit.record(conn, actor=actor, action="target.retire", entity="gov_target", entity_id=old.id,
                         before={"retired": False}, after={"retired": True})
    return len(targets)


def list_targets(conn: sa.Connection) -> list[MonitoredTarget]:
    rows = conn.execute(sa.select(gov_targets.c.spec_json).where(gov_targets.c.retired == sa.false())).all()
    targets = [MonitoredTarget.model_validate_json(r.spec_json) for r in rows]
    targets.sort(key=lambda t: (t.document_title, t.measure_key or "", t.indicator_text, t.id))
    return targets


# ---- actuals -----------------------------------------------------------------------------


def import_actuals(conn: sa.Connection, path: str | Path, *, actor: str, replace: bool = False,
                   catalog: Catalog | None = None) -> list[Actual]:
    """Check the whole file, then write it in the caller's transaction (all or nothing)."""
    existing = [(r.indicator, r.region, r.period) for r in
                conn.execute(sa.select(gov_actuals.c.indicator, gov_actuals.c.region, gov_actuals.c.period)).all()]
    rows = read_actuals(path, catalog, existing, replace)
    now = utc_now()
    stored = set(existing)
    for a in rows:
        if a.key in stored:
            conn.execute(sa.delete(gov_actuals).where(gov_actuals.c.indicator == a.indicator,
                                                      gov_actuals.c.region == a.region,
                                                      gov_actuals.c.period == a.period))
    conn.execute(sa.insert(gov_actuals), [
        {"indicator": a.indicator, "region": a.region, "period": a.period, "value": str(a.value),
         "source": a.source, "imported_at": now} for a in rows])
    audit.record(conn, actor=actor, action="actuals.import", entity="gov_actuals", entity_id=Path(path).name,
                 before=None, after={"rows": len(rows), "replace": replace,
                                     "periods": sorted({a.period for a in rows})})
    return rows


def series_history(conn: sa.Connection) -> dict[tuple[str, str], dict[str, Decimal]]:
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for r in conn.execute(sa.select(gov_actuals)).all():
        out.setdefault((r.indicator, r.region), {})[r.period] = Decimal(r.value)
    return out


def target_statuses(conn: sa.Connection, month: str, catalog: Catalog | None = None) -> list[TargetStatus]:
    """Every monitored target evaluated at the end of ``month``."""
    catalog = catalog or load_catalog()
    history = series_history(conn)
    return [
        evaluate_target(t, history.get((t.series or "", t.region), {}), month, catalog)
        for t in list_targets(conn)
    ]


# ---- projects ----------------------------------------------------------------------------

_DATE_FIELDS = ("signed_on", "start_planned", "started_on", "production_planned", "production_on",
                "full_production_planned", "full_production_on")


def _project_values(p: Project) -> dict[str, Any]:
    values: dict[str, Any] = p.model_dump(mode="python")
    for f in _DATE_FIELDS:
        values[f] = values[f].isoformat() if values[f] else None
    for f in ("land_mu", "energy_tce"):
        values[f] = None if values[f] is None else str(values[f])
    for f in ("level", "land_status", "energy_status", "funding_status"):
        values[f] = values[f].value
    return values


def _row_to_project(row: Any) -> Project:
    data = dict(row._mapping)
    data.pop("updated_at")
    for f in _DATE_FIELDS:
        data[f] = date.fromisoformat(data[f]) if data[f] else None
    for f in ("land_mu", "energy_tce"):
        data[f] = None if data[f] is None else Decimal(data[f])
    data["level"] = ProjectLevel(data["level"])
    for f in ("land_status", "energy_status", "funding_status"):
        data[f] = FactorStatus(data[f])
    return Project.model_validate(data)


def import_projects(conn: sa.Connection, path: str | Path, *, actor: str) -> tuple[int, int, int]:
    """Upsert every project of the file and its monthly investment (audited per project).
    Returns (new, updated, monthly rows)."""
    projects, investments = read_projects(path)
    now = utc_now()
    new = updated = 0
    for p in projects:
        old = conn.execute(sa.select(gov_projects).where(gov_projects.c.code == p.code).with_for_update()).first()
        values = _project_values(p)
        if old is None:
            conn.execute(sa.insert(gov_projects).values(**values, updated_at=now))
            new += 1
            audit.record(conn, actor=actor, action="project.create", entity="gov_project", entity_id=p.code,
                         before=None, after=values)
        else:
            before = _project_values(_row_to_project(old))
            if before != values:
                conn.execute(sa.update(gov_projects).where(gov_projects.c.code == p.code).values(**values,
                                                                                                  updated_at=now))
                updated += 1
                audit.record(conn, actor=actor, action="project.update", entity="gov_project", entity_id=p.code,
                             before=before, after=values)
    for inv in investments:
        record_investment(conn, inv, actor=actor)
    return new, updated, len(investments)


def record_investment(conn: sa.Connection, inv: MonthlyInvestment, *, actor: str) -> None:
    """Enter (or correct) one month's completed investment of a project (audited)."""
    old = conn.execute(sa.select(gov_project_investments.c.amount).where(
        gov_project_investments.c.project_code == inv.project_code,
        gov_project_investments.c.period == inv.period)).first()
    if old is not None and old.amount == inv.amount:
        return
    if old is None:
        conn.execute(sa.insert(gov_project_investments).values(project_code=inv.project_code, period=inv.period,
                                                              amount=inv.amount))
    else:
        conn.execute(sa.update(gov_project_investments).where(
            gov_project_investments.c.project_code == inv.project_code,
            gov_project_investments.c.period == inv.period).values(amount=inv.amount))
    audit.record(conn, actor=actor, action="project.investment", entity="gov_project", entity_id=inv.project_code,
                 before=None if old is None else {"period": inv.period, "amount": old.amount},
                 after={"period": inv.period, "amount": inv.amount})


def list_projects(conn: sa.Connection) -> tuple[list[Project], list[MonthlyInvestment]]:
    projects = [_row_to_project(r) for r in conn.execute(sa.select(gov_projects)).all()]
    projects.sort(key=lambda p: p.code)
    investments = [MonthlyInvestment(project_code=r.project_code, period=r.period, amount=int(r.amount))
                   for r in conn.execute(sa.select(gov_project_investments)).all()]
    investments.sort(key=lambda i: (i.project_code, i.period))
    return projects, investments
