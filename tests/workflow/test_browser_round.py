"""A whole 十堰 round in the browser: opening → five enterprises apply → 初审 → 审核 → close → 公示 → 拨付.

Roles: 主管部门 (市经信委), 县(市)经信部门 (竹山县, 房县), 财政, and five enterprises.
Screenshots go to docs/screenshots/workflow-*.png.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.conftest import PASSWORD, live_server, screenshot  # noqa: F401
from tests.workflow.helpers import DEPARTMENT, PDF, SMART_COUNTY

ENTERPRISES = [  # user, name, county, equipment, smart
    ("e1", "竹山甲新材料有限公司", "竹山县", "900万元", "500万元"),
    ("e2", "竹山乙绿色食品有限公司", "竹山县", "700万元", "200万元"),
    ("e3", "竹山丙建材有限公司", "竹山县", "400万元", "100万元"),
    ("e4", "房县丁机械有限公司", "房县", "600万元", "300万元"),
    ("e5", "房县戊食品有限公司", "房县", "300万元", "300万元"),
]


def shot(page: Any, name: str) -> None:
    """A full-page screenshot, then a reload: after a full-page capture Chromium here ignored the next click."""
    screenshot(page, name)
    page.reload()


def login(page: Any, base: str, user: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login?next=/workflow")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/workflow$"))


def act_all(page: Any, base: str, round_id: int, action: str, extra: dict[str, str] | None = None) -> int:
    """Click ``action`` on every row that offers it; returns how many were clicked."""
    page.goto(f"{base}/workflow/rounds/{round_id}")
    done = 0
    while True:
        forms = page.locator(f"form.action-form[data-action={action}]")
        if forms.count() == 0:
            return done
        form = forms.first
        for name, value in (extra or {}).items():
            form.locator(f"input[name={name}]").fill(value + (str(done) if name == "voucher" else ""))
        form.locator("button").click()
        page.wait_for_load_state()
        assert page.locator(".error").count() == 0, page.locator(".error").inner_text()
        done += 1


def test_whole_shiyan_round_in_browser(live_server: Any, browser_page: Any) -> None:  # noqa: F811
    base, page = live_server.url, browser_page
    live_server.add_user("jingxin", "department", department=DEPARTMENT)
    live_server.add_user("zhushan", "county", region="竹山县")
    live_server.add_user("fangxian", "county", region="房县")
    live_server.add_user("caizheng", "finance")
    for user, *_ in ENTERPRISES:
        live_server.add_user(user, "enterprise", enterprise=user)

    # 主管部门 opens the round
    login(page, base, "jingxin")
    page.fill("#title", "2019年智能化改造补贴(县市及郧阳区)")
    page.fill("#rules", SMART_COUNTY)
    page.fill("#policy_date", "2019-06-01")
    page.fill("#regions", "竹山县,房县")
    page.fill("#pool_name", "市级工业转型升级专项资金")
    page.fill("#pool_amount", "60万元")
    page.fill("#pool_year", "2019")
    page.fill("#required_documents", "项目备案文件")
    page.fill("#publicity_days", "0")
    invalid = page.evaluate("Array.from(document.querySelectorAll('#open-round :invalid')).map(e => e.id)")
    assert invalid == [], invalid
    with page.expect_navigation():
        page.click("#open-round button[type=submit]")
    page.wait_for_url(re.compile(r".*/workflow/rounds/\d+$"))
    round_id = int(page.url.rsplit("/", 1)[1])
    shot(page, "workflow-round-opened")

    # five enterprises apply through the generated form, upload the document and submit
    pdf = live_server_tmp_pdf()
    for user, name, county, equipment, smart in ENTERPRISES:
        login(page, base, user)
        page.goto(f"{base}/workflow/rounds/{round_id}/apply")
        page.fill("#name", name)
        page.fill("#region\\.county", county)
        page.fill("#project\\.fixed_asset_investment", "1800万元")
        page.select_option("#project\\.within_construction_period", "是")
        page.fill("#project\\.equipment_investment", equipment)
        page.fill("#project\\.smart_equipment_investment", smart)
        page.select_option("#project\\.equipment_in_use", "是")
        page.fill("#bank_account", f"6222 0{user[-1]} 0000")
        page.click("#apply-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/workflow/applications/\d+$"))
        assert "可获" in page.inner_text("#estimate")
        page.set_input_files("#file", str(pdf))
        page.click("#upload-form button[type=submit]")
        page.wait_for_load_state()
        page.click("form[data-action=submit] button")
        page.wait_for_load_state()
        assert page.inner_text("#app-status").startswith("已提交")
        if user == "e1":
            shot(page, "workflow-application-submitted")

    # 县(市)初审: each official sees only its own county
    login(page, base, "zhushan")
    assert act_all(page, base, round_id, "approve") == 3
    login(page, base, "fangxian")
    page.goto(f"{base}/workflow/rounds/{round_id}")
    assert page.locator("#applications tbody tr[data-app]").count() == 2
    assert act_all(page, base, round_id, "approve") == 2

    # 主管部门审核, then close: 每县推荐两家 (rule quota) and the 60万元 pool
    login(page, base, "jingxin")
    assert act_all(page, base, round_id, "approve") == 5
    shot(page, "workflow-review")
    page.click("#round-close")
    page.wait_for_load_state()
    assert page.inner_text("#round-status") == "已关闭"
    statuses = page.locator("#applications tbody tr[data-app]").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert sorted(statuses) == ["awarded"] * 4 + ["not_awarded"]
    assert "名额已满" in page.inner_text("#applications")
    shot(page, "workflow-round-closed")
    page.click("#round-publicize")
    page.wait_for_load_state()
    page.goto(f"{base}/workflow/rounds/{round_id}/publicity")
    assert page.locator("#publicity tbody tr").count() == 4
    shot(page, "workflow-publicity")

    # 财政: payout batch, then each payment marked paid with a voucher number
    login(page, base, "caizheng")
    page.goto(f"{base}/workflow/rounds/{round_id}")
    page.click("#round-batch")
    page.wait_for_load_state()
    assert act_all(page, base, round_id, "pay", {"voucher": "GK2019-"}) == 4
    statuses = page.locator("#applications tbody tr[data-app]").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert sorted(statuses) == ["not_awarded"] + ["paid"] * 4
    assert "拨付" in page.inner_text("#ledger")
    shot(page, "workflow-paid")


def live_server_tmp_pdf() -> Any:
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "项目备案文件.pdf"
    path.write_bytes(PDF)
    return path


@pytest.fixture(autouse=True)
def _no_pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUIQI_TODAY", raising=False)
