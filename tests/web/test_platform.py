"""The platform skeleton: migrations, audit chain, accounts, tokens, sessions + CSRF, jobs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from huiqi import jobs
from huiqi.store import audit
from huiqi.store.db import engine_for, write_tx
from huiqi.store.migrate import current_revisions, known_heads, upgrade
from huiqi.store.schema import audit_log

ROOT = Path(__file__).resolve().parents[2]


def test_upgrade_creates_every_table_and_is_idempotent(any_db_url: str) -> None:
    engine = upgrade(any_db_url)
    try:
        assert current_revisions(engine) == known_heads()
        names = set(sa.inspect(engine).get_table_names())
        for table in ("users", "sessions", "api_tokens", "audit_log", "jobs", "saved_profiles", "documents",
                      "measures", "provisions"):
            assert table in names
        upgrade(engine)  # second run: nothing to do, no error
        assert current_revisions(engine) == known_heads()
    finally:
        engine.dispose()


def test_audit_chain_detects_edit_and_delete(any_db_url: str) -> None:
    engine = engine_for(any_db_url)
    try:
        with write_tx(engine) as conn:
            for i in range(3):
                audit.record(conn, actor="甲", action="test.write", entity="thing", entity_id=str(i),
                             before=None if i == 0 else {"n": i - 1}, after={"n": i, "名称": "测试"})
        with engine.connect() as conn:
            report = audit.verify(conn)
        assert report.ok and report.checked == 3
        with write_tx(engine) as conn:
            conn.execute(sa.update(audit_log).where(audit_log.c.id == 2).values(after_json='{"n": 99}'))
        with engine.connect() as conn:
            report = audit.verify(conn)
        assert not report.ok and report.first_broken == 2 and report.checked == 1
        with write_tx(engine) as conn:
            conn.execute(sa.delete(audit_log).where(audit_log.c.id == 2))
        with engine.connect() as conn:
            assert audit.verify(conn).first_broken == 2
    finally:
        engine.dispose()


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "huiqi.cli.main", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
                          timeout=120)


def test_cli_users_add_db_upgrade_and_audit_verify(db_url: str) -> None:
    done = _cli("users", "add", "王科长", "--role", "department", "--department", "市经信局",
                "--password-stdin", "--db", db_url, stdin="long-enough-pw\n")
    assert done.returncode == 0, done.stderr
    assert "王科长" in done.stdout
    dup = _cli("users", "add", "王科长", "--role", "finance", "--password-stdin", "--db", db_url,
               stdin="long-enough-pw\n")
    assert dup.returncode == 2 and "已存在" in dup.stderr
    missing_scope = _cli("users", "add", "李", "--role", "county", "--password-stdin", "--db", db_url,
                         stdin="long-enough-pw\n")
    assert missing_scope.returncode == 2 and "--region" in missing_scope.stderr
    assert _cli("db", "upgrade", "--db", db_url).returncode == 0
    ok = _cli("audit", "verify", "--db", db_url)
    assert ok.returncode == 0 and "完好" in ok.stdout
    engine = engine_for(db_url)
    with write_tx(engine) as conn:
        conn.execute(sa.update(audit_log).values(actor="冒名"))
    engine.dispose()
    broken = _cli("audit", "verify", "--db", db_url)
    assert broken.returncode == 1 and "第 1 条" in broken.stderr


def test_login_token_me_and_roles(client, login) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/me").status_code == 401
    headers = login(client, "财政甲", "finance")
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["username"] == "财政甲" and me["role"] == "finance"
    bad = client.post("/api/v1/login", json={"username": "财政甲", "password": "wrong-password"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["msg"].endswith("用户名或密码错误")
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_failed_logins_are_rate_limited(client, login) -> None:  # type: ignore[no-untyped-def]
    login(client, "企业乙", "enterprise")
    codes = [client.post("/api/v1/login", json={"username": "企业乙", "password": f"wrong-{i}"}).status_code
             for i in range(7)]
    assert codes[:5] == [422] * 5 and codes[5:] == [429, 429]
    # Even the right password is refused while throttled.
    right = client.post("/api/v1/login", json={"username": "企业乙", "password": "test-password-123"})
    assert right.status_code == 429 and "次数过多" in right.json()["detail"]


def test_session_cookie_requires_csrf_on_writes(client, login) -> None:  # type: ignore[no-untyped-def]
    login(client, "县丙", "county")
    page = client.post("/login", data={"username": "县丙", "password": "test-password-123", "next": "/"},
                       follow_redirects=False)
    assert page.status_code == 303 and "huiqi_session" in page.cookies
    assert client.get("/api/v1/me").json()["username"] == "县丙"
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403  # no CSRF token
    home = client.get("/")
    token = home.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_every_account_write_is_audited(client, login) -> None:  # type: ignore[no-untyped-def]
    login(client, "管理丁", "admin")
    with client.app.state.engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(audit_log.c.action).order_by(audit_log.c.id))]
        assert actions == ["user.add", "token.issue"]
        assert audit.verify(conn).ok


def test_job_interrupted_is_requeued_or_failed(db_url: str) -> None:
    engine = engine_for(db_url)
    try:
        jobs.register(jobs.JobKind("test_once", lambda ctx: {}, "测试", resumable=False))
        jobs.load_kinds()
        with write_tx(engine) as conn:
            resumable = jobs.submit(conn, "evaluation", {"population": __file__, "method": "zhejiang-county"})
            once = jobs.submit(conn, "test_once", {})
        assert jobs.claim(engine, "w1")["id"] == resumable  # type: ignore[index]
        assert jobs.claim(engine, "w1")["id"] == once  # type: ignore[index]
        assert jobs.claim(engine, "w1") is None
        outcome = dict(jobs.recover(engine))
        assert outcome == {resumable: "queued", once: "failed"}
        with engine.connect() as conn:
            failed = jobs.get(conn, once)
            assert failed is not None and "无法继续" in failed["error"]
    finally:
        jobs.KINDS.pop("test_once", None)
        engine.dispose()


def test_job_runs_to_done_with_progress(db_url: str) -> None:
    engine = engine_for(db_url)
    seen: list[int] = []

    def work(ctx: jobs.JobContext) -> dict[str, object]:
        ctx.progress(0.5, "一半", force=True)
        with engine.connect() as conn:
            seen.append(jobs.get(conn, ctx.job_id)["progress"])  # type: ignore[index]
        return {"answer": ctx.params["x"] * 2}

    try:
        jobs.register(jobs.JobKind("test_double", work, "测试"))
        with write_tx(engine) as conn:
            job_id = jobs.submit(conn, "test_double", {"x": 21})
        row = jobs.claim(engine, "w")
        assert row is not None
        jobs.run_job(engine, row)
        with engine.connect() as conn:
            done = jobs.get(conn, job_id)
        assert done is not None and done["state"] == "done" and done["progress"] == 1000
        assert json.loads(done["result_json"]) == {"answer": 42} and seen == [500]
    finally:
        jobs.KINDS.pop("test_double", None)
        engine.dispose()


def test_unknown_job_kind_is_a_user_error(db_url: str) -> None:
    from huiqi.errors import HuiqiError

    engine = engine_for(db_url)
    with pytest.raises(HuiqiError, match="未知的任务类型"), write_tx(engine) as conn:
        jobs.submit(conn, "nope", {})
    engine.dispose()


def test_serve_resumes_a_job_interrupted_by_a_restart(db_url: str, tmp_path: Path) -> None:
    """A job left 'running' by a dead server is queued again by the next `huiqi serve` and finishes."""
    import os
    import time

    import httpx

    from huiqi.evaluation.sample import write_population
    from huiqi.store.schema import jobs as jobs_table

    population = tmp_path / "var" / "pop.parquet"
    population.parent.mkdir(parents=True)
    write_population(population, 200, year=2022)
    engine = engine_for(db_url)
    with write_tx(engine) as conn:
        job_id = jobs.submit(conn, "evaluation", {"population": str(population), "method": "linhai-2022",
                                                  "year": 2022, "store": False})
    assert jobs.claim(engine, "dead-server:1") is not None  # the old server took it, then died
    engine.dispose()
    port = _free_port()
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HUIQI_VAR_DIR": str(tmp_path / "var"),
           "HOME": os.environ.get("HOME", "/tmp")}
    proc = subprocess.Popen([sys.executable, "-m", "huiqi.cli.main", "serve", "--db", db_url, "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        state = None
        while time.monotonic() < deadline:
            engine = engine_for(db_url)
            with engine.connect() as conn:
                state = conn.execute(sa.select(jobs_table.c.state).where(jobs_table.c.id == job_id)).scalar_one()
            engine.dispose()
            if state in ("done", "failed"):
                break
            time.sleep(0.5)
        assert state == "done"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert f"任务 {job_id} 在上次停止时仍在运行:已重新排队" in output
    engine = engine_for(db_url)
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.entity_id == str(job_id)).order_by(audit_log.c.id))]
    engine.dispose()
    assert actions == ["job.submit", "job.recover", "job.done"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
