"""energy_coop.formatting: the one formatter the pages use, registered as their Jinja filters."""

from __future__ import annotations

import datetime as dt

import pytest

from energy_coop import formatting as fmt


def test_money_and_energy_from_integers():
    assert fmt.money(2088) == "20.88" and fmt.money(-123456) == "-1,234.56" and fmt.money(None) == "-"
    assert fmt.energy_kwh(208_800) == "208.800" and fmt.energy_kwh(1_234_567) == "1,234.567"
    assert fmt.energy_kwh(12_350, 1) == "12.4" and fmt.energy_kwh(12_250, 1) == "12.2"  # half to even
    assert fmt.energy_kwh(None) == "-"


def test_rates_dates_months_and_fractions():
    assert fmt.rate(100_000) == "0.100000"
    assert fmt.when(dt.datetime(2024, 3, 1, 12, 5, tzinfo=dt.UTC)) == "2024-03-01 12:05 UTC"
    assert fmt.when(dt.date(2024, 3, 1)) == fmt.date(dt.date(2024, 3, 1)) == "2024-03-01"
    assert fmt.period_label("2024-03") == "2024-03"
    with pytest.raises(ValueError):
        fmt.period_label("2024-13")
    assert fmt.percent(1) == "100.00 %" and fmt.percent(0.8, 0) == "80 %" and fmt.percent(None) == "n/a"
    assert fmt.ratio(0.834) == "0.83" and fmt.ratio(None) == "n/a"
    assert fmt.power_kw(200.0, "kW AC") == "200 kW AC" and fmt.power_kw(None) == ""


def test_chart_numbers_and_the_pages_filters(app):
    assert fmt.cents_to_units(2088) == pytest.approx(20.88) and fmt.wh_to_kwh(None) is None
    for name, function in fmt.JINJA_FILTERS.items():
        assert app.jinja_env.filters[name] is function
