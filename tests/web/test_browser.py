"""Real-browser tests: Playwright drives Debian's Chromium against `huiqi serve`.

Covers the calculator form end to end (same result as `huiqi calc`), a document page, a rule's
citation in the traditional original, a simulation with its progress bar, an evaluation with
a grade card, and saves a screenshot of every page to docs/screenshots/.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

try:
    from web.conftest import PASSWORD, screenshot
except ImportError:
    from tests.web.conftest import PASSWORD, screenshot  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}


def sign_in(page: Any, server: Any, user: str, role: str) -> None:
    server.add_user(user, role)  # user names are unique per module: each test signs in as its own user
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.url}/")


def cli_headline(profile: dict[str, Any], tmp_path: Path) -> str:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "huiqi.cli.main", "calc", str(path), "--date", "2022-09-01",
                           "--format", "json", "--evaluations", str(tmp_path / "none")], capture_output=True,
                          text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["total_granted"]  # type: ignore[no-any-return]


def test_calculator_form_end_to_end_matches_cli(live_server, browser_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.goto(f"{live_server.url}/calculator?city=临海")
    assert page.get_by_label("设备投资额").first.is_visible()
    page.get_by_label("企业名称").fill("临海市某机械有限公司")
    page.get_by_label("计算日期").fill("2022-09-01")
    page.get_by_label("亩均评价类别").select_option("A")
    page.get_by_label("处于项目建设期内").select_option("是")
    page.locator("#f-enterprise-fixed_asset_investment_year").fill("4200万元")
    page.locator("#f-p1-project_type").select_option("重大传统产业改造提升")
    page.locator("#f-p1-investment").fill("1500万元")
    page.locator("#f-p1-equipment_investment").fill("600万元")
    # Live results: the headline follows the form without pressing 计算 (HTMX).
    headline = page.get_by_test_id("headline")
    headline.filter(has_text="60万元").wait_for()
    page.get_by_role("button", name="添加项目").click()
    page.locator("#f-p2-project_type").select_option("普通技改")
    page.locator("#f-p2-equipment_investment").fill("260万元")
    page.locator("#f-p2-equipment_investment").blur()
    headline.filter(has_text="73万元").wait_for()
    shown = headline.inner_text()
    profile = {"name": "临海市某机械有限公司",
               "region": {"province": "浙江省", "city": "台州市", "county": "临海市"},
               "enterprise": {"muju_class": "A", "in_construction_period": True,
                              "fixed_asset_investment_year": "4200万元"},
               "projects": [{"id": "p1", "project_type": "重大传统产业改造提升", "investment": "1500万元",
                             "equipment_investment": "600万元"},
                            {"id": "p2", "project_type": "普通技改", "equipment_investment": "260万元"}]}
    total = cli_headline(profile, tmp_path)
    from huiqi.surfaces.show import format_yuan

    assert shown.startswith(f"总计可获 {format_yuan(total)}")
    assert page.get_by_role("heading", name=re.compile("^可享受")).is_visible()
    assert page.locator("#results a[href^='/rules/linhai.tech_upgrade.major']").count() > 0
    assert page.get_by_role("heading", name=re.compile("建议先填")).is_visible()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "calculator")
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "calculator-phone")


def test_calculator_bad_value_is_shown_next_to_the_form(live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.goto(f"{live_server.url}/calculator?city=临海")
    page.locator("#f-p1-investment").fill("很多")
    page.locator("#f-p1-investment").blur()
    alert = page.locator("#results [role=alert]")
    alert.wait_for()
    assert "项目投资额" in alert.inner_text() and "无效" in alert.inner_text()


def test_saved_profile_and_print(live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    sign_in(page, live_server, "企业甲", "enterprise")
    page.goto(f"{live_server.url}/calculator?city=临海")
    page.get_by_label("企业名称").fill("保存测试企业")
    page.locator("#f-p1-equipment_investment").fill("600万元")
    page.get_by_role("button", name="保存画像").click()
    page.wait_for_url(re.compile(r"/calculator\?profile=\d+"))
    assert page.get_by_label("企业名称").input_value() == "保存测试企业"
    assert page.locator("#f-p1-equipment_investment").input_value() == "600万元"


def test_policy_base_document_and_rule_pages(live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.goto(f"{live_server.url}/")
    screenshot(page, "home")
    page.get_by_role("link", name="政策库").first.click()
    page.get_by_label("全文检索").fill("技术改造")
    page.get_by_role("button", name="查询").click()
    assert page.locator("ol.hits mark").count() > 0
    screenshot(page, "policies")
    page.get_by_role("link", name=re.compile("腾笼换鸟")).first.click()
    assert page.get_by_role("navigation", name="条款目录").is_visible()
    assert page.locator(".doc-text mark.amount").count() > 10
    page.locator("#m-二-十").scroll_into_view_if_needed()
    assert "300万元" in page.locator("#m-二-十").inner_text()
    screenshot(page, "document")
    page.get_by_role("link", name=re.compile("重大传统产业改造提升项目")).first.click()
    citation = page.locator("mark#citation")
    assert "按设备投资额的10%给予补助" in citation.inner_text()
    original = page.locator("mark#citation-original")
    assert "按設備投資額的10%給予補助" in original.inner_text()
    screenshot(page, "rule")


def test_units_targets_and_login_pages(live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.goto(f"{live_server.url}/units?unit=经信")
    assert page.get_by_role("table").first.is_visible()
    screenshot(page, "units")
    page.goto(f"{live_server.url}/targets")
    assert page.locator("tbody tr").count() > 10
    screenshot(page, "targets")
    page.goto(f"{live_server.url}/login")
    screenshot(page, "login")
    page.goto(f"{live_server.url}/api/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()


def test_simulation_with_progress_bar(live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    sign_in(page, live_server, "财政局甲", "finance")
    page.get_by_role("link", name="预算测算").first.click()
    page.get_by_label("企业数").fill("20000")
    page.get_by_label("参数与改革").fill("registered_unemployment_rate=4%")
    screenshot(page, "simulations")
    page.get_by_role("button", name="开始测算").click()
    page.wait_for_url(re.compile(r"/simulations/\d+$"))
    bar = page.locator("progress#job-progress")
    bar.wait_for()
    screenshot(page, "simulation-progress")
    page.locator("[data-testid=total-exact], [role=alert]").first.wait_for(timeout=240_000)
    assert page.locator("[role=alert]").count() == 0, page.locator("[role=alert]").inner_text()
    page.locator("[data-chart='chart-by_rule'] svg").wait_for()
    assert page.get_by_role("link", name="下载 Excel").is_visible()
    screenshot(page, "simulation-result")


def test_evaluation_and_grade_card(live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    from huiqi.evaluation.sample import write_population

    write_population(live_server.var_dir / "linhai-2022.parquet", 2000, year=2022)
    page = browser_page
    sign_in(page, live_server, "经信局甲", "department")
    page.goto(f"{live_server.url}/evaluations")
    page.get_by_label("评价方法").select_option("linhai-2022")
    page.get_by_label("年度").fill("2022")
    page.get_by_label("服务器上的企业名录").select_option(label="linhai-2022.parquet")
    screenshot(page, "evaluations")
    page.get_by_role("button", name="开始评价").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+$"))
    page.locator("[data-chart='chart-classes'] svg").wait_for(timeout=120_000)
    screenshot(page, "evaluation-result")
    page.get_by_label("企业编号或名称").fill("E0000001")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name=re.compile("E0000001")).click()
    grade = page.get_by_test_id("grade").inner_text()
    assert grade in ("A", "B", "C", "D", "不参评")
    screenshot(page, "grade-card")


def test_official_pages_redirect_to_login(live_server, browser_page) -> None:  # type: ignore[no-untyped-def]
    browser_page.goto(f"{live_server.url}/simulations")
    assert "/login" in browser_page.url


@pytest.mark.parametrize("path", ["/", "/calculator", "/policies"])
def test_pages_have_landmarks_and_labels(live_server, browser_page, path: str) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.goto(live_server.url + path)
    assert page.locator("main#main").count() == 1 and page.locator("nav[aria-label]").count() >= 1
    unlabeled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map(el => el.name)""")
    assert unlabeled == []
