"""Single-enterprise calculator latency: one profile against every seed rule, in-process,
with full explanations (near misses, ask-next, citations). Reports p50/p99 per example."""

from __future__ import annotations

import resource
import statistics
import time
from datetime import date
from pathlib import Path

from huiqi.profile import load_profile
from huiqi.rules.calculator import calculate
from huiqi.rules.packs import load_packs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CASES = [
    ("linhai-machinery.yaml", date(2022, 9, 1)),
    ("binzhou-chemical.yaml", date(2022, 9, 1)),
    ("shiyan-auto-parts.yaml", date(2019, 6, 1)),
]


def run(iterations: int = 5000) -> list[dict[str, object]]:
    rulebase = load_packs()
    rows: list[dict[str, object]] = []
    for name, on in CASES:
        profile = load_profile(EXAMPLES / name, rulebase.fields)
        for _ in range(50):  # warm caches (compiled plans, lexicons)
            calculate(rulebase, profile, on=on)
        samples: list[float] = []
        for _ in range(iterations):
            start = time.perf_counter_ns()
            report = calculate(rulebase, profile, on=on)
            samples.append((time.perf_counter_ns() - start) / 1e6)
        samples.sort()
        rows.append(
            {
                "benchmark": "calc",
                "profile": name,
                "rules": len(rulebase.rules),
                "results": len(report.results),
                "iterations": iterations,
                "p50_ms": round(statistics.median(samples), 3),
                "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
                "mean_ms": round(statistics.fmean(samples), 3),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    return rows
