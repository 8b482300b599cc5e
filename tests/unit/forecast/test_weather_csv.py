"""energy_coop.importers.weather (the weather CSV rules) and energy_coop.calc.forecasting.weather (irradiance
completion and the cloud-cover fallback)."""

import io

import numpy as np
import pandas as pd
import pvlib
import pytest

from energy_coop.calc.forecasting.weather import (
    WeatherError,
    check_weather_frame,
    cloud_cover_to_irradiance,
    complete_irradiance,
    decompose_ghi,
    weather_interval,
)
from energy_coop.importers.weather import read_weather_csv

GOOD = """time,ghi,dhi,temp_air,wind_speed
2024-06-01T10:00:00+02:00,500,100,18.5,2.0
2024-06-01T11:00:00+02:00,650,120,19.0,2.5
2024-06-01T12:00:00+02:00,700,130,20.0,3.0
"""


def read(text, **kw):
    return read_weather_csv(io.StringIO(text), **kw)


def test_reads_a_good_file_to_utc_floats():
    frame, notes = read(GOOD)
    assert notes == []
    assert list(frame.columns) == ["ghi", "dhi", "temp_air", "wind_speed"]
    assert frame.index.name == "time"
    assert str(frame.index.tz) == "UTC"
    assert frame.index[0] == pd.Timestamp("2024-06-01T08:00:00Z")
    assert frame["ghi"].tolist() == [500.0, 650.0, 700.0]


def test_reads_a_path_and_bytes(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text(GOOD, encoding="utf-8")
    by_path, _ = read_weather_csv(path)
    by_bytes, _ = read_weather_csv(io.BytesIO(GOOD.encode()))
    pd.testing.assert_frame_equal(by_path, by_bytes)


def test_offsets_may_change_across_dst():
    text = ("time,dni,dhi\n2024-10-27T01:00:00+02:00,0,0\n2024-10-27T02:00:00+02:00,0,0\n"
            "2024-10-27T02:00:00+01:00,0,0\n2024-10-27T03:00:00+01:00,0,0\n")
    frame, _ = read(text)
    assert weather_interval(frame.index) == pd.Timedelta("1h")
    assert len(frame) == 4


def test_missing_columns_name_required_and_found():
    with pytest.raises(WeatherError) as err:
        read("time,ghi,temp_air\n2024-06-01T10:00:00Z,500,20\n2024-06-01T11:00:00Z,500,20\n")
    msg = str(err.value)
    assert "line 1" in msg
    assert "any two of 'ghi', 'dni', 'dhi'" in msg and "'cloud_cover'" in msg
    assert "found columns: 'time', 'ghi', 'temp_air'" in msg


def test_missing_time_column_is_refused():
    with pytest.raises(WeatherError, match="found columns: 'ghi', 'dni'"):
        read("ghi,dni\n1,2\n")


def test_cloud_cover_alone_is_enough():
    frame, _ = read("time,cloud_cover\n2024-06-01T10:00:00Z,50\n2024-06-01T11:00:00Z,100\n")
    assert frame["cloud_cover"].tolist() == [50.0, 100.0]


def test_naive_timestamp_refused_with_line():
    with pytest.raises(WeatherError, match=r"line 3, column 'time': time '2024-06-01T11:00:00' has no UTC offset"):
        read("time,ghi,dhi\n2024-06-01T10:00:00Z,1,1\n2024-06-01T11:00:00,1,1\n")


def test_gap_refused_with_line():
    text = ("time,ghi,dhi\n2024-06-01T10:00:00Z,1,1\n2024-06-01T11:00:00Z,1,1\n"
            "2024-06-01T13:00:00Z,1,1\n")
    with pytest.raises(WeatherError, match=r"line 4, column 'time': a gap: 0 days 02:00:00 after line 3"):
        read(text)


def test_non_monotonic_refused():
    text = ("time,ghi,dhi\n2024-06-01T10:00:00Z,1,1\n2024-06-01T11:00:00Z,1,1\n"
            "2024-06-01T10:30:00Z,1,1\n")
    with pytest.raises(WeatherError, match=r"line 4, column 'time': .* comes before line 3"):
        read(text)


def test_duplicate_refused():
    text = "time,ghi,dhi\n2024-06-01T10:00:00Z,1,1\n2024-06-01T12:00:00+02:00,1,1\n"
    with pytest.raises(WeatherError, match=r"line 3, column 'time': .* same time as line 2 \(duplicated row\)"):
        read(text)


def test_negative_irradiance_beyond_tolerance_refused():
    with pytest.raises(WeatherError, match=r"line 3, column 'dhi': -50 W/m² is negative"):
        read("time,ghi,dhi\n2024-06-01T10:00:00Z,0,0\n2024-06-01T11:00:00Z,0,-50\n")


def test_small_negative_irradiance_clipped_and_noted():
    frame, notes = read("time,ghi,dhi\n2024-06-01T00:00:00Z,-2,-1.5\n2024-06-01T01:00:00Z,0,0\n")
    assert frame["ghi"].tolist() == [0.0, 0.0]
    assert frame["dhi"].tolist() == [0.0, 0.0]
    assert any("'ghi': 1 slightly negative value(s) (from line 2, down to -2 W/m²) clipped to 0" in n for n in notes)


def test_hot_air_refused():
    with pytest.raises(WeatherError, match=r"line 2, column 'temp_air': 80 °C is outside the possible range"):
        read("time,ghi,dhi,temp_air\n2024-06-01T10:00:00Z,1,1,80\n2024-06-01T11:00:00Z,1,1,20\n")


@pytest.mark.parametrize(
    "column,value,needle",
    [("ghi", "1600", "above the physical limit"), ("wind_speed", "-1", "outside the possible range"),
     ("cloud_cover", "101", "outside the possible range"), ("ghi", "abc", "'abc' is not a number"),
     ("ghi", "", "value is empty"), ("ghi", "nan", "not a finite number")],
)
def test_other_values_refused(column, value, needle):
    cols = ["ghi", "dhi", "wind_speed", "cloud_cover"]
    row = {c: "1" for c in cols}
    row[column] = value
    text = "time," + ",".join(cols) + "\n2024-06-01T10:00:00Z," + ",".join(row[c] for c in cols) + "\n"
    text += "2024-06-01T11:00:00Z,1,1,1,1\n"
    with pytest.raises(WeatherError) as err:
        read(text)
    assert f"line 2, column '{column}'" in str(err.value)
    assert needle in str(err.value)


def test_every_problem_listed():
    text = ("time,ghi,dhi,temp_air\n2024-06-01T10:00:00Z,-50,1,80\n2024-06-01T11:00:00Z,2000,1,20\n")
    with pytest.raises(WeatherError) as err:
        read(text)
    assert len(err.value.problems) == 3


def test_unknown_columns_noted_not_refused():
    frame, notes = read("time,ghi,dhi,humidity\n2024-06-01T10:00:00Z,1,1,50\n2024-06-01T11:00:00Z,1,1,50\n")
    assert "humidity" not in frame
    assert notes == ["ignored column(s) 'humidity' (not used by forecasts)"]


def test_single_row_needs_interval():
    text = "time,ghi,dhi\n2024-06-01T10:00:00Z,1,1\n"
    with pytest.raises(WeatherError, match="give the interval"):
        read(text)
    frame, _ = read(text, interval=pd.Timedelta("1h"))
    assert len(frame) == 1


def test_empty_and_header_only_refused():
    with pytest.raises(WeatherError, match="empty"):
        read("")
    with pytest.raises(WeatherError, match="no data rows"):
        read("time,ghi,dhi\n")


def test_check_weather_frame_refuses_naive_index():
    frame = pd.DataFrame({"ghi": [1.0], "dhi": [1.0]}, index=pd.DatetimeIndex(["2024-06-01 10:00"]))
    with pytest.raises(WeatherError, match="naive"):
        check_weather_frame(frame)


def test_weather_interval_irregular():
    idx = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 03:00"], tz="UTC")
    with pytest.raises(ValueError, match="evenly spaced"):
        weather_interval(idx)


def test_complete_irradiance_closure_by_hand():
    idx = pd.DatetimeIndex(["2024-06-01 12:00", "2024-06-01 13:00"], tz="UTC")
    zenith = np.array([60.0, 0.0])
    done = complete_irradiance(pd.DataFrame({"dni": [800.0, 900.0], "dhi": [100.0, 50.0]}, index=idx), zenith)
    assert done["ghi"].tolist() == pytest.approx([800 * 0.5 + 100, 900 + 50])
    done = complete_irradiance(pd.DataFrame({"ghi": [500.0, 950.0], "dni": [800.0, 900.0]}, index=idx), zenith)
    assert done["dhi"].tolist() == pytest.approx([100.0, 50.0])
    done = complete_irradiance(pd.DataFrame({"ghi": [500.0, 950.0], "dhi": [100.0, 50.0]}, index=idx), zenith)
    assert done["dni"].tolist() == pytest.approx([800.0, 900.0])


def test_complete_irradiance_needs_two():
    idx = pd.DatetimeIndex(["2024-06-01 12:00"], tz="UTC")
    with pytest.raises(WeatherError, match="found columns: 'ghi'"):
        complete_irradiance(pd.DataFrame({"ghi": [1.0]}, index=idx), [30.0])


def test_cloud_cover_to_irradiance_scales_linearly():
    idx = pd.DatetimeIndex(["2024-06-21 12:00"] * 1, tz="UTC").append(
        pd.DatetimeIndex(["2024-06-21 13:00", "2024-06-21 14:00"], tz="UTC"))
    cc = pd.Series([0.0, 50.0, 100.0], index=idx)
    out = cloud_cover_to_irradiance(cc, [1000.0, 1000.0, 1000.0], [30.0, 30.0, 30.0])
    assert out["ghi"].tolist() == pytest.approx([1000.0, 1000 * (0.35 + 0.65 * 0.5), 350.0])
    cosz = np.cos(np.radians(30.0))
    np.testing.assert_allclose(out["dhi"] + out["dni"] * cosz, out["ghi"])
    assert (out["dni"].diff().dropna() < 0).all()  # more cloud, less beam


def test_cloud_cover_refuses_naive_and_out_of_range():
    with pytest.raises(ValueError, match="tz-aware"):
        cloud_cover_to_irradiance(pd.Series([1.0], index=pd.DatetimeIndex(["2024-01-01"])), [1.0], [1.0])
    with pytest.raises(ValueError, match="0..100"):
        cloud_cover_to_irradiance(pd.Series([120.0], index=pd.DatetimeIndex(["2024-01-01"], tz="UTC")), [1.0], [1.0])


def test_decompose_ghi_erbs_matches_pvlib():
    idx = pd.DatetimeIndex(["2024-06-21 18:00"], tz="UTC")
    ghi = pd.Series([600.0], index=idx)
    out = decompose_ghi(ghi, [40.0], model="erbs")
    ref = pvlib.irradiance.erbs(ghi.to_numpy(), np.array([40.0]), idx.day_of_year.to_numpy())
    ref_dni = float(np.asarray(ref["dni"])[0])
    assert 0 < ref_dni < 1000
    assert out["dni"].iloc[0] == pytest.approx(ref_dni)
    assert out["dhi"].iloc[0] == pytest.approx(600 - ref_dni * np.cos(np.radians(40.0)))
