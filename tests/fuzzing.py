"""Fuzzing helpers: every hypothesis target records its example budget, printed at the end
of the run (tests/conftest.py), so a CI log shows how much was tried.

``HUIQI_FUZZ_EXAMPLES`` scales every budget for a longer run (see docs/reliability.md).
"""

from __future__ import annotations

import os

FUZZ_BUDGETS: dict[str, int] = {}


def budget(default: int) -> int:
    """The example budget of a target: ``default`` unless HUIQI_FUZZ_EXAMPLES overrides it."""
    override = os.environ.get("HUIQI_FUZZ_EXAMPLES")
    return int(override) if override and override.isdigit() else default


def record_budget(target: str, examples: int) -> None:
    FUZZ_BUDGETS[target] = FUZZ_BUDGETS.get(target, 0) + examples
