"""How complete a meter's readings are over a month (SPEC sections 4 and 5): present / expected, with gaps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.allocation import expected_intervals, format_coverage, month_days
from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.models import Asset, Meter, Reading
from energy_coop.period import Period

DEFAULT_INTERVAL_S = 900  # an asset meter with no readings at all is expected to read every 15 minutes


@dataclass
class Coverage:
    """Coverage of one meter over ``[start, end)`` [UTC epoch s]; gaps as ``(start, end)`` [UTC epoch s]."""

    meter_code: str
    start: int
    end: int
    interval_s: int
    present: int
    expected: int
    gaps: list[tuple[int, int]] = field(default_factory=list)

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.present, self.expected) if self.expected else Fraction(1)

    @property
    def complete(self) -> bool:
        return self.present >= self.expected

    def as_dict(self) -> dict[str, Any]:
        iso = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat()  # noqa: E731
        return {
            "meter_code": self.meter_code,
            "interval_minutes": self.interval_s // 60,
            "present": self.present,
            "expected": self.expected,
            "coverage": format_coverage(self.fraction),
            "gaps": [{"start": iso(a), "end": iso(b), "intervals": (b - a) // self.interval_s} for a, b in self.gaps],
        }


def interval_starts(session: Session, meter_id: int, start: int, end: int) -> np.ndarray:
    """Interval starts [UTC epoch s] of a meter's readings that start in ``[start, end)``, sorted."""
    rows = session.execute(
        select(Reading.start).where(Reading.meter_id == meter_id, Reading.start >= start, Reading.start < end)
        .order_by(Reading.start)
    ).scalars().all()
    return np.asarray(rows, dtype=np.int64)


def coverage_from_starts(meter_code: str, starts: np.ndarray, ends: np.ndarray | None, start: int, end: int,
                         interval_s: int | None = None) -> Coverage:
    """Coverage from the readings' starts (and ends, to learn the interval length when not given)."""
    if interval_s is None:
        if ends is not None and len(ends):
            lengths, counts = np.unique(ends - starts, return_counts=True)
            interval_s = int(lengths[np.argmax(counts)])
        else:
            interval_s = DEFAULT_INTERVAL_S
    expected = expected_intervals(start, end, interval_s)
    first = -(-start // interval_s) * interval_s
    grid_present = np.unique(starts[(starts - first) % interval_s == 0]) if len(starts) else starts
    gaps: list[tuple[int, int]] = []
    cursor = first
    for s in grid_present.tolist():
        if s > cursor:
            gaps.append((cursor, s))
        cursor = max(cursor, s + interval_s)
    if cursor < end:
        gaps.append((cursor, -(-end // interval_s) * interval_s))
    present = min(len(grid_present), expected)
    return Coverage(meter_code, start, end, interval_s, present, expected, gaps)


def meter_month_coverage(session: Session, meter_code: str, period: str, timezone: str | None = None) -> Coverage:
    """Coverage of ``meter_code`` over the local month ``period`` (the asset's time zone, else UTC)."""
    meter = session.scalar(select(Meter).where(Meter.code == meter_code))
    if meter is None:
        raise NotFoundError(f"no meter with code {meter_code!r}")
    if timezone is None:
        timezone = session.scalar(select(Asset.timezone).where(Asset.meter_id == meter.id)) or "UTC"
    _, start, end = month_days(period, timezone)
    rows = session.execute(
        select(Reading.start, Reading.end).where(
            Reading.meter_id == meter.id, Reading.start >= start, Reading.start < end)
    ).all()
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ends = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    return coverage_from_starts(meter_code, starts, ends, start, end)


def month_coverage(session: Session, period: str, meter_code: str | None = None) -> list[Coverage]:
    """Coverage over the local month ``period`` ('YYYY-MM') of ``meter_code``, or of every asset's meter in
    code order; a period that does not parse is refused."""
    try:
        Period.parse(period)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    if meter_code:
        codes = [meter_code]
    else:
        codes = list(session.scalars(
            select(Meter.code).join(Asset, Asset.meter_id == Meter.id).order_by(Meter.code)))
    return [meter_month_coverage(session, code, period) for code in codes]
