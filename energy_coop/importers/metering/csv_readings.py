"""Stream the long meter-reading CSV format of SPEC section 4 into chunks of exact readings.

One row per interval of one meter::

    meter_code,start,end,kwh,quality
    PV-1,2024-03-01T00:00:00+01:00,2024-03-01T00:15:00+01:00,0.0015,actual

Columns may come in any order (names are matched without regard to case or surrounding spaces):

* ``meter_code`` (text, not blank);
* ``start`` (ISO 8601 with a UTC offset, ``Z`` or ``+hh:mm``);
* exactly one of ``end`` (as ``start``, after it) or ``interval_minutes`` (a whole number > 0) [min];
* ``kwh``: exact decimal energy [kWh], at most 6 decimal places (1 mWh); negative while storage charges;
* ``quality`` (optional): ``actual`` (also when blank) or ``estimated``.

Any other column, a missing required column or a repeated column refuses the file (the message lists the
columns found and the ones required). Timestamps without an offset are refused unless the import names a
time zone (``--timezone``); then they are taken as local time there, and a local time that does not exist
or happens twice in that zone (daylight-saving changes) is an error on its line, never a guess.

Speed and memory: the file is read by pandas' C parser in chunks of ``chunk_rows`` rows, every column is
validated with vectorised numpy/pandas operations (timestamps, meter codes and qualities are parsed once per
distinct value in the chunk), and a Python loop runs only over rows already known to be bad, to word their
errors. Line numbers are physical lines of the file (the header is line 1); blank lines count but yield no
reading. (A quoted field spanning several lines is always an error, and lines after it are numbered as
if it had not spanned lines.)

Bytes that are not UTF-8 are an error on each line that holds them (the file is decoded with replacement
characters and every field holding one is refused). A UTF-8 byte-order mark is fine.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from energy_coop.importers.metering.common import (
    CSV_MAX_BYTES,
    EARLIEST_EPOCH,
    LATEST_EPOCH,
    ParseReport,
    RowError,
    check_size,
    make_chunk,
)
from energy_coop.units import MWH_PER_KWH

REQUIRED_COLUMNS = ("meter_code", "start", "kwh")
END_COLUMNS = ("end", "interval_minutes")
OPTIONAL_COLUMNS = ("quality",)

#: Largest accepted |kwh| of one reading [kWh]; beyond it a reading is a typo (and sums could overflow int64).
MAX_KWH = 1_000_000_000

_HEADER_LIMIT = 65536  # [bytes] a header line longer than this is not a meter-reading CSV
_BAD_TEXT = "\ufffd"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_AWARE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})", re.ASCII)
_NAIVE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?", re.ASCII)
_FRACTION = re.compile(r":\d{2}\.(\d+)")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_MINUTES = re.compile(r"\d{1,7}", re.ASCII)
_MAX_PLAIN = 17  # [characters] sign + 9 integer digits + dot + 6 decimals
_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)


def iter_csv_chunks(
    path: str | os.PathLike[str],
    *,
    timezone: str | None = None,
    chunk_rows: int = 200_000,
    report: ParseReport,
    max_bytes: int = CSV_MAX_BYTES,
) -> Iterator[pd.DataFrame]:
    """Yield the valid readings of a long-format CSV file as chunks (see :mod:`energy_coop.importers.metering.common`).

    Parameters
    ----------
    path : path of the CSV file.
    timezone : IANA zone name (e.g. ``"Europe/Berlin"``) for timestamps written without a UTC offset;
        ``None`` refuses such timestamps.
    chunk_rows : rows read and validated at a time [rows]; bounds memory. Results do not depend on it.
    report : receives every error (bad rows are left out of the chunks), ``rows_read`` and ``meters``.
    max_bytes : larger files are refused before reading [bytes].

    Yields
    ------
    DataFrame with columns ``where, line, meter_code, start, end, mwh, quality`` (start/end [UTC epoch s],
    mwh [mWh]); only non-empty chunks are yielded. A refused file (``report.fatal``) may stop the stream
    after some chunks were yielded: the caller must read the report after exhausting the iterator and
    before keeping anything (SPEC section 4: a file is all-or-nothing).
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    too_big = check_size(path, max_bytes)
    if too_big is not None:
        report.refuse(too_big)
        return
    zone = None
    if timezone is not None:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            report.refuse(RowError("file", "timezone", f"{timezone!r} is not a time zone name; use an IANA "
                                   "name such as Europe/Berlin or America/New_York"))
            return
    names = _read_header(path, report)
    if names is None:
        return
    has_end = "end" in names

    reader = pd.read_csv(
        path,
        dtype=object,
        header=0,
        names=names,
        index_col=False,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        encoding="utf-8",
        encoding_errors="replace",
        engine="c",
        chunksize=chunk_rows,
    )
    rows_seen = 0
    readings = 0
    try:
        for raw in reader:
            first_line = rows_seen + 2
            rows_seen += len(raw)
            chunk = _validate(raw, first_line, names, has_end, zone, timezone, report)
            readings += int(chunk.attrs["rows"])
            if len(chunk):
                yield chunk
    except pd.errors.ParserError as exc:
        report.refuse(_parser_error(exc, len(names)))
        return
    finally:
        reader.close()
    if readings == 0 and report.error_count == 0:
        report.refuse(RowError("file", "file", "the file has no readings (only a header line)"))


def _read_header(path: str | os.PathLike[str], report: ParseReport) -> list[str] | None:
    with open(path, "rb") as f:
        first = f.readline(_HEADER_LIMIT + 1)
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    if not first.strip():
        report.refuse(RowError("file", "file", "the file is empty: it has no header line and no readings"))
        return None
    if len(first) > _HEADER_LIMIT:
        report.refuse(RowError("line 1", "header", "the first line is far too long to be a header line; "
                               "is this a meter-reading CSV file?"))
        return None
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        report.refuse(RowError("line 1", "header", "the header line is not UTF-8 text; save the file as "
                               "UTF-8 (in Excel: 'CSV UTF-8')"))
        return None
    found = [c.strip().lower() for c in next(csv.reader([text.rstrip("\r\n")]))]
    expected = "required: meter_code, start, kwh and one of end or interval_minutes; optional: quality"
    listing = ", ".join(repr(c) for c in found)
    problems = []
    repeated = sorted({c for c in found if found.count(c) > 1})
    if repeated:
        problems.append("repeated column " + ", ".join(repr(c) for c in repeated))
    unknown = [c for c in found if c not in REQUIRED_COLUMNS + END_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        problems.append("unknown column " + ", ".join(repr(c) for c in unknown))
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        problems.append("missing column " + ", ".join(repr(c) for c in missing))
    ends = [c for c in END_COLUMNS if c in found]
    if len(ends) == 2:
        problems.append("both 'end' and 'interval_minutes' are given; keep one")
    elif not ends:
        problems.append("neither 'end' nor 'interval_minutes' is given; add one")
    if problems:
        report.refuse(RowError("line 1", "header", "; ".join(problems) + f". Columns found: {listing}; "
                               + expected))
        return None
    return found


def _parser_error(exc: Exception, n_columns: int) -> RowError:
    text = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        return RowError(f"line {m.group(2)}", "row", f"has {m.group(3)} values but the header has "
                        f"{m.group(1)} columns; the file cannot be read past this line")
    return RowError("file", "file", "the file is not a readable CSV file (" + text.strip().splitlines()[0]
                    + ")")


def _validate(raw: pd.DataFrame, first_line: int, names: list[str], has_end: bool, zone: ZoneInfo | None,
              tz_name: str | None, report: ParseReport) -> pd.DataFrame:
    """Validate one raw chunk (all text) and return its good rows as a chunk; ``attrs['rows']`` = rows read."""
    n = len(raw)
    cols = {c: raw[c].to_numpy(dtype=object) for c in names}
    line = np.arange(first_line, first_line + n, dtype=np.int64)
    blank = np.ones(n, dtype=bool)
    for arr in cols.values():
        blank &= arr == ""
    if blank.any():
        keep = ~blank
        cols = {c: a[keep] for c, a in cols.items()}
        line = line[keep]
        n = len(line)
    report.rows_read += n
    problems: list[tuple[str, list[str | None], np.ndarray]] = []  # (field, reason per distinct value, codes)

    meter, m_reasons, m_codes, m_table = _by_value(cols["meter_code"], _meter_reason, str.strip, "", object)
    problems.append(("meter_code", m_reasons, m_codes))

    start, s_reasons, s_codes = _timestamps(cols["start"], zone, tz_name)
    problems.append(("start", s_reasons, s_codes))
    start_ok = _ok(s_reasons, s_codes)

    if has_end:
        end, e_reasons, e_codes = _timestamps(cols["end"], zone, tz_name)
        problems.append(("end", e_reasons, e_codes))
        end_ok = _ok(e_reasons, e_codes)
    else:
        minutes, i_reasons, i_codes, _ = _by_value(cols["interval_minutes"], _minutes_reason, _minutes_value, 0,
                                                 np.int64)
        problems.append(("interval_minutes", i_reasons, i_codes))
        end_ok = _ok(i_reasons, i_codes)
        end = start + np.where(end_ok, minutes.astype(np.int64), 0) * 60

    if "quality" in cols:
        quality, q_reasons, q_codes, _ = _by_value(cols["quality"], _quality_reason, _quality_value, "",
                                               object)
        problems.append(("quality", q_reasons, q_codes))
    else:
        quality = np.full(n, "actual", dtype=object)

    mwh, kwh_bad, kwh_reasons = _kwh(cols["kwh"])

    bad = kwh_bad.copy()
    row_errors: list[tuple[int, int, str, str]] = []  # (row, column order, field, reason)
    order = {c: i for i, c in enumerate(names)}
    for fld, reasons, codes in problems:
        bad_values = np.fromiter((r is not None for r in reasons), dtype=bool, count=len(reasons))
        if bad_values.any():
            rows = np.flatnonzero(bad_values[codes])
            bad[rows] = True
            for r in rows.tolist():
                row_errors.append((r, order[fld], fld, reasons[codes[r]]))
    for r, reason in kwh_reasons.items():
        row_errors.append((r, order["kwh"], "kwh", reason))

    not_after = start_ok & end_ok & (end <= start)
    if not_after.any():
        fld = "end" if has_end else "interval_minutes"
        for r in np.flatnonzero(not_after).tolist():
            row_errors.append((r, order[fld], fld, f"{cols[fld][r]!r} does not end after the start "
                               f"{cols['start'][r]!r}"))
        bad |= not_after
    if has_end:
        out = start_ok & end_ok & ~not_after & (end >= LATEST_EPOCH)
        if out.any():
            for r in np.flatnonzero(out).tolist():
                row_errors.append((r, order["end"], "end", f"{cols['end'][r]!r} is not before the year 2100"))
            bad |= out

    if row_errors:
        row_errors.sort(key=lambda e: (e[0], e[1]))
        for r, _, fld, reason in row_errors:
            report.add_error(RowError(f"line {line[r]}", fld, reason,
                                      raw={c: _raw_text(cols[c][r]) for c in names}))

    good = ~bad
    counts = np.bincount(m_codes[good], minlength=len(m_reasons)) if n else np.zeros(0, dtype=np.int64)
    for k in np.flatnonzero(counts).tolist():
        code = m_table[k]
        report.meters[code] = report.meters.get(code, 0) + int(counts[k])
    if not good.all():
        line, meter, start, end, mwh, quality = (a[good] for a in (line, meter, start, end, mwh, quality))
    chunk = make_chunk(where=[f"line {i}" for i in line.tolist()], line=line, meter_code=meter, start=start,
                       end=end, mwh=mwh, quality=quality)
    chunk.attrs["rows"] = n
    return chunk


def _raw_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _ok(reasons: list[str | None], codes: np.ndarray) -> np.ndarray:
    good_values = np.fromiter((r is None for r in reasons), dtype=bool, count=len(reasons))
    return good_values[codes] if len(codes) else np.zeros(0, dtype=bool)


def _by_value(arr: np.ndarray, reason_of, value_of, filler, dtype
              ) -> tuple[np.ndarray, list[str | None], np.ndarray, np.ndarray]:
    """Validate each distinct value once.

    Returns (value per row, reason per distinct value, codes per row, value per distinct value).
    """
    codes, uniques = pd.factorize(arr)  # no NaN: read with na_filter=False
    reasons = [reason_of(u) for u in uniques]
    table = np.array([value_of(u) if r is None else filler for u, r in zip(uniques, reasons)], dtype=dtype)
    return (table[codes] if len(codes) else np.empty(0, dtype=dtype)), reasons, codes, table


def _not_utf8(value: str) -> str | None:
    if _BAD_TEXT in value:
        return "contains bytes that are not UTF-8 text; save the file as UTF-8 (in Excel: 'CSV UTF-8')"
    return None


def _meter_reason(value: str) -> str | None:
    text = value.strip()
    if not text:
        return "is empty; every reading needs the code of its meter"
    if _BAD_TEXT in text:
        return _not_utf8(text)
    if _CONTROL.search(text):
        return f"{text!r} contains a line break or control character"
    return None


def _minutes_reason(value: str) -> str | None:
    text = value.strip()
    if not text:
        return "is empty; give the interval length in whole minutes"
    if _BAD_TEXT in text:
        return _not_utf8(text)
    if not _MINUTES.fullmatch(text) or int(text) == 0:
        return f"{text!r} is not a whole number of minutes greater than 0"
    return None


def _minutes_value(value: str) -> int:
    return int(value.strip())


def _quality_reason(value: str) -> str | None:
    text = value.strip()
    if _BAD_TEXT in text:
        return _not_utf8(text)
    if text.lower() not in ("", "actual", "estimated"):
        return f"{text!r} is not a quality; use actual or estimated (or leave it empty for actual)"
    return None


def _quality_value(value: str) -> str:
    return value.strip().lower() or "actual"


def _timestamps(arr: np.ndarray, zone: ZoneInfo | None, tz_name: str | None
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
        _store(epochs, reasons, idx, parsed, texts)
    if naive.any():
        idx = np.flatnonzero(naive)
        if zone is None:
            for i in idx.tolist():
                reasons[i] = (f"{texts[i]!r} has no UTC offset; add one (e.g. +01:00 or Z) or import with "
                              "--timezone")
        else:
            local = pd.DatetimeIndex(pd.to_datetime([texts[i] for i in idx.tolist()], format="ISO8601",
                                                    errors="coerce"))
            valid = ~local.isna()
            placed = local.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            _store(epochs, reasons, idx, placed, texts)
            dst = valid & placed.isna()
            for j in np.flatnonzero(dst).tolist():
                i = int(idx[j])
                reasons[i] = _dst_reason(texts[i], local[j].to_pydatetime(), zone, tz_name)
    for i in np.flatnonzero(~aware & ~naive).tolist():
        text = texts[i]
        if not text:
            reasons[i] = "is empty; every reading needs its start and end"
        elif _BAD_TEXT in text:
            reasons[i] = _not_utf8(text)
        else:
            reasons[i] = (f"{text!r} is not a date and time in ISO 8601 form with a UTC offset "
                          "(e.g. 2024-03-01T00:15:00+01:00)")
    return (epochs[codes] if len(codes) else epochs[:0]), reasons, codes


def _store(epochs: np.ndarray, reasons: list[str | None], idx: np.ndarray, parsed, texts: list[str]) -> None:
    """Put parsed timestamps ``parsed`` (for ``texts[idx]``) into ``epochs`` [UTC epoch s], or a reason."""
    stamps = pd.DatetimeIndex(parsed)
    nat = stamps.isna()
    seconds = stamps.as_unit("us").asi8 // 1_000_000
    ok = ~nat & (seconds >= EARLIEST_EPOCH) & (seconds < LATEST_EPOCH)
    epochs[idx[ok]] = seconds[ok]
    for j in np.flatnonzero(~ok).tolist():
        i = int(idx[j])
        if nat[j]:
            reasons[i] = f"{texts[i]!r} is not a valid date and time (check the day, month and hour)"
        else:
            reasons[i] = f"{texts[i]!r} is outside the years 1970 to 2099"
    for i in idx[ok].tolist():
        text = texts[i]
        if "." in text:
            frac = _FRACTION.search(text)
            if frac and int(frac.group(1)) != 0:
                reasons[i] = f"{text!r} has a fraction of a second; readings start and end on whole seconds"


def _dst_reason(text: str, local: datetime, zone: ZoneInfo, tz_name: str | None) -> str:
    first = local.replace(tzinfo=zone, fold=0)
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != local:
        return (f"{text!r} does not exist in {tz_name} (the clocks skip that hour); check the time or write "
                "it with its UTC offset")
    return (f"{text!r} happens twice in {tz_name} (the clocks go back that night); write it with its UTC "
            "offset (e.g. -04:00 or -05:00) so it is clear which one is meant")


def _kwh(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
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
            fast, mwh = _kwh_bytes(data, sep, n)
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    for r in np.flatnonzero(~fast).tolist():
        value, reason = _kwh_slow(arr[r])
        if reason is None:
            mwh[r] = value
        else:
            bad[r] = True
            reasons[r] = reason
    return mwh, bad, reasons


def _kwh_bytes(data: np.ndarray, sep: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised part of :func:`_kwh`: ``data`` is the UTF-8 bytes of the ``n`` texts joined by b"\\n".

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


def _kwh_slow(raw: object) -> tuple[int, str | None]:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return 0, "is empty; give the energy in kWh (0 if there was none)"
    if _BAD_TEXT in text:
        return 0, _not_utf8(text)
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity", "snan"):
        return 0, f"{text!r} is not a finite number; give the energy in kWh"
    if not _NUMBER.fullmatch(text):
        return 0, f"{text!r} is not a number; give the energy in kWh, e.g. 1.25 (a dot before the decimals)"
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above only lets Decimal-readable text through
        return 0, f"{text!r} is not a number"
    scaled = value.scaleb(6)
    if scaled != scaled.to_integral_value():
        return 0, f"{text!r} has more than 6 decimal places (finer than 1 mWh)"
    if abs(value) > MAX_KWH:
        return 0, f"{text!r} kWh is too large for one reading (the limit is {MAX_KWH:,} kWh)"
    return int(scaled), None


assert MWH_PER_KWH == 10**6  # the vectorised path above scales by 10**6
