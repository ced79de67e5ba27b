"""Role × endpoint matrix: every workflow endpoint refuses callers outside its role and scope.

The action part is generated from the state machine table: for every state, caller action
and role, the table decides whether the state machine lets it through (anything else: 409).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from huiqi.workflow.machine import CALLER_ACTIONS, STATES, TRANSITIONS
from tests.workflow.helpers import DEPARTMENT, county_profile, round_spec

ROLES = {  # user → (role, scope)
    "ent": ("enterprise", {"enterprise": "91420323A"}),
    "ent_other": ("enterprise", {"enterprise": "91420323Z"}),
    "county": ("county", {"region": "竹山县"}),
    "county_other": ("county", {"region": "房县"}),
    "dept": ("department", {"department": DEPARTMENT}),
    "dept_other": ("department", {"department": "市人社局"}),
    "finance": ("finance", {}),
    "admin": ("admin", {}),
    "supervisor": ("supervisor", {}),
}
IN_SCOPE = {"ent", "county", "dept", "finance", "admin", "supervisor"}


@pytest.fixture
def world(client: Any, login: Any) -> dict[str, Any]:
    headers = {u: login(client, u, role, **scope) for u, (role, scope) in ROLES.items()}
    headers["anon"] = {}
    round_id = client.post("/api/v1/rounds", json=round_spec(), headers=headers["dept"]).json()["id"]
    app = client.post("/api/v1/applications", headers=headers["ent"], json={
        "round": round_id, "profile": county_profile("竹山甲新材料有限公司", "竹山县", 9_000_000, 5_000_000)}).json()
    return {"headers": headers, "round": round_id, "app": app["id"]}


def endpoints(w: dict[str, Any]) -> list[tuple[str, str, set[str], dict[str, Any]]]:
    r, a = w["round"], w["app"]
    return [  # method, path, roles allowed, request kwargs
        ("POST", "/api/v1/rounds", {"department"}, {"json": round_spec()}),
        ("POST", f"/api/v1/rounds/{r}/publicize", {"department"}, {}),
        ("POST", f"/api/v1/rounds/{r}/payout-batches", {"finance"}, {}),
        ("GET", f"/api/v1/rounds/{r}/report", {"department", "finance", "admin", "supervisor"}, {}),
        ("GET", f"/api/v1/rounds/{r}/report.xlsx", {"department", "finance", "admin", "supervisor"}, {}),
        ("GET", "/api/v1/payout-batches/1.xlsx", {"finance"}, {}),
        ("POST", "/api/v1/applications", {"enterprise"}, {"json": {"round": r, "profile": {}}}),
        ("POST", f"/api/v1/applications/{a}/attachments", {"enterprise"},
         {"files": {"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}, "data": {"document": "x"}}),
        ("POST", f"/api/v1/applications/{a}/actions", {"enterprise", "county", "department", "finance"},
         {"json": {"action": "approve"}}),
        ("POST", "/api/v1/proactive/preview", {"department"},
         {"files": {"file": ("p.csv", b"id\n1\n", "text/csv")}, "data": {"rules": "x", "policy_date": "2019-06-01"}}),
        ("GET", f"/api/v1/applications/{a}", {"enterprise", "county", "department", "finance", "admin", "supervisor"}, {}),
        ("GET", f"/api/v1/rounds/{r}/ledger", {"enterprise", "county", "department", "finance", "admin", "supervisor"}, {}),
        ("POST", f"/api/v1/rounds/{r}/close", {"department"}, {}),  # last: it closes the round
    ]


def test_every_endpoint_refuses_other_roles(client: Any, world: dict[str, Any]) -> None:
    for method, path, allowed, kwargs in endpoints(world):
        for user, headers in world["headers"].items():
            r = client.request(method, path, headers=headers, **kwargs)
            role = ROLES[user][0] if user != "anon" else None
            where = f"{method} {path} as {user}: {r.status_code} {r.text[:200]}"
            if role is None:
                assert r.status_code == 401, where
            elif role not in allowed:
                assert r.status_code == 403, where
            else:
                assert r.status_code not in (401, 403, 500), where


def test_out_of_scope_callers_see_nothing(client: Any, world: dict[str, Any]) -> None:
    a, r = world["app"], world["round"]
    h = world["headers"]
    for user in ("ent_other", "county_other", "dept_other"):
        assert client.get(f"/api/v1/applications/{a}", headers=h[user]).status_code == 404
        assert client.post(f"/api/v1/applications/{a}/actions", headers=h[user],
                           json={"action": "approve"}).status_code == 404
        assert client.get("/api/v1/applications", headers=h[user]).json() == []
        assert client.get(f"/api/v1/rounds/{r}/ledger", headers=h[user]).status_code in (200, 404)
    assert client.post(f"/api/v1/rounds/{r}/close", headers=h["dept_other"]).status_code == 404
    assert client.get(f"/api/v1/rounds/{r}/report", headers=h["dept_other"]).status_code == 404
    for user in IN_SCOPE:
        assert [x["id"] for x in client.get("/api/v1/applications", headers=h[user]).json()] == [a]


def test_actions_follow_the_table_for_every_state_and_role(client: Any, world: dict[str, Any]) -> None:
    engine = client.app.state.engine
    a = world["app"]
    allowed = {(t.state, t.action, t.role) for t in TRANSITIONS}
    body = {"reason": "矩阵测试", "amount": 1, "voucher": "V", "bank_account": "6222"}
    for state in STATES:
        for action in CALLER_ACTIONS:
            for user in ("ent", "county", "dept", "finance"):
                with engine.begin() as conn:  # put the application in ``state`` (test setup only)
                    conn.execute(sa.text("UPDATE wf_applications SET status = :s WHERE id = :i"), {"s": state, "i": a})
                r = client.post(f"/api/v1/applications/{a}/actions", headers=world["headers"][user],
                                json={"action": action, **body})
                role = ROLES[user][0]
                where = f"{state} {action} {role}: {r.status_code} {r.text[:200]}"
                machine_refused = r.status_code == 409 and "申报当前状态" in r.text
                if (state, action, role) in allowed:
                    assert not machine_refused and r.status_code not in (403, 404, 500), where
                else:
                    assert machine_refused, where
