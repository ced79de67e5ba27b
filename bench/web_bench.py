"""Web benchmark: POST /api/v1/calc under 50 concurrent clients on loopback (1 and 2 uvicorn
workers), and the calculator page's weight.

Starts `huiqi serve` on a throwaway SQLite database, warms up, then keeps 50 requests in flight
for a fixed time and reports p50/p99 latency and calcs/s. The load generator (asyncio + httpx)
runs on the same machine and competes for its CPUs; the figures include that.

Usage: python bench/web_bench.py [--seconds 15] [--clients 50] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "examples" / "linhai-machinery.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: str, workers: int, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HUIQI_VAR_DIR": str(tmp / "var")}
    proc = subprocess.Popen([sys.executable, "-m", "huiqi.cli.main", "serve", "--db", db, "--port", str(port),
                             "--workers", str(workers), "--job-workers", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


async def load(url: str, body: dict[str, Any], clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30,
                                 headers={"Accept-Encoding": "identity"}) as client:
        # Warm every worker's caches (rule packs, field registry) before measuring.
        warm_until = time.monotonic() + warmup

        async def warm() -> None:
            while time.monotonic() < warm_until:
                try:
                    await client.post("/api/v1/calc", json=body)
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)

        await asyncio.gather(*(warm() for _ in range(clients)))
        stop = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    response = await client.post("/api/v1/calc", json=body)
                except httpx.HTTPError:
                    errors += 1
                    continue
                elapsed = time.perf_counter() - t0
                if response.status_code != 200:
                    errors += 1
                latencies.append(elapsed)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies), "errors": errors, "seconds": round(wall, 2),
        "calcs_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


def single_latency(url: str, body: dict[str, Any], n: int = 50) -> float:
    """p50 with one client and nothing else in flight: the per-calc cost without queueing."""
    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            client.post("/api/v1/calc", json=body).raise_for_status()
            times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def page_weight(url: str) -> dict[str, Any]:
    """Bytes a browser transfers for /calculator (gzip), HTML plus the CSS/JS it references."""
    with httpx.Client(base_url=url, headers={"Accept-Encoding": "gzip"}) as client:
        page = client.get("/calculator")
        html = page.num_bytes_downloaded
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        sizes = {}
        for asset in assets:
            r = client.get(asset)
            sizes[asset.split("?")[0]] = r.num_bytes_downloaded
    return {"html_bytes": html, "assets": sizes, "total_bytes": html + sum(sizes.values())}


def run(seconds: float = 15, clients: int = 50, workers: tuple[int, ...] = (1, 2)) -> list[dict[str, Any]]:
    body = {"profile": json.loads(json.dumps(yaml.safe_load(PROFILE.read_text(encoding="utf-8")), default=str)),
            "date": "2022-09-01"}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="huiqi-webbench-") as tmpdir:
        tmp = Path(tmpdir)
        db = f"sqlite:///{tmp / 'bench.db'}"
        for n in workers:
            proc, url = start_server(db, n, tmp)
            try:
                if n == workers[0]:
                    results.append({"benchmark": "web", "name": "page weight /calculator", **page_weight(url)})
                    results.append({"benchmark": "web", "name": "calc, single client", "p50_ms": single_latency(url, body)})
                figures = asyncio.run(load(url, body, clients, seconds, warmup=3))
                results.append({"benchmark": "web", "name": f"POST /api/v1/calc, {clients} clients, {n} worker(s)", **figures})
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    for row in run(args.seconds, args.clients, tuple(int(w) for w in args.workers.split(","))):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
