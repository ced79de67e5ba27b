"""Population simulation benchmarks (called by bench/run.py: ``run(quick) -> list[dict]``).

Cases (each in its own child process, so peak memory is the case's own — ``ru_maxrss`` of
the child, RUSAGE_SELF, reported back as JSON; the parent's RUSAGE_CHILDREN is the max):

a. ``huiqi_all_rules`` — 1,000,000 enterprises of all five seed cities × every seed rule, DuckDB
   engine, the whole ``simulate`` (engine + aggregation + fund allocation).
b. ``huiqi_10m_parquet`` — 10,000,000 enterprises streamed from Parquet (written in chunks by
   ``huiqi synth``), same pipeline, memory must stay bounded.
c. peers on the (a) population, the five representative measures (nine rules):
   ``handwritten_sql`` (bench/peers/handwritten.sql, ONE DuckDB query), ``openfisca`` (bench/peers/
   openfisca_model.py, vectorised numpy; reading the Parquet file + computing, the computing
   part reported separately), ``huiqi_five_eval`` (Huiqi's compiled SQL for those nine rules,
   aggregated by the same query as the hand-written one: like for like, nothing stored) and
   ``huiqi_five`` (the same, results stored in a table as ``huiqi simulate`` needs them). Each
   is forced to evaluate everything by aggregating its full result; Huiqi's and the
   hand-written results are compared row by row.
d. ``per_row_calculator`` — the single-case calculator in a loop on 2,000 rows, extrapolated.

Quick mode: 100,000 for (a)/(c), 1,000,000 for (b). Rule evaluations = population rows × rules
(the same numerator for all peers). The 十堰 pack ends 2020-12-31; the benchmark extends its
validity to 2023-12-31 (a reform, see ``BENCH_REFORM``) so every rule is in force on 2022-09-01.

Usage: ``python bench/simulate_bench.py [--quick] [--peers]`` or ``python bench/run.py simulate [--peers]``
(``--peers``: only the side-by-side comparison (c), two rounds back to back).
OpenFisca: ``pip install openfisca-core`` (the case is skipped, with a note, when it is missing).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("HUIQI_BENCH_DATA", HERE / "out" / "data"))
ON = date(2022, 9, 1)
SEED = 42
FIVE = ["linhai.tech_upgrade.major", "linhai.tech_upgrade.ordinary", "linhai.tech_upgrade.key_2513",
        "linhai.vertical.ab_class", "linhai.vertical.floors", "binzhou.ipo.listing", "binzhou.dcmm",
        "shiyan.tech_upgrade.smart", "shiyan.tech_upgrade.smart_county"]
BENCH_REFORM = [{"set": "shiyan-2018-draft.validity.to", "value": "2023-12-31"}]
MEMORY_LIMIT = os.environ.get("HUIQI_BENCH_MEMORY", "4GB")  # per DuckDB connection
# The 10M case must stay under 4 GB for the whole process: DuckDB's limit covers its own
# buffers only (Python, Arrow batches and DuckDB's allocations outside its pool come on top).
MEMORY_LIMIT_10M = os.environ.get("HUIQI_BENCH_MEMORY_10M", "3GB")
COLUMNS = ("benchmark", "case", "enterprises", "rows", "rules", "rule_evaluations", "seconds", "evals_per_s",
           "cpu_seconds", "peak_rss_mb", "note")


def _row(case: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"benchmark": "simulate", "case": case}
    for c in COLUMNS[2:]:
        out[c] = kw.get(c, "")
    return out


def _cpu() -> float:
    """CPU seconds of this process, all threads (user + system).

    On a machine shared with other jobs the wall time of a case depends on the others'
    load; its CPU time much less, so the ratios are also given on CPU time.
    """
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def population(n: int) -> Path:
    """All five seed cities, ``n`` enterprises, cached under bench/out/data (streamed by huiqi synth).

    The 亩均 class (``enterprise.muju_class``) is drawn from synth.yaml's own distribution
    instead of being left to an evaluation (``from_evaluation`` emptied): the peers read the
    file directly, so every column the nine rules need must be in it.
    """
    from huiqi.simulation.synth import load_synth_config, synthesize

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"all-{n}-seed{SEED}-classes.parquet"
    if not path.exists():
        started = time.perf_counter()
        config = load_synth_config().model_copy(update={"from_evaluation": []})
        s = synthesize("all", n, SEED, path, config=config)
        print(f"  合成人口 {n:,} 家企业({s.rows:,} 行)用时 {time.perf_counter() - started:.1f} 秒", flush=True)
    return path


def _rulebase(five: bool = False) -> Any:
    from huiqi.rules.packs import load_packs
    from huiqi.simulation.reform import Change, Reform, apply_reform

    rb = load_packs()
    return apply_reform(rb, Reform(name="bench", changes=[Change(**c) for c in BENCH_REFORM])).rulebase


def _pop_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


# -- cases (run in a child process) -----------------------------------------------------------------


def case_huiqi_all(n: int, label: str, memory_limit: str = MEMORY_LIMIT) -> dict[str, Any]:
    from huiqi.simulation.simulate import simulate

    path = population(n)
    rb = _rulebase()
    rows = _pop_rows(path)
    started = time.perf_counter()
    with simulate(path, rulebase=rb, dates=[ON], engine="duckdb", memory_limit=memory_limit) as res:
        total = res.totals()
        seconds = time.perf_counter() - started
        engine_s = res.engine_seconds
        phases = {k.split()[0]: round(v, 1) for k, v in res.timings.items() if k != "total"}
    evals = rows * len(rb.rules)
    return _row(label, enterprises=n, rows=rows, rules=len(rb.rules), rule_evaluations=evals,
                seconds=round(seconds, 2), evals_per_s=round(evals / seconds), peak_rss_mb=_peak_mb(),
                note=f"DuckDB memory_limit {memory_limit};引擎 {engine_s:.1f}s({evals / engine_s:,.0f}/s),其余 {seconds - engine_s:.1f}s "
                     f"{phases};可享受 {total['granted_subjects']:,} 项")


def _aggregate_sql(inner: str) -> str:
    return f"SELECT rule, status, count(*) AS n, sum(amount) AS amount FROM ({inner}) GROUP BY ALL"


def case_handwritten(n: int) -> dict[str, Any]:
    import duckdb

    path = population(n)
    rows = _pop_rows(path)
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT})
    con.execute(f"CREATE VIEW population AS SELECT *, file_row_number AS seq "
                f"FROM read_parquet('{path}', file_row_number = true)")
    sql = (HERE / "peers" / "handwritten.sql").read_text(encoding="utf-8")
    started, cpu = time.perf_counter(), _cpu()
    con.execute(_aggregate_sql(sql)).fetchall()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    evals = rows * len(FIVE)
    return _row("handwritten_sql", enterprises=n, rows=rows, rules=len(FIVE), rule_evaluations=evals,
                seconds=round(seconds, 3), evals_per_s=round(evals / seconds), cpu_seconds=round(cpu, 2),
                peak_rss_mb=_peak_mb(),
                note="一条手写 DuckDB SQL(含读取 Parquet)")


def case_huiqi_five(n: int) -> dict[str, Any]:
    from huiqi.engines import run_population

    path = population(n)
    rows = _pop_rows(path)
    rb = _rulebase()
    started, cpu = time.perf_counter(), _cpu()
    res = run_population(rb, str(path), ON, engine="duckdb", policies=FIVE, memory_limit=MEMORY_LIMIT)
    res.relation.query("results", _aggregate_sql("SELECT * FROM results")).fetchall()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    evals = rows * len(FIVE)
    note = f"引擎 {res.seconds:.2f}s;" + _compare_with_handwritten(res, path)
    return _row("huiqi_five", enterprises=n, rows=rows, rules=len(FIVE), rule_evaluations=evals,
                seconds=round(seconds, 3), evals_per_s=round(evals / seconds), cpu_seconds=round(cpu, 2),
                peak_rss_mb=_peak_mb(), note=note)


def case_huiqi_five_eval(n: int) -> dict[str, Any]:
    from huiqi.engines import run_population

    path = population(n)
    rows = _pop_rows(path)
    rb = _rulebase()
    started, cpu = time.perf_counter(), _cpu()
    res = run_population(rb, str(path), ON, engine="duckdb", policies=FIVE, memory_limit=MEMORY_LIMIT, store="view")
    res.relation.query("results", _aggregate_sql("SELECT * FROM results")).fetchall()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    evals = rows * len(FIVE)
    phases = " ".join(f"{k} {v:.2f}s" for k, v in res.timings.items())
    return _row("huiqi_five_eval", enterprises=n, rows=rows, rules=len(FIVE), rule_evaluations=evals,
                seconds=round(seconds, 3), evals_per_s=round(evals / seconds), cpu_seconds=round(cpu, 2),
                peak_rss_mb=_peak_mb(),
                note=f"编译后的 SQL 直接汇总(含读取 Parquet、编译、准备),不保存结果行,与手写 SQL 同口径;{phases}")


def _compare_with_handwritten(res: Any, path: Path) -> str:
    """Row-by-row agreement of Huiqi's engine and the handwritten query (status and amount)."""
    con = res.con
    sql = (HERE / "peers" / "handwritten.sql").read_text(encoding="utf-8")
    con.execute(f"CREATE OR REPLACE TEMP VIEW population_hw AS SELECT *, file_row_number AS seq "
                f"FROM read_parquet('{path}', file_row_number = true)")
    hw = sql.replace("FROM population", "FROM population_hw")
    diff = con.execute(f"""
        WITH h AS ({hw}), r AS (SELECT id, project_id, rule, status, amount FROM {res.table}
                                WHERE NOT (project_id IS NULL AND rule NOT IN ('binzhou.ipo.listing', 'binzhou.dcmm')))
        SELECT count(*) FROM h FULL JOIN r ON h.id = r.id AND h.rule = r.rule
                                          AND h.project_id IS NOT DISTINCT FROM r.project_id
        WHERE h.status IS DISTINCT FROM r.status OR h.amount IS DISTINCT FROM r.amount""").fetchall()[0][0]
    return f"与手写 SQL 逐行比对:{'完全一致' if diff == 0 else f'{diff} 行不一致'}"


def case_openfisca(n: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE / "peers"))
    try:
        import openfisca_model as om
    except ImportError as exc:  # openfisca-core is a benchmark-only dependency
        return _row("openfisca", enterprises=n, note=f"未安装 openfisca-core,跳过({exc})")
    path = population(n)
    t0 = time.perf_counter()
    arrays = om.load_arrays(str(path))
    load_s = time.perf_counter() - t0
    tbs = om.FiveMeasures()
    rows = len(arrays["ent_index"][0])
    started, cpu = time.perf_counter(), _cpu()
    out = om.simulate(tbs, arrays, ON.year)
    compute_s, cpu = time.perf_counter() - started, _cpu() - cpu
    granted = sum(int((st == om.GRANTED).sum()) for st, _ in out.values())
    evals = rows * len(FIVE)
    seconds = load_s + compute_s  # like the SQL peers, reading the Parquet file is part of the run
    return _row("openfisca", enterprises=n, rows=rows, rules=len(FIVE), rule_evaluations=evals,
                seconds=round(seconds, 3), evals_per_s=round(evals / seconds), cpu_seconds=round(cpu, 2),
                peak_rss_mb=_peak_mb(),
                note=f"读入 {load_s:.2f}s + 计算 {compute_s:.2f}s(只计计算 {evals / compute_s:,.0f}/s);"
                     f"可享受 {granted:,} 项")


def case_per_row(n: int, sample: int = 2000) -> dict[str, Any]:
    from huiqi.simulation.per_row import run_per_row

    path = population(n)
    rb = _rulebase()
    started = time.perf_counter()
    res = run_per_row(rb, path, ON, limit=sample)
    seconds = time.perf_counter() - started
    evals = res.population_rows * len(rb.rules)
    rate = evals / seconds
    full_rows = _pop_rows(path)
    return _row("per_row_calculator", enterprises=res.enterprises, rows=res.population_rows, rules=len(rb.rules),
                rule_evaluations=evals, seconds=round(seconds, 2), evals_per_s=round(rate), peak_rss_mb=_peak_mb(),
                note=f"外推 {full_rows:,} 行 × {len(rb.rules)} 条规则约需 {full_rows * len(rb.rules) / rate / 3600:.1f} 小时")


CASES = {
    "huiqi_all_rules": lambda n: case_huiqi_all(n, "huiqi_all_rules"),
    "huiqi_10m_parquet": lambda n: case_huiqi_all(n, "huiqi_10m_parquet", MEMORY_LIMIT_10M),
    "handwritten_sql": case_handwritten,
    "huiqi_five": case_huiqi_five,
    "huiqi_five_eval": case_huiqi_five_eval,
    "openfisca": case_openfisca,
    "per_row_calculator": case_per_row,
}


def _child(case: str, n: int) -> dict[str, Any]:
    """Run one case in a fresh interpreter; its own peak RSS comes back in the JSON."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--case", case, "--n", str(n)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")})
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return _row(case, enterprises=n, seconds=round(time.perf_counter() - started, 1),
                    note="失败:" + " | ".join(tail))
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            return dict(json.loads(line))
    return _row(case, enterprises=n, note="没有结果")


def run(quick: bool = False, peers_only: bool = False, rounds: int = 2) -> list[dict[str, Any]]:
    """All cases; ``peers_only``: only (c), the side-by-side comparison.

    The peers run back to back, ``rounds`` times (hand-written, Huiqi, OpenFisca, …): on a
    shared machine the load changes from minute to minute, so each round's ratios are taken
    from cases run next to each other, on wall time and on CPU time.
    """
    n_main = 100_000 if quick else 1_000_000
    n_big = 1_000_000 if quick else 10_000_000
    for n in sorted({n_main} if peers_only else {n_main, n_big}):
        population(n)  # build the data once, outside the timed children
    rows: list[dict[str, Any]] = []
    if not peers_only:
        rows += [_child("huiqi_all_rules", n_main), _child("huiqi_10m_parquet", n_big)]
    for k in range(rounds):
        hw, five, of = _child("handwritten_sql", n_main), _child("huiqi_five_eval", n_main), _child("openfisca", n_main)
        stored = _child("huiqi_five", n_main)
        rows += [hw, five, of, stored]
        rows.append(_row("ratios", note=f"第{k + 1}轮(背靠背):" + _ratios(hw, five, of, stored)))
    if not peers_only:
        pr = _child("per_row_calculator", n_main)
        rows.append(pr)
        by = {r["case"]: r for r in rows}
        rows.append(_row("ratios", note=f"Huiqi全部规则/逐行计算器 {_ratio(by.get('huiqi_all_rules', {}), pr)}"))
    children = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    rows.append(_row("max_child_rss", peak_rss_mb=children, note="RUSAGE_CHILDREN:所有子进程中最大的常驻内存"))
    rows.append(_row("load", note="运行结束时的平均负载(1/5/15 分钟):" + " ".join(f"{x:.2f}" for x in os.getloadavg())))
    return rows


def _ratio(a: dict[str, Any], b: dict[str, Any], key: str = "evals_per_s") -> str:
    x, y = a.get(key), b.get(key)
    if key == "cpu_seconds":  # less CPU is faster: the ratio of speeds is the inverse
        x, y = y, x
    return f"{x / y:.2f}x" if isinstance(x, int | float) and isinstance(y, int | float) and y else "n/a"


def _ratios(hw: dict[str, Any], five: dict[str, Any], of: dict[str, Any], stored: dict[str, Any]) -> str:
    of_compute = {"evals_per_s": _compute_rate(of)}
    return (f"Huiqi/手写SQL {_ratio(five, hw)}(CPU 时间 {_ratio(five, hw, 'cpu_seconds')};目标 ≥ 0.67x,"
            f"即慢不超过1.5倍;保存结果行时 {_ratio(stored, hw)});"
            f"Huiqi/OpenFisca 含读入 {_ratio(five, of)},只计 OpenFisca 的计算 {_ratio(five, of_compute)}"
            f"(目标 > 1x;CPU 时间 {_ratio(five, of, 'cpu_seconds')})")


def _compute_rate(row: dict[str, Any]) -> float | None:
    """OpenFisca's computing-only rate, from its note (reading the file excluded)."""
    import re

    found = re.search(r"只计计算 ([\d,]+)/s", str(row.get("note", "")))
    return float(found.group(1).replace(",", "")) if found else None


def main(argv: list[str]) -> int:
    if "--case" in argv:
        case = argv[argv.index("--case") + 1]
        n = int(argv[argv.index("--n") + 1])
        print(json.dumps(CASES[case](n), ensure_ascii=False), flush=True)
        return 0
    quick = "--quick" in argv
    for r in run(quick, peers_only="--peers" in argv):
        print(json.dumps(r, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
