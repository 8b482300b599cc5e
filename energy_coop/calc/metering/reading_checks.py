"""Checks on parsed meter readings that need to know the meters or the whole file (SPEC section 4, "Rules").

Pure and vectorised over *chunks* (the DataFrames of :mod:`energy_coop.importers.metering.common`: columns ``where,
line, meter_code, start, end, mwh, quality``; ``start``/``end`` [UTC epoch s], ``mwh`` [mWh]).

* :func:`check_intervals` – each reading against its meter's kind (one chunk at a time, no state);
* :func:`check_not_future` – no reading may start after the instant of the import;
* :class:`FileConsistency` – readings against the other readings of the same file, fed chunk by chunk:
  one interval length per meter, duplicate intervals, overlapping billing periods;
* :func:`check_physical` – what a meter could not have recorded (beyond 1.5 x its asset's rating, a consumption
  meter's negative), refused;
* :class:`SignFlags` – a solar meter's negative beyond its standby draw, stored but flagged (SPEC 20).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


# -- what a meter could have recorded, and which sign it should read -----------------------------------------

#: An asset meter's reading may be at most this many times what its rated power delivers over the interval
#: (``BOUND_NUM / BOUND_DEN`` = 1.5 x AC capacity x length); beyond it the reading is refused as impossible.
BOUND_NUM, BOUND_DEN = 3, 2
#: Standby draw of an inverter at night, the negative a solar meter may read without being flagged:
#: ``max(STANDBY_MIN_W, STANDBY_BP / 10,000 x AC capacity)`` x the interval, i.e. 0.5 % of the AC capacity
#: and at least 5 W (a 10 kW array: 50 W, 12.5 Wh per 15 minutes; a 400 kW array: 2 kW, 500 Wh).
STANDBY_MIN_W = 5
STANDBY_BP = 50
#: Flagged readings listed by where they are in the file; the rest are counted.
FLAG_EXAMPLES = 5
#: The integer comparisons below run in int64: a rating is taken as at most 1 GW and a length as at most
#: 10^6 s (11.6 days) for them, so no product overflows (3 x 1,000 x 10^9 x 10^6 < 2^63). An asset meter's
#: reading longer than an hour is refused by :func:`check_intervals` anyway, and no co-op asset is near 1 GW.
_MAX_RATING_W = 10**9
_MAX_LENGTH_S = 10**6


@dataclass(frozen=True)
class MeterLimit:
    """What the checks need to know of one meter beyond its kind.

    ``asset_kind``: ``"solar"`` or ``"storage"`` for an asset's meter, ``None`` for a member's consumption
    meter (or a production meter no asset uses); ``capacity_w``: the asset's AC capacity (solar) or power
    rating (storage) [W], ``None`` when the register does not say; ``timezone``: the meter's zone (months of
    flags are its local months).
    """

    asset_kind: str | None
    capacity_w: int | None
    timezone: str = "UTC"


def standby_w(capacity_w: int | None) -> int:
    """The standby draw [W] a solar meter may read negative without a flag (see :data:`STANDBY_BP`)."""
    share = -(-int(capacity_w) * STANDBY_BP // 10_000) if capacity_w else 0  # rounded up
    return max(STANDBY_MIN_W, share)


def _value_field(where: str) -> str:
    return "kwh" if str(where).startswith("line ") else "value"


def _power_text(watts: int) -> str:
    return f"{mwh_to_kwh_text(int(watts) * 1000)} kW"


def check_physical(df: pd.DataFrame, meter_kinds: Mapping[str, str], limits: Mapping[str, MeterLimit]
                   ) -> list[RowError]:
    """Refuse readings no meter of that kind could have recorded, one :class:`RowError` each, in the chunk's
    order (field ``kwh`` for a CSV line, ``value`` for a Green Button reading):

    * an asset meter's reading whose size is more than 1.5 x the asset's rated power (AC capacity, or a
      battery's power) over the interval: ``|mwh| x 3,600 x 2 > 3 x capacity [W] x 1,000 x length [s]``,
      in integers;
    * a consumption meter's negative reading: SPEC 4's sign rule says a member's meter reads the energy the
      premises used, 0 or more; a net export belongs on an asset's meter, so the row is refused with the reason.

    The absolute bound of any reading (10^12 mWh) and of its duration are the parsers' (``MAX_READING_MWH``,
    ``MAX_INTERVAL_SECONDS``). Meters not in ``meter_kinds`` are left to :func:`check_intervals`.
    """
    if len(df) == 0:
        return []
    codes, uniques = pd.factorize(df["meter_code"].to_numpy(dtype=object))
    cap = np.array([min(limits[u].capacity_w or 0, _MAX_RATING_W) if u in limits and limits[u].asset_kind else 0
                    for u in uniques], dtype=np.int64)[codes]
    consumption = np.array([meter_kinds.get(u) == "consumption" for u in uniques], dtype=bool)[codes]
    mwh = df["mwh"].to_numpy(dtype=np.int64)
    length = np.clip(df["end"].to_numpy(dtype=np.int64) - df["start"].to_numpy(dtype=np.int64), 0, _MAX_LENGTH_S)
    # exact int64: |mwh| <= 10^12 (the parsers' bound) and the clips above keep every product below 2^63
    over = (cap > 0) & (np.abs(mwh) * (3600 * BOUND_DEN) > cap * (BOUND_NUM * 1000) * length)
    negative = consumption & (mwh < 0)
    where = df["where"].to_numpy(dtype=object)
    meter = df["meter_code"].to_numpy(dtype=object)
    errors: list[RowError] = []
    for r in np.flatnonzero(over | negative).tolist():
        kwh = mwh_to_kwh_text(int(mwh[r]))
        if over[r]:
            most = int(cap[r]) * BOUND_NUM * 1000 * int(length[r]) // (3600 * BOUND_DEN)
            errors.append(RowError(where[r], _value_field(where[r]), (
                f"{kwh} kWh in {length_text(length[r])} is more than meter {meter[r]!r} could record: its asset "
                f"is rated {_power_text(cap[r])}, so at most {mwh_to_kwh_text(most)} kWh (1.5 x its rating) in "
                "that time; check the unit (Wh or kWh) or the multiplier")))
        else:
            errors.append(RowError(where[r], _value_field(where[r]), (
                f"{kwh} kWh is negative, but {meter[r]!r} is a consumption meter, whose readings are the energy "
                "the premises used (0 or more); a file's net export (received minus delivered) belongs on an "
                "asset's meter")))
    return errors


class SignFlags:
    """Readings whose sign contradicts their meter's kind but which are stored (SPEC 20), fed chunk by chunk.

    A solar asset's meter reading negative by more than its standby draw (:func:`standby_w` x the interval) is
    flagged, counted per meter and local month, the first :data:`FLAG_EXAMPLES` named by where they are;
    storage reads either sign and is never flagged; a consumption meter's negative reading is refused by
    :func:`check_physical`, not flagged here.
    """

    def __init__(self, limits: Mapping[str, MeterLimit]):
        self.limits = limits
        self._count: dict[str, int] = {}
        self._months: dict[str, dict[str, int]] = {}
        self._first: dict[str, list[str]] = {}

    def feed(self, df: pd.DataFrame) -> None:
        if len(df) == 0:
            return
        mask = wrong_sign(df, self.limits)
        if not mask.any():
            return
        flagged = df.loc[mask]
        for code, group in flagged.groupby("meter_code", sort=False):
            self._count[code] = self._count.get(code, 0) + len(group)
            first = self._first.setdefault(code, [])
            first.extend(group["where"].tolist()[:FLAG_EXAMPLES - len(first)])
            zone = self.limits[code].timezone
            months = (pd.to_datetime(group["start"].to_numpy(dtype=np.int64), unit="s", utc=True)
                      .tz_convert(zone).strftime("%Y-%m"))
            per = self._months.setdefault(code, {})
            for month, n in pd.Series(months).value_counts(sort=False).items():
                per[month] = per.get(month, 0) + int(n)

    def flags(self) -> list[dict]:
        """One dict per flagged meter, in code order: ``meter_code``, ``check`` ("wrong_sign"), ``count``,
        ``months`` (local 'YYYY-MM' -> count), ``first`` (where the first flagged readings are), ``standby_w``
        and ``message``."""
        out = []
        for code in sorted(self._count):
            n = self._count[code]
            months = dict(sorted(self._months[code].items()))
            allowed = standby_w(self.limits[code].capacity_w)
            out.append({"meter_code": code, "check": "wrong_sign", "count": n, "months": months,
                        "first": self._first[code], "standby_w": allowed,
                        "message": wrong_sign_message(code, n, ", ".join(months), allowed)})
        return out


def wrong_sign_message(code: str, count: int, months: str, allowed_w: int | None) -> str:
    """"meter 'PV-1' has 312 readings with the wrong sign in 2026-05: ..." for reports and to-do lines;
    ``allowed_w`` is a solar meter's standby draw [W], ``None`` for a consumption meter."""
    head = f"meter {code!r} has {count:,} reading{'s' if count != 1 else ''} with the wrong sign in {months}"
    if allowed_w is None:
        return (f"{head}: a consumption meter reads the energy its premises used (0 or more), yet these are "
                "negative; re-import them as used energy, or put a net export on an asset's meter")
    return (f"{head}: a solar meter reads its production (0 or more), yet these are negative by more than its "
            f"standby draw of {allowed_w:,} W; check the file's direction (received and delivered may be swapped)")


def wrong_sign(df: pd.DataFrame, limits: Mapping[str, MeterLimit]) -> np.ndarray:
    """Which readings of a chunk are a solar meter's negative beyond its standby draw (see :class:`SignFlags`):
    ``mwh x 3,600 < -standby [W] x 1,000 x length [s]``."""
    codes, uniques = pd.factorize(df["meter_code"].to_numpy(dtype=object))
    standby = np.array([standby_w(min(limits[u].capacity_w or 0, _MAX_RATING_W) or None)
                        if u in limits and limits[u].asset_kind == "solar" else -1 for u in uniques],
                       dtype=np.int64)[codes]
    mwh = df["mwh"].to_numpy(dtype=np.int64)
    length = np.clip(df["end"].to_numpy(dtype=np.int64) - df["start"].to_numpy(dtype=np.int64), 0, _MAX_LENGTH_S)
    return (standby >= 0) & (mwh * 3600 < -standby * 1000 * length)  # exact int64 (see _MAX_RATING_W)
