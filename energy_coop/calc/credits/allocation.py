"""Monthly allocation of each asset's production and value to its holders (SPEC section 5), exactly.

Step 1 (a month's local days, coverage, the per-day totals of readings) is :mod:`.days`, re-exported here;
this module splits those day totals between the holders.

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
from datetime import date
from fractions import Fraction
from typing import NamedTuple

from energy_coop.calc.credits.days import (  # noqa: F401 - re-exported: step 1 of the allocation
    check_days,
    coverage_of,
    daily_totals,
    expected_intervals,
    format_coverage,
    month_days,
)
from energy_coop.calc.credits.holdings import holding_segments
from energy_coop.period import parse_period
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
    check_days(days)
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
