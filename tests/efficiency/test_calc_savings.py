"""Degree days, temperature input, energy by day and month, the baseline model and avoided energy (no DB)."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from energy_coop.calc.efficiency import savings as calc
from energy_coop.importers import weather as weather_files
from tests.efficiency import synthetic

TZ = "America/New_York"
#: The typical year a premises gets (Greensboro, NC: a premises has no position on record).
TYPICAL, _ = weather_files.typical_year(weather_files.typical_year_file())


def test_degree_days_base_18():
    dd = calc.degree_days(pd.Series([-2.0, 10.0, 18.0, 25.5]))
    assert dd["hdd"].tolist() == [20.0, 8.0, 0.0, 0.0]
    assert dd["cdd"].tolist() == [0.0, 0.0, 0.0, 7.5]
    assert calc.degree_days(pd.Series([15.0]), base_c=15.5)["hdd"].tolist() == [0.5]


def test_read_daily_temperatures_good_file():
    temps = weather_files.read_daily_temperatures(io.StringIO("date,temp_mean_c\n2024-01-02,3.5\n2024-01-01,-1\n"))
    assert list(temps.index) == [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]
    assert temps.tolist() == [-1.0, 3.5]


def test_read_daily_temperatures_names_every_bad_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("date,temp_mean_c\n2024-01-01,3\n2024-13-01,4\n2024-01-03,warm\n2024-01-04,75\n"
                    "2024-01-01,2\n2024-01-06,\n", encoding="utf-8")
    with pytest.raises(calc.SavingsDataError) as info:
        weather_files.read_daily_temperatures(path)
    text = str(info.value)
    assert "line 3, column date: '2024-13-01' is not a date" in text
    assert "line 4, column temp_mean_c: 'warm' is not a number" in text
    assert "line 5, column temp_mean_c: 75 °C is outside" in text
    assert "line 6, column date: 2024-01-01 is also on line 2" in text
    assert "line 7, column temp_mean_c: '' is not a number" in text


@pytest.mark.parametrize("header, expected", [
    ("day,temp_mean_c", "missing column(s): date; unknown column(s): day"),
    ("date,temp_mean_c,wind", "unknown column(s): wind"),
    ("date", "missing column(s): temp_mean_c"),
])
def test_read_daily_temperatures_refuses_wrong_header(header, expected):
    with pytest.raises(calc.SavingsDataError, match="header must be date,temp_mean_c") as info:
        weather_files.read_daily_temperatures(io.StringIO(header + "\n2024-01-01,1\n"))
    assert expected in str(info.value)


def test_tmy_maps_month_and_day_onto_real_dates():
    temps = calc.tmy_daily_temperatures(dt.date(2023, 12, 30), dt.date(2024, 3, 2), TYPICAL)
    assert len(temps) == 64 and temps.index[0] == dt.date(2023, 12, 30)
    # The same calendar day of two years takes the same typical value.
    again = calc.tmy_daily_temperatures(dt.date(2025, 1, 15), dt.date(2025, 1, 15), TYPICAL)
    assert again.iloc[0] == temps[dt.date(2024, 1, 15)]
    # 29 February is the mean of the typical 28 February and 1 March.
    assert temps[dt.date(2024, 2, 29)] == pytest.approx((temps[dt.date(2024, 2, 28)] + temps[dt.date(2024, 3, 1)]) / 2)
    # Greensboro: January cold, July warm [°C].
    july = calc.tmy_daily_temperatures(dt.date(2024, 7, 1), dt.date(2024, 7, 31), TYPICAL)
    assert temps[[d.month == 1 for d in temps.index]].mean() < 8 < 20 < july.mean()


def _ts(y, m, d, h=0, tz=TZ):
    from zoneinfo import ZoneInfo
    return int(dt.datetime(y, m, d, h, tzinfo=ZoneInfo(tz)).timestamp())


def test_daily_energy_sums_intervals_and_shares_long_readings():
    rows = [(_ts(2024, 3, 1, h), _ts(2024, 3, 1, h) + 3600, 1_000_000) for h in range(24)]  # 24 kWh on 1 March
    rows.append((_ts(2024, 3, 2), _ts(2024, 3, 4), 48_000_000))  # two days in one reading
    rows.append((_ts(2024, 3, 4, 12), _ts(2024, 3, 5), 6_000_000))  # half a day only
    daily = calc.daily_energy(pd.DataFrame(rows, columns=["start", "end", "mwh"]), TZ, dt.date(2024, 3, 1),
                              dt.date(2024, 3, 5))
    assert daily["kwh"].round(6).tolist() == [24.0, 24.0, 24.0, 6.0, 0.0]
    assert daily["complete"].tolist() == [True, True, True, False, False]


def test_daily_energy_dst_day_is_23_hours():
    start, end = _ts(2024, 3, 10), _ts(2024, 3, 11)
    rows = [(t, t + 3600, 1_000_000) for t in range(start, end, 3600)]
    daily = calc.daily_energy(pd.DataFrame(rows, columns=["start", "end", "mwh"]), TZ, dt.date(2024, 3, 10),
                              dt.date(2024, 3, 10))
    assert daily["day_s"].iloc[0] == 23 * 3600 and daily["complete"].iloc[0] and daily["kwh"].iloc[0] == 23.0


def test_fit_statistics_and_guideline_14_limits():
    cv, nmbe = calc.fit_statistics([100, 110, 90, 100], [100, 100, 100, 100], 1)
    assert cv == pytest.approx(np.sqrt(200 / 3) / 100)
    assert nmbe == 0
    assert calc.passes_guideline_14(0.15, -0.05, "monthly")
    assert not calc.passes_guideline_14(0.151, 0.0, "monthly")
    assert not calc.passes_guideline_14(0.10, 0.051, "monthly")
    assert calc.passes_guideline_14(0.29, 0.09, "daily") and not calc.passes_guideline_14(0.31, 0, "daily")


INSTALLED = dt.date(2024, 5, 10)


def _building(noise_sd=synthetic.NOISE_SD):
    temps = synthetic.temperatures(dt.date(2023, 1, 1), dt.date(2025, 6, 30))
    readings, true = synthetic.daily_readings(temps, INSTALLED, tz=TZ, noise_sd=noise_sd)
    return temps, readings, true


def test_synthetic_building_savings_recovered_monthly():
    """20 kWh/day + 1.5 kWh/HDD + noise (3 kWh/day), 25 % less after installation: the avoided energy over the
    12 reporting months is recovered within 5 % of the truth, the slopes within 5 %, and the fit passes
    Guideline 14's monthly limits."""
    temps, readings, true = _building()
    result = calc.measure_savings(readings, temps, tz=TZ, first_installed=INSTALLED, last_installed=INSTALLED,
                                  until=dt.date(2025, 6, 1))
    model = result.model
    assert model.terms == ("days", "hdd") and "cdd" in model.dropped
    assert model.params["days"] == pytest.approx(synthetic.BASE_KWH_PER_DAY, rel=0.05)
    assert model.params["hdd"] == pytest.approx(synthetic.KWH_PER_HDD, rel=0.05)
    assert model.passes and model.n == 12
    # Reporting: June 2024 .. May 2025 (the installation month is left out of both periods).
    assert result.reporting.index[0] == dt.date(2024, 6, 1) and len(result.reporting) == 12
    truth = synthetic.SAVING * true[[dt.date(2024, 6, 1) <= d < dt.date(2025, 6, 1) for d in true.index]].sum()
    assert result.avoided_kwh == pytest.approx(truth, rel=0.05)
    assert result.annualised_kwh == pytest.approx(truth, rel=0.05)


def test_synthetic_building_daily_model_within_daily_limits():
    temps, readings, _ = _building()
    daily = calc.daily_energy(readings, TZ, dt.date(2023, 5, 1), dt.date(2024, 4, 30))
    periods = daily.join(calc.degree_days(temps)).assign(days=1)
    model = calc.fit_baseline(periods, "daily")
    assert model.limits == (0.30, 0.10) and model.passes
    assert model.params["hdd"] == pytest.approx(1.5, rel=0.05)


def test_noisy_building_fails_guideline_14_and_says_so():
    temps, readings, _ = _building(noise_sd=25.0)
    result = calc.measure_savings(readings, temps, tz=TZ, first_installed=INSTALLED, last_installed=INSTALLED,
                                  until=dt.date(2025, 6, 1))
    assert result.model.cv_rmse > 0.15 or abs(result.model.nmbe) > 0.05
    assert not result.model.passes


def test_baseline_too_short_says_how_much_more_is_needed():
    temps, readings, _ = _building()
    late = readings[readings["start"] >= _ts(2023, 12, 1)]
    with pytest.raises(calc.InsufficientBaselineError) as info:
        calc.measure_savings(late, temps, tz=TZ, first_installed=dt.date(2024, 5, 1),
                             last_installed=dt.date(2024, 5, 1), until=dt.date(2025, 6, 1))
    assert str(info.value) == ("the baseline needs 9 months of readings before 2024-05-01; the meter has 5 complete "
                               "months (from 2023-12-01): 4 more months are needed")


def test_baseline_with_a_gap_counts_only_complete_months():
    temps, readings, _ = _building()
    gap = (readings["start"] >= _ts(2023, 8, 1)) & (readings["start"] < _ts(2024, 1, 1))
    with pytest.raises(calc.InsufficientBaselineError, match="5 months in between incomplete: 2 more months"):
        calc.measure_savings(readings[~gap], temps, tz=TZ, first_installed=INSTALLED, last_installed=INSTALLED,
                             until=dt.date(2025, 6, 1))


def test_no_reporting_month_yet_is_a_note():
    temps, readings, _ = _building()
    result = calc.measure_savings(readings, temps, tz=TZ, first_installed=INSTALLED, last_installed=INSTALLED,
                                  until=dt.date(2024, 6, 20))
    assert result.avoided_kwh == 0 and result.annualised_kwh is None
    assert "no complete month after the installation yet (reporting starts 2024-06-01)" in result.notes[-1]
