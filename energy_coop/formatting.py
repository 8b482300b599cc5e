"""How the product writes its numbers, dates and months for people: the one formatter every page uses (SPEC 13).

Services and screens hand out integers (energy in Wh, money in cents, rates in micro-units per kWh), dates and
codes; turning them into text happens here and nowhere else, at the edge. A :class:`Formatter` writes them in
the co-op's ``locale`` with its ``currency`` and ``timezone`` (Babel: the locale's currency-symbol placement,
decimal and grouping separators, month names and date forms), e.g. 123456 cents is ``"$1,234.56"`` for
en_US/USD and ``"1.234,56 €"`` for de_DE/EUR. Amounts go from integers to :class:`~decimal.Decimal` exactly,
never through a float.

Where a Formatter comes from: :func:`formatter_for` builds one from the co-op settings
(``energy_coop.services.settings.get_settings``); the web app keeps one per request (``web.formatting``) and
registers its methods as the pages' Jinja filters (``money``, ``kwh``, ``percent``, ``date``, ``when``,
``period``, ...); the CLI's human-readable lines build one from the settings too. The module-level functions
(``money``, ``energy_kwh``, ...) are an en_US / USD / UTC Formatter, for callers that have no settings.

JSON and CSV never go through this module: they keep machine numbers (integer Wh and cents, exact decimals as
strings). Independent of Flask and of the services, so any entry point may use it.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time, get_datetime_format
from babel.numbers import NumberPattern

from energy_coop.period import Period
from energy_coop.units import rate_to_decimal

MISSING = "-"  # what a page shows for an amount that does not exist (no readings, no forecast)
NOT_APPLICABLE = "n/a"  # a ratio or percentage that cannot be computed

DEFAULT_LOCALE = "en_US"
DEFAULT_CURRENCY = "USD"
DEFAULT_TIMEZONE = "UTC"


class HasFormatSettings(Protocol):
    """What :func:`formatter_for` reads from the co-op settings (``services.settings.CoopSettings``)."""

    locale: str
    currency: str
    timezone: str


def _places(pattern: NumberPattern, low: int, high: int | None = None) -> NumberPattern:
    """The locale's own pattern (symbol placement, separators, grouping) with ``low``..``high`` decimals."""
    p = copy.copy(pattern)
    p.frac_prec = (low, low if high is None else high)
    return p


def _exact(value: float | Decimal | int) -> Decimal:
    """A value as a Decimal: ints and Decimals exactly; a float (a ratio computed for display) by its repr."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(float(value)))


class Formatter:
    """Numbers, amounts, dates and months as the co-op's people read them.

    ``locale`` is a CLDR locale (``"en_US"``, ``"de_DE"``), ``currency`` an ISO 4217 code (``"USD"``),
    ``timezone`` an IANA zone (``"America/New_York"``) in which instants are shown. Unknown values raise
    ``ValueError`` (the settings service refuses them before they are stored).
    """

    def __init__(self, locale: str = DEFAULT_LOCALE, currency: str = DEFAULT_CURRENCY,
                 timezone: str = DEFAULT_TIMEZONE) -> None:
        try:
            self._locale = Locale.parse(locale)
        except (ValueError, TypeError, UnknownLocaleError) as exc:
            raise ValueError(f"unknown locale {locale!r}") from exc
        self.locale = str(self._locale)
        self.currency = currency
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        currency_pattern = self._locale.currency_formats["standard"]
        self._money = _places(currency_pattern, 2)
        self._rate = _places(currency_pattern, 2, 6)
        self._percent_pattern = self._locale.percent_formats[None]
        self._decimal_pattern = self._locale.decimal_formats[None]

    def __repr__(self) -> str:
        return f"Formatter(locale={self.locale!r}, currency={self.currency!r}, timezone={self.timezone!r})"

    # ----------------------------------------------------------------------------------------- numbers

    def number(self, value: int | Decimal | float | None, places: int = 0) -> str:
        """A plain number with the locale's separators and exactly ``places`` decimals (half to even)."""
        if value is None:
            return MISSING
        q = _exact(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        return _places(self._decimal_pattern, places).apply(q, self._locale)

    def money(self, cents: int | None) -> str:
        """Integer **cents** as an amount of the co-op's currency (``"$1,234.56"``, ``"-1.234,56 €"``); None ->
        ``"-"``. Exact: the cents become a Decimal with two places, never a float."""
        if cents is None:
            return MISSING
        return self._money.apply(Decimal(int(cents)).scaleb(-2), self._locale, currency=self.currency,
                                 currency_digits=False)

    def energy_kwh(self, wh: int | None, places: int = 3) -> str:
        """Integer **Wh** as kWh with ``places`` decimals (half to even) and the locale's separators
        (``"1,234.567"``, ``"1.234,567"``), without the unit: pages write " kWh" after it. None -> ``"-"``."""
        if wh is None:
            return MISSING
        return self.number(Decimal(int(wh)).scaleb(-3), places)

    def rate(self, micros: int | None) -> str:
        """A credit rate in integer **micro-units of the currency per kWh** as an amount of the currency with two
        to six decimals, exact (``"$0.10"``, ``"$0.123456"``); the page writes "per kWh". None -> ``"-"``."""
        if micros is None:
            return MISSING
        return self._rate.apply(rate_to_decimal(int(micros)).normalize(), self._locale, currency=self.currency,
                                currency_digits=False)

    def percent(self, fraction: float | Decimal | int | None, places: int = 2) -> str:
        """A **fraction** (0.5) as a percentage with ``places`` decimals in the locale's form (``"50.00%"``,
        ``"50,00 %"``); None -> ``"n/a"``."""
        if fraction is None:
            return NOT_APPLICABLE
        value = (_exact(fraction) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        return _places(self._percent_pattern, places).apply(value / 100, self._locale)

    def basis_points(self, bp: int | None) -> str:
        """Integer **basis points** (1/100 of a percent: 1250) as a percentage with as many decimals as it needs
        (``"12.5%"``); None -> ``"n/a"``. Exact."""
        if bp is None:
            return NOT_APPLICABLE
        return _places(self._percent_pattern, 0, 2).apply(Decimal(int(bp)).scaleb(-4), self._locale)

    def ratio(self, value: float | Decimal | None, places: int = 2) -> str:
        """A plain ratio (a performance ratio, 0.83) with ``places`` decimals; None -> ``"n/a"``."""
        return NOT_APPLICABLE if value is None else self.number(value, places)

    def power_kw(self, kw: float | Decimal | None, suffix: str = "kW") -> str:
        """A capacity [kW or kWh] without trailing zeros, then ``suffix`` (``"250 kW AC"``, ``"13,5 kWh"``)."""
        if kw is None:
            return ""
        return f"{_places(self._decimal_pattern, 0, 3).apply(_exact(kw), self._locale)} {suffix}"

    # ------------------------------------------------------------------------------------ dates, months

    def date(self, value: dt.date | str | None) -> str:
        """A calendar date in the locale's medium form (``"Mar 1, 2024"``, ``"01.03.2024"``); an ISO 8601 text
        (``"2024-03-01"``, as JSON documents carry dates) is read first; None or "" -> ``""``."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        if isinstance(value, dt.datetime):
            value = self._local(value).date()
        return format_date(value, "medium", locale=self._locale)

    def when(self, value: dt.datetime | dt.date | None) -> str:
        """An instant in the co-op's time zone, the locale's date and time and the zone's abbreviation
        (``"Mar 1, 2024, 7:05 AM EST"``); a date as :meth:`date`; None -> ``""``. A naive datetime is taken as
        UTC (everything stored is UTC)."""
        if value is None:
            return ""
        if not isinstance(value, dt.datetime):
            return self.date(value)
        local = self._local(value)
        text = get_datetime_format("medium", locale=self._locale).replace("'", "")
        text = text.replace("{0}", format_time(local, "short", locale=self._locale))
        text = text.replace("{1}", format_date(local.date(), "medium", locale=self._locale))
        return f"{text} {local.tzname()}"

    def period_label(self, period: Period | str | None) -> str:
        """A ``YYYY-MM`` month as the locale writes it (``"November 2026"``, ``"noviembre de 2026"``); None ->
        ``""``. A text that is not a month raises ``ValueError``."""
        if period is None:
            return ""
        p = Period.parse(period)
        return format_skeleton("yMMMM", dt.date(p.year, p.month, 1), locale=self._locale)

    def day_label(self, value: dt.date) -> str:
        """A short day for a chart's axis (``"Mar 1"``, ``"1. März"``)."""
        return format_skeleton("MMMd", value, locale=self._locale)

    def _local(self, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(self.zone)

    # ------------------------------------------------------------------------------------------ filters

    def jinja_filters(self) -> dict[str, Any]:
        """This formatter's methods under the pages' filter names: ``{{ cents|money }}``, ``{{ wh|kwh }}``
        (``{{ wh|kwh(1) }}``), ``{{ fraction|percent }}``, ``{{ day|date }}``, ``{{ instant|when }}``,
        ``{{ "2024-03"|period }}``, ``{{ micros|rate }}``, ``{{ bp|bp_percent }}``, ``{{ x|ratio }}``,
        ``{{ kw|power("kW AC") }}``, ``{{ n|number }}``."""
        return {name: getattr(self, method) for name, method in FILTER_METHODS.items()}


#: The Jinja filter names and the :class:`Formatter` methods behind them.
FILTER_METHODS: dict[str, str] = {
    "money": "money",
    "kwh": "energy_kwh",
    "rate": "rate",
    "when": "when",
    "date": "date",
    "period": "period_label",
    "percent": "percent",
    "bp_percent": "basis_points",
    "ratio": "ratio",
    "power": "power_kw",
    "number": "number",
    "day": "day_label",
}


@functools.lru_cache(maxsize=64)
def formatter(locale: str = DEFAULT_LOCALE, currency: str = DEFAULT_CURRENCY,
              timezone: str = DEFAULT_TIMEZONE) -> Formatter:
    """The :class:`Formatter` for these settings, made once per process (a Formatter never changes)."""
    return Formatter(locale, currency, timezone)


def formatter_for(settings: HasFormatSettings | None) -> Formatter:
    """The Formatter of the co-op settings (``locale``, ``currency``, ``timezone``); None -> the defaults."""
    if settings is None:
        return formatter()
    return formatter(settings.locale, settings.currency, settings.timezone)


# The module-level functions: the en_US / USD / UTC Formatter, for callers that have no settings.
_DEFAULT = formatter()
number = _DEFAULT.number
money = _DEFAULT.money
energy_kwh = _DEFAULT.energy_kwh
rate = _DEFAULT.rate
percent = _DEFAULT.percent
basis_points = _DEFAULT.basis_points
ratio = _DEFAULT.ratio
power_kw = _DEFAULT.power_kw
date = _DEFAULT.date
when = _DEFAULT.when
period_label = _DEFAULT.period_label
day_label = _DEFAULT.day_label


# Numbers for charts: a chart's axis is drawn in the units people read, so the conversion lives here too.


def cents_to_units(cents: int | None) -> float | None:
    """Integer cents as currency units (a float, for a chart's bar height only, never for sums or text)."""
    return None if cents is None else cents / 100


def wh_to_kwh(wh: int | None) -> float | None:
    """Integer Wh as kWh (a float, for a chart's bar height only, never for sums or text)."""
    return None if wh is None else wh / 1000


#: The default Formatter's filters (pages outside a request, e.g. a template rendered by a test).
JINJA_FILTERS: dict[str, Any] = _DEFAULT.jinja_filters()
