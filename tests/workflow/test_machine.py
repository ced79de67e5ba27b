"""The state machine is one table; the docs diagram and the checks come from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from huiqi.workflow import machine
from huiqi.workflow.docs import generated_section
from huiqi.workflow.machine import TRANSITIONS, IllegalTransition, allowed_actions, next_state

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"


def test_every_state_reachable_and_every_transition_known() -> None:
    reached = {"draft"}
    changed = True
    while changed:
        changed = False
        for t in TRANSITIONS:
            if t.state in reached and t.next not in reached:
                reached.add(t.next)
                changed = True
    assert reached == set(machine.STATES)
    for t in TRANSITIONS:
        assert t.state in machine.STATE_LABELS and t.next in machine.STATE_LABELS
        assert t.action in machine.ACTION_LABELS and t.role in machine.ROLE_LABELS
    # terminal states have no way out
    assert not [t for t in TRANSITIONS if t.state in machine.TERMINAL]


def test_table_has_no_duplicate_keys() -> None:
    keys = [(t.state, t.action, t.role) for t in TRANSITIONS]
    assert len(keys) == len(set(keys))


def test_review_chain_order() -> None:
    assert next_state("submitted", "approve", "county").next == "county_approved"
    assert next_state("county_approved", "approve", "department").next == "dept_approved"
    assert next_state("publicized", "pay", "finance").next == "paid"
    assert next_state("submitted", "reject", "county").needs_reason


@pytest.mark.parametrize(("state", "action", "role", "words"), [
    ("paid", "pay", "finance", "已拨付"),
    ("submitted", "approve", "department", "县(区)经信部门"),
    ("draft", "approve", "county", "不能「通过」"),
    ("rejected", "submit", "enterprise", "已结束"),
])
def test_illegal_transition_says_why_in_chinese(state: str, action: str, role: str, words: str) -> None:
    with pytest.raises(IllegalTransition) as exc:
        next_state(state, action, role)
    assert words in str(exc.value)


def test_unknown_action_lists_actions() -> None:
    with pytest.raises(IllegalTransition, match="未知的操作 fly"):
        next_state("draft", "fly", "enterprise")


def test_allowed_actions_from_table() -> None:
    assert allowed_actions("submitted", "county") == ["approve", "reject", "return"]
    assert allowed_actions("paid", "finance") == []
    assert "award" not in machine.CALLER_ACTIONS and "submit" in machine.CALLER_ACTIONS


def test_docs_diagram_matches_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert generated_section() in text, "docs/workflow.md 与状态表不一致:运行 huiqi workflow diagram --write docs/workflow.md"
    for t in TRANSITIONS:
        assert f"{t.state} --> {t.next}: {t.action}" in text
