"""What each field of the long meter-reading CSV may hold (SPEC section 4), checked a whole column at a time.

The parsers of :mod:`energy_coop.importers.metering.csv_readings` (which reads the file in chunks and words the
errors of each row): meter codes, interval minutes and qualities are judged once per distinct value
(:func:`by_value`), timestamps once per distinct text with the zone rules of that module's docstring
(:func:`timestamps`), and ``kwh`` as exact decimals to integer mWh with a byte-level fast path (:func:`kwh`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from energy_coop.importers.metering.common import (
    EARLIEST_EPOCH,
    LATEST_EPOCH,
    MAX_METER_CODE,
    MAX_READING_MWH,
    quoted,
)
from energy_coop.units import MWH_PER_KWH

#: Largest accepted |kwh| of one reading [kWh]; beyond it a reading is a typo (and sums could overflow int64).
MAX_KWH = MAX_READING_MWH // 1_000_000

_BAD_TEXT = "\ufffd"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_AWARE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})", re.ASCII)
_NAIVE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?", re.ASCII)
_FRACTION = re.compile(r":\d{2}\.(\d+)")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_MINUTES = re.compile(r"\d{1,7}", re.ASCII)
_MAX_PLAIN = 17  # [characters] sign + 9 integer digits + dot + 6 decimals
_MAX_TEXT = 100  # [characters] longest kWh text read at all (zeros may pad it; 10 MB of digits may not)
_MAX_KWH_DIGITS = len(str(MAX_KWH)) - 1  # Decimal.adjusted() of any magnitude above MAX_KWH's digits exceeds this
_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)


def raw_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def ok(reasons: list[str | None], codes: np.ndarray) -> np.ndarray:
    good_values = np.fromiter((r is None for r in reasons), dtype=bool, count=len(reasons))
    return good_values[codes] if len(codes) else np.zeros(0, dtype=bool)


def by_value(arr: np.ndarray, reason_of, value_of, filler, dtype
              ) -> tuple[np.ndarray, list[str | None], np.ndarray, np.ndarray]:
    """Validate each distinct value once.

    Returns (value per row, reason per distinct value, codes per row, value per distinct value).
    """
    codes, uniques = pd.factorize(arr)  # no NaN: read with na_filter=False
    reasons = [reason_of(u) for u in uniques]
    table = np.array([value_of(u) if r is None else filler for u, r in zip(uniques, reasons)], dtype=dtype)
    return (table[codes] if len(codes) else np.empty(0, dtype=dtype)), reasons, codes, table


def not_utf8(value: str) -> str | None:
    if _BAD_TEXT in value:
        return "contains bytes that are not UTF-8 text; save the file as UTF-8 (in Excel: 'CSV UTF-8')"
    return None


def meter_reason(value: str) -> str | None:
    text = value.strip()
    if not text:
        return "is empty; every reading needs the code of its meter"
    if _BAD_TEXT in text:
        return not_utf8(text)
    if _CONTROL.search(text):
        return f"{quoted(text)} contains a line break or control character"
    if len(text) > MAX_METER_CODE:
        return f"{quoted(text)} is longer than {MAX_METER_CODE} characters; no meter code is"
    return None


def minutes_reason(value: str) -> str | None:
    text = value.strip()
    if not text:
        return "is empty; give the interval length in whole minutes"
    if _BAD_TEXT in text:
        return not_utf8(text)
    if not _MINUTES.fullmatch(text) or int(text) == 0:
        return f"{quoted(text)} is not a whole number of minutes greater than 0"
    return None


def minutes_value(value: str) -> int:
    return int(value.strip())


def quality_reason(value: str) -> str | None:
    text = value.strip()
    if _BAD_TEXT in text:
        return not_utf8(text)
    if text.lower() not in ("", "actual", "estimated"):
        return f"{quoted(text)} is not a quality; use actual or estimated (or leave it empty for actual)"
    return None


def quality_value(value: str) -> str:
    return value.strip().lower() or "actual"


def timestamps(arr: np.ndarray, zone: ZoneInfo | None, tz_name: str | None
                ) -> tuple[np.ndarray, list[str | None], np.ndarray]:
    """Parse ISO 8601 texts into [UTC epoch s], once per distinct text. Returns (epochs, reasons, codes)."""
    codes, uniques = pd.factorize(arr)  # no NaN: read with na_filter=False
    texts = [u.strip() for u in uniques]
    reasons: list[str | None] = [None] * len(texts)
    epochs = np.zeros(len(texts), dtype=np.int64)
    aware = np.fromiter((_AWARE.fullmatch(t) is not None for t in texts), dtype=bool, count=len(texts))
    naive = ~aware & np.fromiter((_NAIVE.fullmatch(t) is not None for t in texts), dtype=bool,
                                 count=len(texts))
    if aware.any():
        idx = np.flatnonzero(aware)
        parsed = pd.to_datetime([texts[i] for i in idx.tolist()], format="ISO8601", utc=True, errors="coerce")
        store(epochs, reasons, idx, parsed, texts)
    if naive.any():
        idx = np.flatnonzero(naive)
        if zone is None:
            for i in idx.tolist():
                reasons[i] = (f"{quoted(texts[i])} has no UTC offset; add one (e.g. +01:00 or Z) or name the "
                              "file's time zone when importing it")
        else:
            local = pd.DatetimeIndex(pd.to_datetime([texts[i] for i in idx.tolist()], format="ISO8601",
                                                    errors="coerce"))
            valid = ~local.isna()
            placed = local.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            store(epochs, reasons, idx, placed, texts)
            dst = valid & placed.isna()
            for j in np.flatnonzero(dst).tolist():
                i = int(idx[j])
                reasons[i] = dst_reason(texts[i], local[j].to_pydatetime(), zone, tz_name)
    for i in np.flatnonzero(~aware & ~naive).tolist():
        text = texts[i]
        if not text:
            reasons[i] = "is empty; every reading needs its start and end"
        elif _BAD_TEXT in text:
            reasons[i] = not_utf8(text)
        else:
            reasons[i] = (f"{quoted(text)} is not a date and time in ISO 8601 form with a UTC offset "
                          "(e.g. 2024-03-01T00:15:00+01:00)")
    return (epochs[codes] if len(codes) else epochs[:0]), reasons, codes


def store(epochs: np.ndarray, reasons: list[str | None], idx: np.ndarray, parsed, texts: list[str]) -> None:
    """Put parsed timestamps ``parsed`` (for ``texts[idx]``) into ``epochs`` [UTC epoch s], or a reason."""
    stamps = pd.DatetimeIndex(parsed)
    nat = stamps.isna()
    seconds = stamps.as_unit("us").asi8 // 1_000_000
    ok = ~nat & (seconds >= EARLIEST_EPOCH) & (seconds < LATEST_EPOCH)
    epochs[idx[ok]] = seconds[ok]
    for j in np.flatnonzero(~ok).tolist():
        i = int(idx[j])
        if nat[j]:
            reasons[i] = f"{quoted(texts[i])} is not a valid date and time (check the day, month and hour)"
        else:
            reasons[i] = f"{quoted(texts[i])} is outside the years 1970 to 2099"
    for i in idx[ok].tolist():
        text = texts[i]
        if "." in text:
            frac = _FRACTION.search(text)
            if frac and int(frac.group(1)) != 0:
                reasons[i] = f"{quoted(text)} has a fraction of a second; readings start and end on whole seconds"


def dst_reason(text: str, local: datetime, zone: ZoneInfo, tz_name: str | None) -> str:
    first = local.replace(tzinfo=zone, fold=0)
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != local:
        return (f"{quoted(text)} does not exist in {tz_name} (the clocks skip that hour); check the time or write "
                "it with its UTC offset")
    return (f"{quoted(text)} happens twice in {tz_name} (the clocks go back that night); write it with its UTC "
            "offset (e.g. -04:00 or -05:00) so it is clear which one is meant")


def kwh(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Exact kWh texts -> int64 [mWh]. Returns (mwh, bad mask, {row: reason}); bad rows hold 0.

    Texts of the plain form ``[+-]digits[.digits]`` with 1 to 9 integer and at most 6 decimal digits are
    converted with vectorised integer arithmetic on their bytes (all texts joined by newlines, one pass of
    numpy over the bytes); anything else goes one by one through :class:`decimal.Decimal` (exponents,
    trailing zeros beyond 6 places, spaces) or is refused with a reason.
    """
    n = len(arr)
    mwh = np.zeros(n, dtype=np.int64)
    fast = np.zeros(n, dtype=bool)
    if n:
        try:
            joined = "\n".join(arr).encode("utf-8", "surrogatepass")
        except TypeError:  # not all values are text (cannot happen with dtype=object read_csv, but be safe)
            joined = b""
        data = np.frombuffer(joined, dtype=np.uint8)
        sep = data == 10
        if joined and int(sep.sum()) == n - 1:  # no value holds a newline itself
            fast, mwh = kwh_bytes(data, sep, n)
            fast &= np.abs(mwh) <= MAX_READING_MWH  # 9 integer digits may exceed the bound: worded below
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    for r in np.flatnonzero(~fast).tolist():
        value, reason = kwh_slow(arr[r])
        if reason is None:
            mwh[r] = value
        else:
            bad[r] = True
            reasons[r] = reason
    return mwh, bad, reasons


def kwh_bytes(data: np.ndarray, sep: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised part of :func:`kwh`: ``data`` is the UTF-8 bytes of the ``n`` texts joined by b"\\n".

    Returns (fast, mwh): which texts had the plain form, and their value [mWh] (0 where not fast).
    """
    ends = np.append(np.flatnonzero(sep), len(data))  # exclusive end of each text [byte offset]
    starts = np.concatenate(([0], ends[:-1] + 1))
    length = ends - starts
    width = int(min(length.max(), _MAX_PLAIN))
    cols = np.arange(width)
    inside = cols < length[:, None]
    chars = np.where(inside, data[np.minimum(starts[:, None] + cols, len(data) - 1)], 0)  # (n, width) bytes
    is_digit = (chars >= 48) & (chars <= 57)
    is_dot = chars == 46
    neg = chars[:, 0] == 45
    signed = neg | (chars[:, 0] == 43)
    allowed = is_digit | is_dot | ~inside
    allowed[:, 0] |= signed
    n_dots = is_dot.sum(axis=1)
    n_digits = is_digit.sum(axis=1)
    dot = np.where(n_dots == 1, is_dot.argmax(axis=1), length)
    int_digits = dot - signed
    frac_digits = np.where(n_dots == 1, length - dot - 1, 0)
    fast = (allowed.all(axis=1) & (length <= _MAX_PLAIN) & (n_dots <= 1) & (n_digits >= 1)
            & (int_digits <= 9) & (frac_digits <= 6))
    value = np.zeros(n, dtype=np.int64)
    for p in range(width):  # Horner over the digits, skipping the sign and the dot
        digit = is_digit[:, p]
        value = np.where(digit, value * 10 + (chars[:, p].astype(np.int64) - 48), value)
    mwh = value * _POW10[np.clip(6 - frac_digits, 0, 6)]
    mwh = np.where(fast, np.where(neg, -mwh, mwh), 0)
    return fast, mwh


def long_reason(text: str, shown: str) -> str:
    """Why a kWh text over :data:`_MAX_TEXT` characters is refused, found with linear string methods only."""
    body = text.lstrip("+-")
    whole, _, decimals = body.partition(".")
    if (whole + decimals).isdigit() and whole.isascii() and decimals.isascii():
        if whole.lstrip("0"):
            return f"{shown} kWh is too large for one reading (the limit is {MAX_KWH:,} kWh)"
        if decimals.rstrip("0"):
            return f"{shown} has more than 6 decimal places (finer than 1 mWh)"
    return (f"{shown} is {len(text):,} characters long; a kWh value is a number of at most {_MAX_TEXT} "
            "characters, e.g. 1.25")


def kwh_slow(raw: object) -> tuple[int, str | None]:
    """One kWh text the vectorised path could not take -> (mWh, None), or (0, the reason it is refused)."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return 0, "is empty; give the energy in kWh (0 if there was none)"
    if _BAD_TEXT in text:
        return 0, not_utf8(text)
    shown = quoted(text)
    if len(text) > _MAX_TEXT:  # before any pattern: a 10 MB cell is judged in linear time, never parsed
        return 0, long_reason(text, shown)
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity", "snan"):
        return 0, f"{shown} is not a finite number; give the energy in kWh"
    if not _NUMBER.fullmatch(text):
        return 0, f"{shown} is not a number; give the energy in kWh, e.g. 1.25 (a dot before the decimals)"
    too_large = f"{shown} kWh is too large for one reading (the limit is {MAX_KWH:,} kWh)"
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above only lets Decimal-readable text through
        return 0, f"{shown} is not a number"
    if value and value.adjusted() > _MAX_KWH_DIGITS:  # before scaleb: 1e999999 would overflow the context
        return 0, too_large
    finer = f"{shown} has more than 6 decimal places (finer than 1 mWh)"
    if value and value.adjusted() < -6:  # before scaleb: 1e-9999999 would underflow to 0 in the context
        return 0, finer
    scaled = value.scaleb(6)
    if scaled != scaled.to_integral_value():
        return 0, finer
    if abs(value) > MAX_KWH:
        return 0, too_large
    return int(scaled), None


assert MWH_PER_KWH == 10**6  # the vectorised path above scales by 10**6
