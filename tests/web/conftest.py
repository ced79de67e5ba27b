"""Fixtures for the web platform (issue 9) and the features built on it (issues 10, 11).

- ``db_url``: a fresh SQLite file, migrated with huiqi.store.migrate.upgrade.
- ``pg_db_url``: a fresh PostgreSQL database (tests/pg_server.py), migrated.
- ``any_db_url``: parametrized over both (PostgreSQL skipped when unavailable, required in CI).
- ``client``: a TestClient on create_app (jobs run in a thread of the app).
- ``login(client, user, role, **scope) -> headers``: creates the user and returns bearer headers.
- ``live_server``: ``huiqi serve`` on 127.0.0.1:<free port> in a subprocess; yields the base URL.
- ``browser_page``: a Playwright page on Debian's /usr/bin/chromium; skipped without it, FAILS
  when HUIQI_REQUIRE_BROWSER=1.
- ``screenshot(page, name)``: var/test-artefacts/<name>.png; also docs/screenshots/ with
  HUIQI_SCREENSHOTS_DOCS=1 (how docs/web.md's screenshots are refreshed).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    import pg_server
except ImportError:  # tests/ collected as a package
    from tests import pg_server  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("HUIQI_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "docs" / "screenshots"
ARTEFACTS = ROOT / "var" / "test-artefacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]
PASSWORD = "test-password-123"

postgres_server = pg_server.postgres_server
postgres_url = pg_server.postgres_url


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    from huiqi.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    upgrade(url).dispose()
    return url


@pytest.fixture
def pg_db_url(postgres_url: str) -> str:
    from huiqi.store.migrate import upgrade

    upgrade(postgres_url).dispose()
    return postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    name = "db_url" if request.param == "sqlite" else "pg_db_url"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def seed_documents() -> list[Any]:
    """The five seed documents, ingested once per test session."""
    from huiqi.ingest.pipeline import ingest_file

    try:
        from conftest import seeds_dir
    except ImportError:
        from tests.conftest import seeds_dir  # type: ignore[no-redef]
    return [ingest_file(p) for p in sorted(seeds_dir().glob("*.txt"))]


def load_documents(url: str, documents: list[Any]) -> None:
    from huiqi.policybase import connect

    with connect(url) as pb:
        for doc in documents:
            pb.save_document(doc)


@pytest.fixture
def seeded_db_url(db_url: str, seed_documents: list[Any]) -> str:
    load_documents(db_url, seed_documents)
    return db_url


def make_settings(url: str, tmp_path: Path, **overrides: Any) -> Any:
    from huiqi.web.settings import Settings

    return Settings(db=url, var_dir=tmp_path / "var", inline_worker=True, log_json=False, **overrides)


@pytest.fixture
def app_settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HUIQI_VAR_DIR", str(tmp_path / "var"))
    return make_settings(db_url, tmp_path)


@pytest.fixture
def client(app_settings: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from huiqi.web.app import create_app

    with TestClient(create_app(app_settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def any_client(any_db_url: str, seed_documents: list[Any], tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A client on a seeded policy base, once on SQLite and once on PostgreSQL."""
    from fastapi.testclient import TestClient

    from huiqi.web.app import create_app

    monkeypatch.setenv("HUIQI_VAR_DIR", str(tmp_path / "var"))
    load_documents(any_db_url, seed_documents)
    with TestClient(create_app(make_settings(any_db_url, tmp_path)), raise_server_exceptions=False) as c:
        yield c


def create_user(engine: Any, user: str, role: str, password: str = PASSWORD, **scope: Any) -> int:
    from huiqi.store.db import write_tx
    from huiqi.web.auth import add_user

    defaults = {"county": {"region": "临海市"}, "department": {"department": "市经信局"},
                "enterprise": {"enterprise": "91331082MA0000000X"}}.get(role, {})
    with write_tx(engine) as conn:
        return add_user(conn, user, role, password, actor="test", **{**defaults, **scope})


@pytest.fixture
def login() -> Callable[..., dict[str, str]]:
    """``login(client, "alice", "finance", region=...)`` → ``{"Authorization": "Bearer …"}``."""

    def do_login(client: Any, user: str, role: str, **scope: Any) -> dict[str, str]:
        create_user(client.app.state.engine, user, role, **scope)
        response = client.post("/api/v1/login", json={"username": user, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    return do_login


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, url: str, db: str, var_dir: Path) -> None:
        self.url = url
        self.db = db
        self.var_dir = var_dir

    def add_user(self, user: str, role: str, **scope: Any) -> None:
        from huiqi.store.db import engine_for

        engine = engine_for(self.db)
        try:
            create_user(engine, user, role, **scope)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def live_server(seed_documents: list[Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per test module (starting uvicorn and a worker costs seconds), on its own database."""
    from huiqi.store.migrate import upgrade

    tmp_path = tmp_path_factory.mktemp("live")
    db_url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    upgrade(db_url).dispose()
    load_documents(db_url, seed_documents)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HUIQI_VAR_DIR": str(tmp_path / "var")}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "huiqi.cli.main", "serve", "--db", db_url, "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("huiqi serve did not start:\n" + (tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.2)
        yield LiveServer(url, db_url, tmp_path / "var")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# One browser per test module, not per session: the governance and workflow suites import this
# fixture into their own conftest, which makes a separate fixture of it there, and two live Playwright
# sync instances (or one left running while another module calls asyncio.run) cannot share a thread.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "playwright is not installed"
    if reason is not None:
        if os.environ.get("HUIQI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (HUIQI_REQUIRE_BROWSER=1) but unavailable: {reason}")
        pytest.skip(f"browser unavailable: {reason}")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save the first screen as var/test-artefacts/<name>.png; with HUIQI_SCREENSHOTS_DOCS=1 also as
    docs/screenshots/<name>.png (committed, referenced from docs/web.md). Opt-in, so that a test run
    does not modify tracked files."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)  # the first screen: readable, small files
    if os.environ.get("HUIQI_SCREENSHOTS_DOCS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(path.read_bytes())
    return path
