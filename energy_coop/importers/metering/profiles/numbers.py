"""Exact energy numbers of utility exports: decimal text in a unit -> integer mWh, and cumulative registers.

Nothing here goes through a float: a value is read as text, checked against a plain decimal pattern (no
exponent: no utility writes one, and it keeps ``1e999999`` out), converted with :class:`decimal.Decimal` and
scaled to mWh, which must come out whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from energy_coop.importers.metering.common import MAX_READING_MWH, quoted

#: Units a profile or a header may name -> decimal places to shift a value by to reach mWh.
UNIT_PLACES: dict[str, int] = {"wh": 3, "kwh": 6, "mwh": 9}
UNIT_NAMES: dict[str, str] = {"wh": "Wh", "kwh": "kWh", "mwh": "MWh"}
#: Longest number text read at all [characters]; a longer cell is refused before Decimal sees it.
MAX_NUMBER_TEXT = 40

_SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def unit_places(unit: str) -> int:
    """Decimal places from ``unit`` (``Wh``, ``kWh``, ``MWh``, any case) to mWh; KeyError if not a unit."""
    return UNIT_PLACES[unit.strip().lower()]


def energy_mwh(text: str, unit: str, decimal_mark: str = ".") -> tuple[int, str | None]:
    """One energy text in ``unit`` -> (mWh, None), or (0, the reason it is refused).

    Spaces (also non-breaking ones) inside the number are ignored; ``decimal_mark`` is ``.`` or ``,`` (then a
    dot is not allowed). At most the precision of 1 mWh; |value| at most 10^15 mWh.
    """
    places = unit_places(unit)
    name = UNIT_NAMES[unit.strip().lower()]
    raw = text if isinstance(text, str) else ""
    compact = _SPACES.sub("", raw)
    if not compact:
        return 0, f"is empty; give the energy in {name} (0 if there was none)"
    if len(compact) > MAX_NUMBER_TEXT:
        return 0, f"{quoted(compact)} is far too long to be an energy value"
    if decimal_mark == ",":
        if "." in compact:
            return 0, (f"{quoted(compact)} is not a number in this layout: it writes decimals after a comma "
                       "(e.g. 1,25)")
        compact = compact.replace(",", ".")
    if not _PLAIN.fullmatch(compact):
        return 0, f"{quoted(raw.strip())} is not a number; give the energy in {name}, e.g. 1{decimal_mark}25"
    scaled = Decimal(compact).scaleb(places)
    if scaled != scaled.to_integral_value():
        return 0, f"{quoted(compact)} {name} is finer than 1 mWh"
    value = int(scaled)
    if abs(value) > MAX_READING_MWH:
        return 0, f"{quoted(compact)} {name} is too large for one reading"
    return value, None


ResetRule = Literal["refuse", "restart", "rollover"]


@dataclass(frozen=True)
class RegisterRule:
    """What a cumulative register going down means.

    * ``refuse``: it is an error;
    * ``restart``: the register was reset to zero and counted again, so the interval's energy is the new value;
      accepted only when the new value is at most ``restart_below`` [mWh] (a register that merely went down a
      little is refused, not taken for a reset);
    * ``rollover``: the register counts modulo ``modulus`` [mWh] (e.g. a 5-digit kWh display wraps at
      100000 kWh); the interval's energy is ``new + modulus - previous``; accepted only when the previous value
      was in the upper half of the range and the new one is in the lower half.
    """

    reset: ResetRule = "refuse"
    restart_below: int = 0
    modulus: int = 0


def register_step(previous: int, current: int, rule: RegisterRule) -> tuple[int, str | None]:
    """Energy [mWh] between two readings of a cumulative register [mWh], or (0, why it is refused)."""
    if rule.reset == "rollover" and not (0 <= current < rule.modulus):
        return 0, "is outside the register's range (0 up to its rollover value)"
    if current >= previous:
        return current - previous, None
    if rule.reset == "restart" and 0 <= current <= rule.restart_below:
        return current, None
    if rule.reset == "rollover" and 2 * previous >= rule.modulus > 2 * current:
        return current + rule.modulus - previous, None
    rules = {
        "refuse": "this layout allows no resets",
        "restart": "a reset starts again from zero, and this value is too high for that",
        "rollover": "a rollover goes from the top of the register's range to the bottom",
    }
    return 0, f"the register went down from the line before; {rules[rule.reset]}"


def register_deltas(values: list[int], rule: RegisterRule) -> list[tuple[int, str | None]]:
    """Energy between consecutive register values [mWh]: one (energy, reason) per value after the first.

    A refused step still moves the baseline to its value, so one bad row does not condemn the rest.
    """
    return [register_step(values[i - 1], values[i], rule) for i in range(1, len(values))]
