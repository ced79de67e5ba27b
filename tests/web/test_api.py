"""REST API against the app (httpx via TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from huiqi.store import audit
from huiqi.store.schema import audit_log

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "linhai-machinery.yaml"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "huiqi.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}, timeout=180)


def _profile_json() -> dict[str, Any]:
    # The YAML profile as JSON: money stays text ("2.3亿元"), exactly what a client would send.
    return json.loads(json.dumps(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")), default=str))


def test_healthz_checks_the_database(any_client) -> None:  # type: ignore[no-untyped-def]
    body = any_client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] in ("sqlite", "postgresql")


def test_documents_filter_search_and_detail(any_client) -> None:  # type: ignore[no-untyped-def]
    docs = any_client.get("/api/v1/documents").json()
    assert len(docs) == 5
    linhai = any_client.get("/api/v1/documents", params={"region": "临海"}).json()
    assert [d["doc_number"] for d in linhai] == ["临政发〔2022〕22号"]
    drafts = any_client.get("/api/v1/documents", params={"status": "draft"}).json()
    assert drafts and all(d["status"] == "draft" for d in drafts)
    in_force = any_client.get("/api/v1/documents", params={"in_force_on": "2023-06-01"}).json()
    assert "临政发〔2022〕22号" in [d["doc_number"] for d in in_force]
    assert "临政发〔2022〕22号" not in [d["doc_number"] for d in
                                    any_client.get("/api/v1/documents", params={"in_force_on": "2024-06-01"}).json()]
    found = any_client.get("/api/v1/documents", params={"q": "贷款贴息"}).json()
    assert 0 < len(found) < 5
    detail = any_client.get(f"/api/v1/documents/{linhai[0]['id']}").json()
    measure = next(m for m in detail["measures"] if m["path"] == ["二"] and m["label"] == "十")
    assert any(p["yuan"] == 3_000_000 and p["upper_bound"] for p in measure["provisions"])
    assert detail["targets"] and detail["script"] == "traditional"
    missing = any_client.get("/api/v1/documents/nonexistent-doc")
    assert missing.status_code == 404 and "未找到文件" in missing.json()["detail"][0]["msg"]


def test_units_targets_search(any_client) -> None:  # type: ignore[no-untyped-def]
    units = any_client.get("/api/v1/units", params={"unit": "经信局"}).json()
    assert units and all("经信局" in u["unit"] for u in units)
    assert {u["role"] for u in units} <= {"lead", "support", "member"}
    targets = any_client.get("/api/v1/targets", params={"doc": "临政发"}).json()
    assert any(t["indicator"] and t["year"] == 2023 for t in targets)
    hits = any_client.get("/api/v1/search", params={"q": "技术改造", "limit": 5}).json()
    assert 0 < len(hits) <= 5 and all("【" in h["snippet"] for h in hits)


def test_rules_and_rule_detail(client) -> None:  # type: ignore[no-untyped-def]
    rules = client.get("/api/v1/rules", params={"policy": "临政发〔2022〕22号"}).json()
    assert rules and all(r["document"] == "linhai-2022-22" for r in rules)
    detail = client.get("/api/v1/rules/linhai.tech_upgrade.major").json()
    assert detail["citation"]["clause"] == "二/十"
    assert "project.equipment_investment" in detail["fields"]
    assert client.get("/api/v1/rules/no.such.rule").status_code == 404


def test_calc_api_equals_cli_json(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = _cli("calc", str(EXAMPLE), "--date", "2022-09-01", "--format", "json",
               "--evaluations", str(tmp_path / "none"), cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    api = client.post("/api/v1/calc", json={"profile": _profile_json(), "date": "2022-09-01"})
    assert api.status_code == 200
    expected, got = json.loads(cli.stdout), api.json()
    assert got == expected
    assert got["total_granted"] == 982_000  # 98.2万元, the README's figure for this profile


def test_calc_params_and_policies_match_cli(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = _cli("calc", str(EXAMPLE), "--date", "2022-09-01", "--format", "json", "--policy", "临政发",
               "--param", "lpr_1y=3.45%", "--evaluations", str(tmp_path / "none"), cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    api = client.post("/api/v1/calc", json={"profile": _profile_json(), "date": "2022-09-01",
                                            "policies": ["临政发"], "params": {"lpr_1y": "3.45%"}})
    assert api.json() == json.loads(cli.stdout)


def test_bad_profile_is_422_with_the_cli_message(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = {"name": "甲", "enterprise": {"annual_revenu": "1亿元"}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    cli = _cli("calc", str(path), "--date", "2022-09-01", "--format", "json", cwd=tmp_path)
    assert cli.returncode == 2
    api = client.post("/api/v1/calc", json={"profile": bad, "date": "2022-09-01"})
    assert api.status_code == 422
    detail = api.json()["detail"][0]
    core = detail["msg"].split(":", 1)[1]  # the message after the location (CLI: file and line; API: profile)
    assert core in cli.stderr.replace("\n", "")
    assert detail["loc"][-1] == "enterprise.annual_revenu"
    wrong_value = client.post("/api/v1/calc", json={"profile": {"enterprise": {"annual_revenue": "很多"}}})
    assert wrong_value.status_code == 422 and "营业收入" in wrong_value.json()["detail"][0]["msg"]
    bad_date = client.post("/api/v1/calc", json={"profile": {}, "date": "2022-13-01"})
    assert bad_date.status_code == 422 and bad_date.json()["detail"][0]["msg"] == "日期格式应为 YYYY-MM-DD"


def test_upload_ingests_like_the_cli_and_is_audited(any_client, login, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    try:
        from conftest import seed_path
    except ImportError:
        from tests.conftest import seed_path  # type: ignore[no-redef]
    seed = seed_path("003")
    files = {"file": (seed.name, seed.read_bytes(), "text/plain")}
    assert any_client.post("/api/v1/documents", files=files).status_code == 401
    enterprise = login(any_client, "企业用户", "enterprise")
    assert any_client.post("/api/v1/documents", files=files, headers=enterprise).status_code == 403
    headers = login(any_client, "经信局", "department")
    first = any_client.post("/api/v1/documents", files=files, headers=headers).json()
    cli = _cli("ingest", str(seed), "--no-db", "--format", "json", cwd=tmp_path)
    expected = json.loads(cli.stdout)["documents"][0]
    got = first["documents"][0]
    assert {k: v for k, v in got.items() if k != "action"} == {k: v for k, v in expected.items() if k != "action"}
    assert got["action"] == "updated"  # the seeded base holds this text already, read from another path
    again = any_client.post("/api/v1/documents", files=files, headers=headers).json()
    assert again["documents"][0]["action"] == "unchanged"
    with any_client.app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.action == "document.ingest")).all()
        assert len(rows) == 2 and rows[0].actor == "经信局"
        assert audit.verify(conn).ok
    bad = any_client.post("/api/v1/documents", files={"file": ("x.exe", b"MZ", "application/octet-stream")},
                      headers=headers)
    assert bad.status_code == 422 and "不支持的文件类型" in bad.json()["detail"][0]["msg"]


def test_saved_profiles_need_login_and_are_audited(any_client, login) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "我的企业", "profile": _profile_json()}
    assert any_client.post("/api/v1/profiles", json=body).status_code == 401
    headers = login(any_client, "企业丙", "enterprise")
    saved = any_client.post("/api/v1/profiles", json=body, headers=headers).json()
    assert saved["name"] == "我的企业" and saved["profile"]["name"] == "临海市某机械有限公司"
    body["profile"]["enterprise"]["muju_class"] = "B"
    any_client.post("/api/v1/profiles", json=body, headers=headers)
    mine = any_client.get("/api/v1/profiles", headers=headers).json()
    assert len(mine) == 1 and mine[0]["profile"]["enterprise"]["muju_class"] == "B"
    other = login(any_client, "企业丁", "enterprise")
    assert any_client.get("/api/v1/profiles", headers=other).json() == []
    bad = any_client.post("/api/v1/profiles", json={"name": "坏", "profile": {"enterprise": {"x": 1}}}, headers=headers)
    assert bad.status_code == 422
    with any_client.app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.action == "profile.save")
                            .order_by(audit_log.c.id)).all()
    assert [r.before_json is None for r in rows] == [True, False]
    assert json.loads(rows[1].before_json)["enterprise"]["muju_class"] == "A"


def _wait(client, url: str, headers: dict[str, str], timeout: float = 120) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(url, headers=headers).json()
        if status["state"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return status  # type: ignore[no-any-return]
        time.sleep(0.3)


def test_simulation_job_runs_in_the_background(any_client, login) -> None:  # type: ignore[no-untyped-def]
    form = {"synth_city": "十堰", "synth_n": "1500", "dates": "2019-06-01"}
    assert any_client.post("/api/v1/simulations", data=form).status_code == 401
    assert any_client.post("/api/v1/simulations", data=form,
                           headers=login(any_client, "企业戊", "enterprise")).status_code == 403
    headers = login(any_client, "财政局", "finance")
    created = any_client.post("/api/v1/simulations", data=form, headers=headers)
    assert created.status_code == 202
    job = created.json()
    assert job["state"] == "queued"
    status = _wait(any_client, job["url"], headers)
    assert status["state"] == "done", status["error"]
    result = status["result"]
    assert result["enterprises"] == 1500 and result["by_rule"] and result["pools"]
    total = result["totals"]["baseline"]["exact"]
    assert isinstance(total, int) and total == sum(r["exact"] for r in result["by_rule"])
    xlsx = any_client.get(f"{job['url']}/xlsx", headers=headers)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_bad_simulation_input_is_refused_before_queueing(any_client, login) -> None:  # type: ignore[no-untyped-def]
    headers = login(any_client, "县官", "county")
    outside = any_client.post("/api/v1/simulations", data={"population_path": "/etc/passwd"}, headers=headers)
    assert outside.status_code == 422 and "var/" in outside.json()["detail"][0]["msg"]
    reform = any_client.post("/api/v1/simulations", data={"synth_city": "十堰", "synth_n": "10", "reform": "没有等号"},
                         headers=headers)
    assert reform.status_code == 422
    with any_client.app.state.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM jobs")).scalar_one() == 0


def test_evaluation_job(any_client, login, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from huiqi.evaluation.sample import write_population

    headers = login(any_client, "经信", "department")
    population = any_client.app.state.settings.var_dir / "eval.parquet"
    write_population(population, 400, year=2022)
    created = any_client.post("/api/v1/evaluations", data={"method": "linhai-2022", "year": "2022",
                                                       "population_path": str(population)}, headers=headers)
    assert created.status_code == 202, created.text
    status = _wait(any_client, created.json()["url"], headers)
    assert status["state"] == "done", status["error"]
    summary = status["result"]["summary"]
    assert summary["total"] == 400 and summary["graded"] + summary["excluded"] == 400
    unknown = any_client.post("/api/v1/evaluations", data={"method": "nope", "population_path": str(population)},
                          headers=headers)
    assert unknown.status_code == 422


def test_openapi_and_docs_page(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/calc", "/api/v1/documents", "/api/v1/simulations", "/api/v1/evaluations",
                 "/api/v1/rules/{rule_id}", "/healthz", "/api/v1/login"):
        assert path in spec["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200


@pytest.mark.parametrize("path", ["/", "/policies", "/calculator", "/units", "/targets", "/login"])
def test_public_pages_render(client, path: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200 and '<main id="main"' in page.text and 'lang="zh-CN"' in page.text


@pytest.mark.parametrize("path", ["/simulations", "/evaluations"])
def test_official_pages_need_login(client, path: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
