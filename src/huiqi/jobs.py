"""Persistent background jobs: a job is a row, not a thread.

``submit`` inserts a queued row in the caller's transaction. A worker (``huiqi worker``,
started by ``huiqi serve``; or a thread inside the app for tests) claims the oldest queued
job — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite — runs the
registered function for its kind, and writes progress (per mille), the result or the error.

A job found ``running`` when a server starts was interrupted: a resumable kind is queued again
(its function starts over from its parameters), any other kind is marked failed with the
reason. Nothing is lost silently.

Kinds are registered in :data:`KINDS` by the modules listed in :data:`KIND_MODULES` (one line
per feature: ``simulation`` and ``evaluation`` in huiqi.jobkinds; workflow may add ``round_close``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from huiqi.errors import HuiqiError
from huiqi.store import audit
from huiqi.store.db import utc_now, write_tx
from huiqi.store.schema import jobs

log = logging.getLogger("huiqi.jobs")

MAX_ATTEMPTS = 3
STALE_AFTER = timedelta(minutes=10)  # no heartbeat for this long: the worker died


class JobCancelled(Exception):
    """Raised inside a job function when its row was cancelled."""


@dataclass
class JobContext:
    """What a job function gets: its parameters and a way to report progress."""

    engine: sa.Engine
    job_id: int
    params: dict[str, Any]
    owner: str | None
    attempt: int
    _last_write: float = 0.0

    def progress(self, fraction: float, message: str = "", *, force: bool = False) -> None:
        """Record progress in [0, 1]; writes at most twice a second unless forced."""
        now = time.monotonic()
        if not force and now - self._last_write < 0.5:
            return
        self._last_write = now
        permille = max(0, min(1000, int(fraction * 1000)))
        with write_tx(self.engine) as conn:
            state = conn.execute(sa.select(jobs.c.state).where(jobs.c.id == self.job_id)).scalar_one()
            if state == "cancelled":
                raise JobCancelled
            conn.execute(
                sa.update(jobs)
                .where(jobs.c.id == self.job_id)
                .values(progress=permille, message=message[:500], heartbeat_at=utc_now())
            )


JobFunction = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    run: JobFunction
    label: str
    resumable: bool = True  # safe to start over after an interruption
    validate: Callable[[dict[str, Any]], None] | None = None


KINDS: dict[str, JobKind] = {}
KIND_MODULES: list[str] = [
    "huiqi.jobkinds",
]


def load_kinds() -> dict[str, JobKind]:
    import importlib

    for module in KIND_MODULES:
        importlib.import_module(module)
    return KINDS


def register(kind: JobKind) -> None:
    KINDS[kind.name] = kind


def submit(conn: sa.Connection, kind: str, params: dict[str, Any], *, owner: str | None = None) -> int:
    """Queue a job in the caller's transaction (audited); returns its id."""
    spec = load_kinds().get(kind)
    if spec is None:
        raise HuiqiError(f"未知的任务类型 {kind}", field="kind")
    if spec.validate is not None:
        spec.validate(params)
    payload = json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)
    job_id = conn.execute(
        sa.insert(jobs)
        .values(kind=kind, params_json=payload, state="queued", progress=0, message="排队中",
                owner=owner, created_at=utc_now())
        .returning(jobs.c.id)
    ).scalar_one()
    audit.record(conn, actor=owner, action="job.submit", entity="job", entity_id=str(job_id),
                 before=None, after={"kind": kind, "params": params})
    return int(job_id)


def get(conn: sa.Connection, job_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return dict(row) if row is not None else None


def cancel(conn: sa.Connection, job_id: int, *, actor: str | None) -> bool:
    row = get(conn, job_id)
    if row is None or row["state"] not in ("queued", "running"):
        return False
    conn.execute(sa.update(jobs).where(jobs.c.id == job_id)
                 .values(state="cancelled", message="已取消", finished_at=utc_now()))
    audit.record(conn, actor=actor, action="job.cancel", entity="job", entity_id=str(job_id),
                 before={"state": row["state"]}, after={"state": "cancelled"})
    return True


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim(engine: sa.Engine, worker: str) -> dict[str, Any] | None:
    """Take the oldest queued job for ``worker``; None when the queue is empty."""
    with write_tx(engine) as conn:
        query = sa.select(jobs).where(jobs.c.state == "queued").order_by(jobs.c.id).limit(1)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        now = utc_now()
        conn.execute(
            sa.update(jobs).where(jobs.c.id == row["id"])
            .values(state="running", worker=worker, started_at=now, heartbeat_at=now,
                    attempts=jobs.c.attempts + 1, message="运行中")
        )
        return {**row, "attempts": row["attempts"] + 1}


def _finish(engine: sa.Engine, job_id: int, **values: Any) -> None:
    with write_tx(engine) as conn:
        state = conn.execute(sa.select(jobs.c.state).where(jobs.c.id == job_id)).scalar_one()
        if state == "cancelled":
            return
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(finished_at=utc_now(), **values))
        audit.record(conn, actor=None, action=f"job.{values['state']}", entity="job", entity_id=str(job_id),
                     before={"state": state}, after={"state": values["state"], "error": values.get("error")})


def run_job(engine: sa.Engine, row: dict[str, Any]) -> None:
    """Run one claimed job to its end state."""
    spec = load_kinds().get(row["kind"])
    if spec is None:
        _finish(engine, row["id"], state="failed", error=f"未知的任务类型 {row['kind']}", message="失败")
        return
    ctx = JobContext(engine, row["id"], json.loads(row["params_json"]), row["owner"], row["attempts"])
    try:
        result = spec.run(ctx)
    except JobCancelled:
        return
    except HuiqiError as exc:
        _finish(engine, row["id"], state="failed", error=str(exc), message="失败")
        return
    except Exception as exc:  # a bug must fail the job visibly, never kill the worker
        log.exception("job %s failed", row["id"])
        _finish(engine, row["id"], state="failed", error=f"内部错误:{type(exc).__name__}: {exc}", message="失败")
        return
    _finish(engine, row["id"], state="done", progress=1000, message="完成",
            result_json=json.dumps(result, ensure_ascii=False, default=str))


def recover(engine: sa.Engine, *, stale_only: bool = False) -> list[tuple[int, str]]:
    """Jobs left ``running`` by a dead worker: queued again when resumable, else failed.

    At server start every running job is interrupted (``stale_only=False``); while serving only
    those without a heartbeat for :data:`STALE_AFTER`.
    """
    outcome: list[tuple[int, str]] = []
    cutoff = (datetime.now(UTC) - STALE_AFTER).replace(microsecond=0).isoformat()
    with write_tx(engine) as conn:
        query = sa.select(jobs).where(jobs.c.state == "running")
        if stale_only:
            query = query.where(jobs.c.heartbeat_at < cutoff)
        for row in conn.execute(query.with_for_update()).mappings().all():
            spec = load_kinds().get(row["kind"])
            values: dict[str, Any]
            if spec is not None and spec.resumable and row["attempts"] < MAX_ATTEMPTS:
                values = {"state": "queued", "message": "服务重启,任务重新排队", "progress": 0}
            else:
                values = {"state": "failed", "message": "失败", "finished_at": utc_now(),
                          "error": "服务中断时任务正在运行,无法继续(已达重试次数或该类任务不可重跑)"}
            conn.execute(sa.update(jobs).where(jobs.c.id == row["id"]).values(**values))
            audit.record(conn, actor=None, action="job.recover", entity="job", entity_id=str(row["id"]),
                         before={"state": "running"}, after={"state": values["state"]})
            outcome.append((int(row["id"]), str(values["state"])))
    return outcome


def run_worker(engine: sa.Engine, stop: threading.Event, *, poll: float = 0.5) -> None:
    """Claim and run jobs until ``stop`` is set."""
    load_kinds()
    name = worker_name()
    last_sweep = 0.0
    while not stop.is_set():
        if time.monotonic() - last_sweep > 60:
            recover(engine, stale_only=True)
            last_sweep = time.monotonic()
        row = claim(engine, name)
        if row is None:
            stop.wait(poll)
            continue
        run_job(engine, row)
