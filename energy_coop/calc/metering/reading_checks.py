"""Checks on parsed meter readings that need to know the meters or the whole file (SPEC section 4, "Rules").

Pure and vectorised over *chunks* (the DataFrames of :mod:`energy_coop.importers.metering.common`: columns ``where,
line, meter_code, start, end, mwh, quality``; ``start``/``end`` [UTC epoch s], ``mwh`` [mWh]).

* :func:`check_intervals` – each reading against its meter's kind (one chunk at a time, no state);
* :func:`check_not_future` – no reading may start after the instant of the import;
* :class:`FileConsistency` – readings against the other readings of the same file, fed chunk by chunk:
  one interval length per meter, duplicate intervals, overlapping billing periods.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from energy_coop.errors import RowError
from energy_coop.timetext import epoch_to_text, length_text, mwh_to_kwh_text
from energy_coop.vocabulary import METER_KINDS

#: Interval lengths an asset (production) meter may use [s]: 5, 15, 30 and 60 minutes.
INTERVAL_LENGTHS = (300, 900, 1800, 3600)
_LENGTHS = np.array(INTERVAL_LENGTHS, dtype=np.int64)


def check_intervals(df: pd.DataFrame, meter_kinds: Mapping[str, str]) -> list[RowError]:
    """Check every reading of a chunk against the kind of its meter.

    Parameters
    ----------
    df : a chunk of readings (``start``/``end`` [UTC epoch s]).
    meter_kinds : meter code -> ``"production"`` (an asset's meter) or ``"consumption"`` (a member's).

    Returns
    -------
    One :class:`RowError` per problem, in the chunk's order:

    * a meter code not in ``meter_kinds`` ("no meter with code 'X' is registered");
    * production meters: length (``end - start``) must be 300, 900, 1800 or 3600 s and ``start`` a multiple of
      the length (in UTC epoch seconds: a 15-minute reading starts at :00, :15, :30 or :45 UTC);
    * consumption meters: the same for those four lengths; any other length is a daily or billing-period
      reading and is fine as long as ``end > start``.
    """
    bad_kinds = sorted({k for k in meter_kinds.values() if k not in METER_KINDS})
    if bad_kinds:
        raise ValueError(f"unknown meter kind(s) {bad_kinds}; expected one of {METER_KINDS}")
    n = len(df)
    if n == 0:
        return []
    codes, uniques = pd.factorize(df["meter_code"].to_numpy(dtype=object))
    kind_of = np.array([meter_kinds.get(u, "") for u in uniques], dtype=object)
    kind = kind_of[codes]
    start = df["start"].to_numpy(dtype=np.int64)
    end = df["end"].to_numpy(dtype=np.int64)
    length = end - start
    standard = np.isin(length, _LENGTHS)
    misaligned = standard & (start % np.where(standard, length, 1) != 0)
    unknown = kind == ""
    production = kind == "production"
    consumption = kind == "consumption"
    not_positive = (production | consumption) & (length <= 0)
    wrong_length = production & ~standard & ~not_positive
    bad = unknown | not_positive | wrong_length | misaligned & ~unknown

    where = df["where"].to_numpy(dtype=object)
    meter = df["meter_code"].to_numpy(dtype=object)
    errors: list[RowError] = []
    for r in np.flatnonzero(bad).tolist():
        if unknown[r]:
            errors.append(RowError(where[r], "meter_code", f"no meter with code {meter[r]!r} is registered; "
                                   "register it (assets or members file) or correct the code"))
        elif not_positive[r]:
            errors.append(RowError(where[r], "end", f"the reading ends at {epoch_to_text(end[r])}, not after "
                                   f"its start {epoch_to_text(start[r])}"))
        elif wrong_length[r]:
            errors.append(RowError(where[r], "end", f"the reading is {length_text(length[r])} long; readings of "
                                   f"asset meter {meter[r]!r} must be 5, 15, 30 or 60 minutes long"))
        else:
            errors.append(RowError(where[r], "start", f"a {length_text(length[r])} reading must start on a "
                                   f"multiple of {length_text(length[r])} in UTC; "
                                   f"{epoch_to_text(start[r])} does not"))
    return errors


def check_not_future(df: pd.DataFrame, now: int) -> list[RowError]:
    """Refuse every reading of a chunk whose interval starts after the instant ``now`` [UTC epoch s] of the
    import: a meter can only have read the past.

    Returns one :class:`RowError` per such reading, in the chunk's order, on the field ``start`` (a CSV line) or
    ``timePeriod/start`` (a Green Button reading), e.g. "starts 2027-01-03 10:00 UTC, after now (2026-12-01 13:00
    UTC): meter readings can only be of the past".
    """
    if len(df) == 0:
        return []
    start = df["start"].to_numpy(dtype=np.int64)
    late = np.flatnonzero(start > int(now))
    if not len(late):
        return []
    where = df["where"].to_numpy(dtype=object)
    now_text = epoch_to_text(now)
    return [RowError(where[r], "start" if str(where[r]).startswith("line ") else "timePeriod/start",
                     f"starts {epoch_to_text(start[r])}, after now ({now_text}): meter readings can only be of "
                     "the past")
            for r in late.tolist()]


class FileConsistency:
    """Checks readings against the other readings of the same file, fed chunk by chunk with :meth:`check`.

    * one interval length per meter within a file: 5, 15, 30 and 60 minutes are each their own length; every
      other length counts as "daily or billing period" (these vary: months differ). Mixing them is an error;
    * duplicates: two readings of one meter with the same ``start``: with a different value (or end) an error
      naming both lines; with the same value the later one is dropped and noted (not an error);
    * overlaps: two daily/billing-period readings of one meter that overlap in time are an error.

    The earlier reading of a pair is the one kept (it may already have been returned with an earlier chunk);
    the error is reported on the later one.

    Memory: a few int64 per accepted reading (meter id, start, end, mWh, line), i.e. bounded by the meters x
    intervals of the file; no Python object per reading. Files whose readings come in ascending time per
    meter (by meter, or by time) never need more than an append; otherwise a sorted index is kept.
    """

    _EXAMPLES = 20  # notes kept for dropped duplicates; the rest are counted

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._codes: list[str] = []
        self._first_length = np.zeros(0, dtype=np.int64)  # per meter id: first length class [s], 0 = period
        self._first_line = np.zeros(0, dtype=np.int64)
        self._max_start = np.zeros(0, dtype=np.int64)
        self._hist: list[tuple[np.ndarray, ...]] = []  # chunks of (key, end, mwh, line) of accepted readings
        self._index: tuple[np.ndarray, ...] | None = None  # (key, end, mwh, line) sorted by key
        self._periods = np.zeros((0, 4), dtype=np.int64)  # accepted period readings: (id, start, end, line)
        self._csv = True
        self.duplicates_dropped = 0

    # -- public -------------------------------------------------------------------------------------------
    def check(self, df: pd.DataFrame) -> tuple[pd.DataFrame, list[RowError], list[str]]:
        """Check one chunk against itself and everything fed before.

        Returns (the chunk without its bad and duplicate rows, errors, notes). Rows must be fed in file order.
        """
        n = len(df)
        if n == 0:
            return df, [], []
        where = df["where"].to_numpy(dtype=object)
        if not str(where[0]).startswith("line "):
            self._csv = False
        line = df["line"].to_numpy(dtype=np.int64)
        start = df["start"].to_numpy(dtype=np.int64)
        end = df["end"].to_numpy(dtype=np.int64)
        mwh = df["mwh"].to_numpy(dtype=np.int64)
        meter = df["meter_code"].to_numpy(dtype=object)
        mid = self._meter_ids(meter)
        length = end - start
        cls = np.where(np.isin(length, _LENGTHS), length, 0)
        errors: list[tuple[int, RowError]] = []
        notes: list[str] = []

        # 1. one length (class) per meter
        self._register_lengths(mid, cls, line)
        mixed = cls != self._first_length[mid]
        for r in np.flatnonzero(mixed).tolist():
            m = mid[r]
            errors.append((r, RowError(where[r], "end", (
                f"meter {meter[r]!r} has {self._class_text(self._first_length[m])} readings "
                f"({self._ref(self._first_line[m])}) but this one is {length_text(length[r])} long; "
                "one file must use one interval length per meter"))))
        ok = ~mixed

        # 2. duplicates within the chunk (same meter and start)
        key = mid.astype(np.int64) * (1 << 32) + start
        drop = np.zeros(n, dtype=bool)
        cand = np.flatnonzero(ok)
        order = cand[np.argsort(key[cand], kind="stable")]
        k_sorted = key[order]
        same_as_prev = np.zeros(len(order), dtype=bool)
        same_as_prev[1:] = k_sorted[1:] == k_sorted[:-1]
        if same_as_prev.any():
            group_start = np.maximum.accumulate(np.where(~same_as_prev, np.arange(len(order)), 0))
            for j in np.flatnonzero(same_as_prev).tolist():
                r, f = order[j], order[group_start[j]]
                self._duplicate(r, meter[r], start[r], end[r], mwh[r], where[r],
                                end[f], mwh[f], where[f], drop, ok, errors, notes)

        # 3. duplicates against earlier chunks (only when this chunk is not strictly later per meter)
        live = ok & ~drop
        prev_max = self._max_start[mid]
        if self._hist or self._index is not None:
            behind = live & (start <= prev_max)
            if behind.any():
                idx_key, idx_end, idx_mwh, idx_line = self._sorted_index()
                rows = np.flatnonzero(behind)
                pos = np.searchsorted(idx_key, key[rows])
                hit = pos < len(idx_key)
                hit[hit] = idx_key[pos[hit]] == key[rows[hit]]
                for r, p in zip(rows[hit].tolist(), pos[hit].tolist()):
                    self._duplicate(r, meter[r], start[r], end[r], mwh[r], where[r], idx_end[p], idx_mwh[p],
                                    self._ref(idx_line[p]), drop, ok, errors, notes)

        # 4. overlapping daily / billing-period readings
        live = ok & ~drop
        period_rows = np.flatnonzero(live & (cls == 0))
        if len(period_rows):
            self._check_periods(period_rows, mid, start, end, line, meter, where, ok, errors)

        # 5. remember what was accepted
        keep = ok & ~drop
        self._remember(mid[keep], key[keep], start[keep], end[keep], mwh[keep], line[keep])
        errors.sort(key=lambda e: e[0])
        kept = df if keep.all() else df.loc[keep].reset_index(drop=True)
        return kept, [e for _, e in errors], notes

    def finish(self) -> list[str]:
        """Notes summarising the whole file (call once after the last chunk)."""
        if self.duplicates_dropped > self._EXAMPLES:
            return [f"{self.duplicates_dropped} readings repeated an earlier line of the file with the same value "
                    "and were ignored"]
        return []

    # -- helpers ------------------------------------------------------------------------------------------
    def _meter_ids(self, meter: np.ndarray) -> np.ndarray:
        codes, uniques = pd.factorize(meter)
        table = np.empty(len(uniques), dtype=np.int64)
        for j, code in enumerate(uniques):
            got = self._ids.get(code)
            if got is None:
                got = self._ids[code] = len(self._codes)
                self._codes.append(code)
            table[j] = got
        grow = len(self._codes) - len(self._first_length)
        if grow > 0:
            self._first_length = np.concatenate([self._first_length, np.full(grow, -1, dtype=np.int64)])
            self._first_line = np.concatenate([self._first_line, np.zeros(grow, dtype=np.int64)])
            self._max_start = np.concatenate([self._max_start, np.full(grow, -(1 << 62), dtype=np.int64)])
        return table[codes]

    def _register_lengths(self, mid: np.ndarray, cls: np.ndarray, line: np.ndarray) -> None:
        ids, first = np.unique(mid, return_index=True)
        new = self._first_length[ids] < 0
        self._first_length[ids[new]] = cls[first[new]]
        self._first_line[ids[new]] = line[first[new]]

    def _ref(self, line: int) -> str:
        return f"line {int(line)}" if self._csv else f"reading {int(line)}"

    @staticmethod
    def _class_text(length: int) -> str:
        return length_text(length) if length else "daily or billing-period"

    def _duplicate(self, r, meter, start, end, mwh, where, other_end, other_mwh, other_where, drop, ok, errors,
                   notes) -> None:
        if end == other_end and mwh == other_mwh:
            drop[r] = True
            self.duplicates_dropped += 1
            if self.duplicates_dropped <= self._EXAMPLES:
                notes.append(f"{where} repeats {other_where} (meter {meter!r}, {epoch_to_text(start)}, same value "
                             f"{mwh_to_kwh_text(mwh)} kWh); ignored")
            return
        ok[r] = False
        if end != other_end:
            reason = (f"meter {meter!r} already has a reading starting {epoch_to_text(start)} on {other_where}, "
                      f"ending {epoch_to_text(other_end)}; this one ends {epoch_to_text(end)}")
            errors.append((r, RowError(where, "end", reason)))
        else:
            reason = (f"meter {meter!r} already has a reading for the interval starting {epoch_to_text(start)} "
                      f"on {other_where} with {mwh_to_kwh_text(other_mwh)} kWh; this one says "
                      f"{mwh_to_kwh_text(mwh)} kWh. Keep one of them")
            errors.append((r, RowError(where, "kwh", reason)))

    def _sorted_index(self) -> tuple[np.ndarray, ...]:
        if self._hist:
            parts = self._hist
            if self._index is not None:
                parts = [self._index, *parts]
            merged = tuple(np.concatenate([p[i] for p in parts]) for i in range(4))
            order = np.argsort(merged[0], kind="stable")
            self._index = tuple(a[order] for a in merged)
            self._hist = []
        assert self._index is not None
        return self._index

    def _remember(self, mid, key, start, end, mwh, line) -> None:
        if len(mid) == 0:
            return
        np.maximum.at(self._max_start, mid, start)
        self._hist.append((key, end, mwh, line))

    def _check_periods(self, rows, mid, start, end, line, meter, where, ok, errors) -> None:
        """Overlap check of this chunk's daily/billing-period readings (``rows``) against all accepted ones."""
        new = np.column_stack([mid[rows], start[rows], end[rows], line[rows]]).astype(np.int64)
        both = np.concatenate([self._periods, new])
        is_new = np.concatenate([np.zeros(len(self._periods), dtype=bool), np.ones(len(new), dtype=bool)])
        row_of = np.concatenate([np.full(len(self._periods), -1, dtype=np.int64), rows])
        order = np.lexsort((both[:, 3], both[:, 1], both[:, 0]))  # by meter, start, line
        s = both[order]
        # running maximum of the end within each meter (meter id in the high bits keeps groups apart)
        packed = (s[:, 0] << 32) | s[:, 2]
        reach = np.maximum.accumulate(packed)
        clash = np.zeros(len(s), dtype=bool)
        clash[1:] = (s[1:, 0] == s[:-1, 0]) & (s[1:, 1] < (reach[:-1] & 0xFFFFFFFF)) & (s[1:, 1] != s[:-1, 1])
        for j in np.flatnonzero(clash).tolist():
            i = int(np.flatnonzero(packed[:j] == reach[j - 1])[-1])  # the earlier-starting reading reached
            a, b = order[i], order[j]
            if is_new[b] and (not is_new[a] or both[a, 3] < both[b, 3]):
                later, earlier = b, a
            elif is_new[a]:
                later, earlier = a, b
            else:
                continue
            r = int(row_of[later])
            if not ok[r]:
                continue
            ok[r] = False
            e = both[earlier]
            errors.append((r, RowError(where[r], "start", (
                f"meter {meter[r]!r}: the period {epoch_to_text(start[r])} to {epoch_to_text(end[r])} overlaps "
                f"the period {epoch_to_text(e[1])} to {epoch_to_text(e[2])} on {self._ref(e[3])}; "
                "billing periods of one meter must not overlap"))))
        accepted = np.where(is_new, ok[np.maximum(row_of, 0)], True)
        self._periods = both[accepted]
