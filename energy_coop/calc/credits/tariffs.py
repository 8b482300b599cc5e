"""Time-of-use tariffs as step rows (SPEC section 3: "a time-of-use tariff is simply many rows")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class TouBand:
    """From local clock time ``starts`` until the next band's start, the rate is ``rate_micros`` [1e-6/kWh]."""

    starts: dt.time
    rate_micros: int


def time_of_use_rows(
    first_day: dt.date, last_day: dt.date, timezone: str, bands: list[TouBand]
) -> list[tuple[dt.datetime, int]]:
    """The step rows ``(valid_from [UTC], rate_micros)`` that make ``bands`` hold on every local day.

    Band start times are local wall-clock times in ``timezone``; on a day when a start time does not exist
    (spring forward) it is taken one hour later, when it exists twice (fall back) the first occurrence counts.
    Consecutive rows with the same rate are merged. Raises ``ValueError`` for an empty or unordered band list.
    """
    if not bands:
        raise ValueError("a time-of-use tariff needs at least one band")
    starts = [b.starts for b in bands]
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        raise ValueError("band start times must be different and in order through the day")
    if last_day < first_day:
        raise ValueError("the last day is before the first day")
    zone = ZoneInfo(timezone)
    rows: list[tuple[dt.datetime, int]] = []
    day = first_day
    while day <= last_day:
        for band in bands:
            local = dt.datetime.combine(day, band.starts, tzinfo=zone)
            utc = local.astimezone(dt.timezone.utc)
            if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
                # nonexistent local time (spring forward): the wall clock reaches it an hour later
                utc = (local.replace(tzinfo=None) + dt.timedelta(hours=1)).replace(tzinfo=zone).astimezone(
                    dt.timezone.utc)
            if not rows or rows[-1][1] != band.rate_micros:
                rows.append((utc, band.rate_micros))
        day += dt.timedelta(days=1)
    return rows
