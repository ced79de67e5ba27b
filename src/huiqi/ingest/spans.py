"""Position look-ups on one text that stay linear on very long inputs.

Provisions and targets ask, for every number, where its sentence or phrase starts and ends,
and whether it sits inside a quoted name. Searching backwards with ``str.rfind`` for each
break character costs the distance to that character's last occurrence, which is the whole
prefix when a character never occurs (a one-line page without "!"), so a document with many
numbers became quadratic. The break positions are found once per (text, break set) and
each look-up is a binary search.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

__all__ = ["QuotedSpans", "break_positions", "sentence_bounds"]


@lru_cache(maxsize=16)
def _break_re(breaks: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(breaks) + "]")


@lru_cache(maxsize=16)
def break_positions(text: str, breaks: str) -> list[int]:
    """Sorted offsets of every character of ``breaks`` in ``text`` (cached: callers must not mutate)."""
    return [m.start() for m in _break_re(breaks).finditer(text)]


_SHORT = 2048  # below this, searching the text directly is cheaper than indexing it


def sentence_bounds(text: str, pos: int, breaks: str) -> tuple[int, int]:
    """(start, end) of the stretch around ``pos`` delimited by ``breaks``: start is just after the
    last break before ``pos`` (0 if none), end is the first break at or after ``pos`` (len if none)."""
    if len(text) < _SHORT:
        start = max([text.rfind(b, 0, pos) for b in breaks]) + 1
        m = _break_re(breaks).search(text, pos)
        return start, (m.start() if m else len(text))
    positions = break_positions(text, breaks)
    i = bisect.bisect_left(positions, pos)
    start = positions[i - 1] + 1 if i > 0 else 0
    end = positions[i] if i < len(positions) else len(text)
    return start, end


class QuotedSpans:
    """Non-overlapping, sorted (start, end) spans with a logarithmic membership test."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.starts = [a for a, _ in spans]
        self.ends = [b for _, b in spans]

    def __contains__(self, pos: int) -> bool:
        i = bisect.bisect_right(self.starts, pos) - 1
        return i >= 0 and pos < self.ends[i]
