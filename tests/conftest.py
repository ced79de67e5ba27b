"""Shared fixtures. Seeds live in ../shared/seeds beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("HUIQI_SEEDS", ROOT.parent / "shared" / "seeds"))

ACCURACY_REPORT: list[str] = []


def seeds_dir() -> Path:
    if not SEEDS.is_dir() or not any(SEEDS.glob("*.txt")):
        pytest.fail(f"种子文件目录不存在或为空:{SEEDS}(设置 HUIQI_SEEDS 指向 shared/seeds)")
    return SEEDS


@pytest.fixture(scope="session")
def seeds() -> Path:
    return seeds_dir()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    from tests.fuzzing import FUZZ_BUDGETS

    if FUZZ_BUDGETS:
        terminalreporter.section("fuzzing budget (hypothesis examples per target; 0 uncaught exceptions accepted)")
        for target, examples in sorted(FUZZ_BUDGETS.items()):
            terminalreporter.write_line(f"{target}: {examples} examples")
    if ACCURACY_REPORT:
        terminalreporter.section("ingestion accuracy against gold annotations")
        for line in ACCURACY_REPORT:
            terminalreporter.write_line(line)


def seed_path(prefix: str) -> Path:
    """The seed file whose name starts with ``prefix`` (e.g. "003"); fails clearly if absent."""
    matches = sorted(seeds_dir().glob(f"{prefix}_*.txt"))
    if not matches:
        pytest.fail(f"找不到种子文件 {prefix}_*.txt(目录 {SEEDS})")
    return matches[0]


def seed_text(prefix: str) -> str:
    """A seed's text converted to simplified script, as the analysis stages see it."""
    import opencc

    return opencc.OpenCC("t2s").convert(seed_path(prefix).read_text("utf-8"))
