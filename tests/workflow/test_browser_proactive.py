"""免申即享 in the browser: 市人社局 uploads a social-insurance file, previews the eligible list,
confirms it as a round; the pool is allocated at once and the file can be chosen again later."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.web.conftest import PASSWORD, live_server, screenshot  # noqa: F401

DATA = Path(__file__).parent / "data" / "shiyan-social-insurance.csv"
RULE = "shiyan.stable_jobs.no_layoff"
CLAIMS = {"91420300TEST00001A": 700_000, "91420300TEST00003C": 245_000}  # 70% of 100万元 and 35万元
POOL = 800_000  # less than the 94.5万元 claimed: shared pro rata


def test_proactive_round_in_browser(live_server: Any, browser_page: Any) -> None:  # noqa: F811
    base, page = live_server.url, browser_page
    live_server.add_user("renshe", "department", department="市人社局")
    page.goto(f"{base}/login?next=/workflow")
    page.fill("#username", "renshe")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/workflow$"))
    page.click("#proactive-link")
    page.wait_for_url(re.compile(r".*/workflow/proactive$"))

    page.set_input_files("#file", str(DATA))
    page.fill("#title", "2019年稳岗补贴(免申即享)")
    page.fill("#rules", RULE)
    page.fill("#policy_date", "2019-06-01")
    page.fill("#pool_name", "失业保险基金稳岗返还")
    page.fill("#pool_amount", "80万元")
    page.fill("#pool_year", "2019")
    page.fill("#publicity_days", "0")
    page.click("#proactive-preview button[type=submit]")
    page.wait_for_selector("#eligible")
    assert page.locator(".error").count() == 0
    rows = page.locator("#eligible tbody tr")
    assert rows.count() == 2
    listed = {rows.nth(i).locator("td").nth(1).inner_text(): rows.nth(i).locator("td").nth(6).inner_text()
              for i in range(2)}
    assert listed == {"91420300TEST00001A": "70万元", "91420300TEST00003C": "24.5万元"}
    assert "合计 94.5万元" in page.inner_text("#list-h")
    screenshot(page, "workflow-proactive-preview")

    with page.expect_navigation():
        page.click("#proactive-confirm button[type=submit]")
    page.wait_for_url(re.compile(r".*/workflow/rounds/\d+$"))
    round_id = int(page.url.rsplit("/", 1)[1])

    token = httpx.post(f"{base}/api/v1/login", json={"username": "renshe", "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    info = httpx.get(f"{base}/api/v1/rounds/{round_id}", headers=headers).json()
    assert info["kind"] == "proactive" and info["status"] == "closed" and info["rules"] == [RULE]
    assert info["pool"]["amount"] == POOL and info["pool"]["allocated"] == POOL and info["pool"]["balance"] == 0
    apps = httpx.get(f"{base}/api/v1/applications", params={"round": round_id}, headers=headers).json()
    assert {a["enterprise"] for a in apps} == set(CLAIMS) and {a["status"] for a in apps} == {"awarded"}
    assert sum(a["allocated_amount"] for a in apps) == POOL
    for a in apps:
        assert 0 < a["allocated_amount"] < CLAIMS[a["enterprise"]]
    ledger = httpx.get(f"{base}/api/v1/rounds/{round_id}/ledger", headers=headers).json()
    assert sorted((r["kind"], r["enterprise"], r["amount"]) for r in ledger if r["kind"] == "decided") == \
        sorted(("decided", e, amount) for e, amount in CLAIMS.items())

    # the file is kept: it can be chosen again without uploading
    page.goto(f"{base}/workflow/proactive")
    options = page.locator("#population option").all_inner_texts()
    assert any(o.startswith(DATA.name) for o in options)
    page.select_option("#population", index=1)
    page.fill("#title", "再算一次")
    page.fill("#rules", RULE)
    page.fill("#policy_date", "2019-06-01")
    page.fill("#pool_name", "池")
    page.fill("#pool_amount", "100万元")
    page.click("#proactive-preview button[type=submit]")
    page.wait_for_selector("#eligible")
    assert page.locator("#eligible tbody tr").count() == 2

    # a list that no longer matches what was previewed is refused, and nothing is created
    before = len(httpx.get(f"{base}/api/v1/rounds", headers=headers).json())
    page.evaluate("document.querySelector('#proactive-confirm input[name=digest]').value = 'changed'")
    page.click("#proactive-confirm button[type=submit]")
    page.wait_for_selector(".error")
    assert "名单与预览时不一致" in page.inner_text(".error")
    assert len(httpx.get(f"{base}/api/v1/rounds", headers=headers).json()) == before

    # a file of the wrong type gets a located message
    bad = DATA.with_name("not-a-table.txt")
    page.set_input_files("#file", {"name": bad.name, "mimeType": "text/plain", "buffer": b"hello"})
    page.click("#proactive-preview button[type=submit]")
    page.wait_for_selector(".error")
    assert "不支持的数据文件类型 .txt" in page.inner_text(".error")
