"""Glue between requests and the core: the policy base over the app's engine, the rule base
loaded once per process, text highlighting for pages. No rule semantics live here."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from huiqi.document import Document


@contextlib.contextmanager
def policy_base(engine: sa.Engine) -> Iterator[Any]:
    """A PolicyBase on the app's engine (its connection is returned to the pool afterwards)."""
    from huiqi.policybase.db import Database
    from huiqi.policybase.store import PolicyBase

    db = Database(engine, str(engine.url))
    try:
        yield PolicyBase(db)
    finally:
        db.conn.close()


@functools.lru_cache(maxsize=1)
def rulebase() -> Any:
    """The built-in rule packs, compiled once per process (they are read-only data)."""
    from huiqi.rules.packs import load_packs

    return load_packs()


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    css: str
    title: str = ""


def highlight(text: str, marks: list[Mark]) -> list[tuple[str, Mark | None]]:
    """Split ``text`` into (piece, mark) runs; overlapping marks keep the first (outer) one."""
    out: list[tuple[str, Mark | None]] = []
    pos = 0
    for m in sorted(marks, key=lambda m: (m.start, -m.end)):
        if m.start < pos or m.end <= m.start or m.end > len(text):
            continue
        if m.start > pos:
            out.append((text[pos:m.start], None))
        out.append((text[m.start:m.end], m))
        pos = m.end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def locate(quote: str, text: str) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``text`` when whitespace is ignored (citations are squashed)."""
    needle = re.sub(r"\s+", "", quote)
    if not needle:
        return None
    kept = [(i, ch) for i, ch in enumerate(text) if not ch.isspace()]
    squashed = "".join(ch for _, ch in kept)
    at = squashed.find(needle)
    if at < 0:
        return None
    return kept[at][0], kept[at + len(needle) - 1][0] + 1


def original_span(doc: Document, start: int, end: int) -> tuple[int, int]:
    """Map a span of the simplified text to the original-script text."""
    if not doc.offset_map:
        return start, end
    return doc.offset_map[start], doc.offset_map[end - 1] + 1


PROVISION_LABELS = {"amount": "金额", "cap": "上限", "threshold": "门槛", "range": "区间", "rate": "比例",
                    "per_unit": "单价", "time_limit": "时限", "count": "数量", "ratio": "比例关系",
                    "quantity": "数量"}


def document_marks(doc: Document) -> list[Mark]:
    """Provisions (amounts, thresholds, …) as marks over ``doc.text``."""
    marks: list[Mark] = []
    for m in doc.measures:
        base = m.start
        for p in m.provisions:
            css = "amount" if p.kind in ("amount", "cap", "rate", "per_unit") else "threshold"
            marks.append(Mark(base + p.start, base + p.end, css, PROVISION_LABELS.get(p.kind, p.kind)))
    return marks
