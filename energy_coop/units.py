"""The one way to make energy, money and rate values, and to split a total exactly.

Storage units (all Python ``int``, never ``float``):

* energy of a meter reading: **mWh** (milliwatt-hours), so readings are exact to 1 mWh;
* energy of an allocation or statement: **Wh** (watt-hours);
* money: **cents** (1/100 of the co-op's currency);
* credit rates: **micro-units per kWh** (1e-6 of the currency per kWh), i.e. a decimal rate with up to six places.

Parsing refuses anything that cannot be represented exactly (too many decimal places, NaN, infinity), and any
text that is not a plain decimal in ASCII digits (other scripts' digits, which :class:`~decimal.Decimal` would
read, are refused), with a message a volunteer can act on. Arithmetic on these integers is exact; the only rounding in the product is
:func:`round_half_even` and the split of :func:`largest_remainder`, both described in SPEC section 5.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Hashable, Iterable, Mapping, TypeVar

MWH_PER_WH = 1_000
MWH_PER_KWH = 1_000_000
RATE_SCALE = 1_000_000  # micro-units of currency per kWh
CENTS_PER_UNIT = 100

K = TypeVar("K", bound=Hashable)


class UnitError(ValueError):
    """A value that cannot be represented exactly in the product's units; ``str()`` is the reason."""


MAX_DIGITS = 30  # no amount, energy or rate here has more digits before the decimal point
#: Largest magnitude of a parsed value in its storage unit (cents, mWh, Wh, micro-units): a 64-bit integer
#: column holds it, and sums of many such values still fit Python's ints exactly.
MAX_STORED = 2**63 - 1
#: A decimal number as people type it: ASCII digits only ("١٢٣" or full-width "１２３" are not numbers here,
#: although :class:`~decimal.Decimal` would read them), an optional sign, dot and exponent.
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: Most characters of a number read at all; the value quoted in messages is cut shorter still.
MAX_NUMBER_TEXT = 100
_NOT_FINITE = ("nan", "snan", "inf", "infinity")


def shown(text: object, limit: int = 40) -> str:
    """``repr`` of a typed value for a message, cut to ``limit`` characters (a 10 MB value stays out)."""
    t = str(text).strip()
    return repr(t) if len(t) <= limit else f"{t[:limit]!r}... ({len(t):,} characters)"


def _decimal(text: str | int | Decimal, what: str) -> Decimal:
    if isinstance(text, bool):
        raise UnitError(f"{what} must be a number, not a true/false value")
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, float):
        # Floats are not exact; callers must pass the text they read.
        raise UnitError(f"{what} must be given as text or an exact decimal, not a binary float")
    if isinstance(text, Decimal):
        value = text
    else:
        stripped = str(text).strip()
        if stripped == "":
            raise UnitError(f"{what} is empty")
        if stripped.lower().lstrip("+-") in _NOT_FINITE:
            raise UnitError(f"{what} {shown(stripped)} is not a finite number")
        if not DECIMAL_TEXT.fullmatch(stripped):
            raise UnitError(f"{what} {shown(stripped)} is not a number (write it with the digits 0-9 and a dot "
                            "before any decimals)")
        if len(stripped) > MAX_NUMBER_TEXT:
            raise UnitError(f"{what} {shown(stripped)} is far too large")
        value = Decimal(stripped)
    if not value.is_finite():
        raise UnitError(f"{what} {shown(text)} is not a finite number")
    return value


def _scaled(text: str | int | Decimal, scale_places: int, what: str, unit_name: str) -> int:
    value = _decimal(text, what)
    if value and value.adjusted() > MAX_DIGITS:  # "1e999999" would take Python ages to turn into an int
        raise UnitError(f"{what} {shown(text)} is far too large")
    finer = f"{what} {shown(text)} has more than {scale_places} decimal places (finer than 1 {unit_name})"
    if value and value.adjusted() < -scale_places:  # "1e-9999999" would round to 0 in scaleb's context
        raise UnitError(finer)
    scaled = value.scaleb(scale_places)
    if scaled != scaled.to_integral_value():
        raise UnitError(finer)
    if abs(scaled) > MAX_STORED:  # the database stores 64-bit integers
        raise UnitError(f"{what} {shown(text)} is far too large")
    return int(scaled)


def kwh_to_mwh(text: str | int | Decimal) -> int:
    """Parse an energy in **kWh** (decimal text) into integer **mWh**, exactly.

    >>> kwh_to_mwh("1.25")
    1250000
    """
    return _scaled(text, 6, "kWh value", "mWh")


def wh_to_mwh(text: str | int | Decimal) -> int:
    """Parse an energy in **Wh** (decimal text) into integer **mWh**, exactly."""
    return _scaled(text, 3, "Wh value", "mWh")


def kwh_to_wh(text: str | int | Decimal) -> int:
    """Parse an energy in **kWh** (decimal text, up to 3 places) into integer **Wh**, exactly."""
    return _scaled(text, 3, "kWh value", "Wh")


def parse_rate(text: str | int | Decimal) -> int:
    """Parse a credit rate in **currency per kWh** (up to 6 decimal places) into integer micro-units per kWh.

    >>> parse_rate("0.123456")
    123456
    """
    return _scaled(text, 6, "rate", "millionth of the currency")


def parse_cents(text: str | int | Decimal) -> int:
    """Parse an amount of money in currency units (up to 2 decimal places) into integer **cents**."""
    return _scaled(text, 2, "amount", "cent")


def rate_to_decimal(micros: int) -> Decimal:
    """Integer micro-units per kWh -> exact ``Decimal`` currency per kWh (6 places)."""
    return Decimal(micros).scaleb(-6).quantize(Decimal("0.000001"))


def mwh_to_kwh_decimal(mwh: int) -> Decimal:
    """Integer mWh -> exact ``Decimal`` kWh (6 places)."""
    return Decimal(mwh).scaleb(-6).quantize(Decimal("0.000001"))


def wh_to_kwh_decimal(wh: int) -> Decimal:
    """Integer Wh -> exact ``Decimal`` kWh (3 places)."""
    return Decimal(wh).scaleb(-3).quantize(Decimal("0.001"))


def cents_to_decimal(cents: int) -> Decimal:
    """Integer cents -> exact ``Decimal`` currency units (2 places)."""
    return Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))


def format_cents(cents: int) -> str:
    """Integer cents -> ``"-12.34"`` style text with two decimals (no currency sign)."""
    return f"{cents_to_decimal(cents):.2f}"


def format_money(cents: int) -> str:
    """Integer cents -> ``"-1,234.50"``: two decimals and thousands separators, for people to read."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{part:02d}"


def round_half_even(numerator: int, denominator: int) -> int:
    """Round ``numerator / denominator`` to the nearest integer, ties to even, exactly (``denominator > 0``)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(numerator, denominator)  # floor division: 0 <= r < denominator
    twice = 2 * r
    if twice > denominator or (twice == denominator and q % 2 == 1):
        q += 1
    return q


def largest_remainder(
    total: int,
    numerators: Mapping[K, int],
    denominator: int,
    tie_order: Mapping[K, object] | None = None,
) -> dict[K, int]:
    """Split integer ``total`` over keys whose exact shares are ``numerators[k] / denominator``.

    Each key gets ``floor(exact)``; the units still needed to reach ``total`` go one each to the largest
    fractional parts, ties to the key whose ``tie_order`` value (default: the key itself) sorts first.
    When ``total`` is the rounded sum of the exact shares (SPEC section 5) the result sums to ``total`` and every
    part is within one unit of its exact share. Otherwise ``ValueError`` (the split would be meaningless).
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    parts: dict[K, int] = {}
    remainders: list[tuple[int, object, K]] = []
    floor_sum = 0
    for key, num in numerators.items():
        q, r = divmod(num, denominator)
        parts[key] = q
        floor_sum += q
        if r:
            order = tie_order[key] if tie_order is not None else key
            remainders.append((-r, order, key))
    leftover = total - floor_sum
    if leftover < 0 or leftover > len(remainders):
        raise ValueError(
            f"total {total} cannot be split over exact shares summing to {sum(numerators.values())}/{denominator}"
        )
    if leftover:
        remainders.sort()
        for _, _, key in remainders[:leftover]:
            parts[key] += 1
    return parts


def sum_ints(values: Iterable[int]) -> int:
    """``sum`` that refuses anything but ``int`` (guards the ledger against a stray float)."""
    total = 0
    for v in values:
        if type(v) is not int:  # noqa: E721 - bool and float are both refused on purpose
            raise TypeError(f"expected an integer amount, got {v!r}")
        total += v
    return total
