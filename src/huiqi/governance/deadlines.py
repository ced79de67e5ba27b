"""Deadlines read from a measure's own words: "2022年底前", "到2023年", "每年", "逐月", "长期坚持".

A deadline is looked for first in the measure's text, then in the introductory text of its
ancestors (the part before their first sub-measure, which frames every child: "到2023年底,…"),
and finally in the document's validity ("有效期至2023年12月31日"). An office may always set a
deadline by hand; that one wins over anything read from the text.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from huiqi.document import Document, Measure

Recurrence = Literal["monthly", "quarterly", "half_yearly", "yearly"]
DeadlineSource = Literal["measure", "parent", "document", "office", "none"]

RECURRENCE_LABELS: dict[str, str] = {
    "monthly": "逐月",
    "quarterly": "每季度",
    "half_yearly": "每半年",
    "yearly": "每年",
}
SOURCE_LABELS: dict[str, str] = {
    "measure": "措施原文",
    "parent": "上级条款",
    "document": "文件有效期",
    "office": "督查室设定",
    "none": "未设定",
}


class Deadline(BaseModel):
    """When a task is due. ``due`` is the final date; ``recurrence`` a reporting rhythm;
    both may be present ("每年…到2023年底")."""

    model_config = ConfigDict(extra="forbid")

    due: date | None = None
    recurrence: Recurrence | None = None
    ongoing: bool = Field(False, description="长期坚持: no final date")
    phrase: str | None = Field(None, description="the words the deadline was read from")
    source: DeadlineSource = "none"

    @property
    def label(self) -> str:
        parts: list[str] = []
        if self.due is not None:
            parts.append(f"{self.due.isoformat()} 前")
        if self.recurrence is not None:
            parts.append(RECURRENCE_LABELS[self.recurrence])
        if self.ongoing and self.due is None:
            parts.append("长期")
        return ",".join(parts) if parts else "未设定"

    def period_bounds(self, today: date) -> tuple[date, date] | None:
        """The reporting period containing ``today`` for a recurring deadline."""
        if self.recurrence is None:
            return None
        months = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}[self.recurrence]
        first_month = (today.month - 1) // months * months + 1
        last_month = first_month + months - 1
        start = date(today.year, first_month, 1)
        end = date(today.year, last_month, calendar.monthrange(today.year, last_month)[1])
        return start, end

    def next_due(self, today: date) -> date | None:
        """The next date something is owed: the end of the current reporting period for a
        recurring deadline (never past the final date), else the final date."""
        bounds = self.period_bounds(today)
        if bounds is not None:
            period_end = bounds[1]
            if self.due is not None and self.due < period_end:
                return self.due
            return period_end
        return self.due


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


# A date that starts something ("自2022年7月16日起") is not a deadline.
_NOT_START = r"(?!\s*(?:起|开始|以来|至今))"
_FULL_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:之前|以前|前)?" + _NOT_START)
_YEAR_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:底|末)?(?:之前|以前|前)?" + _NOT_START + r"(?!\s*\d)")
_YEAR_END = re.compile(r"(\d{4})\s*年\s*(?:年底|年末|底|末)(?:之前|以前|前)?")
_BY_YEAR = re.compile(r"(?:到|至|截至|截止到|力争到|力争在)\s*(\d{4})\s*年(?![\d月])")
_BEFORE_YEAR = re.compile(r"(\d{4})\s*年(?:之前|以前|前)")
# 年底前 / 年内 without a year refer to the year the document was issued; "3年内" is a span.
_THIS_YEAR_END = re.compile(r"(?<![\d一二三四五六七八九十两年])(?:年底前|年底|年内|年末前|今年底)")
_RECURRING: tuple[tuple[re.Pattern[str], Recurrence], ...] = (
    (re.compile(r"逐月|每月|按月|月调度|月通报"), "monthly"),
    (re.compile(r"每季度|每季|按季|逐季|季度调度"), "quarterly"),
    (re.compile(r"每半年|半年一次"), "half_yearly"),
    (re.compile(r"每年|逐年|年度考核|每一年"), "yearly"),
)
_ONGOING = re.compile(r"长期坚持|长期推进|常态化|长效机制")


class _Found(BaseModel):
    due: date | None = None
    recurrence: Recurrence | None = None
    ongoing: bool = False
    phrases: list[str] = Field(default_factory=list)


def _scan(text: str, base_year: int | None) -> _Found:
    """Every deadline phrase in ``text``; the final date is the latest one named."""
    found = _Found()
    dates: list[tuple[date, str]] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match[str]) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in taken)

    def add(d: date | None, m: re.Match[str]) -> None:
        taken.append((m.start(), m.end()))
        if d is not None:
            dates.append((d, m.group(0)))

    for m in _FULL_DATE.finditer(text):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        try:
            add(date(year, month, day), m)
        except ValueError:
            add(None, m)
    for m in _YEAR_MONTH.finditer(text):
        if free(m):
            year, month = int(m.group(1)), int(m.group(2))
            add(month_end(year, month) if 1 <= month <= 12 else None, m)
    for m in _YEAR_END.finditer(text):
        if free(m):
            add(date(int(m.group(1)), 12, 31), m)
    for m in _BY_YEAR.finditer(text):
        if free(m):
            add(date(int(m.group(1)), 12, 31), m)
    for m in _BEFORE_YEAR.finditer(text):
        if free(m):
            add(date(int(m.group(1)) - 1, 12, 31), m)
    if base_year is not None:
        for m in _THIS_YEAR_END.finditer(text):
            if free(m):
                add(date(base_year, 12, 31), m)
    if dates:
        due, phrase = max(dates)
        found.due = due
        found.phrases.append(phrase)
    for pattern, recurrence in _RECURRING:
        m = pattern.search(text)
        if m:
            found.recurrence = recurrence
            found.phrases.append(m.group(0))
            break
    m = _ONGOING.search(text)
    if m:
        found.ongoing = True
        found.phrases.append(m.group(0))
    return found


def own_text(document: Document, measure: Measure) -> str:
    """The measure's text before its first sub-measure: the part that frames all children."""
    children = [
        m for m in document.measures if m.path == [*measure.path, measure.label] and m.start >= measure.start
    ]
    if not children:
        return measure.text
    first = min(c.start for c in children)
    return measure.text[: max(0, first - measure.start)]


def _base_year(document: Document) -> int | None:
    for d in (document.signed_date, document.published_date, document.effective_from):
        if d is not None:
            return d.year
    return None


def parse_deadline(document: Document, measure: Measure) -> Deadline:
    """The deadline the document itself sets for ``measure`` (see module docstring)."""
    base_year = _base_year(document)
    found = _scan(measure.text, base_year)
    source: DeadlineSource = "measure"
    if found.due is None and found.recurrence is None and not found.ongoing:
        by_key = {m.key: m for m in document.measures}
        for depth in range(len(measure.path), 0, -1):
            parent = by_key.get("/".join(measure.path[:depth]))
            if parent is None:
                continue
            found = _scan(own_text(document, parent), base_year)
            if found.due or found.recurrence or found.ongoing:
                source = "parent"
                break
    if found.due is None and document.effective_to is not None and not found.ongoing:
        # A recurring duty still ends with the policy; a task with no words of its own too.
        if not found.recurrence:
            return Deadline(due=document.effective_to, source="document",
                            phrase=document.validity_text or f"有效期至{document.effective_to.isoformat()}")
        found.due = document.effective_to
    if found.due is None and found.recurrence is None and not found.ongoing:
        return Deadline(source="none")
    return Deadline(
        due=found.due,
        recurrence=found.recurrence,
        ongoing=found.ongoing,
        phrase="、".join(found.phrases) or None,
        source=source,
    )
