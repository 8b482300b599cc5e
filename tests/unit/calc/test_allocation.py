"""SPEC section 5, worked by hand. Every number in the assertions is computed in the comment above it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest

from energy_coop.period import local_midnight_utc, parse_period
from energy_coop.calc.credits.allocation import (
    COOP,
    VALUE_PER_CENT,
    allocate_asset,
    allocate_period,
    coverage_of,
    daily_totals,
    expected_intervals,
    format_coverage,
    month_days,
)
from energy_coop.calc.credits.holdings import ShareTransaction as T
from energy_coop.calc.credits.holdings import holdings_timeline
from energy_coop.calc.credits.rates import rates_for_asset
from energy_coop.units import largest_remainder

D = date
MAR1, MAR2 = D(2024, 3, 1), D(2024, 3, 2)


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def parts(allocation):
    return [(p.holder, p.shares_days, p.wh, p.cents) for p in allocation.holders]


# ------------------------------------------------------------------------------------------ periods and days


def test_parse_period():
    assert parse_period("2024-03") == (2024, 3)
    for bad in ["2024-13", "2024-3", "24-03", "2024-03-01", "March", "", "2024-00"]:
        with pytest.raises(ValueError) as err:
            parse_period(bad)
        assert str(err.value) == f"{bad!r} is not a month; write YYYY-MM, e.g. 2024-03"


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="'Mars/Olympus' is not a known time zone"):
        month_days("2024-03", "Mars/Olympus")


def test_month_bounds_across_spring_dst_in_london():
    # March 2024 in London: 00:00 GMT on 1 Mar = 00:00Z; 1 Apr 00:00 BST = 31 Mar 23:00Z. 31 x 24 - 1 = 743 h.
    days, start, end = month_days("2024-03", "Europe/London")
    assert days[0] == MAR1 and days[-1] == D(2024, 3, 31) and len(days) == 31
    assert (start, end) == (utc("2024-03-01T00:00:00"), utc("2024-03-31T23:00:00"))
    assert expected_intervals(start, end, 900) == 743 * 4 == 2972


def test_month_bounds_in_new_york_november_has_721_hours():
    # 1 Nov 00:00 EDT = 04:00Z; 1 Dec 00:00 EST = 05:00Z: 30 x 24 + 1 = 721 h.
    days, start, end = month_days("2024-11", "America/New_York")
    assert (start, end) == (utc("2024-11-01T04:00:00"), utc("2024-12-01T05:00:00"))
    assert len(days) == 30
    assert expected_intervals(start, end, 3600) == 721


def test_local_month_differs_from_utc_month_in_auckland():
    # NZDT (+13) all March 2024 (ends 7 Apr): local March = 29 Feb 11:00Z .. 31 Mar 11:00Z.
    days, start, end = month_days("2024-03", "Pacific/Auckland")
    assert (start, end) == (utc("2024-02-29T11:00:00"), utc("2024-03-31T11:00:00"))
    starts = np.array(
        [
            utc("2024-02-29T10:45:00"),  # local 29 Feb 23:45: February, not counted
            utc("2024-02-29T11:00:00"),  # local 1 Mar 00:00: day 1
            utc("2024-03-31T10:45:00"),  # local 31 Mar 23:45: day 31
            utc("2024-03-31T11:00:00"),
        ]
    )  # local 1 Apr 00:00: not counted
    mwh = np.array([1, 10, 100, 1000])
    energy, value = daily_totals(starts, mwh, np.array([2, 2, 2, 2]), "Pacific/Auckland", days)
    assert energy[0] == 10 and energy[30] == 100 and sum(energy) == 110
    assert value[0] == 20 and value[30] == 200 and sum(value) == 220


def test_midnight_that_does_not_exist_starts_the_day_at_the_jump():
    # Sao Paulo, 4 Nov 2018: clocks jumped from 00:00 (-03) to 01:00 (-02), i.e. at 03:00Z.
    assert local_midnight_utc(D(2018, 11, 4), "America/Sao_Paulo") == utc("2018-11-04T03:00:00")
    assert local_midnight_utc(D(2018, 11, 5), "America/Sao_Paulo") == utc("2018-11-05T02:00:00")


def test_day_assignment_right_across_the_dst_switches_in_london():
    # 31 Mar 2024 is 23 h long (00:00Z..23:00Z). 27 Oct 2024 is 25 h long (26 Oct 23:00Z .. 28 Oct 00:00Z).
    days, _, _ = month_days("2024-10", "Europe/London")
    starts = np.array(
        [
            utc("2024-10-26T22:45:00"),  # 23:45 BST on the 26th            -> day 26
            utc("2024-10-26T23:00:00"),  # 00:00 BST on the 27th            -> day 27
            utc("2024-10-27T00:45:00"),  # 01:45 BST (first pass of 01:xx)  -> day 27
            utc("2024-10-27T01:45:00"),  # 01:45 GMT (second pass)          -> day 27
            utc("2024-10-27T23:45:00"),  # 23:45 GMT on the 27th            -> day 27
            utc("2024-10-28T00:00:00"),  # 00:00 GMT on the 28th            -> day 28
        ]
    )
    mwh = np.array([1, 10, 100, 1_000, 10_000, 100_000])
    energy, _ = daily_totals(starts, mwh, np.zeros(6, dtype=np.int64), "Europe/London", days)
    assert energy[25] == 1 and energy[26] == 11_110 and energy[27] == 100_000
    assert sum(energy) == 111_111
    # The 25-hour day has 100 quarter-hours, the 23-hour day 92.
    def quarter_hours(day: D) -> int:
        start = local_midnight_utc(day, "Europe/London")
        return expected_intervals(start, local_midnight_utc(day + timedelta(days=1), "Europe/London"), 900)

    assert quarter_hours(D(2024, 10, 27)) == 100
    assert quarter_hours(D(2024, 3, 31)) == 92


def test_day_assignment_across_spring_switch_in_new_york():
    # 10 Mar 2024, New York: 23 h, from 05:00Z (EST) to 11 Mar 04:00Z (EDT).
    days, _, _ = month_days("2024-03", "America/New_York")
    starts = np.array(
        [
            utc("2024-03-10T04:45:00"),
            utc("2024-03-10T05:00:00"),
            utc("2024-03-11T03:45:00"),
            utc("2024-03-11T04:00:00"),
        ]
    )
    energy, _ = daily_totals(
        starts, np.array([1, 10, 100, 1000]), np.ones(4, dtype=np.int64), "America/New_York", days
    )
    assert energy[8:11] == [1, 110, 1000]


def test_expected_intervals_and_coverage():
    # Kolkata (+05:30): local March = 29 Feb 18:30Z .. 31 Mar 18:30Z; hourly intervals start on UTC hours.
    _, start, end = month_days("2024-03", "Asia/Kolkata")
    assert start == utc("2024-02-29T18:30:00")
    assert expected_intervals(start, end, 3600) == 744
    assert expected_intervals(0, 3600, 900) == 4 and expected_intervals(1, 3600, 900) == 3
    assert expected_intervals(100, 100, 900) == 0
    assert coverage_of(2975, 2976) == Fraction(2975, 2976)
    assert format_coverage(Fraction(2975, 2976)) == "0.9996"  # 0.99966.. truncated, never "1.0000"
    assert format_coverage(Fraction(1)) == "1.0000"
    assert format_coverage(Fraction(2, 3)) == "0.6666"
    with pytest.raises(ValueError):
        coverage_of(1, 0)


# ------------------------------------------------------------------------------------------------ allocation


def test_mid_month_transfer_three_holders_and_coop():
    # total 10 shares. 1001 holds 4 both days; 1002 holds 3 on day 1 then transfers them to 1003 on day 2;
    # COOP holds the remaining 3 both days. Day 1: 10 kWh, day 2: 20 kWh, rate 0.10/kWh all along.
    txs = [
        T("s1", D(2023, 12, 1), "SOLAR1", "issue", "1001", None, 4),
        T("s2", D(2024, 2, 1), "SOLAR1", "issue", "1002", None, 3),
        T("s3", MAR2, "SOLAR1", "transfer", "1003", "1002", 3),
    ]
    energy = [10_000_000, 20_000_000]  # mWh
    value = [e * 100_000 for e in energy]  # mWh x micro/kWh: 1e12 and 2e12 (= 100 and 200 cents)
    a = allocate_asset("SOLAR1", 10, [MAR1, MAR2], energy, value, holdings_timeline(txs, "SOLAR1"))
    # Wh: 30 kWh = 30000. cents: 3e12 / 1e10 = 300.
    assert (a.wh, a.cents, a.total_mwh, a.total_value) == (30_000, 300, 30_000_000, 3 * 10**12)
    # 1001: (10000 x 4 + 20000 x 4) / 10 = 12000 Wh; (100 x 4 + 200 x 4) / 10 = 120 cents; 8 share-days
    # 1002: 10000 x 3 / 10 = 3000 Wh, 30 cents, 3 share-days
    # 1003: 20000 x 3 / 10 = 6000 Wh, 60 cents, 3 share-days
    # COOP: 30000 x 3 / 10 = 9000 Wh, 90 cents, 6 share-days
    assert parts(a) == [
        ("1001", 8, 12_000, 120),
        ("1002", 3, 3_000, 30),
        ("1003", 3, 6_000, 60),
        (COOP, 6, 9_000, 90),
    ]
    assert a.holder("1001").exact_wh == 12_000 and a.holder("1001").exact_cents == 120


def test_ties_go_to_the_key_that_sorts_first_as_text_and_coop_last():
    # 3 shares: M2, M10 and COOP hold 1 each. 1 Wh: each exact 1/3, floors 0, 1 left over, a three-way tie:
    # "M10" < "M2" < COOP, so M10 gets it.
    h = {"M2": [(MAR1, 1)], "M10": [(MAR1, 1)]}
    a = allocate_asset("A", 3, [MAR1], [1_000], [0], h)
    assert parts(a) == [("M10", 1, 1, 0), ("M2", 1, 0, 0), (COOP, 1, 0, 0)]
    # 2 Wh: each exact 2/3, floors 0, 2 left over: M10 and M2; COOP gets nothing.
    a = allocate_asset("A", 3, [MAR1], [2_000], [0], h)
    assert parts(a) == [("M10", 1, 1, 0), ("M2", 1, 1, 0), (COOP, 1, 0, 0)]
    # "ZZ" sorts after "COOP" as text, but COOP is after every member: 1 Wh over 1/2 + 1/2 goes to ZZ.
    a = allocate_asset("A", 2, [MAR1], [1_000], [0], {"ZZ": [(MAR1, 1)]})
    assert parts(a) == [("ZZ", 1, 1, 0), (COOP, 1, 0, 0)]


def test_asset_total_rounds_half_to_even():
    h = {"1001": [(MAR1, 1)]}  # 1 of 2 shares; COOP holds the other
    # 2500 mWh = 2.5 Wh -> 2 (even). Each holder exact 1.25: floors 1 + 1 = 2, nothing left.
    a = allocate_asset("A", 2, [MAR1], [2_500], [0], h)
    assert a.wh == 2 and parts(a) == [("1001", 1, 1, 0), (COOP, 1, 1, 0)]
    # 3500 mWh = 3.5 Wh -> 4 (even). Each exact 1.75: floors 1 + 1, 2 left over, one each: 2 and 2.
    a = allocate_asset("A", 2, [MAR1], [3_500], [0], h)
    assert a.wh == 4 and parts(a) == [("1001", 1, 2, 0), (COOP, 1, 2, 0)]
    # Money: 2.5 Wh at 2.00/kWh = 0.005 = 0.5 cent -> 0; 7.5 Wh at 2.00 = 1.5 cents -> 2.
    a = allocate_asset("A", 2, [MAR1], [2_500], [2_500 * 2_000_000], h)
    assert a.cents == 0 and [p.cents for p in a.holders] == [0, 0]
    a = allocate_asset("A", 2, [MAR1], [7_500], [7_500 * 2_000_000], h)
    # each exact 0.75 cent: floors 0 + 0, 2 left over -> 1 and 1
    assert a.cents == 2 and [p.cents for p in a.holders] == [1, 1]


def test_battery_charging_counts_negative():
    # A battery day: charging -5 kWh then discharging +1.5 kWh, both at 0.20/kWh. Net -3.5 kWh = -3500 Wh,
    # value -0.70 = -70 cents. 3 shares: 1001, 1002, COOP one each.
    days, _, _ = month_days("2024-03", "UTC")
    starts = np.array([utc("2024-03-01T02:00:00"), utc("2024-03-01T14:00:00")])
    mwh = np.array([-5_000_000, 1_500_000])
    energy, value = daily_totals(starts, mwh, np.array([200_000, 200_000]), "UTC", days)
    assert energy[0] == -3_500_000 and value[0] == -7 * 10**11
    h = {"1001": [(MAR1, 1)], "1002": [(MAR1, 1)]}
    a = allocate_asset("BATT1", 3, days, energy, value, h)
    # Wh: each exact -3500/3 = -1166.67; floors -1167 x 3 = -3501; 1 left over; tie -> 1001 gets -1166.
    # cents: each exact -70/3 = -23.33; floors -24 x 3 = -72; 2 left over -> 1001 and 1002 get -23.
    assert (a.wh, a.cents) == (-3_500, -70)
    assert parts(a) == [("1001", 31, -1_166, -23), ("1002", 31, -1_167, -23), (COOP, 31, -1_167, -24)]
    assert a.holder("1001").exact_wh == Fraction(-3_500, 3)


def test_negative_half_rounds_to_even():
    # -3.5 Wh -> -4 (even); -2.5 Wh -> -2.
    a = allocate_asset("B", 1, [MAR1], [-3_500], [0], {"1": [(MAR1, 1)]})
    assert a.wh == -4 and parts(a) == [("1", 1, -4, 0)]
    assert allocate_asset("B", 1, [MAR1], [-2_500], [0], {"1": [(MAR1, 1)]}).wh == -2


def test_largest_remainder_with_negative_total():
    # exact -7/3 = -2.33 and -5/3 = -1.67, sum -4. Floors -3 and -2 = -5; 1 left over. Fractional parts
    # (x - floor x) are 2/3 and 1/3: "a" gets it -> -2 and -2, each within 1 of its exact share.
    assert largest_remainder(-4, {"a": -7, "b": -5}, 3) == {"a": -2, "b": -2}
    # a tie among negatives goes to the key that sorts first: -1/2 and -1/2, total round(-1) = -1.
    assert largest_remainder(-1, {"x": -1, "y": -1}, 2) == {"x": 0, "y": -1}


def test_time_of_use_rates_mid_day_and_asset_rate_overriding_blank():
    rows = [
        (utc("2024-03-01T00:00:00"), 100_000, None),  # 0.10 for everyone
        (utc("2024-03-01T12:00:00"), 300_000, None),  # 0.30 from noon
        (utc("2024-03-01T18:00:00"), 100_000, None),  # 0.10 from 18:00
        (utc("2024-03-02T00:00:00"), 500_000, "A"),  # A's own 0.50 from 2 Mar (blank rows no longer reach A)
        (utc("2024-03-02T12:00:00"), 999_999, None),
    ]
    starts = np.array(
        [
            utc(t)
            for t in [
                "2024-03-01T11:45:00",
                "2024-03-01T12:00:00",
                "2024-03-01T17:45:00",
                "2024-03-01T18:00:00",
                "2024-03-02T13:00:00",
            ]
        ]
    )
    mwh = np.array([1_000_000, 1_000_000, 2_000_000, 1_000_000, 1_000_000])  # 1, 1, 2, 1, 1 kWh
    rates = rates_for_asset(rows, "A").lookup(starts)
    assert rates.tolist() == [100_000, 300_000, 300_000, 100_000, 500_000]
    energy, value = daily_totals(starts, mwh, rates, "UTC", [MAR1, MAR2])
    # day 1: 5 kWh; 0.10 + 0.30 + 0.60 + 0.10 = 1.10 = 110 cents. day 2: 1 kWh x 0.50 = 50 cents.
    assert energy == [5_000_000, 1_000_000]
    assert value == [110 * VALUE_PER_CENT, 50 * VALUE_PER_CENT]
    a = allocate_asset("A", 1, [MAR1, MAR2], energy, value, {"1001": [(MAR1, 1)]})
    assert parts(a) == [("1001", 2, 6_000, 160)]


def test_holders_with_shares_but_no_energy_stay_and_zero_holders_go():
    h = {"1001": [(MAR1, 5)], "1002": [(D(2024, 1, 1), 2), (D(2024, 2, 1), 0)], "1003": [(D(2024, 4, 1), 1)]}
    a = allocate_asset("A", 5, [MAR1, MAR2], [0, 0], [0, 0], h)
    assert parts(a) == [("1001", 10, 0, 0)]  # COOP holds 0 all month: omitted too


def test_members_holding_more_than_total_or_negative_are_refused():
    with pytest.raises(ValueError, match="members hold 6 shares on 2024-03-02, more than its 5 total shares"):
        allocate_asset("A", 5, [MAR1, MAR2], [0, 0], [0, 0], {"1": [(MAR1, 3)], "2": [(MAR2, 3)]})
    with pytest.raises(ValueError, match="member 1 would hold -1 shares on 2024-03-01"):
        allocate_asset("A", 5, [MAR1], [0], [0], {"1": [(MAR1, -1)]})
    with pytest.raises(ValueError, match="COOP"):
        allocate_asset("A", 5, [MAR1], [0], [0], {"COOP": [(MAR1, 1)]})


def test_huge_values_stay_exact():
    # 1 MW for 744 h = 744,000 kWh = 7.44e11 mWh at 9.999999/kWh: value 7.44e11 x 9999999 ~ 7.4e18, and the
    # per-holder numerator (x shares) passes 2**63: Python integers keep it exact.
    mwh = 744_000 * 10**6
    starts = np.array([utc("2024-03-01T00:00:00"), utc("2024-03-01T01:00:00")])
    energy, value = daily_totals(
        starts, np.array([mwh, mwh]), np.array([9_999_999, 9_999_999]), "UTC", [MAR1]
    )
    assert value == [2 * mwh * 9_999_999] and value[0] > 2**63
    a = allocate_asset("A", 3, [MAR1], energy, value, {"1001": [(MAR1, 2)]})
    # Wh 1,488,000,000; exact 2/3 of it = 992,000,000, COOP 496,000,000.
    assert [p.wh for p in a.holders] == [992_000_000, 496_000_000]
    # cents: 2 x 7.44e11 x 9999999 / 1e10 = 1,487,999,851.2 -> 1,487,999,851
    assert a.cents == 1_487_999_851
    # exact 2/3 = 991,999,900.8 -> floor 991,999,900 ; COOP 495,999,950.4 -> 495,999,950. floors sum to
    # 1,487,999,850; 1 left over to the largest fraction (.8): the member.
    assert [p.cents for p in a.holders] == [991_999_901, 495_999_950]


def test_floats_are_refused_in_readings():
    with pytest.raises(TypeError):
        daily_totals(np.array([0]), np.array([1.5]), np.array([1]), "UTC", [D(1970, 1, 1)])


def test_period_document_shape():
    h = {"1002": [(MAR1, 1)], "1001": [(MAR1, 2)]}
    a = allocate_asset("SOLAR1", 4, [MAR1], [4_000], [400 * VALUE_PER_CENT], h)
    b = allocate_asset("BATT1", 1, [MAR1], [-1_000], [-10 * VALUE_PER_CENT], {"1001": [(MAR1, 1)]})
    period = allocate_period("2024-03", [a, b], {"SOLAR1": Fraction(1), "BATT1": Fraction(95, 96)})
    # SOLAR1: 4 Wh, 400 cents over 2/1/1 of 4 shares: 1001 2 Wh 200 c, 1002 1 Wh 100 c, COOP 1 Wh 100 c.
    # BATT1: -1 Wh, -10 cents all to 1001. Members: 1001 1 Wh 190 c; 1002 1 Wh 100 c. Totals 3 Wh, 390 c.
    doc = period.to_document()
    assert doc == {
        "period": "2024-03",
        "status": "draft",
        "run_id": None,
        "assets": [
            {
                "asset_code": "BATT1",
                "coverage": "0.9895",
                "wh": -1,
                "cents": -10,
                "holders": [{"holder": "1001", "shares_days": 1, "wh": -1, "cents": -10}],
            },
            {
                "asset_code": "SOLAR1",
                "coverage": "1.0000",
                "wh": 4,
                "cents": 400,
                "holders": [
                    {"holder": "1001", "shares_days": 2, "wh": 2, "cents": 200},
                    {"holder": "1002", "shares_days": 1, "wh": 1, "cents": 100},
                    {"holder": "COOP", "shares_days": 1, "wh": 1, "cents": 100},
                ],
            },
        ],
        "members": [
            {"member_number": "1001", "wh": 1, "cents": 190},
            {"member_number": "1002", "wh": 1, "cents": 100},
        ],
        "total_wh": 3,
        "total_cents": 390,
    }
    json.dumps(doc)  # plain JSON types only
    assert period.to_document("posted", 7)["status"] == "posted"
    with pytest.raises(ValueError, match="no coverage given for asset"):
        allocate_period("2024-03", [a], {})
    with pytest.raises(ValueError, match="allocated twice"):
        allocate_period("2024-03", [a, a], {"SOLAR1": 1})
