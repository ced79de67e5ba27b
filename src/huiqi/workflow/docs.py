"""docs/workflow.md's generated part: the diagram and table from the state machine.

The text between the two markers is produced by :func:`generated_section`; a test checks
that the committed document equals it, and ``huiqi workflow diagram --write docs/workflow.md``
rewrites it after the table changes.
"""

from __future__ import annotations

import re

from huiqi.workflow.machine import mermaid, transition_table_markdown

__all__ = ["BEGIN", "END", "generated_section", "replace_section"]

BEGIN = "<!-- BEGIN GENERATED: huiqi.workflow.machine -->"
END = "<!-- END GENERATED: huiqi.workflow.machine -->"


def generated_section() -> str:
    return "\n".join([
        BEGIN,
        "```mermaid",
        mermaid(),
        "```",
        "",
        transition_table_markdown(),
        END,
    ])


def replace_section(text: str) -> str:
    """``text`` with its generated section replaced (appended when missing)."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: generated_section(), text)
    return text.rstrip("\n") + "\n\n" + generated_section() + "\n"
