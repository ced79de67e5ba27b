"""Real-browser tests: the task board (department and 督查室 views) and the monthly report page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from huiqi.document import Document
from huiqi.governance.ledger_store import import_actuals, import_projects, sync_targets
from huiqi.governance.task_store import sync_document
from huiqi.store.db import engine_for, write_tx
from tests.web.conftest import ARTEFACTS, PASSWORD, SCREENSHOTS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "governance"


_SEEDED: set[str] = set()


def _seed(db: str, docs: list[Document]) -> None:
    """Tasks, targets, example actuals and projects — once per database (the live server is per module)."""
    if db in _SEEDED:
        return
    _SEEDED.add(db)
    engine = engine_for(db)
    try:
        with write_tx(engine) as conn:
            for d in docs:
                sync_document(conn, d, actor="test")
                sync_targets(conn, d, actor="test")
            import_actuals(conn, EXAMPLES / "actuals.csv", actor="test")
            import_projects(conn, EXAMPLES / "projects.xlsx", actor="test")
    finally:
        engine.dispose()


def _shot(page: Any, name: str) -> None:
    # docs/screenshots is refreshed only on request, so that a test run leaves tracked files alone.
    folders = (SCREENSHOTS, ARTEFACTS) if os.environ.get("HUIQI_SCREENSHOTS_DOCS") == "1" else (ARTEFACTS,)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))  # the first screen: docs stay small


def _login(page: Any, base: str, user: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target.split('?')[0]}*")


def test_task_board_in_the_browser(live_server: Any, browser_page: Any, seed_documents: list[Document]) -> None:
    _seed(live_server.db, seed_documents)
    live_server.add_user("jxj", "department", department="市经信局")
    live_server.add_user("dcs", "supervisor")
    page = browser_page
    _login(page, live_server.url, "jxj", "/governance/tasks")
    units = page.locator("#task-board tbody tr td:first-child").all_inner_texts()
    assert units and set(units) == {"市经信局"}
    _shot(page, "governance-board-department")
    # Report progress with an attachment on the first task; it moves to 推进中.
    page.locator("#task-board tbody a").first.click()
    page.fill("#report-text", "已召开专题会议,完成企业摸底。")
    page.set_input_files("#report-file", files=[{"name": "摸底清单.csv", "mimeType": "text/csv",
                                                 "buffer": "企业,状态\n甲公司,已摸底\n".encode()}])
    page.click("form[action$='/report'] button[type=submit]")
    page.wait_for_selector("text=已召开专题会议")
    assert page.inner_text("#task-status") == "推进中"
    assert page.locator("text=附件:摸底清单.csv").count() == 1
    page.context.clear_cookies()
    _login(page, live_server.url, "dcs", "/governance/tasks")
    assert len(set(page.locator("#task-board tbody tr td:first-child").all_inner_texts())) > 20
    page.select_option("#unit", "市经信局")
    page.click("form[action='/governance/tasks'] button[type=submit]")
    page.wait_for_url("**unit=*")
    assert set(page.locator("#task-board tbody tr td:first-child").all_inner_texts()) == {"市经信局"}
    _shot(page, "governance-board")


def test_report_page_in_the_browser(live_server: Any, browser_page: Any, seed_documents: list[Document]) -> None:
    _seed(live_server.db, seed_documents)
    live_server.add_user("dcs-report", "supervisor")  # the server is the module's: a user of its own
    page = browser_page
    _login(page, live_server.url, "dcs-report", "/governance/report?month=2023-03")
    assert "月度调度通报(2023-03)" in page.inner_text("h1")
    assert page.locator("#call-outs tbody tr").count() >= 5
    assert page.locator("svg.chart").count() == 3
    assert "2023年第一季度地区擂台" in page.inner_text("#h-regions")
    _shot(page, "governance-report")
    with page.expect_download() as download:
        page.click("text=下载 Excel")
    assert download.value.suggested_filename == "调度通报-2023-03.xlsx"
    page.goto(f"{live_server.url}/governance/targets?month=2023-03")
    page.wait_for_selector("[data-chart] svg")  # ECharts drew the trend charts
    assert page.locator("#warning-list tbody tr").count() >= 5
    _shot(page, "governance-targets")
    page.goto(f"{live_server.url}/governance/projects?month=2023-03")
    assert page.locator("#project-ledger tbody tr").count() == 50
    _shot(page, "governance-projects")
