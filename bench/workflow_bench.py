"""Workflow: N enterprises create an application at the same time against uvicorn on loopback
(PostgreSQL), each with an Idempotency-Key, plus double clicks. Reports throughput and
p50/p95 latency, and checks every accepted application is stored exactly once.

    PYTHONPATH=src python bench/workflow_bench.py [--n 1000] [--concurrency 64] [--db postgresql://…]

Without --db (or HUIQI_PG_URL) a throwaway PostgreSQL cluster is started (tests/pg_server.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.workflow.conftest import Server  # noqa: E402
from tests.workflow.helpers import DEPARTMENT, county_profile, round_spec  # noqa: E402
from tests.workflow.test_pg_reliability import _bulk_enterprises  # noqa: E402


async def _drive(url: str, round_id: int, enterprises: list[tuple[str, str]], concurrency: int,
                 duplicates: int) -> tuple[list[float], list[tuple[str, int, int | None]], float]:
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=concurrency)) as c:
        async def one(code: str, token: str) -> tuple[str, int, int | None]:
            body = {"round": round_id, "profile": county_profile(f"企业{code}", "竹山县", 3_000_000, 1_000_000)}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"apply-{code}"}
            async with sem:
                for attempt in range(5):
                    start = time.perf_counter()
                    try:
                        r = await c.post("/api/v1/applications", json=body, headers=headers)
                        break
                    except httpx.TransportError:
                        if attempt == 4:
                            raise
                latencies.append(time.perf_counter() - start)
            return code, r.status_code, (r.json().get("id") if r.status_code < 300 else None)

        started = time.perf_counter()
        jobs = [one(code, token) for code, token in enterprises]
        jobs += [one(code, token) for code, token in enterprises[:duplicates]]
        results = await asyncio.gather(*jobs)
        return latencies, results, time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--duplicates", type=int, default=100)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--db", default=os.environ.get("HUIQI_PG_URL"))
    args = ap.parse_args()
    cluster = None
    db = args.db
    if db is None:
        from tests.pg_server import start_server

        cluster = start_server()
        db = cluster.url_for(cluster.create_database())
    from huiqi.store.db import engine_for
    from huiqi.store.migrate import upgrade

    upgrade(db).dispose()
    tmp = Path(tempfile.mkdtemp(prefix="huiqi-wf-bench-"))
    server = Server(db, tmp)
    try:
        server.start(workers=args.workers)
        server.add_user("dept", "department", department=DEPARTMENT)
        r = httpx.post(server.url + "/api/v1/rounds", json=round_spec(), headers=server.token("dept"), timeout=60)
        round_id = r.json()["id"]
        engine = engine_for(db)
        enterprises = _bulk_enterprises(engine, args.n)
        latencies, results, seconds = asyncio.run(_drive(server.url, round_id, enterprises, args.concurrency,
                                                         args.duplicates))
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM wf_applications WHERE round_id = :r"),
                                  {"r": round_id}).scalar_one()
        engine.dispose()
    finally:
        server.stop()
        if cluster is not None:
            cluster.stop()
    errors = sum(1 for _, status, _ in results if status >= 300)
    latencies.sort()
    requests = len(results)
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"| {args.n} enterprises + {args.duplicates} double clicks, {args.concurrency} concurrent, "
          f"{args.workers} uvicorn worker(s) | {requests} | {requests / seconds:.1f} req/s | "
          f"{statistics.median(latencies) * 1000:.0f} ms | {p(0.95):.0f} ms | {stored} stored, {errors} errors |")
    return 0 if stored == args.n and errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
