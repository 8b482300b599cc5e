"""Instants, durations and energies as words for messages (no parsing, no I/O).

Bottom layer: used by the importers (what a file says) and by :mod:`energy_coop.calc` (what a reading breaks),
which must not import each other.
"""

from __future__ import annotations

import pandas as pd


def epoch_to_text(seconds: int) -> str:
    """UTC epoch seconds -> ``"2024-03-01 05:00 UTC"`` for messages."""
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def length_text(seconds: int) -> str:
    """A duration [s] in words: ``"15 minutes"``, ``"1 day"``, ``"90 seconds"``."""
    s = int(seconds)
    if s % 86400 == 0:
        n, unit = s // 86400, "day"
    elif s % 3600 == 0:
        n, unit = s // 3600, "hour"
    elif s % 60 == 0:
        n, unit = s // 60, "minute"
    else:
        n, unit = s, "second"
    return f"{n} {unit}" + ("" if n == 1 else "s")


def mwh_to_kwh_text(mwh: int) -> str:
    """Integer mWh -> kWh text for messages, without trailing zeros (``1500`` -> ``"0.0015"``)."""
    sign = "-" if mwh < 0 else ""
    q, r = divmod(abs(int(mwh)), 1_000_000)
    return f"{sign}{q}" + (f".{r:06d}".rstrip("0") if r else "")
