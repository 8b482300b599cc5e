"""A battery's month as charged and discharged energy per holder (calc/credits/storage), by hand and by
hypothesis: the parts always sum to the asset's totals and discharged - charged is the posted net."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_coop.calc.credits.allocation import COOP, allocate_asset
from energy_coop.calc.credits.storage import (
    StorageHolder,
    discharged_by_day,
    split_storage,
    storage_parts,
)
from energy_coop.units import round_half_even

DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_a_month_by_hand():
    # 4 shares; 1001 holds 1 all month, 1002 holds 3 from day 2, the co-op the rest (3 on day 1, 0 on day 2).
    # Day 1: 10 Wh out, 12 Wh in; day 2: 9 Wh out, 10 Wh in (mWh below).
    holdings = {"1001": [(DAY1, 1)], "1002": [(DAY2, 3)]}
    net = allocate_asset("BAT", 4, [DAY1, DAY2], [-2_000, -1_000], [0, 0], holdings)
    # net exact: 1001 -3000/4000 = -0.75, 1002 -0.75, COOP -6000/4000 = -1.5; total -3 Wh. Floors -1, -1, -2
    # (sum -4), one Wh left over to the largest remainder (COOP's .5): -1, -1, -1.
    assert [(p.holder, p.wh) for p in net.holders] == [("1001", -1), ("1002", -1), (COOP, -1)]
    split = split_storage("BAT", 4, [DAY1, DAY2], [10_000, 9_000], holdings, {p.holder: p.wh for p in net.holders})
    # discharged exact: 1001 19000/4000 = 4.75, 1002 27000/4000 = 6.75, COOP 30000/4000 = 7.5; D = 19 Wh.
    # Floors 4, 6, 7 (17): two Wh to the largest remainders .75, .75 -> 5, 7, 7. charged = discharged - net.
    assert split.holders == (StorageHolder("1001", 6, 5, -1), StorageHolder("1002", 8, 7, -1),
                             StorageHolder(COOP, 8, 7, -1))
    assert (split.charged_wh, split.discharged_wh, split.net_wh) == (22, 19, -3)
    assert split.holder("1002") == StorageHolder("1002", 8, 7, -1)
    assert split.holder("9999") is None


def test_discharge_per_local_day_counts_positive_readings_only():
    # New York: 2024-03-01 04:00 UTC is 23:00 on 29 February (not in the days), 05:00 UTC is midnight of day 1.
    starts = np.array([utc("2024-03-01T04:00"), utc("2024-03-01T05:00"), utc("2024-03-01T15:00"),
                       utc("2024-03-02T23:00"), utc("2024-03-03T04:59")])
    mwh = np.array([7_000, 5_000, -12_500, 11_250, 1])
    assert discharged_by_day(starts, mwh, "America/New_York", [DAY1, DAY2]) == [5_000, 11_251]


def test_a_holder_rounded_to_charge_minus_one_gets_a_wh_of_discharge_from_another():
    # 1001 was posted +1 Wh net but got 0 Wh of discharge: it would charge -1. 1002 has room (charges 3).
    split = storage_parts("BAT", {"1001": 0, "1002": 5}, {"1001": 1, "1002": 2})
    assert split.holders == (StorageHolder("1001", 0, 1, 1), StorageHolder("1002", 2, 4, 2))
    assert (split.charged_wh, split.discharged_wh, split.net_wh) == (2, 5, 3)


def test_when_no_split_can_be_non_negative_the_sums_still_hold():
    split = storage_parts("BAT", {"1001": 3}, {"1001": 4})
    assert split.holders == (StorageHolder("1001", -1, 3, 4),)
    assert (split.charged_wh, split.discharged_wh, split.net_wh) == (-1, 3, 4)


def test_holders_only_in_the_ledger_count_with_zero_discharge():
    split = storage_parts("BAT", {"1001": 4, COOP: 2}, {"1001": -2, "1003": -1, COOP: 0})
    assert [h.holder for h in split.holders] == ["1001", "1003", COOP]
    assert split.holder("1003") == StorageHolder("1003", 1, 0, -1)


def test_bad_inputs_are_refused():
    with pytest.raises(TypeError):
        storage_parts("BAT", {"1001": 1.5}, {})
    with pytest.raises(ValueError):
        storage_parts("BAT", {"1001": -1}, {})


# -------------------------------------------------------------------------------------------- properties

N_DAYS = 5
DAYS = [DAY1 + timedelta(days=i) for i in range(N_DAYS)]
energy = st.integers(min_value=0, max_value=50_000_000)  # [mWh] a day, 0 to 50 kWh
small = st.integers(min_value=0, max_value=3_000)  # [mWh] fractions of a Wh: the hard cases


@st.composite
def months(draw):
    total = draw(st.integers(min_value=1, max_value=40))
    members = draw(st.lists(st.sampled_from(["1001", "1002", "1003", "A-7", "z"]), unique=True, max_size=4))
    holdings = {}
    room = total
    for m in members:
        shares = draw(st.integers(min_value=0, max_value=room))
        room -= shares
        start = draw(st.sampled_from(DAYS))
        holdings[m] = [(start, shares)]
    amounts = draw(st.sampled_from([energy, small]))
    charged = draw(st.lists(amounts, min_size=N_DAYS, max_size=N_DAYS))
    discharged = draw(st.lists(amounts, min_size=N_DAYS, max_size=N_DAYS))
    return total, holdings, charged, discharged


def exact_parts(total, holdings, by_day):
    """Exact share of each holder of a per-day quantity [mWh] in Wh, read literally: Σ_d q_d h(m, d) / T."""
    out = {}
    for i, day in enumerate(DAYS):
        held = 0
        for m, points in holdings.items():
            h = points[0][1] if points[0][0] <= day else 0
            held += h
            out[m] = out.get(m, 0) + Fraction(by_day[i] * h, total * 1000)
        out[COOP] = out.get(COOP, 0) + Fraction(by_day[i] * (total - held), total * 1000)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(months())
def test_parts_sum_to_the_totals_and_differ_by_the_posted_net(month):
    total, holdings, charged, discharged = month
    net_by_day = [d - c for c, d in zip(charged, discharged)]
    posted = allocate_asset("BAT", total, DAYS, net_by_day, [0] * N_DAYS, holdings)
    net = {p.holder: p.wh for p in posted.holders}
    split = split_storage("BAT", total, DAYS, discharged, holdings, net)

    d_total = round_half_even(sum(discharged), 1000)
    assert split.discharged_wh == d_total == sum(h.discharged_wh for h in split.holders)
    assert split.net_wh == posted.wh == sum(h.net_wh for h in split.holders)
    assert split.charged_wh == d_total - posted.wh == sum(h.charged_wh for h in split.holders)
    for h in split.holders:
        assert h.discharged_wh - h.charged_wh == h.net_wh == net.get(h.holder, 0)
        assert h.discharged_wh >= 0
    # a battery that takes in at least as much as it gives back has a non-negative charged total
    if sum(charged) >= sum(discharged):
        assert split.charged_wh >= 0
    # every figure is non-negative whenever some split can be (the net parts fit within the discharge)
    if sum(max(0, v) for v in net.values()) <= d_total:
        assert all(h.charged_wh >= 0 for h in split.holders)
    # a holder whose exact charge is at least a Wh is never touched by the repair: within 2 Wh of exact
    exact_charge = exact_parts(total, holdings, charged)
    exact_out = exact_parts(total, holdings, discharged)
    for h in split.holders:
        if exact_charge.get(h.holder, 0) >= 1 and exact_out.get(h.holder, 0) >= 1:
            assert abs(h.charged_wh - exact_charge[h.holder]) < 3
            assert abs(h.discharged_wh - exact_out[h.holder]) < 2


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["1001", "1002", "1003", COOP]), st.integers(0, 50), max_size=4),
       st.dictionaries(st.sampled_from(["1001", "1002", "1003", COOP]), st.integers(-50, 50), max_size=4))
def test_any_parts_keep_the_sums_and_repair_what_can_be_repaired(discharged, net):
    split = storage_parts("BAT", discharged, net)
    assert split.discharged_wh == sum(discharged.values()) == sum(h.discharged_wh for h in split.holders)
    assert split.net_wh == sum(net.values()) == sum(h.net_wh for h in split.holders)
    assert split.charged_wh == sum(h.charged_wh for h in split.holders)
    for h in split.holders:
        assert h.discharged_wh - h.charged_wh == net.get(h.holder, 0)
        assert h.discharged_wh >= 0
    if sum(max(0, v) for v in net.values()) <= sum(discharged.values()):
        assert all(h.charged_wh >= 0 for h in split.holders)
    assert [h.holder for h in split.holders] == sorted(set(discharged) | set(net),
                                                       key=lambda k: (k == COOP, k))
