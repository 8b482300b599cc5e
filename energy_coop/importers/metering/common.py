"""What every meter-reading parser shares: errors, the chunk of readings, the parse report, file sniffing.

Parsers are pure: they read one file and return (or yield) *chunks* of readings plus a :class:`ParseReport`;
storing them is a service's job (SPEC section 4, STYLE "importers return rows and errors").

A chunk is a :class:`pandas.DataFrame` with exactly the columns of :data:`CHUNK_COLUMNS`:

=============  ========  ==========================================================================
column         dtype     meaning
=============  ========  ==========================================================================
``where``      str       where the reading is in the file, e.g. ``"line 12"`` or
                         ``"UsagePoint 'x', IntervalBlock 3, IntervalReading 17"``
``line``       int64     CSV: physical line in the file (header = 1); XML: 1-based ordinal of the
                         IntervalReading in the document
``meter_code`` str       the meter's code
``start``      int64     interval start [UTC epoch seconds]
``end``        int64     interval end [UTC epoch seconds], always > ``start``
``mwh``        int64     energy of the interval [mWh], exact; production (export) and consumption
                         positive, a storage asset's charging negative
``quality``    str       ``"actual"`` or ``"estimated"``
=============  ========  ==========================================================================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from energy_coop.errors import RowError  # noqa: F401 - re-exported: one error type for every input
from energy_coop.units import shown
from energy_coop.vocabulary import READING_QUALITIES

CHUNK_COLUMNS: tuple[str, ...] = ("where", "line", "meter_code", "start", "end", "mwh", "quality")
CHUNK_DTYPES: dict[str, str] = {
    "where": "str",
    "line": "int64",
    "meter_code": "str",
    "start": "int64",
    "end": "int64",
    "mwh": "int64",
    "quality": "str",
}
QUALITIES: tuple[str, ...] = READING_QUALITIES

#: Largest CSV file accepted [bytes]; CSV is streamed in chunks, so this only guards against absurd uploads.
CSV_MAX_BYTES = 1024**3
#: Largest Green Button file accepted [bytes]; XML is parsed in memory, so it is capped much lower.
XML_MAX_BYTES = 200 * 1024**2

#: Readings must start and end inside [EARLIEST, LATEST) [UTC epoch seconds]: 1970-01-01 .. 2100-01-01.
#: Anything outside is a typo (and keeps the duplicate-detection keys inside int64).
EARLIEST_EPOCH = 0
LATEST_EPOCH = 4_102_444_800
#: Longest interval one reading may cover [s]: 92 days, a quarterly billing period (SPEC 4 lets consumption
#: meters take billing-period readings; asset meters are held to 5..60 minutes by the reading checks).
MAX_INTERVAL_SECONDS = 92 * 86_400
#: Largest |energy| of one reading [mWh] (10^12 mWh = 1 GWh, a year of a 100 MW plant's hour): beyond it no
#: meter of a co-op could have recorded the value (a typo, a wrong unit), and sums stay far inside int64.
MAX_READING_MWH = 10**12
#: Longest meter code [characters], as the registers allow; a longer one in a file is refused before lookup.
MAX_METER_CODE = 64
#: Errors of one kind (the same field and reason) listed in a report; the rest are counted in one line.
MAX_ALIKE = 5
#: Most characters of a value quoted back in a message; the rest is cut (a 10 MB cell stays out of reports).
QUOTE_LIMIT = 40


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of ``text`` for a message, cut to ``limit`` characters with its full length said."""
    return shown(text, limit)


@dataclass
class ParseReport:
    """What a parser found besides the readings it returns.

    * ``errors``: every bad row or element (up to ``max_errors`` kept in memory; ``error_count`` counts all;
      ``on_error``, if given, is called with every error, e.g. to stream ``FILE.rejected.csv``). Errors with
      the same field and reason (a UsagePoint title that is no meter code, repeated on each of its 7,764
      readings) are kept ``max_alike`` times; the rest are counted in ``alike`` and reported as one line,
      "... and 7,759 more like this" (:meth:`more_like_this`, :meth:`lines`);
    * ``fatal``: the file itself cannot be read (too big, not UTF-8 text structure, not XML, wrong header...):
      nothing in it may be imported, not even with ``--skip-invalid``;
    * ``skipped``: plain-language notes on data deliberately not imported (gas, cost data, ...);
    * ``notes``: other remarks that are not errors (e.g. exact duplicate rows dropped);
    * ``meters``: meter code -> number of readings returned for it;
    * ``rows_read``: readings (rows or IntervalReadings) looked at.
    """

    max_errors: int = 100_000
    on_error: Callable[[RowError], None] | None = None
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    max_alike: int = MAX_ALIKE
    alike: dict[tuple[str, str], int] = field(default_factory=dict)  # (field, reason) -> errors seen
    fatal: bool = False
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meters: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is wrong: the file may be imported whole."""
        return self.error_count == 0 and not self.fatal

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if self.on_error is not None:
            self.on_error(error)
        key = (error.field, error.reason)
        seen = self.alike.get(key, 0) + 1
        self.alike[key] = seen
        if seen <= self.max_alike and len(self.errors) < self.max_errors:
            self.errors.append(error)

    def more_like_this(self) -> list[tuple[RowError, int]]:
        """Each kept error whose field and reason recurred beyond ``max_alike``, with how many more there were
        (not kept), in the order of ``errors`` (the last kept error of each kind)."""
        return more_like_this(self.errors, self.alike, self.max_alike)

    def lines(self) -> list[str]:
        """The kept errors as text, a "... and N more like this" line after the last one of each collapsed kind."""
        return error_lines(self.errors, self.more_like_this())

    def add_errors(self, errors: list[RowError]) -> None:
        for e in errors:
            self.add_error(e)

    def refuse(self, error: RowError) -> None:
        """Record an error that makes the whole file unreadable."""
        self.fatal = True
        self.add_error(error)

    def skip(self, note: str) -> None:
        if note not in self.skipped:
            self.skipped.append(note)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def count_meters(self, chunk: pd.DataFrame) -> None:
        """Add a returned chunk's readings to ``meters``."""
        if len(chunk):
            for code, n in chunk["meter_code"].value_counts(sort=False).items():
                self.meters[code] = self.meters.get(code, 0) + int(n)


def more_like_this(errors: list[RowError], alike: dict[tuple[str, str], int], max_alike: int
                   ) -> list[tuple[RowError, int]]:
    """``(last listed error of a kind, how many more of that kind were not listed)`` for every kind (field and
    reason) seen more than ``max_alike`` times; ``alike`` counts every error seen per kind."""
    last: dict[tuple[str, str], RowError] = {}
    for e in errors:
        last[(e.field, e.reason)] = e
    return [(e, alike[key] - max_alike) for key, e in last.items() if alike.get(key, 0) > max_alike]


def error_lines(errors: list[RowError], more: list[tuple[RowError, int]]) -> list[str]:
    """``errors`` as text, each collapsed kind's last one followed by "... and 7,759 more like this"."""
    extra = {id(e): n for e, n in more}
    out: list[str] = []
    for e in errors:
        out.append(str(e))
        if id(e) in extra:
            out.append(f"... and {extra[id(e)]:,} more like this")
    return out


def empty_chunk() -> pd.DataFrame:
    """A chunk with no readings and the exact columns and dtypes of :data:`CHUNK_COLUMNS`."""
    return make_chunk(
        where=[], line=np.empty(0, np.int64), meter_code=[], start=np.empty(0, np.int64),
        end=np.empty(0, np.int64), mwh=np.empty(0, np.int64), quality=[],
    )


def make_chunk(*, where, line, meter_code, start, end, mwh, quality) -> pd.DataFrame:
    """Build a chunk from equally long columns, forcing the dtypes of :data:`CHUNK_DTYPES`."""
    data = {
        "where": pd.array(np.asarray(where, dtype=object), dtype="str"),
        "line": np.asarray(line, dtype=np.int64),
        "meter_code": pd.array(np.asarray(meter_code, dtype=object), dtype="str"),
        "start": np.asarray(start, dtype=np.int64),
        "end": np.asarray(end, dtype=np.int64),
        "mwh": np.asarray(mwh, dtype=np.int64),
        "quality": pd.array(np.asarray(quality, dtype=object), dtype="str"),
    }
    return pd.DataFrame(data, columns=list(CHUNK_COLUMNS))


def check_size(path: str | os.PathLike[str], max_bytes: int) -> RowError | None:
    """Refuse a file larger than ``max_bytes`` [bytes] without reading it (``os.stat`` only).

    Returns ``None`` when the size is acceptable, else the :class:`RowError` to report.
    """
    size = os.stat(path).st_size
    if size > max_bytes:
        return RowError(
            "file", "size",
            f"the file is {_human_bytes(size)} ({size:,} bytes); the limit for this kind of file is "
            f"{_human_bytes(max_bytes)} ({max_bytes:,} bytes). Split it into smaller files",
        )
    return None


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def detect_format(path: str | os.PathLike[str]) -> Literal["csv", "greenbutton"]:
    """Tell a Green Button XML file from a CSV by its content: first non-blank character ``<`` means XML.

    Reads at most the first 64 KiB. A UTF-8 byte order mark and leading whitespace are ignored.
    """
    with Path(path).open("rb") as f:
        head = f.read(65536)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    for prefix in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 XML starts with a BOM and '<' in two bytes
        if head.startswith(prefix):
            head = head[2:].replace(b"\x00", b"")
    stripped = head.lstrip(b" \t\r\n")
    return "greenbutton" if stripped.startswith(b"<") else "csv"
