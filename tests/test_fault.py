"""Fault test: SIGKILL at random points of `ingest` and `simulate`, 20 runs each.

After every kill: each output under its final name is complete (JSON parses, Parquet and
Excel open) and the SQLite policy base passes ``PRAGMA integrity_check``. After all kills,
one normal run succeeds and leaves no temporary file or working directory behind — the
killed runs' leftovers carry their (dead) pid and are swept by it.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import seeds_dir

ROOT = Path(__file__).resolve().parents[1]
HUIQI = [sys.executable, "-m", "huiqi.cli.main"]
RUNS = 20


def _env(workdir: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "HUIQI_WORKDIR": str(workdir), "TMPDIR": str(workdir)}


def _timed_run(args: list[str], env: dict[str, str]) -> float:
    """One normal run (its outputs exist before the kills start); returns its duration."""
    start = time.perf_counter()
    done = subprocess.run([*HUIQI, *args], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - start


def _delays(rng: random.Random, duration: float) -> list[float]:
    """Random kill points over a run: half anywhere, half in the last part where files are written."""
    return [duration * (rng.uniform(0.05, 1.0) if i % 2 else rng.uniform(0.6, 1.0)) for i in range(RUNS)]


def _kill_after(args: list[str], delay: float, env: dict[str, str]) -> int:
    proc = subprocess.Popen([*HUIQI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _temp_litter(*folders: Path) -> list[Path]:
    litter: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            # Our own temp names, DuckDB's tmp_ files, and Python's anonymous tempfile names (tmpXXXXXXXX).
            litter += [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(("huiqi-", "tmp_"))
                       or re.fullmatch(r"tmp[a-z0-9_]{8}", p.name)]
    return litter


def _check_db(db: Path) -> None:
    if not db.exists():
        return
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()


def _check_json_dir(out: Path) -> None:
    for f in out.glob("*.json"):
        json.loads(f.read_text("utf-8"))  # a half-written file would not parse


def test_sigkill_during_ingest(tmp_path: Path) -> None:
    rng = random.Random(13)
    work = tmp_path / "work"
    work.mkdir()
    env = _env(work)
    docs = tmp_path / "docs"
    docs.mkdir()
    for seed in sorted(seeds_dir().glob("*.txt"))[:1]:
        (docs / seed.name).write_bytes(seed.read_bytes())
    db, out = tmp_path / "p.db", tmp_path / "json"
    args = ["ingest", str(docs), "--db", str(db), "--out", str(out), "--format", "json"]
    killed = 0
    for delay in _delays(rng, _timed_run(args, env)):
        code = _kill_after(args, delay, env)
        killed += code == -signal.SIGKILL
        _check_db(db)
        _check_json_dir(out)
    assert killed >= RUNS // 4, f"only {killed} of {RUNS} runs were killed before finishing"
    done = subprocess.run([*HUIQI, *args], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    _check_db(db)
    _check_json_dir(out)
    assert len(list(out.glob("*.json"))) == 1
    assert _temp_litter(out, work) == []


def test_sigkill_during_simulate(tmp_path: Path) -> None:
    rng = random.Random(17)
    work = tmp_path / "work"
    work.mkdir()
    env = _env(work)
    pop = tmp_path / "pop.parquet"
    made = subprocess.run([*HUIQI, "synth", "--city", "十堰", "--n", "500", "--seed", "9", "--out", str(pop)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "out"
    args = ["simulate", str(pop), "--date", "2019-06-01", "--out", str(out / "r.parquet"), "--out", str(out / "r.xlsx")]
    killed = 0
    for delay in _delays(rng, _timed_run(args, env)):
        code = _kill_after(args, delay, env)
        killed += code == -signal.SIGKILL
        _check_outputs(out)
    assert killed >= RUNS // 4, f"only {killed} of {RUNS} runs were killed before finishing"
    done = subprocess.run([*HUIQI, *args], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    _check_outputs(out)
    assert (out / "r.parquet").exists() and (out / "r.xlsx").exists()
    assert _temp_litter(out, work) == []


def _check_outputs(out: Path) -> None:
    import pyarrow.parquet as pq
    from openpyxl import load_workbook

    if not out.is_dir():
        return
    for f in out.glob("*.parquet"):
        pq.read_table(f)
    for f in out.glob("*.xlsx"):
        load_workbook(f, read_only=True).close()
