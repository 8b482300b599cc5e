"""Rate step function (SPEC 3, rates.csv): worked examples and a property against the literal rule."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_coop.calc.credits.rates import NoRateError, RateRow, iso_utc, rates_for_asset


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


JAN1 = utc("2024-01-01T00:00:00")
MAR1 = utc("2024-03-01T00:00:00")
MAR15 = utc("2024-03-15T00:00:00")
ROWS = [
    (JAN1, 100_000, None),  # 0.10 for every asset from 1 Jan
    (MAR1, 150_000, "SOLAR1"),  # 0.15 for SOLAR1 from 1 Mar
    (MAR15, 120_000, None),  # 0.12 for every asset from 15 Mar
]


def test_asset_specific_row_beats_blank_rows_even_later_ones():
    solar = rates_for_asset(ROWS, "SOLAR1")
    batt = rates_for_asset(ROWS, "BATT1")
    times = np.array([utc("2024-02-20T12:00:00"), MAR1 - 1, MAR1, utc("2024-03-20T00:00:00")], dtype=np.int64)
    # Feb: blank 0.10 for both. From 1 Mar SOLAR1 has its own row, so the blank 0.12 of 15 Mar never reaches it.
    assert solar.lookup(times).tolist() == [100_000, 100_000, 150_000, 150_000]
    assert batt.lookup(times).tolist() == [100_000, 100_000, 100_000, 120_000]
    assert solar.lookup(times).dtype == np.int64


def test_time_of_use_switches_mid_day():
    rows = [
        (utc("2024-03-01T00:00:00"), 100_000, None),
        (utc("2024-03-01T12:00:00"), 300_000, None),
        (utc("2024-03-01T18:00:00"), 100_000, None),
    ]
    s = rates_for_asset(rows, "A")
    t = [
        utc("2024-03-01T11:45:00"),
        utc("2024-03-01T12:00:00"),
        utc("2024-03-01T17:45:00"),
        utc("2024-03-01T18:00:00"),
    ]
    assert s.lookup(np.array(t)).tolist() == [100_000, 300_000, 300_000, 100_000]


def test_no_rate_names_asset_and_first_time_without_rate():
    s = rates_for_asset(ROWS, "SOLAR1")
    with pytest.raises(NoRateError) as err:
        s.lookup(np.array([JAN1, JAN1 - 900, JAN1 - 1800], dtype=np.int64))
    assert err.value.asset_code == "SOLAR1"
    assert err.value.first_time_utc == JAN1 - 1800
    assert "SOLAR1" in str(err.value) and "2023-12-31T23:30:00+00:00" in str(err.value)


def test_no_rows_at_all_is_no_rate():
    with pytest.raises(NoRateError, match="asset X has no credit rate at 2024-03-01T00:00:00"):
        rates_for_asset([(JAN1, 1, "OTHER")], "X").lookup(np.array([MAR1]))


def test_used_rows_and_rows_in_effect():
    solar = rates_for_asset(ROWS, "SOLAR1")
    batt = rates_for_asset(ROWS, "BATT1")
    march = np.array([MAR1, utc("2024-03-20T00:00:00")])
    assert solar.used_rows(march) == [RateRow(MAR1, 150_000, "SOLAR1")]
    assert batt.used_rows(march) == [RateRow(JAN1, 100_000, None), RateRow(MAR15, 120_000, None)]
    apr1 = utc("2024-04-01T00:00:00")
    assert solar.rows_in_effect(MAR1, apr1) == [RateRow(MAR1, 150_000, "SOLAR1")]
    assert solar.rows_in_effect(MAR1 - 1, apr1) == [
        RateRow(JAN1, 100_000, None),
        RateRow(MAR1, 150_000, "SOLAR1"),
    ]
    assert batt.rows_in_effect(MAR1, apr1) == [RateRow(JAN1, 100_000, None), RateRow(MAR15, 120_000, None)]


def test_blank_asset_code_text_means_every_asset_and_row_order_does_not_matter():
    a = rates_for_asset([(MAR15, 2, ""), (JAN1, 1, "")], "Z")
    assert a.lookup(np.array([MAR1, MAR15])).tolist() == [1, 2]


def test_conflicting_rows_at_the_same_instant_are_refused():
    with pytest.raises(ValueError, match="two different SOLAR1-specific rates start at 2024-03-01"):
        rates_for_asset([(MAR1, 1, "SOLAR1"), (MAR1, 2, "SOLAR1")], "SOLAR1")
    # the same row twice is harmless
    assert rates_for_asset([(MAR1, 1, None), (MAR1, 1, None)], "A").lookup(np.array([MAR1])).tolist() == [1]


def test_floats_are_refused():
    with pytest.raises(TypeError):
        rates_for_asset([(MAR1, 0.1, None)], "A")
    with pytest.raises(TypeError):
        rates_for_asset([(MAR1, 1, None)], "A").lookup(np.array([1.5]))


def test_iso_utc():
    assert iso_utc(0) == "1970-01-01T00:00:00+00:00"


def literal_rate(rows, asset, t):
    """SPEC 3 read literally: latest asset row <= t, else latest blank row <= t, else None."""
    specific = [r for r in rows if r[2] == asset and r[0] <= t]
    if specific:
        return max(specific, key=lambda r: r[0])[1]
    blank = [r for r in rows if r[2] is None and r[0] <= t]
    if blank:
        return max(blank, key=lambda r: r[0])[1]
    return None


rows_strategy = st.lists(
    st.tuples(st.integers(0, 100), st.integers(-5, 10**7), st.sampled_from([None, "A", "B"])),
    max_size=12,
    unique_by=lambda r: (r[0], r[2]),
)


@settings(max_examples=200, deadline=None)
@given(rows=rows_strategy, times=st.lists(st.integers(-5, 110), min_size=1, max_size=30))
def test_lookup_equals_literal_rule(rows, times):
    expected = [literal_rate(rows, "A", t) for t in times]
    schedule = rates_for_asset(rows, "A")
    if None in expected:
        with pytest.raises(NoRateError) as err:
            schedule.lookup(np.array(times, dtype=np.int64))
        assert err.value.first_time_utc == min(t for t, e in zip(times, expected) if e is None)
    else:
        assert schedule.lookup(np.array(times, dtype=np.int64)).tolist() == expected
        used = schedule.used_rows(np.array(times, dtype=np.int64))
        assert sorted({r[1] for r in used}) == sorted(set(expected))
