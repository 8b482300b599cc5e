"""A month's local days, its coverage, and the per-day totals of one asset's readings (SPEC 5 step 1), exactly.

The first step of :mod:`energy_coop.calc.credits.allocation`, whose docstring gives the units and why day sums
are enough: ``energy_d`` [mWh] and ``value_d`` [mWh x micro-currency/kWh = 1e-10 cents] per local day ``d``.
Coverage is an exact :class:`~fractions.Fraction` written with four decimals truncated towards zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from energy_coop.period import Period, as_zone, local_midnight_utc

_INT64_LIMIT = 2**63


# --------------------------------------------------------------------------------------------------------------
# Periods, days and time zones


def month_days(period: str, timezone: str | ZoneInfo) -> tuple[list[date], int, int]:
    """The local days of ``period`` (``'YYYY-MM'``) and its bounds in UTC for an asset in ``timezone``.

    Returns ``(days, start_utc, end_utc)``: the calendar dates of the month, and ``[start_utc, end_utc)``
    [UTC epoch s], from local 00:00 of the 1st to local 00:00 of the next month's 1st (DST-aware: the month
    may be an hour shorter or longer than its days x 24 h).
    """
    p = Period.parse(period)
    start, end = p.bounds_utc(timezone)
    return p.days, start, end


class MonthEnd(NamedTuple):
    """Where and when a month ends last: ``asset_code`` (``None`` when no asset is registered: then UTC),
    its ``timezone`` and ``end_utc`` [UTC epoch s], the first instant after the month there."""

    asset_code: str | None
    timezone: str
    end_utc: int


def last_month_end(period: str, zones: Sequence[tuple[str, str]]) -> MonthEnd:
    """The instant ``period`` has ended in every one of ``zones`` (``(asset_code, IANA zone)`` pairs): the
    latest of the local month ends, with the asset it belongs to (the first by code on a tie). With no zones
    the month's end in UTC. A month may be posted only at or after this instant (SPEC 13)."""
    p = Period.parse(period)
    if not zones:
        return MonthEnd(None, "UTC", p.bounds_utc("UTC")[1])
    ends = sorted(((p.bounds_utc(tz)[1], code, tz) for code, tz in zones), key=lambda e: (-e[0], e[1]))
    end, code, tz = ends[0]
    return MonthEnd(code, tz, end)


def first_month_start(period: str, zones: Sequence[tuple[str, str]]) -> int:
    """The first instant [UTC epoch s] ``period`` has begun somewhere: in UTC or in one of ``zones``."""
    p = Period.parse(period)
    return min([p.bounds_utc("UTC")[0], *(p.bounds_utc(tz)[0] for _, tz in zones)])


def expected_intervals(start_utc: int, end_utc: int, interval_seconds: int) -> int:
    """How many meter intervals of ``interval_seconds`` [s] start in ``[start_utc, end_utc)`` [UTC epoch s].

    Asset-meter intervals start on a multiple of their length in UTC (SPEC 4), so this counts the multiples of
    ``interval_seconds`` in the window (a local day can start mid-interval, e.g. at +05:30 with 60-minute data).
    """
    if interval_seconds <= 0:
        raise ValueError("interval_seconds must be positive")
    if end_utc <= start_utc:
        return 0
    return -(-end_utc // interval_seconds) - -(-start_utc // interval_seconds)


def coverage_of(present: int, expected: int) -> Fraction:
    """Coverage = intervals present / intervals expected, exactly (SPEC 5 step 1)."""
    if expected <= 0:
        raise ValueError("no intervals are expected in this period, so coverage is undefined")
    if present < 0:
        raise ValueError("the number of intervals present cannot be negative")
    return Fraction(present, expected)


def format_coverage(coverage: Fraction | int) -> str:
    """Exact coverage -> text with four decimals, truncated towards zero: ``Fraction(2975, 2976)`` ->
    ``"0.9996"``, ``1`` -> ``"1.0000"`` (never shows complete coverage that is not complete)."""
    c = Fraction(coverage)
    if c < 0:
        raise ValueError("coverage cannot be negative")
    ten_thousandths = c.numerator * 10_000 // c.denominator
    return f"{ten_thousandths // 10_000}.{ten_thousandths % 10_000:04d}"


def check_days(days: Sequence[date]) -> None:
    """Refuse anything but increasing ``datetime.date`` values without repeats."""
    if not days:
        raise ValueError("the list of days is empty")
    for k, day in enumerate(days):
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"days must be datetime.date values, got {day!r}")
        if k and days[k - 1] >= day:
            raise ValueError("days must be in increasing order without repeats")


# --------------------------------------------------------------------------------------------------------------
# Per-day totals of readings


def _int_array(values: object, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a one-dimensional array")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "u":
        if int(arr.max()) >= _INT64_LIMIT:
            raise ValueError(f"{what} has a value too large for 64-bit integers")
        return arr.astype(np.int64)
    if arr.dtype.kind != "i":
        raise TypeError(f"{what} must be integers (mWh, micro-currency/kWh, epoch seconds), not {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _max_abs(arr: np.ndarray) -> int:
    return max(abs(int(arr.max())), abs(int(arr.min()))) if arr.size else 0


def _sum_by_day(day_index: np.ndarray, values: np.ndarray, n_days: int, bound: int) -> list[int]:
    """Σ of ``values`` per day index, exact: int64 when ``bound`` (a limit on any partial sum) allows,
    else Python integers."""
    if bound < _INT64_LIMIT:
        out = np.zeros(n_days, dtype=np.int64)
    else:
        out = np.zeros(n_days, dtype=object)
        values = values.astype(object)
    np.add.at(out, day_index, values)
    return [int(v) for v in out]


def daily_totals(
    starts_utc: np.ndarray,
    mwh: np.ndarray,
    rate_micros: np.ndarray,
    timezone: str | ZoneInfo,
    days: Sequence[date],
) -> tuple[list[int], list[int]]:
    """Per local day of ``days``, the energy and the value of one asset's readings.

    Inputs, one element per reading (any order): ``starts_utc`` [UTC epoch s] interval start, ``mwh`` [mWh]
    (negative while a battery charges), ``rate_micros`` [micro-currency/kWh] rate at the start (see
    ``RateSchedule.lookup``). ``timezone`` is the asset's; a reading's day is the local date of its start.

    Returns ``(energy_by_day, value_by_day)``, two lists of ``int`` aligned with ``days``:
    ``energy_by_day`` [mWh] = Σ mwh; ``value_by_day`` [mWh x micro-currency/kWh = 1e-10 cents] = Σ mwh x rate.
    Readings whose start falls on no day of ``days`` are not in the period (SPEC 5 step 1) and are ignored.
    Exact for any magnitude: int64 is used only where no sum can overflow, Python integers otherwise.
    """
    check_days(days)
    tz = as_zone(timezone)
    starts = _int_array(starts_utc, "interval starts")
    energy = _int_array(mwh, "energy")
    rates = _int_array(rate_micros, "rates")
    if not (len(starts) == len(energy) == len(rates)):
        raise ValueError(
            f"starts, energy and rates must have one element per reading; got {len(starts)}, "
            f"{len(energy)} and {len(rates)}"
        )
    day_start = np.array([local_midnight_utc(d, tz) for d in days], dtype=np.int64)
    day_end = np.array([local_midnight_utc(d + timedelta(days=1), tz) for d in days], dtype=np.int64)
    idx = np.searchsorted(day_start, starts, side="right") - 1
    inside = idx >= 0
    inside[inside] = starts[inside] < day_end[idx[inside]]
    idx, energy, rates = idx[inside], energy[inside], rates[inside]

    n = len(energy)
    energy_bound = n * _max_abs(energy)
    max_product = _max_abs(energy) * _max_abs(rates)
    if max_product < _INT64_LIMIT:
        products = energy * rates
    else:
        products = energy.astype(object) * rates.astype(object)
    return (
        _sum_by_day(idx, energy, len(days), energy_bound),
        _sum_by_day(idx, products, len(days), n * max_product),
    )
