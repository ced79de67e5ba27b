"""Driving one engine over a population: the simulation's registry of engines (name → runner).

Every engine answers with the same result contract (docs/simulation-contract.md), either as
a DuckDB relation (reduced inside the engine's own connection) or as streamed Arrow batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from huiqi.engines.sources import SourceSpec
from huiqi.errors import HuiqiError
from huiqi.rules.packs import RuleBase

__all__ = ["ENGINES", "EngineRun", "Progress", "run_engine"]

# stage, done, total (None = unknown)
Progress = Callable[[str, int, int | None], None]


@dataclass
class EngineRun:
    """One engine run, whatever engine: its results plus the figures a benchmark prints.

    ``relation`` is set when the engine answers with a DuckDB relation: the reductions
    then run inside the engine's own connection (no conversion of the full result to
    Arrow); otherwise ``batches`` streams Arrow record batches.
    """

    engine: str
    batches: Iterator[pa.RecordBatch]
    warnings: list[str]
    rule_evaluations: int
    seconds: float
    rows: int | None = None
    keepalive: Any = None  # the engine's result object (its connection must outlive the batches)
    relation: Any = None


def _engine_batches(result: Any, batch_size: int = 1 << 19) -> Iterator[pa.RecordBatch]:
    """Arrow batches of an engine's results, streamed (the per-row result is one table)."""
    stream = getattr(result, "batches", None)
    if callable(stream):
        yield from stream(batch_size)
        return
    yield from result.arrow().to_batches(max_chunksize=batch_size)


def _run_set_based(rulebase: RuleBase, population: str | Path | SourceSpec, on: date, engine: str,
                   params: dict[str, str] | None, policies: list[str] | None, master: str | None,
                   progress: Progress | None) -> EngineRun:
    """The DuckDB or Spark engine (huiqi.engines), results streamed as Arrow batches."""
    from huiqi.engines import run_population

    kwargs: dict[str, Any] = {"engine": engine, "params": params or None, "policies": policies}
    if master:
        kwargs["master"] = master
    if progress is not None:
        # The set-based engines report progress as Chinese messages, not counts.
        kwargs["progress"] = lambda message: progress(str(message), 0, None)
    result = run_population(rulebase, population if isinstance(population, SourceSpec) else str(population),
                            on, **kwargs)
    return EngineRun(engine, _engine_batches(result), list(result.warnings), result.rule_evaluations,
                     result.seconds, result.rows, result, result.relation)


def _run_per_row(rulebase: RuleBase, population: str | Path | SourceSpec, on: date, engine: str,
                 params: dict[str, str] | None, policies: list[str] | None, master: str | None,
                 progress: Progress | None) -> EngineRun:
    """The single-case calculator in a loop (the reference; slow)."""
    from huiqi.simulation.per_row import run_per_row

    res = run_per_row(rulebase, population, on, params=params, policies=policies,
                      progress=(lambda d, t: progress("逐行计算", d, t)) if progress is not None else None)
    return EngineRun("per_row", _engine_batches(res), list(res.warnings), res.rule_evaluations,
                     res.seconds, res.rows, res)


# The registry of simulation engines (name → runner); the CLI's --engine choices come from it.
ENGINES: dict[str, Callable[..., EngineRun]] = {
    "duckdb": _run_set_based,
    "spark": _run_set_based,
    "per_row": _run_per_row,
}


def run_engine(rulebase: RuleBase, population: str | Path | SourceSpec, on: date, *, engine: str = "duckdb",
               params: dict[str, str] | None = None, policies: list[str] | None = None,
               master: str | None = None, progress: Progress | None = None) -> EngineRun:
    """Run one engine once. ``per_row`` is the single-case calculator in a loop (reference, slow)."""
    runner = ENGINES.get(engine)
    if runner is None:
        raise HuiqiError(f"未知的引擎 {engine},可选 {'、'.join(ENGINES)}", field="--engine")
    return runner(rulebase, population, on, engine, params, policies, master, progress)
