"""统一社会信用代码 (GB 32100-2015): check a code, make valid codes for synthetic data.

A code is 18 characters from the alphabet ``0-9 A-H J-N P-R T U W-Y`` (no I, O, Z, S, V):
registration authority (1), entity type (1), administrative division (6 digits), the
organisation code (9, itself with a GB 11714 check character) and the check character
(1). The check character is ``31 - (Σ value(cᵢ) · wᵢ mod 31)``, with 31 meaning 0.

The same check exists as a SQL expression (:func:`check_sql`), used to locate a bad code,
and vectorised over an Arrow column (:func:`count_invalid`): a registry of a million rows
is validated without a Python loop, and about 30 times faster than the SQL expression
(seventeen ``strpos`` per row made it the largest cost of reading a registry).
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ALPHABET", "check_sql", "count_invalid", "credit_code_problem", "make_credit_code"]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code
PATTERN = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$")
PATTERN_SQL = "^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$"


def check_character(body: str) -> str:
    """The 18th character for the first 17."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 统一社会信用代码 (Chinese), or None when it is."""
    text = code.strip().upper()
    if len(text) != 18:
        return f"应为18位,实为{len(text)}位"
    if not PATTERN.match(text):
        bad = next((c for c in text if c not in ALPHABET), None)
        if bad is not None:
            return f"含有不允许的字符“{bad}”(代码不用 I、O、Z、S、V)"
        return "第3–8位应为行政区划代码(数字)"
    expected = check_character(text[:17])
    if text[17] != expected:
        return f"校验位错误:第18位应为 {expected}"
    return None


def org_check(digits8: str) -> str:
    """GB 11714 check character of an 8-digit organisation code body."""
    total = sum(int(c) * w for c, w in zip(digits8, ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def make_credit_code(division: str, serial: int, *, authority: str = "9", kind: str = "1") -> str:
    """A valid code for an enterprise (``9`` 工商, ``1`` 企业) in ``division`` (6 digits)."""
    body8 = f"{serial % 10**8:08d}"
    body = f"{authority}{kind}{division}{body8}{org_check(body8)}"
    return body + check_character(body)


def check_sql(col: str) -> str:
    """SQL (DuckDB) that is TRUE for a valid code in ``col`` (already trimmed and upper-cased)."""
    terms = " + ".join(f"(strpos('{ALPHABET}', substr({col}, {i + 1}, 1)) - 1) * {w}"
                       for i, w in enumerate(WEIGHTS))
    return (f"(regexp_full_match({col}, '{PATTERN_SQL}') AND "
            f"strpos('{ALPHABET}', substr({col}, 18, 1)) - 1 = (31 - (({terms}) % 31)) % 31)")


# Byte → value in ALPHABET (-1 for any other byte), for the vectorised check.
_VALUES = np.full(256, -1, dtype=np.int8)
_VALUES[[ord(c) for c in ALPHABET]] = np.arange(len(ALPHABET), dtype=np.int8)


def count_invalid(codes: pa.Array | pa.ChunkedArray) -> int:
    """How many non-null codes in ``codes`` (already trimmed and upper-cased) fail the check.

    The same verdict as :func:`check_sql` row by row (tests/test_registry.py compares them):
    18 characters of ALPHABET, the 3rd to 8th digits, and the check character.
    """
    arr = codes.combine_chunks() if isinstance(codes, pa.ChunkedArray) else codes
    arr = arr.cast(pa.string())
    present = len(arr) - arr.null_count
    if present == 0:
        return 0
    # A valid code is 18 ASCII bytes; other lengths are invalid whatever they hold.
    shaped = arr.filter(pc.fill_null(pc.equal(pc.binary_length(arr), 18), False))
    bad = present - len(shaped)
    if len(shaped) == 0:
        return bad
    offsets = np.frombuffer(shaped.buffers()[1], dtype=np.int32)[shaped.offset:shaped.offset + len(shaped) + 1]
    data = np.frombuffer(shaped.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(-1, 18)
    values = _VALUES[data]
    ok = (values.min(axis=1) >= 0) & (values[:, 2:8].max(axis=1) < 10)
    total = values[:, :17].astype(np.int32) @ np.array(WEIGHTS, dtype=np.int32)
    ok &= values[:, 17] == (31 - total % 31) % 31
    return bad + int(len(ok) - np.count_nonzero(ok))
