"""A whole round through the API on SQLite: open → apply → 初审 → 审核 → close → 公示 → 拨付."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from huiqi.store.audit import verify
from huiqi.workflow.ledger import verify_ledger
from tests.workflow.helpers import DEPARTMENT, PDF, county_profile, round_spec, smart_amount

ENTERPRISES = [  # name, credit code, county, equipment, smart
    ("竹山甲新材料有限公司", "91420323A", "竹山县", 9_000_000, 5_000_000),
    ("竹山乙绿色食品有限公司", "91420323B", "竹山县", 7_000_000, 2_000_000),
    ("竹山丙建材有限公司", "91420323C", "竹山县", 4_000_000, 1_000_000),
    ("房县丁机械有限公司", "91420325D", "房县", 3_000_000, 3_000_000),
]


def setup_round(client: Any, login: Any, **spec: Any) -> tuple[int, dict[str, Any]]:
    users = {
        "dept": login(client, "dept", "department", department=DEPARTMENT),
        "zhushan": login(client, "zhushan", "county", region="竹山县"),
        "fangxian": login(client, "fangxian", "county", region="房县"),
        "finance": login(client, "finance", "finance"),
    }
    for _name, code, *_ in ENTERPRISES:
        users[code] = login(client, code, "enterprise", enterprise=code)
    r = client.post("/api/v1/rounds", json=round_spec(**spec), headers=users["dept"])
    assert r.status_code == 201, r.text
    return r.json()["id"], users


def apply_all(client: Any, round_id: int, users: dict[str, Any]) -> dict[str, int]:
    ids = {}
    for name, code, county, equipment, smart in ENTERPRISES:
        body = {"round": round_id, "profile": county_profile(name, county, equipment, smart),
                "bank_account": f"6222{code[-1]}0001"}
        r = client.post("/api/v1/applications", json=body, headers=users[code])
        assert r.status_code == 201, r.text
        app = r.json()
        assert app["status"] == "draft"
        assert app["estimate"]["status"] == "granted"
        assert app["estimate"]["amount"] == smart_amount(equipment, smart)
        assert app["estimate"]["citations"][0]["clause"] == "三/三/1/—2"
        ids[code] = app["id"]
    return ids


def act(client: Any, app_id: int, headers: Any, action: str, **extra: Any) -> Any:
    return client.post(f"/api/v1/applications/{app_id}/actions", json={"action": action, **extra}, headers=headers)


def test_whole_round(client: Any, login: Any) -> None:
    round_id, users = setup_round(client, login, required_documents=["项目备案文件"])
    ids = apply_all(client, round_id, users)
    a, b, c, d = (ids[e[1]] for e in ENTERPRISES)
    # submission needs the required document
    r = act(client, a, users["91420323A"], "submit")
    assert r.status_code == 422 and "项目备案文件" in r.text
    for code, app_id in ids.items():
        r = client.post(f"/api/v1/applications/{app_id}/attachments", headers=users[code],
                        files={"file": ("备案.pdf", PDF, "application/pdf")}, data={"document": "项目备案文件"})
        assert r.status_code == 201, r.text
        assert act(client, app_id, users[code], "submit").json()["status"] == "submitted"
    # 县区初审: own region only
    assert act(client, d, users["zhushan"], "approve").status_code == 404
    for app_id in (a, b, c):
        assert act(client, app_id, users["zhushan"], "approve").json()["status"] == "county_approved"
    r = act(client, d, users["fangxian"], "reject")
    assert r.status_code == 422 and "原因" in r.text
    r = act(client, d, users["fangxian"], "reject", reason="项目未在县发改局备案")
    assert r.json()["status"] == "rejected"
    seen = client.get(f"/api/v1/applications/{d}", headers=users["91420325D"]).json()
    assert seen["reason"] == "项目未在县发改局备案" and seen["status_label"] == "未通过"
    # 主管部门审核: adjust only within the computed bound
    bound_b = smart_amount(7_000_000, 2_000_000)
    r = act(client, b, users["dept"], "adjust", amount=bound_b + 1, reason="核减")
    assert r.status_code == 422 and "超过规则计算的上限" in r.text
    r = act(client, b, users["dept"], "adjust", amount=150_000, reason="部分设备发票不合规,核减")
    assert r.json()["approved_amount"] == 150_000
    for app_id in (a, b, c):
        assert act(client, app_id, users["dept"], "approve").json()["status"] == "dept_approved"
    # an illegal transition is a 409 with a Chinese message
    r = act(client, a, users["dept"], "approve")
    assert r.status_code == 409 and "不能「通过」" in r.json()["detail"][0]["msg"]
    # close: rule quota (two per county) then the pool (50万) pro rata
    r = client.post(f"/api/v1/rounds/{round_id}/close", headers=users["dept"])
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed"
    got = {k: client.get(f"/api/v1/applications/{v}", headers=users["dept"]).json() for k, v in ids.items()}
    assert got["91420323C"]["status"] == "not_awarded" and "名额已满" in got["91420323C"]["reason"]
    claims = [smart_amount(9_000_000, 5_000_000), 150_000]
    assert [got["91420323A"]["claim_amount"], got["91420323B"]["claim_amount"]] == claims
    allocated = [got["91420323A"]["allocated_amount"], got["91420323B"]["allocated_amount"]]
    expected_total = min(sum(claims), 500_000)
    assert sum(allocated) == expected_total == closed["pool"]["allocated"]
    assert closed["pool"]["balance"] == 500_000 - expected_total
    # closing twice is refused
    assert client.post(f"/api/v1/rounds/{round_id}/close", headers=users["dept"]).status_code == 409
    # 公示 then 拨付
    assert client.post(f"/api/v1/rounds/{round_id}/publicize", headers=users["dept"]).json()["publicized"] == 2
    assert act(client, a, users["finance"], "pay", voucher="V1").status_code == 409  # not in a batch yet
    batch = client.post(f"/api/v1/rounds/{round_id}/payout-batches", headers=users["finance"])
    assert batch.status_code == 201, batch.text
    assert batch.json()["total"] == expected_total
    xlsx = client.get(f"/api/v1/payout-batches/{batch.json()['id']}.xlsx", headers=users["finance"])
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    for app_id, voucher in ((a, "GK2019-001"), (b, "GK2019-002")):
        r = act(client, app_id, users["finance"], "pay", voucher=voucher)
        assert r.status_code == 200 and r.json()["status"] == "paid" and r.json()["voucher"] == voucher
    assert act(client, a, users["finance"], "pay", voucher="again").status_code == 409
    ledger = client.get(f"/api/v1/rounds/{round_id}/ledger", headers=users["dept"]).json()
    kinds = [row["kind"] for row in ledger]
    assert kinds.count("adjusted") == 1 and kinds.count("allocated") == 2 and kinds.count("paid") == 2
    assert sum(row["amount"] for row in ledger if row["kind"] == "paid") == expected_total
    # the enterprise sees only its own ledger rows
    own = client.get(f"/api/v1/rounds/{round_id}/ledger", headers=users["91420323A"]).json()
    assert own and {row["enterprise"] for row in own} == {"91420323A"}
    report = client.get(f"/api/v1/rounds/{round_id}/report", headers=users["dept"]).json()
    assert report["by_region"]["竹山县"]["paid"] == expected_total
    engine = client.app.state.engine
    with engine.connect() as conn:
        assert verify(conn).ok
        assert verify_ledger(conn).ok


def test_double_click_creates_one_application(client: Any, login: Any) -> None:
    round_id, users = setup_round(client, login)
    name, code, county, equipment, smart = ENTERPRISES[0]
    body = {"round": round_id, "profile": county_profile(name, county, equipment, smart)}
    first = client.post("/api/v1/applications", json=body, headers={**users[code], "Idempotency-Key": "k1"})
    again = client.post("/api/v1/applications", json=body, headers={**users[code], "Idempotency-Key": "k1"})
    plain = client.post("/api/v1/applications", json=body, headers=users[code])
    assert first.status_code == 201 and again.status_code == 201 and plain.status_code == 200
    assert first.json()["id"] == again.json()["id"] == plain.json()["id"]
    assert again.headers.get("Idempotent-Replay") == "true"
    other = client.post("/api/v1/applications", json={**body, "project": "p1"},
                        headers={**users[code], "Idempotency-Key": "k1"})
    assert other.status_code == 422
    with client.app.state.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM wf_applications")).scalar_one()
    assert n == 1


def test_ledger_is_append_only_and_pool_check(client: Any, login: Any) -> None:
    round_id, users = setup_round(client, login)
    ids = apply_all(client, round_id, users)
    app_id = ids["91420323A"]
    act(client, app_id, users["91420323A"], "submit")
    act(client, app_id, users["zhushan"], "approve")
    act(client, app_id, users["dept"], "adjust", amount=1000, reason="核定")
    engine = client.app.state.engine
    import pytest

    with pytest.raises(sa.exc.DBAPIError, match="台账只能追加"):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE wf_ledger SET amount = 1"))
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE wf_pools SET balance = -1, allocated = amount + 1"))
