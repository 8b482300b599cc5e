"""Local date-and-time texts of utility exports -> UTC epoch seconds, with the daylight-saving rule stated.

A text is normalised first: every kind of space (a non-breaking space, a narrow one, a tab) becomes one plain
space. It is read with the profile's ``strptime`` formats, the first that fits. A format with ``%z`` gives an
aware time; any other time is local time in the profile's (or the import's) zone:

* a local time that does not exist there (the clocks skip it in spring) is refused;
* a local time that happens twice (the clocks go back in autumn) is handled by the profile's ``ambiguous`` rule:
  ``refuse`` (the default), ``earlier`` (the first, daylight-saving one), ``later`` (the second), or
  ``in-order``: the file lists the repeated hour twice in time order, so the first time a text appears (in one
  channel, as a start or as an end) it is the earlier one and the second time the later one; a text that
  appears only once, or three times, is refused: which one is meant cannot be told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from energy_coop.importers.metering.common import EARLIEST_EPOCH, LATEST_EPOCH, quoted

AmbiguousRule = Literal["refuse", "earlier", "later", "in-order"]
AMBIGUOUS_RULES: tuple[str, ...] = ("refuse", "earlier", "later", "in-order")

_SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")
_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)
_MAX_TEXT = 64


def normalise(text: str) -> str:
    """Every run of spaces (also non-breaking ones) as one plain space, ends stripped."""
    return _SPACES.sub(" ", text).strip()


def epoch_of(aware: datetime) -> int:
    """An aware datetime as UTC epoch seconds [s], exactly (integer arithmetic, no float)."""
    return (aware.astimezone(UTC).replace(tzinfo=None) - _EPOCH) // _SECOND


@dataclass
class TimeReader:
    """Reads the time texts of one file with one profile's formats, zone and daylight-saving rule."""

    formats: tuple[str, ...]
    zone: ZoneInfo | None
    zone_name: str | None
    ambiguous: AmbiguousRule = "refuse"
    _parsed: dict[str, tuple[datetime | None, str | None]] = field(default_factory=dict)
    _seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def parse(self, text: str) -> tuple[datetime | None, str | None]:
        """A normalised text -> (datetime naive or aware, None) or (None, reason); cached per text."""
        hit = self._parsed.get(text)
        if hit is None:
            hit = self._parse(text)
            if len(self._parsed) < 1_000_000:
                self._parsed[text] = hit
        return hit

    def _parse(self, text: str) -> tuple[datetime | None, str | None]:
        if not text:
            return None, "is empty; every reading needs its time"
        if len(text) > _MAX_TEXT:
            return None, f"{quoted(text)} is far too long to be a date and time"
        for fmt in self.formats:
            try:
                value = datetime.strptime(text, fmt)
            except ValueError:
                continue
            if value.microsecond:
                return None, f"{quoted(text)} has a fraction of a second; readings start and end on whole seconds"
            return value, None
        shown = " or ".join(repr(f) for f in self.formats)
        return None, f"{quoted(text)} is not a date and time in this layout's form ({shown})"

    def epoch(self, text: str, role: str) -> tuple[int, str | None]:
        """A normalised time text -> (UTC epoch s, None) or (0, reason). ``role`` (e.g. ``"delivered start"``)
        keeps the ``in-order`` counts of starts and ends, and of each channel, apart."""
        value, reason = self.parse(text)
        if value is None:
            return 0, reason
        if value.tzinfo is None:
            if self.zone is None:
                return 0, (f"{quoted(text)} is a local time without a UTC offset, and no time zone is known for "
                           "it; name the file's time zone when importing it (or in its profile)")
            value, reason = self._place(text, value, role)
            if value is None:
                return 0, reason
        seconds = epoch_of(value)
        if not EARLIEST_EPOCH <= seconds < LATEST_EPOCH:
            return 0, f"{quoted(text)} is outside the years 1970 to 2099"
        return seconds, None

    def _place(self, text: str, local: datetime, role: str) -> tuple[datetime | None, str | None]:
        zone = self.zone
        first = local.replace(tzinfo=zone, fold=0)
        second = local.replace(tzinfo=zone, fold=1)
        if first.utcoffset() == second.utcoffset():
            return first, None
        if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
            return None, (f"{quoted(text)} does not exist in {self.zone_name} (the clocks skip that hour); check "
                          "the time")
        if self.ambiguous == "earlier":
            return first, None
        if self.ambiguous == "later":
            return second, None
        if self.ambiguous == "in-order":
            key = (role, text)
            count = self._seen.get(key, 0) + 1
            self._seen[key] = count
            if count <= 2:
                return (first if count == 1 else second), None
            return None, (f"{quoted(text)} appears a third time; it happens only twice in {self.zone_name} (the "
                          "clocks go back that night)")
        return None, (f"{quoted(text)} happens twice in {self.zone_name} (the clocks go back that night), and this "
                      "layout does not say which one is meant")

    def lone_ambiguous(self) -> list[tuple[str, str]]:
        """``in-order``: the (role, text) of ambiguous times that appeared only once (refused by the reader)."""
        return [key for key, n in self._seen.items() if n == 1]
