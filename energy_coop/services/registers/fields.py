"""Reading typed values out of one register row, collecting every problem instead of stopping at the first."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from energy_coop.errors import RowError
from energy_coop.importers.registers.tables import TableRow
from energy_coop.units import DECIMAL_TEXT, MAX_NUMBER_TEXT, UnitError, shown

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()
"""The column is not in the file at all: on update, leave the stored value alone."""

EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class RowFields:
    """Typed accessors over a :class:`TableRow`; problems go to ``errors`` and the accessor returns ``None``."""

    def __init__(self, row: TableRow, errors: list[RowError]):
        self.row = row
        self.errors = errors
        self.ok = True

    def error(self, column: str, reason: str) -> None:
        self.ok = False
        self.errors.append(RowError(self.row.where, column, reason))

    def raw(self, column: str) -> Any:
        """The stripped text, ``""`` when blank, :data:`MISSING` when the column is absent from the file."""
        return self.row.values.get(column, MISSING)

    def _get(self, column: str, required: bool, parse: Callable[[str], Any], default: Any = None) -> Any:
        text = self.raw(column)
        if text is MISSING:
            if required:
                self.error(column, "is required")
                return None
            return MISSING
        if text == "":
            if required:
                self.error(column, "is empty; a value is required")
                return None
            return default
        try:
            return parse(text)
        except (ValueError, UnitError) as exc:
            self.error(column, str(exc))
            return None

    def text(self, column: str, *, required: bool = False, max_len: int = 200, default: Any = None) -> Any:
        def parse(t: str) -> str:
            if len(t) > max_len:
                raise ValueError(f"is {len(t)} characters long; at most {max_len} are allowed")
            if any(ord(c) < 32 for c in t):
                raise ValueError("contains control characters")
            return t

        return self._get(column, required, parse, default)

    def code(self, column: str, *, required: bool = False) -> Any:
        def parse(t: str) -> str:
            if len(t) > 64:
                raise ValueError(f"{t[:20]!r}... is longer than 64 characters")
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-/]*", t):
                raise ValueError(f"{shown(t)} may hold only letters, digits and . _ - / (starting with a letter or digit)")
            if t.upper() == "COOP":
                raise ValueError("'COOP' is reserved for the co-op itself")
            return t

        return self._get(column, required, parse)

    def email(self, column: str, *, required: bool = False) -> Any:
        def parse(t: str) -> str:
            if len(t) > 320 or not EMAIL_RE.match(t):
                raise ValueError(f"{shown(t)} is not an email address")
            return t

        return self._get(column, required, parse)

    def date(self, column: str, *, required: bool = False) -> Any:
        def parse(t: str) -> dt.date:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", t):
                raise ValueError(f"{shown(t)} is not a date; write YYYY-MM-DD, e.g. 2024-03-01")
            try:
                return dt.date.fromisoformat(t)
            except ValueError:
                raise ValueError(f"{shown(t)} is not a real date") from None

        return self._get(column, required, parse)

    def timestamp(self, column: str, *, required: bool = False) -> Any:
        def parse(t: str) -> dt.datetime:
            try:
                if not t.isascii():  # dates and times are written with the digits 0-9
                    raise ValueError
                value = dt.datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise ValueError(f"{shown(t)} is not an ISO 8601 timestamp, e.g. 2024-03-01T00:00:00+01:00") from None
            if value.tzinfo is None:
                raise ValueError(f"{shown(t)} has no UTC offset; add one, e.g. {t}+00:00 or {t}Z")
            return value.astimezone(dt.timezone.utc)

        return self._get(column, required, parse)

    def choice(self, column: str, choices: tuple[str, ...], *, required: bool = False, default: Any = None) -> Any:
        def parse(t: str) -> str:
            if t not in choices:
                raise ValueError(f"{shown(t)} is not one of: {', '.join(choices)}")
            return t

        return self._get(column, required, parse, default)

    def boolean(self, column: str, *, default: Any = None) -> Any:
        def parse(t: str) -> bool:
            low = t.lower()
            if low in {"true", "yes", "1"}:
                return True
            if low in {"false", "no", "0"}:
                return False
            raise ValueError(f"{shown(t)} is not true or false")

        return self._get(column, False, parse, default)

    def integer(self, column: str, *, required: bool = False, minimum: int | None = None,
                maximum: int | None = None) -> Any:
        def parse(t: str) -> int:
            if not re.fullmatch(r"[+-]?[0-9]+", t):  # ASCII digits only: int() would read "١٢٣" as 123
                raise ValueError(f"{shown(t)} is not a whole number (write it with the digits 0-9)")
            if len(t) > 30:
                raise ValueError(f"{shown(t)} is far too large")
            value = int(t)
            if minimum is not None and value < minimum:
                raise ValueError(f"{value} is below the minimum of {minimum}")
            if maximum is not None and value > maximum:
                raise ValueError(f"{value} is above the maximum of {maximum}")
            return value

        return self._get(column, required, parse)

    def number(self, column: str, *, required: bool = False, minimum: float | None = None,
               maximum: float | None = None, above: float | None = None, default: Any = None) -> Any:
        """A physical quantity (float): for pvlib parameters, never for money or energy."""

        def parse(t: str) -> float:
            if t.lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
                raise ValueError(f"{shown(t)} is not a finite number")
            if not DECIMAL_TEXT.fullmatch(t) or len(t) > MAX_NUMBER_TEXT:  # ASCII digits: Decimal reads "١٢٣"
                raise ValueError(f"{shown(t)} is not a number (write it with the digits 0-9 and a dot before any "
                                 "decimals)")
            value = float(Decimal(t))
            if not math.isfinite(value):
                raise ValueError(f"{shown(t)} is too large")
            if minimum is not None and value < minimum:
                raise ValueError(f"{t} is below the minimum of {minimum:g}")
            if maximum is not None and value > maximum:
                raise ValueError(f"{t} is above the maximum of {maximum:g}")
            if above is not None and value <= above:
                raise ValueError(f"{t} must be greater than {above:g}")
            return value

        return self._get(column, required, parse, default)

    def exact(self, column: str, parse_units: Callable[[str], int], *, required: bool = False,
              minimum: int | None = None) -> Any:
        """An exact amount through one of :mod:`energy_coop.units`' parsers (cents, mWh, rate micros)."""

        def parse(t: str) -> int:
            value = parse_units(t)
            if minimum is not None and value < minimum:
                raise ValueError(f"{t} may not be negative" if minimum == 0 else f"{t} is too small")
            return value

        return self._get(column, required, parse)

    def timezone(self, column: str, *, required: bool = False) -> Any:
        def parse(t: str) -> str:
            try:
                if len(t) > 64:  # IANA names are short; a long one makes ZoneInfo fail with OSError
                    raise ValueError
                ZoneInfo(t)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                raise ValueError(f"{shown(t)} is not a known time zone; use an IANA name such as Europe/London") from None
            return t

        return self._get(column, required, parse)


def duplicate_keys(rows: list[TableRow], key: Callable[[TableRow], Any], column: str) -> list[RowError]:
    """One error for every row whose key already appeared in an earlier row of the same file."""
    first: dict[Any, int] = {}
    errors = []
    for row in rows:
        k = key(row)
        if k in (None, ""):
            continue
        if k in first:
            errors.append(RowError(row.where, column, f"{k!r} already appears on line {first[k]} of this file"))
        else:
            first[k] = row.line
    return errors
