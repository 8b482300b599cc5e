"""Refusals the user can act on: what was wrong, where, and why, in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    """One problem with one place in an input, in words a co-op volunteer understands.

    ``where`` is ``"line 12"`` for CSV, ``"UsagePoint 'x', IntervalBlock 2, IntervalReading 17"`` for Green
    Button XML, ``"file"`` when the whole file is concerned, or ``""`` for a form. ``field`` names the column or
    element; ``raw`` is the row as read (column -> text), for writing ``FILE.rejected.csv``.
    """

    where: str
    field: str
    reason: str
    raw: dict[str, str] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.where == "file":
            return f"{self.field}: {self.reason}" if self.field else self.reason
        place = self.where
        if self.field and not place:  # a form's field: no line, no element
            place = self.field
        elif self.field:
            place += f", column {self.field}" if self.where.startswith("line") else f", {self.field}"
        return f"{place}: {self.reason}" if place else self.reason

    def as_dict(self) -> dict[str, str | int | None]:
        out: dict[str, str | int | None] = {"where": self.where, "field": self.field, "reason": self.reason}
        if self.where.startswith("line ") and self.where[5:].isdigit():
            out["line"] = int(self.where[5:])
        return out


class RefusedError(Exception):
    """An input refused whole. ``errors`` names every problem found; nothing was written.

    ``message`` is worded for every entry point alike: it never names a command-line option, a form's field or
    a JSON key. When a choice of the request would let it through (posting despite gaps, reposting), ``option``
    names it by the service's keyword (``"allow_gaps"``, ``"repost"``) and each entry point adds the hint in its
    own words (the CLI its ``--allow-gaps``, the API its ``"allow_gaps": true``, a page its checkbox).
    """

    exit_code = 2

    def __init__(self, message: str, errors: list[RowError] | None = None, *, subject: str | None = None,
                 option: str | None = None):
        super().__init__(message)
        self.message = message
        self.errors = list(errors or [])
        self.subject = subject
        self.option = option

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  - {e}" for e in self.errors]
        return "\n".join(lines)


class NotFoundError(RefusedError):
    """Something named by the user does not exist."""

    exit_code = 4


class ConflictError(RefusedError):
    """The request conflicts with what is already recorded (e.g. a month already posted)."""

    exit_code = 3
