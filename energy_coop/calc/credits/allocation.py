"""Monthly allocation of each asset's production and value to its holders (SPEC section 5), exactly.

Units (all Python ``int`` unless said otherwise; see ``energy_coop.units``):

* reading energy [mWh]; allocated energy [Wh] = mWh / 1000;
* rate [micro-currency/kWh]; a reading's *value* ``mwh x rate_micros`` is in [mWh x micro-currency/kWh]
  = 1e-6 kWh x 1e-6 currency/kWh = 1e-12 currency = **1e-10 cents**, so cents = value / 10**10;
* shares [shares]; ``shares_days`` [share-days] = Σ over the local days of the month of the shares held.

How the SPEC's per-reading sums are computed fast without changing them: the holding ``h(m, d)`` is constant
over a local day d, so

    Σ_r mwh_r x h(m, day(r))          = Σ_d energy_d x h(m, d)      with energy_d = Σ_{day(r)=d} mwh_r
    Σ_r mwh_r x rate_r x h(m, day(r)) = Σ_d value_d  x h(m, d)      with value_d  = Σ_{day(r)=d} mwh_r x rate_r

and, ``h`` being piecewise constant over runs of days, Σ_d energy_d x h(m, d) = Σ_runs shares x (prefix sums
difference). Exact Wh of holder m = that / (total_shares x 1000); exact cents = the value sum / (total_shares
x 10**10). The day sums are the only per-interval work, so the cost grows with intervals + holdings x changes,
never with holdings x intervals.

The co-op holds what members do not: ``COOP``'s holding on day d is ``total_shares - Σ_m h(m, d)``, and ``COOP``
sorts after every member number when breaking ties. Member numbers are compared as text (code-point order).

Coverage is carried as an exact :class:`~fractions.Fraction` (intervals present / expected) and written in the
``allocate --json`` document as text with four decimals, truncated towards zero (``"1.0000"`` only when
complete, so 99.999 % shows as ``"0.9999"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from energy_coop.calc.credits.holdings import holding_segments
from energy_coop.period import Period, as_zone, local_midnight_utc, parse_period
from energy_coop.units import (
    CENTS_PER_UNIT,
    MWH_PER_KWH,
    MWH_PER_WH,
    RATE_SCALE,
    largest_remainder,
    round_half_even,
)

__all__ = [
    "COOP",
    "VALUE_PER_CENT",
    "AssetAllocation",
    "HolderPart",
    "PeriodAllocation",
    "allocate_asset",
    "allocate_period",
    "coverage_of",
    "daily_totals",
    "expected_intervals",
    "format_coverage",
    "month_days",
]

#: The key of the co-op's own holding (the shares no member holds).
COOP = "COOP"
#: [mWh x micro-currency/kWh] per cent: 1e6 mWh/kWh x 1e6 micro/unit / 100 cents/unit = 10**10.
VALUE_PER_CENT = MWH_PER_KWH * RATE_SCALE // CENTS_PER_UNIT

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


def _check_days(days: Sequence[date]) -> None:
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
    _check_days(days)
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


# --------------------------------------------------------------------------------------------------------------
# Allocation


class HolderPart(NamedTuple):
    """One holder's part of one asset: ``wh`` [Wh] and ``cents`` [cents] after the largest-remainder split.

    ``shares_days`` [share-days]; ``exact_wh`` [Wh] and ``exact_cents`` [cents] are the exact shares (SPEC 5
    steps 3-4) as ``Fraction``; ``wh`` is ``floor(exact_wh)`` or one more (likewise ``cents``). The exact
    shares are kept as integer numerators over ``total_shares x 1000`` resp. ``total_shares x 10**10`` and
    made into fractions only when asked for (a tuple, so 200,000 of them are cheap to build).
    """

    holder: str
    shares_days: int
    wh: int
    cents: int
    wh_numerator: int  # [mWh x shares]
    cents_numerator: int  # [mWh x micro-currency/kWh x shares]
    total_shares: int

    @property
    def exact_wh(self) -> Fraction:
        """Exact energy share [Wh] = Σ_d energy_d x h / (total_shares x 1000)."""
        return Fraction(self.wh_numerator, self.total_shares * MWH_PER_WH)

    @property
    def exact_cents(self) -> Fraction:
        """Exact value share [cents] = Σ_d value_d x h / (total_shares x 10**10)."""
        return Fraction(self.cents_numerator, self.total_shares * VALUE_PER_CENT)


@dataclass(frozen=True, slots=True)
class AssetAllocation:
    """One asset's month: totals ``wh`` [Wh] and ``cents`` [cents] (rounded once, half to even), the exact sums
    ``total_mwh`` [mWh] and ``total_value`` [mWh x micro-currency/kWh], and ``holders`` (members by member
    number, then ``COOP``), whose ``wh`` and ``cents`` sum exactly to the totals."""

    asset_code: str
    total_shares: int
    wh: int
    cents: int
    holders: tuple[HolderPart, ...]
    total_mwh: int
    total_value: int

    def holder(self, key: str) -> HolderPart | None:
        """The part of member number ``key`` (or ``COOP``), ``None`` if they held nothing this month."""
        for part in self.holders:
            if part.holder == key:
                return part
        return None


def allocate_asset(
    asset_code: str,
    total_shares: int,
    days: Sequence[date],
    energy_by_day: Sequence[int],
    value_by_day: Sequence[int],
    holdings: Mapping[str, Sequence[tuple[date, int]]],
) -> AssetAllocation:
    """Split one asset's month over its holders (SPEC section 5, steps 2-6).

    ``total_shares`` [shares] > 0; ``days``: the local days of the month, increasing; ``energy_by_day`` [mWh] and
    ``value_by_day`` [mWh x micro-currency/kWh] aligned with ``days`` (from :func:`daily_totals`);
    ``holdings``: ``{member_number: [(date, shares held from that date), ...]}`` (a timeline from
    ``holdings.holdings_timeline``; change points before the month are allowed and give the holding on day 1).

    Asset totals: ``wh = round_half_even(Σ mWh, 1000)``, ``cents = round_half_even(Σ value, 10**10)``.
    Holder m's exact parts: ``Σ_d energy_d x h(m, d) / (total_shares x 1000)`` [Wh] and
    ``Σ_d value_d x h(m, d) / (total_shares x 10**10)`` [cents]; ``COOP`` holds ``total_shares - Σ_m h(m, d)``.
    Each total is split by largest remainder, ties to the key that sorts first, ``COOP`` after every member.
    Holders with no shares on any day are left out; holders with shares but no energy stay, with 0.

    Raises ``ValueError`` for a negative holding or members holding more than ``total_shares`` on some day.
    """
    if not isinstance(total_shares, int) or isinstance(total_shares, bool) or total_shares <= 0:
        raise ValueError(f"asset {asset_code}: total_shares must be a whole number greater than 0")
    _check_days(days)
    n = len(days)
    if len(energy_by_day) != n or len(value_by_day) != n:
        raise ValueError(f"asset {asset_code}: energy and value must have one entry per day ({n})")
    energy_prefix = [0] * (n + 1)
    value_prefix = [0] * (n + 1)
    for d in range(n):
        energy_prefix[d + 1] = energy_prefix[d] + int(energy_by_day[d])
        value_prefix[d + 1] = value_prefix[d] + int(value_by_day[d])

    held_change = [0] * (n + 1)  # difference array of Σ_m h(m, d)
    wh_num: dict[str, int] = {}
    cents_num: dict[str, int] = {}
    shares_days: dict[str, int] = {}
    for member, points in holdings.items():
        if not isinstance(member, str):
            raise TypeError(f"member numbers must be text, got {member!r}")
        if member == COOP:
            raise ValueError(f"{COOP!r} is the co-op's own key and cannot be a member number")
        if len(points) == 1 and points[0][0] <= days[0]:  # the common case: unchanged all month
            shares = points[0][1]
            segments = [(0, n, shares)] if shares else []
        else:
            segments = holding_segments(points, days)
        if not segments:
            continue
        e = v = sd = 0
        for start, stop, shares in segments:
            if shares < 0:
                raise ValueError(
                    f"asset {asset_code}: member {member} would hold {shares} shares on {days[start]}; "
                    f"the share register is invalid"
                )
            e += shares * (energy_prefix[stop] - energy_prefix[start])
            v += shares * (value_prefix[stop] - value_prefix[start])
            sd += shares * (stop - start)
            held_change[start] += shares
            held_change[stop] -= shares
        wh_num[member], cents_num[member], shares_days[member] = e, v, sd

    coop_e = coop_v = coop_sd = 0
    held = 0
    for d in range(n):
        held += held_change[d]
        coop = total_shares - held
        if coop < 0:
            raise ValueError(
                f"asset {asset_code}: members hold {held} shares on {days[d]}, more than its "
                f"{total_shares} total shares"
            )
        coop_e += coop * (energy_prefix[d + 1] - energy_prefix[d])
        coop_v += coop * (value_prefix[d + 1] - value_prefix[d])
        coop_sd += coop
    if coop_sd:
        wh_num[COOP], cents_num[COOP], shares_days[COOP] = coop_e, coop_v, coop_sd

    total_mwh, total_value = energy_prefix[n], value_prefix[n]
    wh = round_half_even(total_mwh, MWH_PER_WH)
    cents = round_half_even(total_value, VALUE_PER_CENT)
    # Ties go to the key that sorts first, COOP after every member number.
    order = sorted(shares_days.keys() - {COOP})
    tie_order: dict[str, tuple[int, str]] = {m: (0, m) for m in order}
    if COOP in shares_days:
        order.append(COOP)
        tie_order[COOP] = (1, "")
    wh_parts = largest_remainder(wh, wh_num, total_shares * MWH_PER_WH, tie_order)
    cents_parts = largest_remainder(cents, cents_num, total_shares * VALUE_PER_CENT, tie_order)
    holders = tuple(
        HolderPart(h, shares_days[h], wh_parts[h], cents_parts[h], wh_num[h], cents_num[h], total_shares)
        for h in order
    )
    return AssetAllocation(asset_code, total_shares, wh, cents, holders, total_mwh, total_value)


@dataclass(frozen=True)
class PeriodAllocation:
    """A month's allocation over all assets.

    ``assets`` by asset code; ``coverage`` {asset_code: Fraction}; ``members`` {member_number: (wh [Wh],
    cents [cents])} summed over assets, ``COOP`` excluded, by member number; ``total_wh`` [Wh] and
    ``total_cents`` [cents] are the sums of the asset totals (members' parts plus the co-op's own parts).
    """

    period: str
    assets: tuple[AssetAllocation, ...]
    coverage: dict[str, Fraction]
    members: dict[str, tuple[int, int]]
    total_wh: int
    total_cents: int

    def to_document(self, status: str = "draft", run_id: object = None) -> dict:
        """The ``allocate --json`` document of SPEC section 5 (integers for Wh, cents and share-days; coverage
        as four-decimal text, see :func:`format_coverage`)."""
        return {
            "period": self.period,
            "status": status,
            "run_id": run_id,
            "assets": [
                {
                    "asset_code": a.asset_code,
                    "coverage": format_coverage(self.coverage[a.asset_code]),
                    "wh": a.wh,
                    "cents": a.cents,
                    "holders": [
                        {"holder": p.holder, "shares_days": p.shares_days, "wh": p.wh, "cents": p.cents}
                        for p in a.holders
                    ],
                }
                for a in self.assets
            ],
            "members": [
                {"member_number": m, "wh": wh, "cents": cents} for m, (wh, cents) in self.members.items()
            ],
            "total_wh": self.total_wh,
            "total_cents": self.total_cents,
        }


def allocate_period(
    period: str,
    allocations: Iterable[AssetAllocation],
    coverage: Mapping[str, Fraction | int],
) -> PeriodAllocation:
    """Combine the assets' allocations of ``period`` (``'YYYY-MM'``) into members' credits (SPEC 5 step 7).

    ``coverage``: {asset_code: intervals present / expected as an exact ``Fraction``} for every asset.
    A member's credit is the sum over assets of their parts [Wh, cents]; ``COOP``'s parts are not credits.
    """
    parse_period(period)
    by_code: dict[str, AssetAllocation] = {}
    for a in allocations:
        if a.asset_code in by_code:
            raise ValueError(f"asset {a.asset_code} is allocated twice in {period}")
        by_code[a.asset_code] = a
    missing = sorted(set(by_code) - set(coverage))
    if missing:
        raise ValueError(f"no coverage given for asset(s) {', '.join(missing)}")
    member_wh: dict[str, int] = {}
    member_cents: dict[str, int] = {}
    for a in by_code.values():
        for p in a.holders:
            if p.holder != COOP:
                member_wh[p.holder] = member_wh.get(p.holder, 0) + p.wh
                member_cents[p.holder] = member_cents.get(p.holder, 0) + p.cents
    assets = tuple(by_code[code] for code in sorted(by_code))
    return PeriodAllocation(
        period=period,
        assets=assets,
        coverage={code: Fraction(coverage[code]) for code in sorted(by_code)},
        members={m: (member_wh[m], member_cents[m]) for m in sorted(member_wh)},
        total_wh=sum(a.wh for a in assets),
        total_cents=sum(a.cents for a in assets),
    )
