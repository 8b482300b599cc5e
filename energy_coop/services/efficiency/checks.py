"""What every efficiency service checks its values with: :class:`Check` collects every problem with a set of
values and refuses them all at once, in words a volunteer can act on; :func:`audit_values` copies a record's
fields for the audit log; :data:`UNSET` marks an argument left out (as opposed to None)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from energy_coop.errors import RefusedError, RowError

#: An argument that was not given (None is a value: "no meter").
UNSET: Any = object()


class Check:
    """Collects every problem with a set of values, then refuses them all at once."""

    def __init__(self) -> None:
        self.errors: list[RowError] = []

    def add(self, name: str, reason: str) -> None:
        self.errors.append(RowError("", name, reason))

    def integer(self, name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None,
                required: bool = True, unit: str = "") -> None:
        if value is None:
            if required:
                self.add(name, "is required")
            return
        if type(value) is not int:  # noqa: E721 - bool and float are refused on purpose
            self.add(name, f"must be a whole number{' of ' + unit if unit else ''}, not {value!r}")
            return
        if minimum is not None and value < minimum:
            self.add(name, f"must be at least {minimum}{' ' + unit if unit else ''}, not {value}"
                     if minimum != 0 else f"must not be negative ({value})")
        if maximum is not None and value > maximum:
            self.add(name, f"must be at most {maximum}{' ' + unit if unit else ''}, not {value}")

    def text(self, name: str, value: Any, *, max_len: int, required: bool = True) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(name, "is required")
            return
        if not isinstance(value, str):
            self.add(name, f"must be text, not {value!r}")
        elif len(value) > max_len:
            self.add(name, f"is too long ({len(value)} characters; at most {max_len})")

    def date(self, name: str, value: Any, *, required: bool = True) -> None:
        if value is None:
            if required:
                self.add(name, "is required")
            return
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            self.add(name, f"must be a date like 2024-05-01, not {value!r}")

    def choice(self, name: str, value: Any, choices: Iterable[str]) -> None:
        choices = tuple(choices)
        if value not in choices:
            self.add(name, f"{value!r} is not one of: {', '.join(choices)}")

    def refuse(self, message: str) -> None:
        if self.errors:
            raise RefusedError(message, self.errors)


def audit_values(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}
