"""亩均效益综合评价 throughput: grade a synthetic population on DuckDB.

The population (deterministic, see huiqi.evaluation.sample) is written to Parquet
first; the timed part reads it, grades every enterprise (indicators, benchmarks,
ranks, bands, special rules, consequences) and returns the Arrow table, then saves the
result to the evaluation store. Peak memory is the process's maximum RSS
(resource.getrusage), so it includes the generator and the Arrow result.

    python bench/evaluate_bench.py [N]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from huiqi.evaluation import evaluate
from huiqi.evaluation.sample import write_population


def _peak_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(n: int = 1_000_000, methods: tuple[str, ...] = ("zhejiang-county", "linhai-2022")) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="huiqi-eval-bench-") as tmp:
        population = Path(tmp) / "population.parquet"
        start = time.perf_counter()
        write_population(population, n, seed=20240501, year=2023)
        gen_seconds = time.perf_counter() - start
        for name in methods:
            start = time.perf_counter()
            ev = evaluate(population, name, year=2023, engine="duckdb")
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            ev.store(Path(tmp) / "store")
            store_seconds = time.perf_counter() - start
            rows.append({
                "benchmark": "evaluate",
                "method": name,
                "engine": "duckdb",
                "enterprises": n,
                "graded": ev.summary.graded,
                "seconds": round(seconds, 2),
                "enterprises_per_s": round(n / seconds),
                "store_seconds": round(store_seconds, 2),
                "generate_seconds": round(gen_seconds, 2),
                "peak_rss_mb": _peak_mb(),
            })
            del ev
    return rows


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for row in run(size):
        print(row)
