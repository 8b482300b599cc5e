"""How complete a meter's readings are over a month (SPEC sections 4 and 5): present / expected, with gaps, and
how many of them have the wrong sign for their meter (SPEC 20).

Months are the meter's own local months: an asset's meter uses the asset's time zone; a member's consumption
meter that of the premises it measures, else the co-op's setting (``services.settings``), so a reading at
2026-03-31 23:30 in America/New_York counts in March, not in April as a UTC month would have it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.allocation import expected_intervals, format_coverage, month_days
from energy_coop.calc.metering.reading_checks import MeterLimit, standby_w, wrong_sign, wrong_sign_message
from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.models import Asset, Meter, Premises, Reading
from energy_coop.period import Period
from energy_coop.services import settings

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
    timezone: str = "UTC"
    wrong_sign: int = 0  # readings of the month whose sign contradicts the meter's kind (flagged, stored)
    flag: str | None = None  # the words of that flag, when there are any

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
            "timezone": self.timezone,
            "wrong_sign": self.wrong_sign,
            "flags": [self.flag] if self.flag else [],
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


def meter_limit(session: Session, meter: Meter) -> MeterLimit:
    """The asset's kind, rating [W] and zone for an asset's meter; for any other meter its premises' zone, else
    the co-op's (see the module docstring)."""
    asset = session.scalar(select(Asset).where(Asset.meter_id == meter.id))
    if asset is not None:
        rating = (asset.capacity_kw_ac or asset.capacity_kw_dc) if asset.kind == "solar" else asset.storage_kw
        watts = round(rating * 1000) if rating and 0 < rating < 10**12 else None
        return MeterLimit(asset.kind, watts, asset.timezone)
    zone = session.scalar(select(Premises.timezone).where(Premises.meter_id == meter.id).order_by(Premises.id)
                          .limit(1))
    return MeterLimit(None, None, zone or settings.get_settings(session).timezone)


def meter_timezone(session: Session, meter_code: str) -> str:
    """The zone whose months a meter's coverage counts (see the module docstring)."""
    meter = session.scalar(select(Meter).where(Meter.code == meter_code))
    if meter is None:
        raise NotFoundError(f"no meter with code {meter_code!r}")
    return meter_limit(session, meter).timezone


def meter_month_coverage(session: Session, meter_code: str, period: str, timezone: str | None = None) -> Coverage:
    """Coverage of ``meter_code`` over the local month ``period`` in the meter's own zone (``timezone`` if given;
    see the module docstring), with its readings of the wrong sign counted (:func:`wrong_sign_mask`)."""
    meter = session.scalar(select(Meter).where(Meter.code == meter_code))
    if meter is None:
        raise NotFoundError(f"no meter with code {meter_code!r}")
    limit = meter_limit(session, meter)
    if timezone is None:
        timezone = limit.timezone
    _, start, end = month_days(period, timezone)
    rows = session.execute(
        select(Reading.start, Reading.end, Reading.mwh).where(
            Reading.meter_id == meter.id, Reading.start >= start, Reading.start < end)
    ).all()
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ends = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    mwh = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    cov = coverage_from_starts(meter_code, starts, ends, start, end)
    cov.timezone = timezone
    cov.wrong_sign = int(wrong_sign_mask(meter_code, meter.kind, limit, starts, ends, mwh).sum())
    if cov.wrong_sign:
        cov.flag = wrong_sign_message(meter_code, cov.wrong_sign, str(period), _allowed(meter.kind, limit))
    return cov


def _allowed(kind: str, limit: MeterLimit) -> int | None:
    return None if kind == "consumption" else standby_w(limit.capacity_w)


def wrong_sign_mask(code: str, kind: str, limit: MeterLimit, starts: np.ndarray, ends: np.ndarray,
                    mwh: np.ndarray) -> np.ndarray:
    """Which stored readings have the wrong sign: a solar meter's negative beyond its standby draw
    (:func:`~energy_coop.calc.metering.reading_checks.wrong_sign`), a consumption meter's negative (refused on
    import since SPEC 20, but older data may hold some); storage reads either sign."""
    if kind == "consumption":
        return mwh < 0
    if limit.asset_kind != "solar" or not len(mwh):
        return np.zeros(len(mwh), dtype=bool)
    frame = pd.DataFrame({"meter_code": [code] * len(mwh), "start": starts, "end": ends, "mwh": mwh})
    return wrong_sign(frame, {code: limit})


def wrong_sign_months(session: Session) -> list[dict[str, Any]]:
    """Every meter and local month holding readings of the wrong sign, for the admin's to-do list: dicts of
    ``meter_code``, ``period`` ('YYYY-MM'), ``count`` and ``message`` ("meter 'X' has 312 readings with the
    wrong sign in 2026-05: ..."), by meter code and month. Only negative readings are read."""
    out: list[dict[str, Any]] = []
    storage = select(Asset.meter_id).where(Asset.kind == "storage")
    meters = {m.id: m for m in session.scalars(select(Meter).where(Meter.id.not_in(storage)))}
    if not meters:
        return out
    negative = session.execute(select(Reading.meter_id, Reading.start, Reading.end, Reading.mwh)
                               .where(Reading.mwh < 0, Reading.meter_id.not_in(storage))).all()
    by_meter: dict[int, list[tuple[int, int, int]]] = {}
    for meter_id, start, end, mwh in negative:
        by_meter.setdefault(meter_id, []).append((start, end, mwh))
    for meter in sorted((meters[i] for i in by_meter), key=lambda m: m.code):
        rows = np.asarray(by_meter[meter.id], dtype=np.int64)
        limit = meter_limit(session, meter)
        mask = wrong_sign_mask(meter.code, meter.kind, limit, rows[:, 0], rows[:, 1], rows[:, 2])
        if not mask.any():
            continue
        months = (pd.to_datetime(rows[mask, 0], unit="s", utc=True).tz_convert(limit.timezone).strftime("%Y-%m"))
        for period, n in sorted(pd.Series(months).value_counts().items()):
            out.append({"meter_code": meter.code, "period": period, "count": int(n),
                        "message": wrong_sign_message(meter.code, int(n), period, _allowed(meter.kind, limit))})
    return out


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
