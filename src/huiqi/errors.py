"""User-facing errors.

Every error that can reach a user carries where it happened (file, line or clause,
field) and a Chinese message; the CLI prints it without a traceback.
"""

from __future__ import annotations


class HuiqiError(Exception):
    """An error caused by the user's input, reported without a traceback."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        clause: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.clause = clause
        self.field = field
        self.hint = hint

    def location(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"第{self.line}行")
        if self.clause:
            parts.append(f"条款 {self.clause}")
        if self.field:
            parts.append(f"字段 {self.field}")
        return ",".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        text = f"{loc}:{self.message}" if loc else self.message
        if self.hint:
            text += f"(提示:{self.hint})"
        return text


class InputError(HuiqiError):
    """Unreadable or invalid input file."""


class RuleError(HuiqiError):
    """A rule file or expression is invalid."""


class ProfileError(HuiqiError):
    """An enterprise profile is invalid."""


class StateError(HuiqiError):
    """An action not allowed in the current state (e.g. an illegal transition); HTTP 409."""


class NotFoundError(HuiqiError):
    """The named thing does not exist; HTTP 404."""
