"""How the product writes its numbers, dates and months for people: the one formatter every page uses.

Services and screens hand out integers (energy in Wh, money in cents, rates in micro-units per kWh), dates and
codes; turning them into text happens here and nowhere else, at the edge (the web pages register these
functions as Jinja filters; the CLI's human-readable output can use them too). JSON and CSV never go through
this module: they keep machine numbers (SPEC 13).

Today the text is fixed (two decimals and thousands separators, ``YYYY-MM`` months, UTC times). This module
becomes the Babel-based formatter of SPEC 13: pages and PDFs format money, energy and dates by the co-op's
``locale`` and ``currency`` settings; the function names and their integer inputs stay, so callers don't change.
Independent of Flask, so any entry point may use it.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from energy_coop.period import Period
from energy_coop.units import format_money, rate_to_decimal

MISSING = "-"  # what a page shows for an amount that does not exist (no readings, no forecast)


def money(cents: int | None) -> str:
    """Integer cents as ``"-1,234.50"`` (currency units, two decimals, thousands separators); None -> "-"."""
    if cents is None:
        return MISSING
    return format_money(int(cents))


def energy_kwh(wh: int | None, places: int = 3) -> str:
    """Integer Wh as kWh with ``places`` decimals (rounded half to even) and thousands separators; None -> "-"."""
    if wh is None:
        return MISSING
    kwh = (Decimal(int(wh)) / 1000).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{kwh:,.{places}f}"


def rate(micros: int) -> str:
    """A credit rate in integer micro-units per kWh as exact currency per kWh (``"0.100000"``)."""
    return str(rate_to_decimal(int(micros)))


def when(value: dt.datetime | dt.date | None) -> str:
    """An instant as ``"2024-03-01 12:00 UTC"``, a date as ``"2024-03-01"``; None -> ""."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def date(value: dt.date | None) -> str:
    """A calendar date as ``"2024-03-01"``; None -> ""."""
    return "" if value is None else value.isoformat()


def day_label(value: dt.date) -> str:
    """A short day for a chart axis: ``"01 Mar"``."""
    return value.strftime("%d %b")


def period_label(period: Period | str | None) -> str:
    """A month as people read it; today its code ``"2024-03"`` (with Babel: the locale's "March 2024")."""
    if period is None:
        return ""
    return str(Period.parse(period))


def percent(fraction: float | Decimal | None, places: int = 2) -> str:
    """A fraction (0.5) as a percentage with ``places`` decimals (``"50.00 %"``); None -> "n/a"."""
    if fraction is None:
        return "n/a"
    return f"{float(fraction) * 100:.{places}f} %"


def ratio(value: float | None, places: int = 2) -> str:
    """A plain ratio (a performance ratio, 0.83) with ``places`` decimals; None -> "n/a"."""
    return "n/a" if value is None else f"{float(value):.{places}f}"


def power_kw(kw: float | None, suffix: str = "kW") -> str:
    """A capacity [kW or kWh] written without trailing zeros (``"250 kW AC"`` with ``suffix="kW AC"``)."""
    return "" if kw is None else f"{kw:g} {suffix}"


# Numbers for charts: a chart's axis is drawn in the units people read, so the conversion lives here too.


def cents_to_units(cents: int | None) -> float | None:
    """Integer cents as currency units (a float, for a chart's bar height only, never for sums)."""
    return None if cents is None else cents / 100


def wh_to_kwh(wh: int | None) -> float | None:
    """Integer Wh as kWh (a float, for a chart's bar height only, never for sums)."""
    return None if wh is None else wh / 1000


#: The Jinja filters of the web pages: ``{{ cents|money }}``, ``{{ wh|kwh }}`` (``{{ wh|kwh(1) }}``), ...
JINJA_FILTERS: dict[str, Any] = {
    "money": money,
    "kwh": energy_kwh,
    "rate": rate,
    "when": when,
    "date": date,
    "period": period_label,
    "percent": percent,
    "ratio": ratio,
    "power": power_kw,
}
