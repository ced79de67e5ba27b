"""A throwaway PostgreSQL cluster for the test session.

Import the fixtures into a test module (``postgres_server``, ``postgres_url``). Order of
preference:

1. ``HUIQI_PG_URL`` (e.g. ``postgresql://user@host:5432/postgres``): use that server; the
   role needs CREATEDB. Each test gets its own database, dropped afterwards.
2. Otherwise find ``initdb``/``pg_ctl`` (``HUIQI_PG_BIN``, /usr/lib/postgresql/<newest>/bin,
   /usr/local/pgsql/bin, /usr/local/bin, PATH), ``initdb`` a cluster in a temp dir
   (trust auth, UTF8, C locale, fsync off), start it on a free 127.0.0.1 port with its
   unix socket in the same temp dir, and stop + delete it at session end. PostgreSQL
   refuses to run as root, so under root the server runs as the existing ``postgres``
   (or ``nobody``) user via ``subprocess``'s ``user=``/``group=``; no user is created.
3. Neither: the PostgreSQL tests are skipped, or fail when HUIQI_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

_REQUIRE_ENV = "HUIQI_REQUIRE_POSTGRES"
_SUPERUSER = "huiqi"


def _unavailable(reason: str) -> None:
    if os.environ.get(_REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL required ({_REQUIRE_ENV}=1) but unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, newest major version first."""
    candidates: list[str] = []
    if os.environ.get("HUIQI_PG_BIN"):
        candidates.append(os.environ["HUIQI_PG_BIN"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += ["/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"]
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).parent))
    for c in candidates:
        d = Path(c)
        if all(os.access(d / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A server the tests may create databases on; ``admin_url`` points at its postgres db."""

    admin_url: str
    _stop: Any = field(default=None, repr=False)

    def url_for(self, dbname: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{dbname}"))

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        name = f"huiqi_test_{uuid.uuid4().hex[:12]}"
        self._admin(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


class _Cluster:
    """initdb + pg_ctl in a temp dir, run as an unprivileged user when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.tmp = Path(tempfile.mkdtemp(prefix="huiqi-pg-"))
        self.data = self.tmp / "data"
        self.log = self.tmp / "server.log"
        self.run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    self.run_as = pwd.getpwnam(name)
                    break
            if self.run_as is None:
                raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run the server as")
            os.chown(self.tmp, self.run_as.pw_uid, self.run_as.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self.run_as is not None:
            kwargs = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid, "extra_groups": []}
        env = {**os.environ, "HOME": str(self.tmp), "LC_ALL": "C", "PGTZ": "UTC"}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def start(self) -> PgServer:
        res = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            _SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        if res.returncode != 0:
            raise RuntimeError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        last_error = ""
        for _attempt in range(3):  # the free port may be taken between probing and binding
            port = _free_port()
            opts = (
                f"-p {port} -k {self.tmp} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            res = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start"
            )
            if res.returncode == 0:
                return PgServer(f"postgresql://{_SUPERUSER}@127.0.0.1:{port}/postgres", _stop=self.stop)
            last_error = self._log_tail() or res.stderr.strip()
        raise RuntimeError(f"pg_ctl start failed: {last_error}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def start_server() -> PgServer:
    """Start a private cluster; raises RuntimeError with the reason when impossible."""
    bindir = find_pg_bin()
    if bindir is None:
        raise FileNotFoundError(
            "initdb/pg_ctl not found (looked in HUIQI_PG_BIN, /usr/lib/postgresql/*/bin, /usr/local/bin, PATH)"
        )
    cluster = _Cluster(bindir)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed")
    external = os.environ.get("HUIQI_PG_URL")
    if external:
        yield PgServer(external)
        return
    try:
        server = start_server()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        _unavailable(str(exc))
        raise  # unreachable: _unavailable skips or fails
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PgServer) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url_for(name)
    finally:
        postgres_server.drop_database(name)
