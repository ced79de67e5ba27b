"""`make bench`: run every benchmark, print throughput and peak memory, and write the
figures to bench/out/latest.json (docs/benchmarks.md quotes them).

Usage: python bench/run.py [ingest] [calc] [simulate] [evaluate] [--quick] [--peers]

  (no name)   every benchmark
  --quick     smaller inputs (simulate: 100k enterprises and 1M instead of 1M and 10M)
  --peers     simulate: only the side-by-side comparison with the hand-written SQL and OpenFisca
              (two rounds back to back; ratios on wall and CPU time)
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console
from rich.table import Table


def main(argv: list[str]) -> int:
    if "--help" in argv or "-h" in argv:
        print(__doc__)
        return 0
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("-")] or ["ingest", "calc", "simulate", "evaluate", "web"]
    console = Console(width=160)
    results: list[dict[str, object]] = []
    if "ingest" in wanted:
        import ingest_bench

        results += ingest_bench.run(n=200 if quick else 1000)
    if "web" in wanted:
        import web_bench

        results += web_bench.run(seconds=5 if quick else 15)
    if "calc" in wanted:
        import calc_bench

        results += calc_bench.run(iterations=500 if quick else 5000)
    if "simulate" in wanted:
        import simulate_bench

        results += simulate_bench.run(quick=quick, peers_only="--peers" in argv)
    if "evaluate" in wanted:
        import evaluate_bench

        results += evaluate_bench.run(n=100_000 if quick else 1_000_000)
    for name in dict.fromkeys(str(r["benchmark"]) for r in results):
        rows = [r for r in results if r["benchmark"] == name]
        table = Table(title=f"benchmark: {name}")
        columns = list(dict.fromkeys(k for r in rows for k in r))
        for col in columns:
            table.add_column(col)
        for r in rows:
            table.add_row(*(str(r.get(c, "")) for c in columns))
        console.print(table)
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    payload = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}",
        "results": results,
    }
    (out / "latest.json").write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
