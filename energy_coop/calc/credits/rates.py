"""Credit rates as a step function of time (SPEC section 3, ``rates.csv``).

A rate row is ``(valid_from, rate_micros, asset_code)``:

* ``valid_from`` [s]: UTC epoch seconds (the loader turns the ISO text with its offset into this);
* ``rate_micros`` [micro-currency/kWh]: integer, e.g. 0.123456 per kWh = ``123456`` (see ``energy_coop.units``);
* ``asset_code``: the asset the row is for, or ``None``/``""`` for a blank row that applies to every asset.

A row holds from its ``valid_from`` until the next row *of the same scope*. For an asset A at instant t:
the latest A-specific row with ``valid_from <= t`` if there is one, otherwise the latest blank row with
``valid_from <= t``; neither is an error (:class:`NoRateError`). So once an asset-specific rate has begun,
later blank rows no longer reach that asset; a time-of-use tariff is simply many rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np

__all__ = ["NoRateError", "RateRow", "RateSchedule", "iso_utc", "rates_for_asset"]


class NoRateError(ValueError):
    """No credit rate applies to an asset at some instant; ``str()`` names the asset and the first such time."""

    def __init__(self, asset_code: str, first_time_utc: int):
        self.asset_code = asset_code
        self.first_time_utc = int(first_time_utc)
        super().__init__(
            f"asset {asset_code} has no credit rate at {iso_utc(self.first_time_utc)}: "
            f"add a rates.csv row for {asset_code} (or for every asset) valid from that time or earlier"
        )


class RateRow(NamedTuple):
    """One row of ``rates.csv``: from ``valid_from`` [UTC epoch s] the rate is ``rate_micros``
    [micro-currency/kWh] for ``asset_code`` (``None`` = every asset)."""

    valid_from: int
    rate_micros: int
    asset_code: str | None


def iso_utc(epoch_seconds: int) -> str:
    """UTC epoch seconds [s] -> ISO 8601 text with ``+00:00``, e.g. ``2024-03-01T00:00:00+00:00``."""
    return datetime.fromtimestamp(int(epoch_seconds), tz=UTC).isoformat()


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _normalise(row: Iterable[object]) -> RateRow:
    valid_from, rate_micros, asset_code = row
    if not _is_int(valid_from):
        raise TypeError(f"rate valid_from must be integer UTC epoch seconds, got {valid_from!r}")
    if not _is_int(rate_micros):
        raise TypeError(f"rate must be integer micro-units per kWh, got {rate_micros!r}")
    if asset_code is not None and not isinstance(asset_code, str):
        raise TypeError(f"rate asset_code must be text or None, got {asset_code!r}")
    return RateRow(int(valid_from), int(rate_micros), asset_code or None)


class RateSchedule:
    """The effective rate step function of one asset, already merged (asset-specific rows over blank ones).

    ``segments`` is a tuple of ``(from_utc [s], RateRow)``: from ``from_utc`` until the next segment's start, the
    asset's rate is that row's ``rate_micros`` [micro-currency/kWh]. Before the first segment there is no rate.
    """

    def __init__(self, asset_code: str, segments: Iterable[tuple[int, RateRow]]):
        self.asset_code = asset_code
        self.segments: tuple[tuple[int, RateRow], ...] = tuple(segments)
        self._starts = np.array([s for s, _ in self.segments], dtype=np.int64)
        self._rates = np.array([row.rate_micros for _, row in self.segments], dtype=np.int64)

    def __repr__(self) -> str:
        return f"RateSchedule({self.asset_code!r}, {len(self.segments)} segments)"

    def _indices(self, starts: np.ndarray) -> np.ndarray:
        starts = np.asarray(starts)
        if starts.dtype.kind not in "iu":
            raise TypeError(f"interval starts must be integer UTC epoch seconds, got dtype {starts.dtype}")
        starts = starts.astype(np.int64, copy=False)
        idx = np.searchsorted(self._starts, starts, side="right") - 1
        missing = idx < 0
        if missing.any():
            raise NoRateError(self.asset_code, int(starts[missing].min()))
        return idx

    def lookup(self, starts: np.ndarray) -> np.ndarray:
        """Rate [micro-currency/kWh] in effect at each of ``starts`` [UTC epoch s] (int64 array in, int64 out).

        Raises :class:`NoRateError` naming the asset and the earliest start that has no rate.
        """
        idx = self._indices(starts)
        return self._rates[idx]

    def used_rows(self, starts: np.ndarray) -> list[RateRow]:
        """The rate rows that at least one of ``starts`` [UTC epoch s] was valued with, by ``valid_from``
        (for the audit export: "the rates used")."""
        idx = np.unique(self._indices(starts))
        return sorted({self.segments[i][1] for i in idx.tolist()}, key=_row_order)

    def rows_in_effect(self, start_utc: int, end_utc: int) -> list[RateRow]:
        """The rate rows that apply to this asset at some instant of ``[start_utc, end_utc)`` [UTC epoch s],
        by ``valid_from``. Does not raise for a window partly without a rate (``lookup`` does)."""
        rows = []
        for i, (seg_start, row) in enumerate(self.segments):
            seg_end = self.segments[i + 1][0] if i + 1 < len(self.segments) else None
            if seg_start < end_utc and (seg_end is None or seg_end > start_utc):
                rows.append(row)
        return sorted(set(rows), key=_row_order)


def _row_order(row: RateRow) -> tuple[int, int, str]:
    return (row.valid_from, 0 if row.asset_code is None else 1, row.asset_code or "")


def _by_time(rows: list[RateRow], scope: str) -> list[RateRow]:
    """Sort one scope's rows by ``valid_from``; two different rates from the same instant are an error."""
    chosen: dict[int, RateRow] = {}
    for row in rows:
        seen = chosen.get(row.valid_from)
        if seen is not None and seen.rate_micros != row.rate_micros:
            raise ValueError(
                f"two different {scope} rates start at {iso_utc(row.valid_from)}: "
                f"{seen.rate_micros} and {row.rate_micros} micro-units per kWh; keep one"
            )
        chosen[row.valid_from] = row
    return [chosen[t] for t in sorted(chosen)]


def rates_for_asset(rows: Iterable[Iterable[object]], asset_code: str) -> RateSchedule:
    """Build ``asset_code``'s rate step function from all rate rows (any order; other assets' rows ignored).

    ``rows``: ``(valid_from [UTC epoch s], rate_micros [micro-currency/kWh], asset_code | None)`` tuples or
    :class:`RateRow`. Rule (SPEC 3): at instant t the latest row for this asset with ``valid_from <= t`` wins;
    if there is none, the latest blank row with ``valid_from <= t``.
    """
    specific: list[RateRow] = []
    blank: list[RateRow] = []
    for raw in rows:
        row = _normalise(raw)
        if row.asset_code is None:
            blank.append(row)
        elif row.asset_code == asset_code:
            specific.append(row)
    specific = _by_time(specific, f"{asset_code}-specific")
    blank = _by_time(blank, "every-asset (blank asset_code)")

    first_specific = specific[0].valid_from if specific else None
    segments: list[tuple[int, RateRow]] = []
    # Blank rows only matter before the first asset-specific row starts; the blank row in effect at that
    # moment (if any) is cut off there.
    for row in blank:
        if first_specific is not None and row.valid_from >= first_specific:
            break
        segments.append((row.valid_from, row))
    segments.extend((row.valid_from, row) for row in specific)
    return RateSchedule(asset_code, segments)
