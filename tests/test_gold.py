"""Ingestion accuracy against hand-written gold annotations: the five seeds, and the fixtures
written for the patterns of real published pages (tests/fixtures/genre, gold in tests/gold/genre)."""

from __future__ import annotations

from pathlib import Path

import pytest

from huiqi.ingest.accuracy import format_report, load_gold, score_corpus, score_document
from huiqi.ingest.pipeline import ingest_file
from tests.conftest import ACCURACY_REPORT, seeds_dir

GOLD_DIR = Path(__file__).parent / "gold"
GOLD_FILES = sorted(GOLD_DIR.glob("*.yaml"))
GENRE_GOLD_FILES = sorted((GOLD_DIR / "genre").glob("*.yaml"))
GENRE_FIXTURES = Path(__file__).parent / "fixtures" / "genre"

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
    ACCURACY_REPORT.append("== seeds (corpus)\n" + format_report(scores))
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


@pytest.fixture(scope="module")
def genre_scored():
    return [(ingest_file(GENRE_FIXTURES / load_gold(p)["file"]), load_gold(p)) for p in GENRE_GOLD_FILES]


def test_genre_gold_covers_every_fixture():
    names = {load_gold(p)["file"] for p in GENRE_GOLD_FILES}
    assert names == {p.name for p in GENRE_FIXTURES.iterdir() if p.is_file()}


def test_genre_fixture_accuracy(genre_scored):
    """Every pattern of real pages the fixtures reproduce is read exactly (they are small and
    hand-annotated, so anything below 100% is a regression to look at)."""
    scores = score_corpus(genre_scored)
    ACCURACY_REPORT.append("== genre fixtures (real-page patterns)\n" + format_report(scores))
    failures = [
        f"{name}: P={s.precision:.1%} R={s.recall:.1%}; misses={s.misses[:10]} extras={s.extras[:10]}"
        for name, s in scores.items()
        if s.precision < 1.0 or s.recall < 1.0
    ]
    assert not failures, "\n".join(failures)
