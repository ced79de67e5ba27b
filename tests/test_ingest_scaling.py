"""Ingestion work grows linearly with the text: long one-line pages must not be quadratic.

No timing asserts: the first test counts the Python and C function calls the provisions and
targets stages make on a text and on the same text four times over (a quadratic loop makes
sixteen times the calls); the second ingests a 4 MB one-line page, which a quadratic stage
turns from seconds into many minutes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from huiqi.ingest.pipeline import ingest_file
from huiqi.ingest.provisions import extract_provisions
from huiqi.ingest.targets import extract_targets

# One flattened clause with the features whose look-ups used to scan the whole text: a quoted
# name, money with comparators, a ceiling, a rate and a goal with a count.
CLAUSE = (
    "对年销售额超过5000万元的“专精特新”企业,按研发投入的10%给予奖励,最高不超过50万元;"
    "到2025年,力争培育“小巨人”企业10家 "
)


def _calls(work: Callable[[], object]) -> int:
    count = 0

    def profiler(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profiler)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def _stages(text: str) -> None:
    extract_provisions(text)
    extract_targets(text)


def test_provisions_and_targets_make_linear_work() -> None:
    small, large = CLAUSE * 40, CLAUSE * 160
    _stages(small)  # warm caches (compiled patterns, lexicon) outside the count
    _stages(large)
    ratio = _calls(lambda: _stages(large)) / _calls(lambda: _stages(small))
    assert 3.0 < ratio < 5.0, f"4× the text took {ratio:.1f}× the calls"


def test_four_megabyte_one_line_page(tmp_path: Path) -> None:
    line = "某县人民政府关于支持企业发展的若干措施 " + CLAUSE * (4_000_000 // len(CLAUSE.encode()))
    page = tmp_path / "one-line.txt"
    page.write_text(line, encoding="utf-8")
    assert page.stat().st_size >= 4_000_000
    doc = ingest_file(page)
    money = [p for m in doc.measures for p in m.provisions if p.yuan == 500_000]
    assert len(money) == line.count("最高不超过50万元")
