"""Engines and write transactions for the two supported backends.

SQLite (the embedded default) gets foreign keys, WAL and a busy timeout on every connection,
and write transactions start with ``BEGIN IMMEDIATE`` so two writers queue instead of one
failing when it upgrades a read lock. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from huiqi.errors import HuiqiError

DEFAULT_SQLITE_PATH = "var/huiqi.db"
WRITE_OPTION = "huiqi_write"


def utc_now() -> str:
    """Timestamps are ISO text in UTC, second precision: sortable and identical on both backends."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def default_url() -> str:
    return os.environ.get("HUIQI_DB") or DEFAULT_SQLITE_PATH


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def normalize_url(url: str | None) -> str:
    """A SQLAlchemy URL for a file path, ``sqlite:///…`` or ``postgresql://…``."""
    text = (url if url is not None else default_url()).strip()
    if not text:
        raise HuiqiError("未指定数据库地址", hint="给出文件路径、sqlite:///路径 或 postgresql://…")
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith("postgresql+psycopg://"):
        return text
    if text in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return "sqlite://"
    if text.startswith("sqlite:///"):
        return text
    if text.startswith("sqlite:") or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        raise HuiqiError(f"不支持的数据库地址:{redact(text)}", hint="支持 SQLite 文件路径、sqlite:///路径 与 postgresql://")
    return "sqlite:///" + str(Path(text).expanduser())


def engine_for(url: str | None = None) -> sa.Engine:
    """An engine for ``url`` (None: ``HUIQI_DB`` or the embedded ``var/huiqi.db``)."""
    full = normalize_url(url)
    if full.startswith("sqlite"):
        return _sqlite_engine(full)
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise HuiqiError("使用 PostgreSQL 需要安装 psycopg", hint="pip install 'huiqi[postgres]'") from exc
    return sa.create_engine(full, pool_pre_ping=True, future=True)


def _sqlite_engine(full: str) -> sa.Engine:
    memory = full == "sqlite://"
    if not memory:
        Path(full[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one shared in-memory database
    engine = sa.create_engine(full, **kwargs)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The driver must not open transactions behind our back: the "begin" hook does it.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, much faster
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextlib.contextmanager
def write_tx(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection inside a write transaction: committed on success, rolled back on error.

    SQLite: ``BEGIN IMMEDIATE`` (the database write lock is taken up front). PostgreSQL: a normal
    transaction; callers lock rows with ``.with_for_update()`` (a no-op on SQLite).
    """
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


def is_sqlite(engine_or_conn: sa.Engine | sa.Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"
