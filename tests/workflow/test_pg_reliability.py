"""Reliability on PostgreSQL against uvicorn on loopback: races, a crash mid-close, 1,000 submitters."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from huiqi.store.audit import verify
from huiqi.store.db import engine_for, utc_now
from huiqi.web.auth import hash_password
from huiqi.workflow.ledger import verify_ledger
from tests.workflow.helpers import DEPARTMENT, county_profile, round_spec

pytestmark = pytest.mark.postgres


def _api(server: Any, method: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    return httpx.request(method, server.url + path, headers=headers, timeout=120, **kw)


def _setup(server: Any, n: int, **spec: Any) -> tuple[int, dict[str, dict[str, str]], list[int]]:
    """A round with ``n`` 竹山县 applications approved by county and department."""
    server.add_user("dept", "department", department=DEPARTMENT)
    server.add_user("dept2", "department", department=DEPARTMENT)
    server.add_user("zhushan", "county", region="竹山县")
    users = {u: server.token(u) for u in ("dept", "dept2", "zhushan")}
    r = _api(server, "POST", "/api/v1/rounds", users["dept"], json=round_spec(**spec))
    assert r.status_code == 201, r.text
    round_id = r.json()["id"]
    ids = []
    for i in range(n):
        code = f"9142032300{i:04d}"
        server.add_user(code, "enterprise", enterprise=code)
        users[code] = server.token(code)
        body = {"round": round_id, "profile": county_profile(f"竹山测试{i}号有限公司", "竹山县",
                                                             3_000_000 + (n - i) * 100_000, 1_000_000)}
        app = _api(server, "POST", "/api/v1/applications", users[code], json=body).json()
        for who, action in ((code, "submit"), ("zhushan", "approve")):
            r = _api(server, "POST", f"/api/v1/applications/{app['id']}/actions", users[who], json={"action": action})
            assert r.status_code == 200, r.text
        ids.append(app["id"])
    return round_id, users, ids


def test_two_reviewers_same_moment_exactly_one_wins(pg_server_factory: Any) -> None:
    server = pg_server_factory()
    server.start()
    _, users, ids = _setup(server, 3)
    for app_id in ids:
        barrier = threading.Barrier(2)
        results: list[httpx.Response] = []

        def review(who: str, action: dict[str, Any], app_id: int = app_id, barrier: threading.Barrier = barrier,
                   results: list[httpx.Response] = results) -> None:
            barrier.wait()
            results.append(_api(server, "POST", f"/api/v1/applications/{app_id}/actions", users[who], json=action))

        threads = [threading.Thread(target=review, args=("dept", {"action": "approve"})),
                   threading.Thread(target=review, args=("dept2", {"action": "reject", "reason": "材料不全"}))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert "申报当前状态为" in loser.json()["detail"][0]["msg"]
        final = _api(server, "GET", f"/api/v1/applications/{app_id}", users["dept"]).json()
        winner = next(r for r in results if r.status_code == 200).json()
        assert final["status"] == winner["status"] and final["version"] == winner["version"]
        assert [e["action"] for e in final["events"]].count("approve") + \
            [e["action"] for e in final["events"]].count("reject") == 2  # county approve + the one winner
    engine = engine_for(server.db)
    with engine.connect() as conn:
        assert verify(conn).ok
    engine.dispose()


def _close_writing(engine: sa.Engine) -> bool:
    """Another backend holds uncommitted writes to wf_events (decisions are being written)."""
    with engine.connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'wf_events' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
        )).scalar_one())


def test_sigkill_during_round_close_leaves_nothing_half_applied(pg_server_factory: Any) -> None:
    server = pg_server_factory({"HUIQI_WORKFLOW_CLOSE_PAUSE": "30"})
    server.start()
    round_id, users, ids = _setup(server, 6)
    for app_id in ids:
        r = _api(server, "POST", f"/api/v1/applications/{app_id}/actions", users["dept"], json={"action": "approve"})
        assert r.status_code == 200
    engine = engine_for(server.db)
    with engine.connect() as conn:
        pool_before = conn.execute(sa.text("SELECT balance, allocated FROM wf_pools")).one()
        audit_before = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()

    closing: list[httpx.Response] = []

    def close() -> None:
        try:
            closing.append(_api(server, "POST", f"/api/v1/rounds/{round_id}/close", users["dept"]))
        except httpx.HTTPError:
            pass  # the server dies under it

    t = threading.Thread(target=close)
    t.start()
    deadline = time.monotonic() + 60
    while not _close_writing(engine):  # half the decisions are written, uncommitted
        assert time.monotonic() < deadline, ("round close never started writing", [c.text for c in closing])
        time.sleep(0.05)
    server.kill()  # SIGKILL
    t.join()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM wf_rounds WHERE id = :i"), {"i": round_id}).scalar_one() == "open"
        assert conn.execute(sa.text("SELECT count(*) FROM wf_ledger")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT balance, allocated FROM wf_pools")).one() == pool_before
        assert conn.execute(sa.text("SELECT count(*) FROM wf_events WHERE role = 'system'")).scalar_one() == 0
        statuses = {r[0] for r in conn.execute(sa.text("SELECT status FROM wf_applications"))}
        assert statuses == {"dept_approved"}
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == audit_before
        assert verify(conn).ok
    # after a restart (without the pause) the close runs once, completely
    server.extra_env = {}
    server.start()
    r = _api(server, "POST", f"/api/v1/rounds/{round_id}/close", server.token("dept"))
    assert r.status_code == 200, r.text
    with engine.connect() as conn:
        allocated = conn.execute(sa.text("SELECT coalesce(sum(amount), 0) FROM wf_ledger WHERE kind = 'allocated'"))
        assert allocated.scalar_one() == r.json()["pool"]["allocated"] > 0
        assert verify(conn).ok and verify_ledger(conn).ok
    engine.dispose()


def _bulk_enterprises(engine: sa.Engine, n: int) -> list[tuple[str, str]]:
    """n enterprise users with bearer tokens, written directly (argon2 × 1,000 is not what is tested)."""
    from huiqi.store.schema import api_tokens, users

    password_hash = hash_password(secrets.token_hex(8))
    out = []
    with engine.begin() as conn:
        for i in range(n):
            code = f"914203000{i:05d}"
            uid = conn.execute(sa.insert(users).values(
                username=code, role="enterprise", enterprise=code, password_hash=password_hash,
                created_at=utc_now()).returning(users.c.id)).scalar_one()
            token = secrets.token_urlsafe(24)
            conn.execute(sa.insert(api_tokens).values(
                token_hash=hashlib.sha256(token.encode()).hexdigest(), user_id=uid, created_at=utc_now(),
                expires_at="2999-01-01T00:00:00+00:00"))
            out.append((code, token))
    return out


async def _submit_all(url: str, round_id: int, enterprises: list[tuple[str, str]], concurrency: int,
                      duplicates: int) -> list[tuple[str, int, int | None]]:
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=concurrency)) as c:
        async def one(code: str, token: str) -> tuple[str, int, int | None]:
            body = {"round": round_id, "profile": county_profile(f"企业{code}", "竹山县", 3_000_000, 1_000_000)}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"apply-{code}"}
            async with sem:
                for attempt in range(5):
                    try:
                        r = await c.post("/api/v1/applications", json=body, headers=headers)
                        break
                    except httpx.TransportError:
                        # A dropped keep-alive connection: retrying is safe, the key makes it idempotent.
                        if attempt == 4:
                            raise
                        await asyncio.sleep(0.2)
            return code, r.status_code, (r.json().get("id") if r.status_code < 300 else None)

        jobs = [one(code, token) for code, token in enterprises]
        jobs += [one(code, token) for code, token in enterprises[:duplicates]]  # double clicks
        return await asyncio.gather(*jobs)


def test_thousand_enterprises_submit_concurrently(pg_server_factory: Any) -> None:
    server = pg_server_factory()
    server.start()
    server.add_user("dept", "department", department=DEPARTMENT)
    r = _api(server, "POST", "/api/v1/rounds", server.token("dept"), json=round_spec())
    round_id = r.json()["id"]
    engine = engine_for(server.db)
    enterprises = _bulk_enterprises(engine, 1000)
    results = asyncio.run(_submit_all(server.url, round_id, enterprises, concurrency=64, duplicates=100))
    assert not [res for res in results if res[1] >= 500], server.log()[-3000:]
    accepted: dict[str, set[int]] = {}
    for code, status, app_id in results:
        assert status in (200, 201), (code, status)
        accepted.setdefault(code, set()).add(app_id)  # type: ignore[arg-type]
    assert len(accepted) == 1000 and all(len(v) == 1 for v in accepted.values())
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT enterprise, id FROM wf_applications WHERE round_id = :r"),
                            {"r": round_id}).all()
        assert len(rows) == 1000
        assert {code: {app_id} for code, app_id in rows} == accepted
        assert verify(conn).ok
    engine.dispose()
