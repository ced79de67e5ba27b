"""Workflow tests reuse the platform fixtures (tests/web/conftest.py) and add a server on any database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import (  # noqa: F401  (fixtures)
    ROOT,
    app_settings,
    browser,
    browser_page,
    client,
    create_user,
    db_url,
    free_port,
    login,
    pg_db_url,
    postgres_server,
    postgres_url,
    seed_documents,
)


class Server:
    """``huiqi serve`` in a subprocess on a given database; can be killed and restarted."""

    def __init__(self, db: str, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.db = db
        self.tmp = tmp
        self.extra_env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, workers: int = 1) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HUIQI_VAR_DIR": str(self.tmp / "var"),
               "HUIQI_LOG_JSON": "false", **self.extra_env}
        log = (self.tmp / f"server-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "huiqi.cli.main", "serve", "--db", self.db, "--port", str(self.port),
             "--workers", str(workers), "--job-workers", "0"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("huiqi serve did not start:\n" + self.log()[-3000:])
            time.sleep(0.2)

    def log(self) -> str:
        return (self.tmp / f"server-{self.port}.log").read_text(errors="replace")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def add_user(self, user: str, role: str, **scope: Any) -> None:
        from huiqi.store.db import engine_for

        engine = engine_for(self.db)
        try:
            create_user(engine, user, role, **scope)
        finally:
            engine.dispose()

    def token(self, user: str) -> dict[str, str]:
        from tests.web.conftest import PASSWORD

        r = httpx.post(self.url + "/api/v1/login", json={"username": user, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

@pytest.fixture
def pg_server_factory(pg_db_url: str, tmp_path: Path) -> Iterator[Any]:  # noqa: F811
    servers: list[Server] = []

    def make(env: dict[str, str] | None = None) -> Server:
        s = Server(pg_db_url, tmp_path, env)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
