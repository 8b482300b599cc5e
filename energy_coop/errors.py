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


class StorageFault(Exception):
    """The database or a folder could not do what was asked (busy, full, read-only, missing): nothing was written.

    Not a refusal of the input: the same request may succeed once the operator has fixed the cause (or, for
    :class:`DatabaseBusy`, a minute later). ``message`` says what happened and what to check, naming the database
    file or folder and never the SQL; each entry point turns it into its own answer: the command line's
    ``exit_code`` (the BSD ``sysexits.h`` numbers, listed in the README), the web's ``http_status`` with
    ``Retry-After: retry_after`` seconds when a retry is expected to succeed. Made by
    :func:`energy_coop.storage_faults.translate`.
    """

    exit_code = 74  # EX_IOERR
    http_status = 503
    retry_after: int | None = None
    word = "storage_fault"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DatabaseBusy(StorageFault):
    """Another change held the database longer than this one would wait (SQLite's busy timeout, PostgreSQL's
    ``lock_timeout``, a deadlock or serialization failure): retry in a minute. Exit status 75 (EX_TEMPFAIL)."""

    exit_code = 75
    retry_after = 60
    word = "busy"


class DiskFull(StorageFault):
    """The disk (or quota) holding the database or an output folder is full. Exit status 74 (EX_IOERR)."""

    exit_code = 74
    word = "disk_full"


class ReadOnlyStorage(StorageFault):
    """The database (or an output folder) may be read but not written. Exit status 77 (EX_NOPERM)."""

    exit_code = 77
    word = "read_only"


class MissingFolder(StorageFault):
    """The folder of the database or of an output does not exist. Exit status 73 (EX_CANTCREAT)."""

    exit_code = 73
    word = "missing_folder"


class DatabaseUnreachable(StorageFault):
    """The database server does not answer, or the file cannot be opened. Exit status 69 (EX_UNAVAILABLE)."""

    exit_code = 69
    retry_after = 60
    word = "unavailable"
