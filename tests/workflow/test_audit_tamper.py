"""`huiqi audit verify` and the ledger chain catch a row edited directly in the database."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import sqlalchemy as sa

from huiqi.workflow.ledger import verify_ledger
from tests.web.conftest import ROOT
from tests.workflow.helpers import DEPARTMENT, county_profile, round_spec


def _verify_cli(db: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "huiqi.cli.main", "audit", "verify", "--db", db],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_audit_verify_catches_direct_edit(client: Any, login: Any, db_url: str) -> None:
    dept = login(client, "dept", "department", department=DEPARTMENT)
    ent = login(client, "ent", "enterprise", enterprise="91420323A")
    round_id = client.post("/api/v1/rounds", json=round_spec(), headers=dept).json()["id"]
    app = client.post("/api/v1/applications", headers=ent, json={
        "round": round_id, "profile": county_profile("竹山甲", "竹山县", 9_000_000, 5_000_000)}).json()
    assert client.post(f"/api/v1/applications/{app['id']}/actions", headers=ent,
                       json={"action": "submit"}).status_code == 200
    ok = _verify_cli(db_url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    engine = client.app.state.engine
    with engine.begin() as conn:
        target = conn.execute(sa.text("SELECT id FROM audit_log WHERE action = 'application.create'")).scalar_one()
        conn.execute(sa.text("UPDATE audit_log SET after_json = replace(after_json, '\"draft\"', '\"paid\"') "
                             "WHERE id = :i"), {"i": target})
    bad = _verify_cli(db_url)
    assert bad.returncode == 1
    assert str(target) in bad.stdout + bad.stderr


def test_ledger_chain_catches_edit_behind_the_trigger(client: Any, login: Any) -> None:
    dept = login(client, "dept", "department", department=DEPARTMENT)
    county = login(client, "county", "county", region="竹山县")
    ent = login(client, "ent", "enterprise", enterprise="91420323A")
    round_id = client.post("/api/v1/rounds", json=round_spec(), headers=dept).json()["id"]
    app_id = client.post("/api/v1/applications", headers=ent, json={
        "round": round_id, "profile": county_profile("竹山甲", "竹山县", 9_000_000, 5_000_000)}).json()["id"]
    for h, action in ((ent, "submit"), (county, "approve"), (dept, "approve")):
        assert client.post(f"/api/v1/applications/{app_id}/actions", headers=h, json={"action": action}).status_code == 200
    assert client.post(f"/api/v1/rounds/{round_id}/close", headers=dept).status_code == 200
    engine = client.app.state.engine
    with engine.connect() as conn:
        assert verify_ledger(conn).ok
    with engine.begin() as conn:  # someone with DDL rights removes the guard and edits an amount
        conn.execute(sa.text("DROP TRIGGER wf_ledger_no_update"))
        row = conn.execute(sa.text("SELECT id FROM wf_ledger WHERE kind = 'allocated'")).scalar_one()
        conn.execute(sa.text("UPDATE wf_ledger SET amount = amount + 1000 WHERE id = :i"), {"i": row})
    with engine.connect() as conn:
        report = verify_ledger(conn)
    assert not report.ok and report.first_broken == row
