"""docs/governance.md shows the transition table exactly as the code has it."""

from __future__ import annotations

from pathlib import Path

from huiqi.governance.tasks import TRANSITIONS


def test_docs_transition_table_matches_the_code() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "governance.md").read_text("utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "(`" in line]
    documented = []
    for line in rows:
        state, action, actors, nxt = (c.strip() for c in line.strip("|").split("|"))
        documented.append((state, action.split("`")[1], set(actors.split("、")), nxt))
    expected = [(t.state.label, t.action.value, {a.label for a in t.actors}, t.next.label) for t in TRANSITIONS]
    assert documented == expected
