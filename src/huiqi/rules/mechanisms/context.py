"""What the calculator's half of a mechanism sees besides the results: the profile, the date, the plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from huiqi.rules.calculator.environment import ProfileView
from huiqi.rules.calculator.plan import Plan

__all__ = ["Calculation"]


@dataclass(frozen=True)
class Calculation:
    view: ProfileView
    on: date
    plan: Plan
