"""Governance persistence, API and role scope on a migrated database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from huiqi.document import Document
from huiqi.errors import InputError
from huiqi.governance.ledger_store import import_actuals, import_projects, sync_targets
from huiqi.governance.monitoring import Light
from huiqi.governance.report import build_report
from huiqi.governance.tables import gov_actuals, gov_tasks
from huiqi.governance.task_store import Operator, list_tasks, sync_document, task_history
from huiqi.store.audit import verify
from huiqi.store.db import engine_for, write_tx
from huiqi.store.schema import audit_log

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "governance"


def _sync(engine: sa.Engine, docs: list[Document]) -> list[str]:
    summaries = []
    with write_tx(engine) as conn:
        for d in docs:
            summaries.append(sync_document(conn, d, actor="test").summary)
            sync_targets(conn, d, actor="test")
    return summaries


def test_seeds_store_every_measure_unit_task_once(db_url: str, seed_documents: list[Document]) -> None:
    engine = engine_for(db_url)
    _sync(engine, seed_documents)
    expected = {(d.id, m.key, u) for d in seed_documents for m in d.measures
                for u in {*m.units.lead, *m.units.support, *m.units.all}}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(gov_tasks.c.document_id, gov_tasks.c.measure_key, gov_tasks.c.unit)).all()
    assert Counter(map(tuple, rows)) == Counter(expected)
    # Ingesting the same documents again changes nothing and writes no audit entry.
    with engine.connect() as conn:
        audits = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
    assert all("新增 0 项,更新 0 项,撤销 0 项" in s for s in _sync(engine, seed_documents))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(gov_tasks)).scalar_one() == len(expected)
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == audits
        assert verify(conn).ok


def test_changed_document_keeps_history(db_url: str, seed_by_prefix: dict[str, Document]) -> None:
    engine = engine_for(db_url)
    original = seed_by_prefix["001"]
    _sync(engine, [original])
    with engine.connect() as conn:
        before = {(t.measure_key, t.unit): t.id for t in list_tasks(conn, Operator())}
    # A revised text: measure 二/5 dropped, 二/6 renumbered 二/5 with a reworded title.
    measures = []
    for m in original.measures:
        if m.key == "二/5":
            continue
        if m.key == "二/6":
            m = m.model_copy(update={"label": "5", "title": "提升货物运输通行效率"})
        measures.append(m)
    revised = original.model_copy(update={"id": "revised", "measures": measures})
    _sync(engine, [revised])
    with engine.connect() as conn:
        live = {(t.measure_key, t.unit): t for t in list_tasks(conn, Operator())}
        gone = [t for t in list_tasks(conn, Operator(), include_retired=True) if t.retired]
        assert live[("二/5", "市交通运输局")].id == before[("二/6", "市交通运输局")]
        assert live[("二/5", "市交通运输局")].measure_title == "提升货物运输通行效率"
        assert [(t.id, t.status.value) for t in gone] == [(before[("二/5", "市发展改革委")], "closed")]
        assert "已不在新版文件中" in gone[0].note
        events, _ = task_history(conn, Operator(), gone[0].id)
        assert [e.action for e in events] == ["create", "retire"]
        assert verify(conn).ok


def test_bad_actuals_file_writes_nothing(db_url: str, tmp_path: Path) -> None:
    engine = engine_for(db_url)
    bad = tmp_path / "bad.csv"
    bad.write_text("指标,地区,期间,数值,单位\nmuju_tax,临海市,2023-01,18.6,万元/亩\n"
                   "muju_tax,临海市,2023-02,十八,万元/亩\n", "utf-8")
    with pytest.raises(InputError, match="第3行"), write_tx(engine) as conn:
        import_actuals(conn, bad, actor="test")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(gov_actuals)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 0


def test_report_from_the_example_data(db_url: str, seed_documents: list[Document]) -> None:
    engine = engine_for(db_url)
    _sync(engine, seed_documents)
    with write_tx(engine) as conn:
        import_actuals(conn, EXAMPLES / "actuals.csv", actor="test")
        assert import_projects(conn, EXAMPLES / "projects.xlsx", actor="test")[0] == 50
    with engine.connect() as conn:
        report = build_report(conn, "2023-03")
    lights = Counter(s.light for s in report.targets)
    assert all(lights[light] for light in (Light.MET, Light.ON_TRACK, Light.WARNING, Light.BEHIND))
    assert {s.light for s in report.targets_behind} == {Light.WARNING, Light.BEHIND}
    assert report.call_outs and all(ln.call_out for ln in report.call_outs)
    assert report.summary.tasks == sum(u.total for u in report.unit_ranking) > 0
    assert [r.rank for r in report.region_ranking] == list(range(1, len(report.region_ranking) + 1))
    assert report.overdue and all(o.days_overdue > 0 for o in report.overdue)


def test_api_scope_and_transitions(client: Any, login: Any, seed_by_prefix: dict[str, Document]) -> None:
    engine = client.app.state.engine
    _sync(engine, [seed_by_prefix["003"]])
    unit = login(client, "jxj", "department", department="市经信局")
    office = login(client, "dcs", "supervisor")
    own = client.get("/api/v1/governance/tasks", headers=unit).json()
    everything = client.get("/api/v1/governance/tasks", headers=office).json()
    assert own and {t["unit"] for t in own} == {"市经信局"} and len(everything) > len(own)
    other = next(t for t in everything if t["unit"] != "市经信局")
    assert client.get(f"/api/v1/governance/tasks/{other['id']}", headers=unit).status_code == 404
    task = own[0]["id"]
    r = client.post(f"/api/v1/governance/tasks/{task}/reports", headers=unit, json={"text": "已完成摸底调查"})
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/governance/tasks/{task}/actions", headers=unit, json={"action": "close"})
    assert r.status_code == 409 and "「推进中」的督办事项不能「销号」(可办理:报送进展、申报完成)" in r.json()["detail"][0]["msg"]
    assert client.post(f"/api/v1/governance/tasks/{task}/actions", headers=unit,
                       json={"action": "complete"}).json()["status"] == "completed"
    r = client.post(f"/api/v1/governance/tasks/{task}/actions", headers=unit, json={"action": "close"})
    assert r.status_code == 409 and "只能由督查室办理" in r.json()["detail"][0]["msg"]
    assert client.post(f"/api/v1/governance/tasks/{task}/actions", headers=office,
                       json={"action": "close"}).json()["status"] == "closed"
    detail = client.get(f"/api/v1/governance/tasks/{task}", headers=office).json()
    assert [e["action"] for e in detail["events"]] == ["create", "report", "complete", "close"]
    assert detail["reports"][0]["text"] == "已完成摸底调查"
    assert client.get("/api/v1/governance/tasks", headers=login(client, "ent", "enterprise")).status_code == 403
    assert client.get("/api/v1/governance/tasks").status_code == 401
    with engine.connect() as conn:
        assert verify(conn).ok


def test_tasks_sync_from_the_policy_base(seeded_db_url: str, seed_documents: list[Document]) -> None:
    from huiqi.governance.task_store import stored_documents

    engine = engine_for(seeded_db_url)
    with engine.connect() as conn:
        stored = stored_documents(conn)
    assert sorted(d.id for d in stored) == sorted(d.id for d in seed_documents)
    _sync(engine, stored)
    with engine.connect() as conn:
        assert len(list_tasks(conn, Operator())) == sum(
            len({*m.units.lead, *m.units.support, *m.units.all}) for d in seed_documents for m in d.measures)
