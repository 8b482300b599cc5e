"""calc.reading_checks' physical bounds and sign flags (SPEC 20), and the parse report's collapsed messages."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_coop.calc.metering.reading_checks import (
    MeterLimit,
    SignFlags,
    check_physical,
    standby_w,
    wrong_sign,
)
from energy_coop.importers.metering.common import ParseReport, RowError, make_chunk

T0 = 1709251200  # 2024-03-01T00:00:00Z
KINDS = {"PV": "production", "BAT": "production", "HOME": "consumption", "NOCAP": "production"}
LIMITS = {"PV": MeterLimit("solar", 10_000, "America/New_York"), "BAT": MeterLimit("storage", 100_000),
          "HOME": MeterLimit(None, None), "NOCAP": MeterLimit("solar", None)}


def chunk(rows: list[tuple[int, str, int, int, int]]) -> pd.DataFrame:
    """rows of (line, meter, start, end, mwh)."""
    return make_chunk(where=[f"line {r[0]}" for r in rows], line=[r[0] for r in rows],
                      meter_code=[r[1] for r in rows], start=[r[2] for r in rows], end=[r[3] for r in rows],
                      mwh=[r[4] for r in rows], quality=["actual"] * len(rows))


def test_standby_is_half_a_percent_of_capacity_and_at_least_five_watts():
    assert standby_w(10_000) == 50 and standby_w(400_000) == 2_000 and standby_w(201) == 5
    assert standby_w(1_001) == 6  # 5.005 W, rounded up
    assert standby_w(None) == 5


def test_bounds_at_one_and_a_half_times_the_rating_exactly():
    # 10 kW over 15 minutes: 2.5 kWh; 1.5 x = 3.75 kWh = 3,750,000 mWh
    df = chunk([(2, "PV", T0, T0 + 900, 3_750_000), (3, "PV", T0 + 900, T0 + 1800, 3_750_001),
                (4, "BAT", T0, T0 + 900, -37_500_000), (5, "BAT", T0 + 900, T0 + 1800, -37_500_001),
                (6, "HOME", T0, T0 + 3600, -1), (7, "HOME", T0 + 3600, T0 + 7200, 0),
                (8, "NOCAP", T0, T0 + 900, 10**12)])
    errors = check_physical(df, KINDS, LIMITS)
    assert [(e.where, e.field) for e in errors] == [("line 3", "kwh"), ("line 5", "kwh"), ("line 6", "kwh")]
    assert errors[0].reason == ("3.750001 kWh in 15 minutes is more than meter 'PV' could record: its asset is "
                                "rated 10 kW, so at most 3.75 kWh (1.5 x its rating) in that time; check the unit "
                                "(Wh or kWh) or the multiplier")
    assert errors[2].reason.startswith("-0.000001 kWh is negative, but 'HOME' is a consumption meter")


@settings(max_examples=200, deadline=None)
@given(capacity_w=st.integers(1, 10**9), minutes=st.sampled_from([5, 15, 30, 60]),
       mwh=st.integers(-10**12, 10**12))
def test_the_bound_is_exact_integer_arithmetic(capacity_w, minutes, mwh):
    length = minutes * 60
    df = chunk([(2, "X", T0, T0 + length, mwh)])
    errors = check_physical(df, {"X": "production"}, {"X": MeterLimit("solar", capacity_w)})
    # |mwh| [mWh] > 1.5 x capacity [W] x length [s] / 3.6 [mWh per W s]
    assert bool(errors) == (abs(mwh) * 3600 * 2 > 3 * capacity_w * 1000 * length)


@settings(max_examples=200, deadline=None)
@given(capacity_w=st.one_of(st.none(), st.integers(1, 10**9)), mwh=st.integers(-10**12, 10**12))
def test_a_solar_reading_is_flagged_exactly_beyond_its_standby_draw(capacity_w, mwh):
    df = chunk([(2, "X", T0, T0 + 900, mwh)])
    flagged = bool(wrong_sign(df, {"X": MeterLimit("solar", capacity_w)})[0])
    assert flagged == (mwh * 3600 < -standby_w(capacity_w) * 1000 * 900)
    assert not wrong_sign(df, {"X": MeterLimit("storage", capacity_w)})[0]  # a battery reads either sign


def test_sign_flags_count_per_local_month_and_name_the_first_rows():
    # PV: 10 kW, standby 50 W = 12.5 Wh a quarter hour; New York months
    flags = SignFlags(LIMITS)
    flags.feed(chunk([(2, "PV", T0 - 900, T0, -12_500), (3, "PV", T0 - 900 * 3, T0 - 900 * 2, -12_501),
                      (4, "PV", T0, T0 + 900, -20_000), (5, "BAT", T0, T0 + 900, -9_000_000)]))
    flags.feed(chunk([(9, "PV", T0 + 86_400, T0 + 86_400 + 900, -1_000_000)]))
    [flag] = flags.flags()
    assert {k: flag[k] for k in ("meter_code", "count", "months", "first", "standby_w")} == {
        "meter_code": "PV", "count": 3, "months": {"2024-02": 2, "2024-03": 1}, "standby_w": 50,
        "first": ["line 3", "line 4", "line 9"]}  # 2024-03-01 00:00 UTC is still February in New York
    assert flag["message"].startswith("meter 'PV' has 3 readings with the wrong sign in 2024-02, 2024-03: a solar "
                                      "meter reads its production (0 or more)")


def test_repeated_errors_are_kept_five_times_and_counted():
    seen = []
    report = ParseReport(on_error=seen.append)
    for k in range(7_764):
        report.add_error(RowError(f"line {k + 2}", "meter_code", "no meter with code 'X' is registered"))
    report.add_error(RowError("line 9000", "kwh", "'x' is not a number"))
    assert report.error_count == 7_765 and len(seen) == 7_765  # FILE.rejected.csv still gets every row
    assert [e.where for e in report.errors] == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 9000"]
    [(last, more)] = report.more_like_this()
    assert last.where == "line 6" and more == 7_759
    assert report.lines() == [
        "line 2, column meter_code: no meter with code 'X' is registered",
        "line 3, column meter_code: no meter with code 'X' is registered",
        "line 4, column meter_code: no meter with code 'X' is registered",
        "line 5, column meter_code: no meter with code 'X' is registered",
        "line 6, column meter_code: no meter with code 'X' is registered",
        "... and 7,759 more like this",
        "line 9000, column kwh: 'x' is not a number"]


def test_errors_that_differ_in_their_reason_are_all_listed():
    report = ParseReport()
    for k in range(20):
        report.add_error(RowError(f"line {k + 2}", "kwh", f"'{k}x' is not a number"))
    assert len(report.errors) == 20 and report.more_like_this() == []
