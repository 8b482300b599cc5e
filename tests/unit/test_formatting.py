"""energy_coop.formatting.Formatter: the exact text Babel gives for en_US, de_DE and es_ES (SPEC 13)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from babel.numbers import get_currency_symbol, parse_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_coop import formatting as fmt
from energy_coop.formatting import Formatter

NBSP = "\xa0"
US = Formatter("en_US", "USD", "America/New_York")
DE = Formatter("de_DE", "EUR", "Europe/Berlin")
DE_USD = Formatter("de_DE", "USD", "Europe/Berlin")
ES = Formatter("es_ES", "EUR", "Europe/Madrid")
INSTANT = dt.datetime(2026, 11, 3, 12, 5, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("f, expected", [
    (US, "$1,234.56"), (DE_USD, f"1.234,56{NBSP}$"), (DE, f"1.234,56{NBSP}€"), (ES, f"1.234,56{NBSP}€"),
    (Formatter("es_ES", "USD"), f"1.234,56{NBSP}US$"),
])
def test_money_places_the_symbol_and_separators_as_the_locale_does(f, expected):
    assert f.money(123456) == expected


def test_money_signs_zero_and_missing():
    assert US.money(-5) == "-$0.05" and US.money(0) == "$0.00" and US.money(None) == "-"
    assert DE.money(-123456) == f"-1.234,56{NBSP}€"
    assert US.money(10**20 + 1) == "$1,000,000,000,000,000,000.01"  # exact far beyond a float's 15 digits


def test_energy_in_kwh_rounded_half_to_even_without_the_unit():
    assert US.energy_kwh(1_234_567) == "1,234.567" and DE.energy_kwh(1_234_567) == "1.234,567"
    assert ES.energy_kwh(208_800) == "208,800"
    assert US.energy_kwh(12_350, 1) == "12.4" and US.energy_kwh(12_250, 1) == "12.2"
    assert US.energy_kwh(-3000) == "-3.000" and US.energy_kwh(None) == "-"


def test_rates_percentages_ratios_and_capacities():
    assert US.rate(100_000) == "$0.10" and US.rate(123_456) == "$0.123456" and DE.rate(100_000) == f"0,10{NBSP}€"
    assert US.percent(0.5) == "50.00%" and DE.percent(Decimal("0.5")) == f"50,00{NBSP}%"
    assert US.percent(0.8, 0) == "80%" and US.percent(1) == "100.00%" and US.percent(None) == "n/a"
    assert US.basis_points(1250) == "12.5%" and DE.basis_points(1250) == f"12,5{NBSP}%"
    assert US.basis_points(10000) == "100%"
    assert US.ratio(0.834) == "0.83" and DE.ratio(0.834) == "0,83" and US.ratio(None) == "n/a"
    assert US.power_kw(200.0, "kW AC") == "200 kW AC" and DE.power_kw(13.5, "kWh") == "13,5 kWh"
    assert US.power_kw(None) == ""


def test_dates_instants_in_the_coop_zone_months_and_chart_days():
    assert US.date(dt.date(2026, 11, 3)) == "Nov 3, 2026"
    assert DE.date(dt.date(2026, 11, 3)) == "03.11.2026" and ES.date(dt.date(2026, 11, 3)) == "3 nov 2026"
    assert US.when(INSTANT) == "Nov 3, 2026, 7:05\u202fAM EST"  # 12:05 UTC is 07:05 in New York
    assert DE.when(INSTANT) == "03.11.2026, 13:05 CET"
    assert ES.when(INSTANT) == "3 nov 2026, 13:05 CET"
    assert US.when(dt.date(2026, 11, 3)) == "Nov 3, 2026" and US.when(None) == ""
    assert US.period_label("2026-11") == "November 2026" and DE.period_label("2026-03") == "März 2026"
    assert ES.period_label("2026-11") == "noviembre de 2026" and US.period_label(None) == ""
    with pytest.raises(ValueError):
        US.period_label("2026-13")
    assert US.day_label(dt.date(2026, 3, 1)) == "Mar 1" and DE.day_label(dt.date(2026, 3, 1)) == "1. März"


def test_module_functions_are_the_en_us_usd_utc_formatter():
    assert fmt.money(2088) == "$20.88" and fmt.energy_kwh(208_800) == "208.800"
    assert fmt.when(INSTANT) == "Nov 3, 2026, 12:05\u202fPM UTC"
    assert fmt.period_label("2024-03") == "March 2024"
    assert fmt.cents_to_units(2088) == pytest.approx(20.88) and fmt.wh_to_kwh(None) is None


def test_formatter_for_settings_and_unknown_values():
    class Settings:
        locale, currency, timezone = "de_DE", "EUR", "Europe/Berlin"

    f = fmt.formatter_for(Settings())
    assert f.money(100) == f"1,00{NBSP}€" and f is fmt.formatter_for(Settings())  # one per process
    assert fmt.formatter_for(None).money(100) == "$1.00"
    with pytest.raises(ValueError):
        Formatter("xx_YY")


def _cents_back(f: Formatter, text: str) -> int:
    symbol = get_currency_symbol(f.currency, locale=f.locale)
    number = text.replace(symbol, "").replace(NBSP, "").strip()
    return int(parse_decimal(number, locale=f.locale, strict=True).scaleb(2))


@settings(max_examples=300, deadline=None)
@given(cents=st.integers(min_value=-(10**15), max_value=10**15),
       f=st.sampled_from([US, DE, DE_USD, ES, Formatter("es_ES", "USD"), Formatter("en_US", "EUR")]))
def test_money_of_any_cents_reads_back_as_the_same_cents(cents, f):
    assert _cents_back(f, f.money(cents)) == cents
