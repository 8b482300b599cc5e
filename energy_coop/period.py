"""The accounting month, ``YYYY-MM``: one value type for the CLI, the pages, the API and the jobs.

A :class:`Period` is a calendar month (``year`` 1..9998, ``month`` 1..12). It is written ``"2024-03"`` and read
back with :meth:`Period.parse`, which refuses anything else (``"2024-13"``, ``"24-03"``, ``" 2024-3"``) with words a
volunteer can act on. Its days are local calendar days: :meth:`Period.bounds_utc` gives ``[start, end)`` [UTC epoch
s] from local 00:00 of the 1st to local 00:00 of the next month's 1st in an IANA time zone, so a month that
crosses a daylight-saving change is an hour shorter or longer than its days x 24 h.

Also here, because every layer needs them and they are pure: :func:`zone` (an IANA name to a ``ZoneInfo``, with a
clear refusal) and :func:`local_midnight_utc` (the first instant of a local day).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_PATTERN = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_EXAMPLE = "write YYYY-MM, e.g. 2024-03"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
FIRST_YEAR, LAST_YEAR = 1, 9998


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One calendar month. Ordered by time; ``str(p)`` is ``'YYYY-MM'``."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (isinstance(self.year, int) and isinstance(self.month, int)):
            raise TypeError("a Period is made of two whole numbers, year and month")
        if not 1 <= self.month <= 12:
            raise ValueError(f"{self.year:04d}-{self.month:02d} is not a month; {_EXAMPLE}")
        if not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise ValueError(f"year {self.year} is out of range; {_EXAMPLE}")

    # ---------------------------------------------------------------------------------------------- reading
    @classmethod
    def parse(cls, text: object) -> Period:
        """``'YYYY-MM'`` (surrounding spaces allowed) as a Period; anything else is a ``ValueError`` (a
        ``TypeError`` when it is not text at all) whose message says how to write a month."""
        if isinstance(text, Period):
            return text
        if not isinstance(text, str):
            raise TypeError(f"{text!r} is not a month; {_EXAMPLE}")
        match = _PATTERN.fullmatch(text.strip())
        if not match:
            raise ValueError(f"{text[:40]!r} is not a month; {_EXAMPLE}")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r} is not a month; {_EXAMPLE}")
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"{text!r} is out of range; {_EXAMPLE}")
        return cls(year, month)

    @classmethod
    def is_valid(cls, text: object) -> bool:
        """Whether ``text`` reads as a month (for a query-string argument that falls back to a default)."""
        try:
            cls.parse(text)
        except (TypeError, ValueError):
            return False
        return True

    @classmethod
    def of(cls, day: date) -> Period:
        """The month ``day`` (a date or datetime, taken as it is) falls in."""
        return cls(day.year, day.month)

    # ------------------------------------------------------------------------------------------- arithmetic
    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def add(self, months: int) -> Period:
        """The month ``months`` later (earlier when negative)."""
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    def next(self) -> Period:
        return self.add(1)

    def previous(self) -> Period:
        return self.add(-1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def days(self) -> list[date]:
        """Every calendar date of the month, in order."""
        first = self.first_day
        return [first + timedelta(days=i) for i in range(self.last_day.day)]

    def contains(self, day: date) -> bool:
        return (day.year, day.month) == (self.year, self.month)

    # --------------------------------------------------------------------------------------------- in a zone
    def bounds_utc(self, timezone: str | ZoneInfo) -> tuple[int, int]:
        """``[start, end)`` [UTC epoch s] of the month's local days in ``timezone``."""
        tz = as_zone(timezone)
        return local_midnight_utc(self.first_day, tz), local_midnight_utc(self.last_day + timedelta(days=1), tz)

    def local_start(self, timezone: str | ZoneInfo) -> datetime:
        """The first instant of the month in ``timezone``, as an aware local datetime."""
        start, _ = self.bounds_utc(timezone)
        return (_EPOCH + timedelta(seconds=start)).astimezone(as_zone(timezone))

    def local_end(self, timezone: str | ZoneInfo) -> datetime:
        """The first instant after the month in ``timezone`` (exclusive end), as an aware local datetime."""
        _, end = self.bounds_utc(timezone)
        return (_EPOCH + timedelta(seconds=end)).astimezone(as_zone(timezone))


def parse_period(text: object) -> tuple[int, int]:
    """``'YYYY-MM'`` -> ``(year, month)``; a shorthand for :meth:`Period.parse` where a tuple is wanted."""
    p = Period.parse(text)
    return p.year, p.month


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``Europe/London``); an unknown name is a ``ValueError``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{name!r} is not a known time zone; use an IANA name such as Europe/London") from None


def as_zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else zone(tz)


def _local_date(epoch_seconds: int, tz: ZoneInfo) -> date:
    return (_EPOCH + timedelta(seconds=epoch_seconds)).astimezone(tz).date()


def local_midnight_utc(day: date, tz: str | ZoneInfo) -> int:
    """The first instant [UTC epoch s] of local calendar ``day`` in ``tz``.

    Normally local 00:00; where 00:00 does not exist (a daylight-saving jump at midnight) the first instant
    that exists, i.e. the instant of the jump.
    """
    tz = as_zone(tz)
    t = (datetime(day.year, day.month, day.day, tzinfo=tz) - _EPOCH) // _SECOND
    if _local_date(t, tz) == day and _local_date(t - 1, tz) < day:
        return t
    # Unusual transition around midnight: search the first second whose local date is `day`.
    lo, hi = t - 2 * 86400, t + 2 * 86400
    while lo < hi:
        mid = (lo + hi) // 2
        if _local_date(mid, tz) >= day:
            hi = mid
        else:
            lo = mid + 1
    return lo
