"""免申即享 eligible list over a social-insurance file, and policy push messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huiqi.profile import load_profile
from huiqi.rules.packs import RuleBase, load_packs
from huiqi.workflow.proactive import eligible_list
from huiqi.workflow.push import MemoryNotifier, OutboxNotifier, SavedProfile, match_profiles

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ON = date(2019, 6, 1)


@pytest.fixture(scope="module")
def rulebase() -> RuleBase:
    return load_packs()


def test_eligible_list_from_population(rulebase: RuleBase) -> None:
    rows, _ = eligible_list(rulebase, HERE / "data" / "shiyan-social-insurance.csv",
                            ["shiyan.stable_jobs.no_layoff"], ON)
    got = {(r.enterprise, r.amount) for r in rows}
    # 70% of last year's unemployment insurance, only for eligible enterprises without layoffs;
    # 乙 laid people off, 丁 is not eligible, 戊's contribution is unknown (undecided, not listed)
    assert got == {("91420300TEST00001A", 700_000), ("91420300TEST00003C", 245_000)}
    first = next(r for r in rows if r.enterprise == "91420300TEST00001A")
    assert first.name == "十堰测试甲机械有限公司" and first.district == "张湾区" and not first.upper_bound


def test_push_names_clause_amount_and_missing(rulebase: RuleBase) -> None:
    saved = [SavedProfile("91420300AUTO", load_profile(ROOT / "examples" / "shiyan-auto-parts.yaml"),
                          email="a@example.invalid")]
    msgs = match_profiles(rulebase, saved, ["shiyan-2018-draft"], ON, round_id=7, round_title="2019年第一批")
    by_rule = {m.rule: m for m in msgs}
    granted = by_rule["shiyan.tech_upgrade.smart"]
    assert granted.kind == "granted" and granted.amount == 413_250
    assert "三/三/1/—2" in granted.body and "预计可获413250元" in granted.body
    assert "2019年第一批" in granted.body and granted.round_id == 7
    undecided = by_rule["shiyan.emerging.high_end_equipment"]
    assert undecided.kind == "undecided" and undecided.upper_bound and undecided.amount == 500_000
    assert "高端智能装备销售收入" in undecided.body and undecided.missing
    # not eligible without a near miss worth money: no message
    assert "shiyan.informatization.national" not in by_rule
    # one message per rule
    assert len(by_rule) == len(msgs)


def test_adapters() -> None:
    from huiqi.workflow.push import PushMessage

    msg = PushMessage("e", "granted", "r", "d", "1", "标题", "正文", 1, False, email="x@example.invalid")
    mem = MemoryNotifier()
    mem.send(msg)
    rows: list[tuple[str, str, str, str]] = []
    OutboxNotifier("email", lambda *a: rows.append(a)).send(msg)
    OutboxNotifier("sms", lambda *a: rows.append(a)).send(msg)  # no phone: nothing queued
    assert mem.sent == [msg] and rows == [("email", "x@example.invalid", "标题", "正文")]
