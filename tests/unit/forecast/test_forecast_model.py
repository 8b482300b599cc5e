"""energy_coop.calc.forecasting.forecast: the model chain, one asset's forecast, performance ratio and validation."""

import functools
import math

import numpy as np
import pandas as pd
import pvlib
import pytest

from energy_coop.calc.forecasting.forecast import (
    SolarArray,
    below_threshold,
    expected_ac_power,
    forecast_asset,
    interval_midpoints,
    monthly_performance,
    performance_ratio,
    solar_position,
    to_interval_kwh,
    typical_year_factors,
    validate_array,
)
from energy_coop.importers.weather import SAND_POINT_TMY, TMY_DIR, typical_year

HOUR = pd.Timedelta("1h")


@functools.cache
def sand_point():
    """The typical-year factors of pvlib's own default TMY3 (Sand Point, AK), computed once."""
    return typical_year_factors(*typical_year(TMY_DIR / SAND_POINT_TMY))


def denver(**kw):
    params = {"latitude": 39.74, "longitude": -104.99, "timezone": "America/Denver", "altitude_m": 1600.0,
              "capacity_kw_dc": 10.0, "capacity_kw_ac": 8.0, "tilt_deg": 30.0, "azimuth_deg": 180.0}
    params.update(kw)
    return SolarArray(**params)


def sydney(**kw):
    params = {"latitude": -33.87, "longitude": 151.21, "timezone": "Australia/Sydney", "altitude_m": 40.0,
              "capacity_kw_dc": 5.0, "capacity_kw_ac": 4.0, "tilt_deg": 30.0, "azimuth_deg": 0.0}
    params.update(kw)
    return SolarArray(**params)


# ---------------------------------------------------------------------------------------------- validation


def test_validate_array_accepts_a_normal_asset():
    assert validate_array(latitude=52.5, longitude=13.4, capacity_kw_dc=100, capacity_kw_ac=80, tilt_deg=35,
                          azimuth_deg=180, losses_pct=14, array_type="fixed_roof_mount",
                          timezone="Europe/Berlin", altitude_m=34) == []


def test_validate_array_lists_every_problem():
    errors = validate_array(latitude=95, longitude=-200, capacity_kw_dc=0, capacity_kw_ac=-1, tilt_deg=120,
                            azimuth_deg=400, losses_pct=100, array_type="dual_axis", timezone="Mars/Olympus",
                            altitude_m=20000)
    text = "\n".join(errors)
    for needle in ("latitude 95 degrees is impossible", "longitude -200", "capacity_kw_dc 0 kW is impossible",
                   "capacity_kw_ac -1 kW", "tilt_deg 120", "azimuth_deg 400", "losses_pct 100 %",
                   "array_type 'dual_axis'", "timezone 'Mars/Olympus'", "altitude_m 20000"):
        assert needle in text
    assert len(errors) == 10


@pytest.mark.parametrize("dc,ac,ok", [(10, 8, True), (10, 25, False), (10, 3, False), (10, 20, True)])
def test_validate_array_dc_ac_ratio(dc, ac, ok):
    errors = validate_array(latitude=0, longitude=0, capacity_kw_dc=dc, capacity_kw_ac=ac, tilt_deg=0,
                            azimuth_deg=180)
    assert (errors == []) is ok
    if not ok:
        assert "DC/AC ratio" in errors[0]


def test_validate_array_missing_and_not_numbers():
    errors = validate_array(latitude=None, longitude="east", capacity_kw_dc=float("nan"), capacity_kw_ac=1,
                            tilt_deg=True, azimuth_deg=180)
    assert errors == ["latitude is missing", "longitude 'east' is not a number",
                      "capacity_kw_dc nan is not a finite number", "tilt_deg must be a number"]


def test_solar_array_refuses_impossible_values():
    with pytest.raises(ValueError, match=r"solar array 'A1' refused: tilt_deg 95"):
        denver(tilt_deg=95, code="A1")


# ---------------------------------------------------------------------------------------------- time


def test_interval_midpoints_and_naive_refused():
    times = pd.date_range("2024-06-01", periods=2, freq="15min", tz="UTC")
    assert interval_midpoints(times, pd.Timedelta("15min"))[0] == pd.Timestamp("2024-06-01 00:07:30", tz="UTC")
    with pytest.raises(ValueError, match="naive"):
        interval_midpoints(times.tz_localize(None), pd.Timedelta("15min"))


def test_solar_position_at_midpoint_near_noon():
    # 2024-06-20 (solstice): solar noon in Denver is ~12:59 MDT; the 12:30 hour's midpoint is 13:00.
    times = pd.DatetimeIndex([pd.Timestamp("2024-06-20 12:30", tz="America/Denver")])
    pos = solar_position(denver(), times, HOUR)
    assert pos["eval_time"].iloc[0] == pd.Timestamp("2024-06-20 13:00", tz="America/Denver")
    assert pos["zenith"].iloc[0] == pytest.approx(39.74 - 23.44, abs=0.1)
    assert pos["azimuth"].iloc[0] == pytest.approx(180.0, abs=3.0)


def test_naive_times_refused_everywhere():
    naive = pd.date_range("2024-06-01", periods=3, freq="h")
    with pytest.raises(ValueError, match="naive"):
        expected_ac_power([denver()], naive)
    with pytest.raises(ValueError, match="naive"):
        forecast_asset(denver(), pd.Timestamp("2024-06-01"), 1, factors=sand_point())
    weather = pd.DataFrame({"ghi": [1.0] * 3, "dhi": [1.0] * 3}, index=naive)
    with pytest.raises(ValueError, match="naive"):
        forecast_asset(denver(), weather=weather)
    with pytest.raises(ValueError, match="naive"):
        monthly_performance(pd.Series([1.0] * 3, index=naive), pd.Series([1.0] * 3, index=naive), "UTC")


# ---------------------------------------------------------------------------------------------- model chain


def _fresnel_iam(aoi_deg, n=1.526, k=4.0, thickness=0.002):
    def tau(theta):
        if theta == 0:
            return math.exp(-k * thickness) * (1 - ((n - 1) / (n + 1)) ** 2)
        tr = math.asin(math.sin(theta) / n)
        reflect = 0.5 * (math.sin(tr - theta) ** 2 / math.sin(tr + theta) ** 2
                         + math.tan(tr - theta) ** 2 / math.tan(tr + theta) ** 2)
        return math.exp(-k * thickness / math.cos(tr)) * (1 - reflect)

    return tau(math.radians(aoi_deg)) / tau(0.0)


def test_single_interval_matches_hand_computation():
    # A horizontal open-rack array: Perez gives exactly DHI on a flat surface and no ground reflection, so
    # POA = DNI cos(z) + DHI, and the rest of the chain can be written out by hand (with the closed-form SAPM
    # cell temperature; the default Fuentes heat balance is checked against pvlib's loop in test_thermal).
    array = denver(tilt_deg=0.0, capacity_kw_dc=10.0, capacity_kw_ac=8.0, losses_pct=14.0)
    times = pd.DatetimeIndex([pd.Timestamp("2024-06-20 12:30", tz="America/Denver")])
    weather = pd.DataFrame({"ghi": [950.0], "dni": [900.0], "dhi": [100.0], "temp_air": [30.0],
                            "wind_speed": [2.0]}, index=times)
    power = expected_ac_power([array], times, weather, HOUR, temperature_model="sapm").iloc[0, 0]

    z = solar_position(array, times, HOUR, temperature=30.0)["apparent_zenith"].iloc[0]
    cos_z = math.cos(math.radians(z))
    poa = 900 * cos_z + 100
    effective = 900 * cos_z * _fresnel_iam(z) + 100
    t_cell = poa * math.exp(-3.56 - 0.075 * 2.0) + 30.0 + poa / 1000 * 3.0  # SAPM open rack glass/polymer
    dc = effective / 1000 * 10_000 * (1 - 0.0047 * (t_cell - 25)) * (1 - 0.14)
    pdc0 = 8000 / 0.96
    zeta = dc / pdc0
    eta = 0.96 / 0.9637 * (-0.0162 * zeta - 0.0059 / zeta + 0.9858)
    hand = min(eta * dc, 8000.0)
    assert 6000 < hand < 8000
    assert power == pytest.approx(hand, rel=1e-9)


def test_inverter_clips_at_ac_capacity():
    array = denver(tilt_deg=0.0, capacity_kw_dc=10.0, capacity_kw_ac=5.0)
    times = pd.DatetimeIndex([pd.Timestamp("2024-06-20 12:30", tz="America/Denver")])
    weather = pd.DataFrame({"ghi": [1000.0], "dni": [950.0], "dhi": [90.0]}, index=times)
    assert expected_ac_power([array], times, weather, HOUR).iloc[0, 0] == pytest.approx(5000.0)


def test_vectorised_equals_one_by_one_and_names_columns():
    arrays = [denver(code="A", tilt_deg=10, azimuth_deg=150), denver(code="B", array_type="fixed_roof_mount"),
              denver(code="C", array_type="single_axis", tilt_deg=0, azimuth_deg=180),
              denver(code="D", tilt_deg=90, azimuth_deg=270, capacity_kw_dc=3, capacity_kw_ac=2.5)]
    times = pd.date_range("2024-06-01", periods=72, freq="h", tz="America/Denver")
    together = expected_ac_power(arrays, times, chunk_columns=3, factors=sand_point())
    assert list(together.columns) == ["A", "B", "C", "D"]
    for a in arrays:
        alone = expected_ac_power([a], times, factors=sand_point())
        np.testing.assert_allclose(together[a.code].to_numpy(), alone[a.code].to_numpy(), rtol=1e-12)
    assert (together.to_numpy() >= 0).all()
    night = together.index.hour.isin([0, 1, 2, 23])
    assert (together[night].to_numpy() == 0).all()


def test_arrays_at_different_sites_refused():
    with pytest.raises(ValueError, match="share one site"):
        expected_ac_power([denver(), sydney()], pd.date_range("2024-06-01", periods=2, freq="h", tz="UTC"))


def test_tracker_beats_fixed_horizontal_and_roof_runs_hotter():
    times = pd.date_range("2024-06-20", periods=24, freq="h", tz="America/Denver")
    arrays = [denver(code="flat", tilt_deg=0), denver(code="track", tilt_deg=0, array_type="single_axis"),
              denver(code="rack"), denver(code="roof", array_type="fixed_roof_mount")]
    weather = pd.DataFrame({"temp_air": 30.0, "wind_speed": 1.0, "cloud_cover": 0.0}, index=times)
    energy = expected_ac_power(arrays, times, weather).sum()
    assert energy["track"] > 1.15 * energy["flat"]
    assert energy["roof"] < energy["rack"]


def test_cloud_cover_reduces_output():
    times = pd.date_range("2024-06-20", periods=24, freq="h", tz="America/Denver")
    clear = pd.DataFrame({"cloud_cover": 0.0}, index=times)
    overcast = pd.DataFrame({"cloud_cover": 100.0}, index=times)
    e_clear = expected_ac_power([denver()], times, clear).sum().iloc[0]
    e_cloud = expected_ac_power([denver()], times, overcast).sum().iloc[0]
    assert 0.2 * e_clear < e_cloud < 0.5 * e_clear


def test_weather_must_cover_times():
    times = pd.date_range("2024-06-20", periods=3, freq="h", tz="UTC")
    weather = pd.DataFrame({"ghi": [1.0, 1.0], "dhi": [1.0, 1.0]}, index=times[:2])
    with pytest.raises(ValueError, match="no row for 1 of the requested"):
        expected_ac_power([denver()], times, weather)


def test_to_interval_kwh():
    assert to_interval_kwh(1000.0, pd.Timedelta("15min")) == pytest.approx(0.25)
    frame = pd.DataFrame({"a": [4000.0, 0.0]})
    pd.testing.assert_frame_equal(to_interval_kwh(frame, HOUR), pd.DataFrame({"a": [4.0, 0.0]}))
    with pytest.raises(ValueError, match="positive"):
        to_interval_kwh(1.0, pd.Timedelta(0))


# ---------------------------------------------------------------------------------------------- typical year


def test_typical_year_factors_shape_and_order():
    f = sand_point()
    assert list(f.index) == list(range(1, 13))
    assert list(f.columns) == ["typical", "low", "high", "clear"]
    assert ((f["low"] <= f["typical"]) & (f["typical"] <= f["high"])).all()
    assert ((f["typical"] > 0.2) & (f["typical"] < 1.0)).all()  # Sand Point, AK: a cloudy place
    assert (f["clear"] == 1.0).all()


def test_typical_year_factor_is_tmy_over_clear_sky():
    # Recompute one month independently: hour-ending TMY3 rows, clear sky at the hour's midpoint.
    tmy, meta = pvlib.iotools.read_tmy3(pvlib.__path__[0] + "/data/703165TY.csv", coerce_year=1990)
    july = tmy[(tmy.index - HOUR).month == 7]
    loc = pvlib.location.Location(meta["latitude"], meta["longitude"], altitude=meta["altitude"])
    mid = july.index - pd.Timedelta("30min")
    pos = loc.get_solarposition(mid, pressure=july["pressure"].to_numpy() * 100,
                                temperature=july["temp_air"].to_numpy())
    clear = loc.get_clearsky(mid, solar_position=pos)
    assert sand_point().loc[7, "typical"] == pytest.approx(july["ghi"].sum() / clear["ghi"].sum())


# ---------------------------------------------------------------------------------------------- forecast_asset


def test_forecast_spring_forward_day_has_23_points_and_unshifted_peak():
    tz = "America/Denver"
    for day, points in (("2024-03-09", 24), ("2024-03-10", 23), ("2024-11-03", 25)):
        fc = forecast_asset(denver(), pd.Timestamp(day, tz=tz), 1, factors=sand_point())
        assert len(fc) == points
        assert list(fc.columns) == ["start", "kwh", "kwh_low", "kwh_high"]
        assert str(fc["start"].dt.tz) == tz
        assert fc["start"].is_unique
        peak_mid = fc.loc[fc["kwh"].idxmax(), "start"] + HOUR / 2
        transit = pvlib.solarposition.sun_rise_set_transit_spa(
            pd.DatetimeIndex([pd.Timestamp(day, tz=tz) + pd.Timedelta("12h")]), 39.74, -104.99)["transit"].iloc[0]
        assert abs(peak_mid - transit) <= pd.Timedelta("30min"), (day, peak_mid, transit)
    spring = forecast_asset(denver(), pd.Timestamp("2024-03-10", tz=tz), 1, factors=sand_point())
    assert 2 not in spring["start"].dt.hour.tolist()


def test_forecast_band_is_ordered():
    fc = forecast_asset(denver(), pd.Timestamp("2024-07-01", tz="America/Denver"), 3, factors=sand_point())
    assert len(fc) == 72
    assert (fc["kwh_low"] <= fc["kwh"] + 1e-12).all() and (fc["kwh"] <= fc["kwh_high"] + 1e-12).all()
    assert fc["kwh_high"].sum() > fc["kwh"].sum() > fc["kwh_low"].sum() > 0


def test_southern_hemisphere_north_facing_beats_south_facing_in_june():
    start = pd.Timestamp("2024-06-01", tz="Australia/Sydney")
    north = forecast_asset(sydney(azimuth_deg=0.0), start, 30, factors=sand_point())["kwh"].sum()
    south = forecast_asset(sydney(azimuth_deg=180.0), start, 30, factors=sand_point())["kwh"].sum()
    assert north > 1.5 * south
    # and in the northern hemisphere it is the other way round
    start = pd.Timestamp("2024-06-01", tz="America/Denver")
    assert (forecast_asset(denver(azimuth_deg=180.0), start, 5, factors=sand_point())["kwh"].sum()
            > forecast_asset(denver(azimuth_deg=0.0), start, 5, factors=sand_point())["kwh"].sum())


def test_forecast_with_weather_covers_the_weather_times():
    times = pd.date_range("2024-06-20 05:00", periods=8, freq="15min", tz="UTC")
    weather = pd.DataFrame({"ghi": 800.0, "dhi": 100.0, "temp_air": 25.0}, index=times)
    fc = forecast_asset(denver(), weather=weather)
    assert list(fc.columns) == ["start", "kwh"]
    assert list(fc["start"]) == list(times.tz_convert("America/Denver"))
    power = expected_ac_power([denver()], times, weather, pd.Timedelta("15min")).iloc[:, 0]
    np.testing.assert_allclose(fc["kwh"].to_numpy(), power.to_numpy() / 4000.0)
    window = forecast_asset(denver(), pd.Timestamp("2024-06-19 23:30", tz="America/Denver"), 1, weather)
    assert len(window) == 6


def test_forecast_asset_argument_errors():
    with pytest.raises(ValueError, match="give start and days"):
        forecast_asset(denver())
    with pytest.raises(ValueError, match="days must be"):
        forecast_asset(denver(), pd.Timestamp("2024-06-01", tz="UTC"), 0, factors=sand_point())


# ---------------------------------------------------------------------------------------------- performance


def test_performance_ratio():
    assert performance_ratio(80.0, 100.0) == pytest.approx(0.8)
    assert performance_ratio(pd.Series([30.0, 50.0]), pd.Series([40.0, 60.0])) == pytest.approx(0.8)
    assert performance_ratio(10.0, 0.0) is None
    assert performance_ratio(10.0, float("nan")) is None
    assert performance_ratio(None, 10.0) is None
    assert performance_ratio(pd.Series([1.0, np.nan]), 10.0) is None


def test_below_threshold():
    assert below_threshold(0.79) is True
    assert below_threshold(0.8) is False
    assert below_threshold(None) is False
    assert below_threshold(0.9, threshold=0.95) is True


def test_monthly_performance_uses_local_months_and_common_intervals():
    # 2024-05-31 22:00 UTC is already June 1st in Berlin (UTC+2)
    idx = pd.DatetimeIndex(["2024-05-31 21:00", "2024-05-31 22:00", "2024-06-01 10:00"], tz="UTC")
    metered = pd.Series([1.0, 2.0, 3.0], index=idx)
    expected = pd.Series([1.0, 4.0], index=idx[:2])
    out = monthly_performance(metered, expected, "Europe/Berlin", threshold=0.8)
    assert out.to_dict("records") == [
        {"month": "2024-05", "intervals": 1, "metered_kwh": 1.0, "expected_kwh": 1.0, "performance_ratio": 1.0,
         "flagged": False},
        {"month": "2024-06", "intervals": 1, "metered_kwh": 2.0, "expected_kwh": 4.0, "performance_ratio": 0.5,
         "flagged": True},
    ]


def test_sunlit_midpoint_for_sunrise_and_sunset_hours():
    array = denver()
    local = pd.date_range("2024-06-20 04:00", periods=18, freq="h", tz="America/Denver")
    events = pvlib.solarposition.sun_rise_set_transit_spa(local[:1], 39.74, -104.99)
    sunrise, sunset = events["sunrise"].iloc[0], events["sunset"].iloc[0]
    for times in (local, local.tz_convert("UTC")):  # the same instants, whatever zone they come in
        pos = solar_position(array, times, HOUR, sunlit_midpoint=True)
        when = pd.DatetimeIndex(pos["eval_time"]).tz_convert("America/Denver")
        rise_hour = local.floor("h") == sunrise.floor("h")
        set_hour = local.floor("h") == sunset.floor("h")
        assert abs(when[rise_hour][0] - (sunrise + (sunrise.ceil("h") - sunrise) / 2)) < pd.Timedelta("1s")
        assert abs(when[set_hour][0] - (sunset.floor("h") + (sunset - sunset.floor("h")) / 2)) < pd.Timedelta("1s")
        plain = ~(rise_hour | set_hour)
        assert (when[plain] == local[plain] + HOUR / 2).all()
