"""Ingestion accuracy against hand-written gold annotations of the five seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from huiqi.ingest.accuracy import format_report, load_gold, score_corpus, score_document
from huiqi.ingest.pipeline import ingest_file
from tests.conftest import ACCURACY_REPORT, seeds_dir

GOLD_DIR = Path(__file__).parent / "gold"
GOLD_FILES = sorted(GOLD_DIR.glob("*.yaml"))

THRESHOLDS = {"measures": 0.99, "units": 0.99, "money": 0.98}


@pytest.fixture(scope="module")
def scored():
    seeds = seeds_dir()
    pairs = []
    for gold_path in GOLD_FILES:
        gold = load_gold(gold_path)
        pairs.append((ingest_file(seeds / gold["file"]), gold))
    return pairs


def test_gold_files_cover_all_seeds():
    names = {load_gold(p)["file"] for p in GOLD_FILES}
    assert names == {p.name for p in seeds_dir().glob("*.txt")}


def test_corpus_accuracy(scored):
    scores = score_corpus(scored)
    ACCURACY_REPORT.append(format_report(scores))
    failures = []
    for name, minimum in THRESHOLDS.items():
        s = scores[name]
        if s.precision < minimum or s.recall < minimum:
            failures.append(
                f"{name}: P={s.precision:.1%} R={s.recall:.1%} < {minimum:.0%}; "
                f"misses={s.misses[:15]} extras={s.extras[:15]}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("gold_path", GOLD_FILES, ids=lambda p: p.stem[:3])
def test_per_document_report(scored, gold_path):
    gold = load_gold(gold_path)
    doc = next(d for d, g in scored if g["file"] == gold["file"])
    scores = score_document(doc, gold)
    ACCURACY_REPORT.append(f"-- {gold['file']}\n" + format_report(scores))
    # A document-level floor so one document cannot hide behind the others.
    assert scores["measures"].recall >= 0.95, scores["measures"].misses
