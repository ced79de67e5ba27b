"""Ingestion throughput: MB/s and documents/s per core, and peak memory.

The corpus is >= 1,000 documents derived from the seeds: each copy renumbers money,
dates and counts and varies the boilerplate so that every document is distinct
(distinct ids, no cache hits), while keeping the genre's layout.
"""

from __future__ import annotations

import os
import random
import re
import resource
import tempfile
import time
from pathlib import Path

from huiqi.ingest.pipeline import discover, ingest_many

SEEDS = Path(os.environ.get("HUIQI_SEEDS", Path(__file__).resolve().parents[2] / "shared" / "seeds"))


def _vary(text: str, rng: random.Random, index: int) -> str:
    def bump(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return str(max(1, number + rng.randint(-number // 3, number // 3 + 1))) + match.group(2)

    varied = re.sub(r"(\d{2,5})(万元|亿元|元|家|个|亩)", bump, text)
    return f"{varied}\n(第{index}号样本)\n"


def build_corpus(target: Path, n: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    seeds = sorted(SEEDS.glob("*.txt"))
    if not seeds:
        raise SystemExit(f"种子目录不存在或为空:{SEEDS}")
    originals = [(p, p.read_bytes()) for p in seeds]
    total = 0
    for i in range(n):
        path, raw = originals[i % len(originals)]
        text = _vary(raw.decode("utf-8"), rng, i)
        # A third of the corpus is saved as GB18030, as many government sites still do.
        data = text.encode("gb18030") if i % 3 == 1 else text.encode("utf-8")
        (target / f"{i:05d}_{path.stem}.txt").write_bytes(data)
        total += len(data)
    return total


def run(n: int = 1000, jobs_list: tuple[int, ...] = (1, 0)) -> list[dict[str, float | int | str]]:
    rows: list[dict[str, float | int | str]] = []
    with tempfile.TemporaryDirectory(prefix="huiqi-bench-") as tmp:
        corpus = Path(tmp)
        total_bytes = build_corpus(corpus, n)
        files = list(discover([corpus]))
        for jobs in jobs_list:
            workers = os.cpu_count() or 1 if jobs == 0 else jobs
            start = time.perf_counter()
            ok = failed = 0
            for outcome in ingest_many(files, jobs=workers):
                if outcome.document is None:
                    failed += 1
                else:
                    ok += 1
            elapsed = time.perf_counter() - start
            peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            rows.append(
                {
                    "benchmark": "ingest",
                    "documents": len(files),
                    "ok": ok,
                    "failed": failed,
                    "megabytes": round(total_bytes / 1e6, 2),
                    "jobs": workers,
                    "seconds": round(elapsed, 2),
                    "mb_per_s": round(total_bytes / 1e6 / elapsed, 3),
                    "mb_per_s_per_core": round(total_bytes / 1e6 / elapsed / workers, 3),
                    "docs_per_s": round(len(files) / elapsed, 1),
                    "docs_per_s_per_core": round(len(files) / elapsed / workers, 1),
                    "peak_rss_mb": round(max(peak_self, peak_children), 1),
                }
            )
    return rows
