"""Traditional ↔ simplified script: detection and conversion that keeps offsets.

Everything downstream (outline, provisions, units) reads simplified text, but a
citation must quote the document as published, so ``to_simplified`` returns, when
the conversion is not 1:1, the source offset of every simplified character.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Literal

import opencc

Script = Literal["simplified", "traditional", "mixed"]

# Chunks end at line breaks and sentence punctuation, so a length-changing phrase
# conversion only costs a char-level fallback on one short chunk.
_CHUNK = re.compile(r"[^\n。；;！？!?]*[\n。；;！？!?]?")


@lru_cache(maxsize=4)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


@lru_cache(maxsize=65536)
def _char_t2s(ch: str) -> str:
    return str(_converter("t2s").convert(ch))


@lru_cache(maxsize=65536)
def _char_s2t(ch: str) -> str:
    return str(_converter("s2t").convert(ch))


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def script_counts(text: str) -> tuple[int, int]:
    """(traditional-only, simplified-only) Han characters, counted by distinct occurrence."""
    trad = simp = 0
    # Classify each distinct character once and weight it by its count: a document uses a
    # few thousand distinct characters, so this avoids a Python step per character.
    for ch, n in Counter(text).items():
        if not _is_han(ch):
            continue
        if _char_t2s(ch) != ch:
            trad += n
        elif _char_s2t(ch) != ch:
            simp += n
    return trad, simp


def detect_script(text: str) -> Script:
    """Which script the text is written in.

    A few characters of the other script are normal (names, mojibake, OpenCC
    ambiguities such as 于/於), so the decision uses a ratio, not any-occurrence.
    """
    trad, simp = script_counts(text)
    total = trad + simp
    if total == 0:
        return "simplified"
    if trad <= max(2, 0.1 * total):
        return "simplified"
    if simp <= 0.15 * total:
        return "traditional"
    return "mixed"


def to_simplified_text(text: str) -> str:
    """Plain conversion, for matching only (no offset guarantee)."""
    return str(_converter("t2s").convert(text))


def to_simplified(text: str) -> tuple[str, list[int] | None]:
    """Convert to simplified script.

    Returns the simplified text and, when its characters do not line up 1:1 with
    the input, the input offset of each output character (otherwise ``None``).
    Punctuation is never changed: OpenCC t2s keeps 「」 and full-width marks.
    """
    if not text:
        return text, None
    converted = to_simplified_text(text)
    if len(converted) == len(text):
        return converted, None
    parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in _CHUNK.finditer(text):
        chunk = m.group()
        if not chunk:
            continue
        out = to_simplified_text(chunk)
        if len(out) == len(chunk):
            parts.append(out)
            offsets.extend(range(pos, pos + len(chunk)))
        else:
            for i, ch in enumerate(chunk):
                conv = _char_t2s(ch)
                parts.append(conv)
                offsets.extend([pos + i] * len(conv))
        pos += len(chunk)
    return "".join(parts), offsets
