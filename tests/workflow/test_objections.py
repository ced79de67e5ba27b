"""公示 objections: record (object), dismiss (resolve), uphold (reject: the money goes back to the pool)."""

from __future__ import annotations

from typing import Any

from huiqi.store.audit import verify
from huiqi.workflow.ledger import verify_ledger
from tests.workflow.test_api_flow import ENTERPRISES, act, apply_all, setup_round

POOL = 500_000


def publicized_round(client: Any, login: Any) -> tuple[int, dict[str, Any], dict[str, int]]:
    """Three awarded applications (竹山 A, B and 房县 D) in 公示; 竹山 C lost on the county quota."""
    round_id, users = setup_round(client, login)
    ids = apply_all(client, round_id, users)
    county = {code: ("zhushan" if c == "竹山县" else "fangxian") for _n, code, c, *_ in ENTERPRISES}
    for code, app_id in ids.items():
        assert act(client, app_id, users[code], "submit").status_code == 200
        assert act(client, app_id, users[county[code]], "approve").status_code == 200
        assert act(client, app_id, users["dept"], "approve").status_code == 200
    assert client.post(f"/api/v1/rounds/{round_id}/close", headers=users["dept"]).status_code == 200
    assert client.post(f"/api/v1/rounds/{round_id}/publicize", headers=users["dept"]).json()["publicized"] == 3
    return round_id, users, ids


def pool(client: Any, round_id: int, headers: Any) -> dict[str, int]:
    return client.get(f"/api/v1/rounds/{round_id}", headers=headers).json()["pool"]  # type: ignore[no-any-return]


def ledger(client: Any, round_id: int, headers: Any) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/rounds/{round_id}/ledger", headers=headers).json()  # type: ignore[no-any-return]


def test_objection_dismissed_and_upheld(client: Any, login: Any) -> None:
    round_id, users, ids = publicized_round(client, login)
    dept = users["dept"]
    a, b, d = ids["91420323A"], ids["91420323B"], ids["91420325D"]
    apps = {k: client.get(f"/api/v1/applications/{v}", headers=dept).json() for k, v in ids.items()}
    allocated = {k: v["allocated_amount"] for k, v in apps.items() if v["status"] == "publicized"}
    assert set(allocated) == {"91420323A", "91420323B", "91420325D"} and all(allocated.values())
    before_pool = pool(client, round_id, dept)
    assert before_pool["allocated"] == sum(allocated.values())
    assert before_pool["balance"] == POOL - sum(allocated.values())
    before_ledger = ledger(client, round_id, dept)

    # recording needs a reason; resolving with nothing open is refused; enterprises cannot object
    assert act(client, b, dept, "object").status_code == 422
    assert act(client, b, dept, "resolve", reason="无").status_code == 409
    r = act(client, b, users["91420323B"], "object", reason="我反对")
    assert r.status_code == 409 and "只能由主管部门操作" in r.text

    # dismissed: the application stays in 公示 with its money; no ledger row, the pool does not move
    r = act(client, b, dept, "object", reason="有群众反映该项目设备为租赁")
    assert r.status_code == 200 and r.json()["status"] == "publicized"
    assert [(o["status"], o["text"]) for o in r.json()["objections"]] == [("open", "有群众反映该项目设备为租赁")]
    r = act(client, b, dept, "resolve", reason="经核查设备发票与权属证明齐全,异议不成立")
    assert r.status_code == 200 and r.json()["status"] == "publicized"
    assert r.json()["allocated_amount"] == allocated["91420323B"]
    objection = r.json()["objections"][0]
    assert objection["status"] == "dismissed" and objection["resolved_by"] == "dept"
    assert objection["resolution"] == "经核查设备发票与权属证明齐全,异议不成立"
    assert pool(client, round_id, dept) == before_pool
    assert ledger(client, round_id, dept) == before_ledger

    # upheld: rejected with the reason, the allocation goes back to the pool, one 'released' row
    assert act(client, a, dept, "object", reason="该企业上年度有安全生产事故").status_code == 200
    r = act(client, a, dept, "reject", reason="核实上年度发生较大安全生产事故,取消支持")
    assert r.status_code == 200
    rejected = r.json()
    assert rejected["status"] == "rejected" and rejected["allocated_amount"] == 0
    assert rejected["reason"] == "核实上年度发生较大安全生产事故,取消支持"
    assert [o["status"] for o in rejected["objections"]] == ["upheld"]
    after_pool = pool(client, round_id, dept)
    assert after_pool["balance"] == before_pool["balance"] + allocated["91420323A"]
    assert after_pool["allocated"] == before_pool["allocated"] - allocated["91420323A"]
    assert after_pool["amount"] == POOL and after_pool["paid"] == 0
    after_ledger = ledger(client, round_id, dept)
    assert after_ledger[:len(before_ledger)] == before_ledger
    new = after_ledger[len(before_ledger):]
    assert [(row["kind"], row["application_id"], row["enterprise"], row["amount"], row["pool_balance"])
            for row in new] == [("released", a, "91420323A", allocated["91420323A"], after_pool["balance"])]
    assert new[0]["note"] == "公示异议成立:核实上年度发生较大安全生产事故,取消支持"
    # the enterprise sees the reason
    seen = client.get(f"/api/v1/applications/{a}", headers=users["91420323A"]).json()
    assert seen["status"] == "rejected" and "安全生产事故" in seen["reason"]
    # a rejected application cannot be paid or objected to again
    assert act(client, a, dept, "object", reason="再次").status_code == 409

    # an open objection keeps D out of the payout batch; B (dismissed) is paid
    assert act(client, d, dept, "object", reason="待核实").status_code == 200
    for code, app_id in (("91420323B", b), ("91420325D", d)):
        assert act(client, app_id, users[code], "confirm", bank_account=f"6222{code[-1]}0001").status_code == 200
    batch = client.post(f"/api/v1/rounds/{round_id}/payout-batches", headers=users["finance"])
    assert batch.status_code == 201, batch.text
    assert batch.json()["applications"] == [b] and batch.json()["total"] == allocated["91420323B"]
    assert act(client, b, users["finance"], "pay", voucher="GK-1").json()["status"] == "paid"
    final_pool = pool(client, round_id, dept)
    assert final_pool["paid"] == allocated["91420323B"] and final_pool["balance"] == after_pool["balance"]
    kinds = [row["kind"] for row in ledger(client, round_id, dept)]
    assert kinds.count("released") == 1 and kinds.count("paid") == 1
    with client.app.state.engine.connect() as conn:
        assert verify(conn).ok
        assert verify_ledger(conn).ok
