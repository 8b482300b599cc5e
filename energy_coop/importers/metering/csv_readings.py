"""Stream the long meter-reading CSV format of SPEC section 4 into chunks of exact readings.

One row per interval of one meter::

    meter_code,start,end,kwh,quality
    PV-1,2024-03-01T00:00:00+01:00,2024-03-01T00:15:00+01:00,0.0015,actual

Columns may come in any order (names are matched without regard to case or surrounding spaces):

* ``meter_code`` (text, not blank);
* ``start`` (ISO 8601 with a UTC offset, ``Z`` or ``+hh:mm``);
* exactly one of ``end`` (as ``start``, after it) or ``interval_minutes`` (a whole number > 0) [min]; an
  interval may last at most 92 days (a quarterly billing period) and must end before 2100;
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

This module reads the file and words each row's errors; what each field may hold is
:mod:`energy_coop.importers.metering.csv_fields`.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from energy_coop.importers.metering import csv_fields as fields
from energy_coop.importers.metering.common import (
    CSV_MAX_BYTES,
    LATEST_EPOCH,
    MAX_INTERVAL_SECONDS,
    ParseReport,
    RowError,
    check_size,
    make_chunk,
    quoted,
)

REQUIRED_COLUMNS = ("meter_code", "start", "kwh")
END_COLUMNS = ("end", "interval_minutes")
OPTIONAL_COLUMNS = ("quality",)

_HEADER_LIMIT = 65536  # [bytes] a header line longer than this is not a meter-reading CSV


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
            if len(timezone) > 64:  # IANA names are short; a long one makes ZoneInfo fail with OSError
                raise ValueError(timezone)
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            report.refuse(RowError("file", "timezone", f"{quoted(timezone)} is not a time zone name; use an IANA "
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

    meter, m_reasons, m_codes, m_table = fields.by_value(cols["meter_code"], fields.meter_reason, str.strip, "",
                                                         object)
    problems.append(("meter_code", m_reasons, m_codes))

    start, s_reasons, s_codes = fields.timestamps(cols["start"], zone, tz_name)
    problems.append(("start", s_reasons, s_codes))
    start_ok = fields.ok(s_reasons, s_codes)

    if has_end:
        end, e_reasons, e_codes = fields.timestamps(cols["end"], zone, tz_name)
        problems.append(("end", e_reasons, e_codes))
        end_ok = fields.ok(e_reasons, e_codes)
    else:
        minutes, i_reasons, i_codes, _ = fields.by_value(cols["interval_minutes"], fields.minutes_reason,
                                                         fields.minutes_value, 0, np.int64)
        problems.append(("interval_minutes", i_reasons, i_codes))
        end_ok = fields.ok(i_reasons, i_codes)
        end = start + np.where(end_ok, minutes.astype(np.int64), 0) * 60

    if "quality" in cols:
        quality, q_reasons, q_codes, _ = fields.by_value(cols["quality"], fields.quality_reason,
                                                         fields.quality_value, "", object)
        problems.append(("quality", q_reasons, q_codes))
    else:
        quality = np.full(n, "actual", dtype=object)

    mwh, kwh_bad, kwh_reasons = fields.kwh(cols["kwh"])

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
            row_errors.append((r, order[fld], fld, f"{quoted(cols[fld][r])} does not end after the start "
                               f"{quoted(cols['start'][r])}"))
        bad |= not_after
    fld = "end" if has_end else "interval_minutes"
    checked = start_ok & end_ok & ~not_after
    too_long = checked & (end - start > MAX_INTERVAL_SECONDS)
    out = checked & ~too_long & (end >= LATEST_EPOCH)
    for r in np.flatnonzero(too_long).tolist():
        row_errors.append((r, order[fld], fld, f"{quoted(cols[fld][r])} makes an interval longer than "
                           f"{MAX_INTERVAL_SECONDS // 86_400} days, the longest one reading may cover"))
    for r in np.flatnonzero(out).tolist():
        row_errors.append((r, order[fld], fld, f"{quoted(cols[fld][r])} ends the interval after the year 2099"))
    bad |= too_long | out

    if row_errors:
        row_errors.sort(key=lambda e: (e[0], e[1]))
        for r, _, fld, reason in row_errors:
            report.add_error(RowError(f"line {line[r]}", fld, reason,
                                      raw={c: fields.raw_text(cols[c][r]) for c in names}))

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
