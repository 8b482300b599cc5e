"""energy_coop.importers.weather: which typical year a site gets, and reading it once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from energy_coop.calc.forecasting.forecast import SolarArray, forecast_asset
from energy_coop.importers.weather import (
    GREENSBORO_TMY,
    SAND_POINT_TMY,
    TMY_DIR,
    typical_year,
    typical_year_file,
)


@pytest.mark.parametrize("latitude, longitude, expected", [
    (35.78, -78.64, GREENSBORO_TMY),  # Raleigh, NC: 110 km from Greensboro
    (39.74, -104.99, GREENSBORO_TMY),  # Denver, CO: ~2,300 km from Greensboro, ~3,900 km from Sand Point
    (61.22, -149.90, SAND_POINT_TMY),  # Anchorage, AK: ~900 km from Sand Point
    (21.31, -157.86, SAND_POINT_TMY),  # Honolulu: nearer Sand Point (~3,800 km) than Greensboro (~7,500 km)
])
def test_the_nearest_shipped_typical_year_is_chosen(latitude, longitude, expected):
    path = typical_year_file(latitude, longitude)
    assert Path(path).name == expected
    assert Path(path).parent == TMY_DIR and Path(path).is_file()


def test_a_place_without_a_position_gets_greensboro():
    assert Path(typical_year_file()).name == GREENSBORO_TMY
    assert Path(typical_year_file(None, None)).name == GREENSBORO_TMY


def test_typical_year_is_hourly_with_metadata_and_returns_copies():
    data, meta = typical_year(typical_year_file())
    assert len(data) == 8760
    assert {"ghi", "dni", "dhi", "temp_air", "wind_speed", "pressure"} <= set(data.columns)
    assert meta["latitude"] == pytest.approx(36.1, abs=0.1)
    data["ghi"] = -1.0
    meta["latitude"] = 0.0
    again, meta_again = typical_year(typical_year_file())
    assert (again["ghi"] >= 0).all() and meta_again["latitude"] == pytest.approx(36.1, abs=0.1)


def test_a_forecast_without_weather_needs_the_typical_year_factors():
    array = SolarArray(latitude=36.07, longitude=-79.79, timezone="America/New_York", capacity_kw_dc=10.0,
                       capacity_kw_ac=8.0, tilt_deg=25.0, azimuth_deg=180.0, altitude_m=250.0)
    with pytest.raises(ValueError, match="needs the typical-year factors"):
        forecast_asset(array, pd.Timestamp("2024-06-01", tz="America/New_York"), 1)
