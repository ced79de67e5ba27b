"""`huiqi ingest` and the policy-base commands as a user runs them: bad input, exit codes,
idempotent re-ingestion, nothing half-written."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import seeds_dir

HUIQI = [sys.executable, "-m", "huiqi.cli.main"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUIQI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout


@pytest.fixture()
def bad_dir(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "empty.txt").write_bytes(b"")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 8)
    shutil.copy(seeds_dir() / "001_b4a98843751d07cb.txt", d / "good.txt")
    (d / "plain.txt").write_text("本通知请各单位认真贯彻执行,有关事项另行通知。\n", encoding="utf-8")
    return d


def test_directory_with_bad_files_processes_the_rest(bad_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    out = tmp_path / "out"
    proc = run("ingest", str(bad_dir), "--db", str(db), "--out", str(out), "--format", "json")
    assert_no_traceback(proc)
    assert proc.returncode == 1, "a failed file must show in the exit code"
    result = json.loads(proc.stdout)
    ok = {Path(d["file"]).name for d in result["documents"]}
    assert ok == {"good.txt", "plain.txt"}
    failures = "\n".join(result["failures"])
    assert "empty.txt" in failures and "文件为空" in failures
    assert "binary.txt" in failures and "二进制" in failures
    assert len(list(out.glob("*.json"))) == 2
    assert not list(out.glob(".*.tmp")), "no temp files left behind"


def test_unstructured_document_becomes_one_measure_with_warning(bad_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("ingest", str(bad_dir / "plain.txt"), "--no-db", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert [m["label"] for m in doc["measures"]] == ["全文"]
    assert any("全文" in w for w in doc["quality"]["warnings"])


def test_undecodable_bytes_are_flagged_not_dropped(tmp_path: Path) -> None:
    text = "一、总则\n1.对设备投资额500万元以上的项目给予补助。\n".encode("gb18030")
    broken = text[:10] + b"\xff\xfe\xfd" + text[10:]
    f = tmp_path / "broken.txt"
    f.write_bytes(broken)
    out = tmp_path / "out"
    proc = run("ingest", str(f), "--no-db", "--out", str(out))
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert doc["quality"]["unreadable"], "undecodable bytes must be reported"
    assert "500万元以上" in doc["text"]


def test_missing_file_is_reported(tmp_path: Path) -> None:
    proc = run("ingest", str(tmp_path / "nope.txt"), "--no-db")
    assert_no_traceback(proc)
    assert proc.returncode != 0
    assert "不存在" in proc.stderr


def test_reingest_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    seeds = seeds_dir()
    first = run("ingest", str(seeds), "--db", str(db), "--format", "json")
    assert first.returncode == 0, first.stderr
    counts = _counts(db)
    second = run("ingest", str(seeds), "--db", str(db), "--format", "json")
    assert second.returncode == 0
    assert {d["action"] for d in json.loads(second.stdout)["documents"]} == {"unchanged"}
    assert _counts(db) == counts
    assert counts["documents"] == 5


def _counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("documents", "measures", "provisions", "units", "targets")}
    finally:
        con.close()


def test_show_search_units_targets(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    assert run("ingest", str(seeds_dir()), "--db", str(db)).returncode == 0
    show = run("show", "临政发〔2022〕22号", "二/十", "--db", str(db), "--format", "json")
    assert show.returncode == 0, show.stderr
    measure = json.loads(show.stdout)
    assert measure["title"] == "加大技术改造支持力度"
    caps = [p for p in measure["provisions"] if p["kind"] == "cap"]
    assert caps and caps[0]["yuan"] == 3_000_000 and caps[0]["upper_bound"] is True

    ambiguous = run("show", "二", "--db", str(db))
    assert_no_traceback(ambiguous)

    unknown = run("show", "不存在的文件名称", "--db", str(db))
    assert unknown.returncode == 2 and "未找到" in unknown.stderr
    assert_no_traceback(unknown)

    hits = json.loads(run("search", "贷款贴息", "--db", str(db), "--format", "json").stdout)
    assert any(h["measure_key"] == "一/2" for h in hits)

    xlsx = tmp_path / "units.xlsx"
    units = run("units", "--db", str(db), "--xlsx", str(xlsx))
    assert units.returncode == 0 and xlsx.exists()
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert "责任清单" in wb.sheetnames

    targets = json.loads(run("targets", "--db", str(db), "--format", "json").stdout)
    assert any(t["indicator"].endswith("亩均税收") and t["year"] == 2023 for t in targets)


def test_schema_document_is_versioned() -> None:
    proc = run("schema", "document")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["x-schema-version"] == "1.1"
    assert "measures" in schema["properties"]
    # 1.1 added the currency of money not in 人民币 (additive)
    assert {"currency", "currency_amount"} <= set(schema["$defs"]["Provision"]["properties"])
    bad = run("schema", "nonsense")
    assert bad.returncode == 2 and "未知" in bad.stderr
