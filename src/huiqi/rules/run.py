"""One calculation as every surface runs it (``huiqi calc``, ``POST /api/v1/calc``, the calculator page).

The profile's missing 亩均 class is filled from the latest stored evaluation, then the rules are
evaluated; the note saying where the class came from travels in the report.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from huiqi.rules.result import CalcReport


def run_calc(rulebase: Any, profile: Any, on: date, *, policies: list[str] | None = None,
             params: dict[str, str] | None = None, evaluations: str | Path = "var/evaluations",
             cohort: list[Any] | None = None) -> CalcReport:
    from huiqi.evaluation.link import fill_class_from_evaluation
    from huiqi.rules.calculator import calculate
    from huiqi.rules.overrides import check_param_overrides

    checked = check_param_overrides(rulebase.params, params or {})
    note = fill_class_from_evaluation(profile, evaluations, on=on)
    report = calculate(rulebase, profile, on=on, policies=policies or None, params=checked, cohort=cohort)
    if note:
        report.notes.append(note)
    return report
