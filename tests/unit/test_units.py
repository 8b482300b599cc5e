"""Exact parsing and rounding in energy_coop.units (no database)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from energy_coop.units import (
    UnitError,
    format_cents,
    format_money,
    kwh_to_mwh,
    kwh_to_wh,
    largest_remainder,
    parse_cents,
    parse_rate,
    round_half_even,
    sum_ints,
)


@pytest.mark.parametrize("text, mwh", [("1", 1_000_000), ("0.000001", 1), ("-2.5", -2_500_000), ("1e-3", 1000),
                                       (" 3.25 ", 3_250_000), ("0", 0)])
def test_kwh_parses_exactly_to_mwh(text, mwh):
    assert kwh_to_mwh(text) == mwh


@pytest.mark.parametrize("text, reason", [("0.0000001", "more than 6 decimal places"), ("NaN", "not a finite"),
                                          ("inf", "not a finite"), ("abc", "not a number"), ("", "is empty"),
                                          ("1e999999999", "far too large"), ("-" + "9" * 32, "far too large")])
def test_kwh_refuses_what_is_not_exact(text, reason):
    with pytest.raises(UnitError, match=reason):
        kwh_to_mwh(text)


def test_floats_are_refused_outright():
    with pytest.raises(UnitError, match="binary float"):
        kwh_to_mwh(0.1)
    with pytest.raises(TypeError):
        sum_ints([1, 2.0])


def test_rates_and_cents():
    assert parse_rate("0.123456") == 123_456
    assert parse_cents("10.5") == 1050
    assert format_cents(-1234) == "-12.34"
    assert (format_money(-123_456_789), format_money(5), format_money(0)) == ("-1,234,567.89", "0.05", "0.00")
    assert kwh_to_wh("-0.5") == -500 and kwh_to_wh("12.345") == 12_345
    with pytest.raises(UnitError):
        parse_cents("0.001")


@pytest.mark.parametrize("num, den, expected", [(5, 2, 2), (7, 2, 4), (-5, 2, -2), (-7, 2, -4), (1, 3, 0),
                                                (2, 3, 1), (-1, 3, 0), (-2, 3, -1), (0, 7, 0)])
def test_round_half_even(num, den, expected):
    assert round_half_even(num, den) == expected


@given(st.integers(-10**30, 10**30), st.integers(1, 10**20))
def test_round_half_even_matches_python_round_of_fractions(num, den):
    assert round_half_even(num, den) == round(Fraction(num, den))


def test_largest_remainder_breaks_ties_by_key_with_coop_last():
    order = {"1001": (0, "1001"), "1002": (0, "1002"), "COOP": (1, "COOP")}
    # exact shares 10/3 each; total 10 -> one unit left, goes to the first key
    assert largest_remainder(10, {"COOP": 10, "1002": 10, "1001": 10}, 3, order) == {
        "1001": 4, "1002": 3, "COOP": 3}
    # the largest remainder wins over key order
    assert largest_remainder(3, {"1001": 5, "COOP": 4}, 3, order) == {"1001": 2, "COOP": 1}


@given(st.lists(st.integers(-10**12, 10**12), min_size=1, max_size=30), st.integers(1, 10**6))
def test_largest_remainder_sums_to_the_rounded_total_and_stays_within_one_unit(nums, den):
    shares = {f"m{i:03d}": n for i, n in enumerate(nums)}
    total = round_half_even(sum(nums), den)
    parts = largest_remainder(total, shares, den)
    assert sum(parts.values()) == total
    for key, n in shares.items():
        assert abs(Fraction(parts[key]) - Fraction(n, den)) < 1


def test_largest_remainder_refuses_an_impossible_total():
    with pytest.raises(ValueError):
        largest_remainder(5, {"a": 1, "b": 1}, 2)


def test_decimal_input_is_accepted_exactly():
    assert kwh_to_mwh(Decimal("1.000001")) == 1_000_001
