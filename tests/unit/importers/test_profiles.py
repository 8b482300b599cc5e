"""The pure parts of import profiles: decimal text -> mWh, register differences, local times, profile files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from energy_coop.importers.metering.common import MAX_READING_MWH, ParseReport
from energy_coop.importers.metering.profiles import BUILT_IN, ProfileInvalid, load_profile, read_export, to_chunk
from energy_coop.importers.metering.profiles.numbers import RegisterRule, energy_mwh, register_deltas, register_step
from energy_coop.importers.metering.profiles.spec import header_name
from energy_coop.importers.metering.profiles.times import TimeReader, epoch_of
from tests.profile_exports import MY_UTILITY

PLACES = {"Wh": 3, "kWh": 6, "MWh": 9}

# ------------------------------------------------------------------------------------------------ numbers


@given(mwh=st.integers(-MAX_READING_MWH, MAX_READING_MWH), unit=st.sampled_from(sorted(PLACES)),
       comma=st.booleans(), pad=st.integers(0, 3))
def test_any_exact_value_written_in_any_unit_reads_back_to_the_mwh(mwh, unit, comma, pad):
    text = format(Decimal(mwh).scaleb(-PLACES[unit]), "f")
    if "." in text:
        text += "0" * pad  # trailing zeros do not change the value
    if comma:
        text = text.replace(".", ",")
    assert energy_mwh(text, unit, "," if comma else ".") == (mwh, None)


@given(mwh=st.integers(0, 10**12), extra=st.integers(1, 9))
def test_a_value_finer_than_one_mwh_is_refused_never_rounded(mwh, extra):
    text = format(Decimal(mwh * 10 + extra).scaleb(-7), "f")  # one digit below a mWh
    value, reason = energy_mwh(text, "kWh")
    assert (value, reason) == (0, f"'{text}' kWh is finer than 1 mWh")


@pytest.mark.parametrize("text, unit, mark, expected", [
    ("1.5", "kWh", ".", (1_500_000, None)),
    ("\u00a01 234.5 ", "Wh", ".", (1_234_500, None)),  # spaces, also non-breaking ones, inside the number
    ("0,25", "kWh", ",", (250_000, None)),
    ("0.25", "kWh", ",", (0, "'0.25' is not a number in this layout: it writes decimals after a comma (e.g. 1,25)")),
    ("", "kWh", ".", (0, "is empty; give the energy in kWh (0 if there was none)")),
    ("1e3", "kWh", ".", (0, "'1e3' is not a number; give the energy in kWh, e.g. 1.25")),
    ("1000000001", "MWh", ".", (0, "'1000000001' MWh is too large for one reading")),
])
def test_energy_texts(text, unit, mark, expected):
    assert energy_mwh(text, unit, mark) == expected


def test_a_ten_megabyte_number_is_refused_before_it_is_read():
    value, reason = energy_mwh("9" * 10_000_000, "kWh")
    assert value == 0 and reason.endswith("is far too long to be an energy value")


# ---------------------------------------------------------------------------------------------- registers


@given(start=st.integers(0, 10**12), steps=st.lists(st.integers(0, 10**9), max_size=50))
def test_a_rising_register_differences_to_its_steps_and_sums_to_its_rise(start, steps):
    values = [start]
    for s in steps:
        values.append(values[-1] + s)
    deltas = register_deltas(values, RegisterRule())
    assert [d for d, _ in deltas] == steps
    assert sum(d for d, _ in deltas) == values[-1] - values[0]


@given(modulus=st.integers(10, 10**12), data=st.data())
def test_a_rolling_register_keeps_every_step_across_its_wraps(modulus, data):
    steps = data.draw(st.lists(st.integers(0, (modulus - 1) // 2), max_size=60))
    start = data.draw(st.integers(0, modulus - 1))
    values = [start]
    for s in steps:
        values.append((values[-1] + s) % modulus)
    deltas = register_deltas(values, RegisterRule(reset="rollover", modulus=modulus))
    assert deltas == [(s, None) for s in steps]


@given(before=st.lists(st.integers(0, 10**6), max_size=20), after=st.lists(st.integers(0, 10**6), max_size=20),
       base=st.integers(2_000_000, 10**12), restart=st.integers(0, 1_000_000))
def test_a_restarted_register_counts_from_zero_again(before, after, base, restart):
    values = [base]
    for s in before:
        values.append(values[-1] + s)
    values.append(restart)  # reset to zero, then counted up to `restart` in that interval
    for s in after:
        values.append(values[-1] + s)
    deltas = register_deltas(values, RegisterRule(reset="restart", restart_below=1_000_000))
    assert deltas == [(s, None) for s in [*before, restart, *after]]


def test_a_register_going_down_beyond_its_rule_is_refused():
    assert register_step(5_000_000, 4_000_000, RegisterRule())[1] == (
        "the register went down from the line before; this layout allows no resets")
    assert register_step(5_000_000, 2_000_000, RegisterRule(reset="restart", restart_below=1_000_000))[1] == (
        "the register went down from the line before; a reset starts again from zero, and this value is too high "
        "for that")
    rule = RegisterRule(reset="rollover", modulus=100_000_000)
    assert register_step(99_999_000, 1_000, rule) == (2_000, None)
    assert register_step(40_000_000, 1_000, rule)[1].endswith("goes from the top of the register's range to the "
                                                              "bottom")
    assert register_step(1_000, 100_000_000, rule)[1] == "is outside the register's range (0 up to its rollover value)"


# ------------------------------------------------------------------------------------------------ times


def test_local_times_and_the_daylight_saving_rules():
    zone = ZoneInfo("America/New_York")
    fmt = ("%Y-%m-%d %H:%M",)
    later = TimeReader(fmt, zone, "America/New_York", "later")
    assert later.epoch("2022-11-06 01:30", "start") == (epoch_of(dt.datetime(2022, 11, 6, 6, 30, tzinfo=dt.UTC)),
                                                        None)
    earlier = TimeReader(fmt, zone, "America/New_York", "earlier")
    assert earlier.epoch("2022-11-06 01:30", "start")[0] == epoch_of(dt.datetime(2022, 11, 6, 5, 30, tzinfo=dt.UTC))
    in_order = TimeReader(fmt, zone, "America/New_York", "in-order")
    first, second, third = (in_order.epoch("2022-11-06 01:30", "start") for _ in range(3))
    assert second[0] - first[0] == 3600
    assert third == (0, "'2022-11-06 01:30' appears a third time; it happens only twice in America/New_York (the "
                        "clocks go back that night)")
    refuse = TimeReader(fmt, zone, "America/New_York")
    assert refuse.epoch("2022-11-06 01:30", "start")[1].startswith("'2022-11-06 01:30' happens twice")
    assert refuse.epoch("2022-03-13 02:30", "start")[1].startswith("'2022-03-13 02:30' does not exist")
    no_zone = TimeReader(fmt, None, None)
    assert "no time zone is known" in no_zone.epoch("2022-03-13 02:30", "start")[1]


def test_header_names_lose_their_unit_and_spaces():
    assert header_name(" Usage\u00a0(kWh) ") == ("usage", "kWh")
    assert header_name("Bezug [Wh]") == ("bezug", "Wh")
    assert header_name("kWh") == ("kwh", "kWh")
    assert header_name("Date/Time") == ("date/time", None)


# -------------------------------------------------------------------------------------------- profile files


def test_every_built_in_profile_is_a_valid_profile_file():
    for name, profile in BUILT_IN.items():
        assert load_profile(profile.source).name == name


def test_a_profile_file_names_every_problem_at_once():
    text = MY_UTILITY.replace('layout = "table"', 'layout = "grid"').replace('decimal = ","', 'decimal = ";"')
    with pytest.raises(ProfileInvalid) as caught:
        load_profile(text, "bad.toml")
    assert [(e.where, e.field) for e in caught.value.errors] == [("line 3", "layout"), ("line 19", "energy.decimal")]


def test_a_blocks_file_without_the_received_channel_on_a_solar_meter_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("Energy Delivered\nInterval,kWh\n2024-01-01 00:00 to 2024-01-01 01:00,1.5\n")
    report = ParseReport()
    data = read_export(path, BUILT_IN["utility-blocks"], timezone="UTC", report=report)
    assert report.ok
    chunk = to_chunk(data, "PV", "consumption", report)
    assert chunk["mwh"].tolist() == [1_500_000]
    to_chunk(data, "PV", "production", report)
    assert report.fatal
