"""Read a utility export with a :class:`~.spec.Profile` into the chunks of :mod:`energy_coop.importers.metering.common`.

Two steps, so the caller can find the meter in between (these files rarely carry a meter code):

1. :func:`read_export` reads the whole file (utility exports are small; the cap is ``XML_MAX_BYTES``) into
   :class:`ExportData`: the metadata lines before the table, and per channel (delivered, received) its
   intervals with exact mWh, every bad row named (line, column, reason).
2. :func:`to_chunk` turns the channels into one meter's readings. Which channel is the meter's reading:
   for a production (asset) meter the energy *received* from the premises (exported), for a consumption meter
   the energy *delivered* to them; a file with both channels yields their net per interval (received minus
   delivered for an asset, delivered minus received for consumption); an interval missing (or refused) in one
   channel is an error on the other's line, never taken as 0. A file holding only the other channel is refused.

Rows: blank lines are skipped; a line repeating the header is skipped. Lines are numbered as in the file
(1 = first line). Text is UTF-8 (a byte-order mark is fine); a file that is not UTF-8 is read as Windows-1252,
and a note says so.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from energy_coop.importers.metering.common import (
    MAX_INTERVAL_SECONDS,
    XML_MAX_BYTES,
    ParseReport,
    RowError,
    check_size,
    empty_chunk,
    make_chunk,
    quoted,
)
from energy_coop.importers.metering.profiles.numbers import energy_mwh, register_step
from energy_coop.importers.metering.profiles.spec import CHANNELS, Profile, header_name
from energy_coop.importers.metering.profiles.times import TimeReader, normalise

#: Which channel is a meter's reading, by meter kind (SPEC 4: an asset's production is what it exports).
OWN_CHANNEL = {"production": "received", "consumption": "delivered"}


@dataclass
class Interval:
    line: int
    start: int
    end: int
    mwh: int
    raw: dict[str, str]


@dataclass
class ExportData:
    """What :func:`read_export` found: metadata (key -> (value, line)) and each channel's intervals."""

    profile: Profile
    metadata: dict[str, tuple[str, int]] = field(default_factory=dict)
    channels: dict[str, list[Interval]] = field(default_factory=lambda: {c: [] for c in CHANNELS})

    def meter_hint(self) -> str | None:
        """The meter code the file's metadata names (the profile's ``metadata.meter`` keys), if any."""
        for key in self.profile.meter_keys:
            if key in self.metadata and self.metadata[key][0]:
                return self.metadata[key][0]
        return None

    def identifiers(self) -> list[str]:
        """Metadata lines that look like account or meter numbers, for a message asking which meter it is."""
        return [f"{k} {quoted(v)} (line {n})" for k, (v, n) in self.metadata.items()
                if re.search(r"account|meter|service|premise", k) and v][:4]


def read_lines(path: str | os.PathLike[str], report: ParseReport, max_bytes: int = XML_MAX_BYTES
               ) -> list[str] | None:
    """The file's lines (without line ends), or None when it is refused (too big)."""
    too_big = check_size(path, max_bytes)
    if too_big is not None:
        report.refuse(too_big)
        return None
    data = Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        report.note("the file is not UTF-8 text; it was read as Windows-1252")
    return [line.rstrip("\r") for line in text.split("\n")]


def cells_of(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return [line]


def _blank(cells: list[str]) -> bool:
    return not any(normalise(c) for c in cells)


def _label(profile: Profile, cells: list[str]) -> str | None:
    """The channel whose block this line opens, or None: one non-empty cell that is one of its labels."""
    filled = [c for c in cells if normalise(c)]
    if len(filled) != 1:
        return None
    name = header_name(filled[0])[0].rstrip(":")
    for channel, labels in profile.blocks.items():
        if name in labels:
            return channel
    return None


def _header(profile: Profile, cells: list[str]) -> dict[str, int] | None:
    """role -> column index when ``cells`` is the profile's header line, else None."""
    names = [header_name(c)[0] for c in cells]
    found: dict[str, int] = {}
    for role, accepted in profile.columns.items():
        for i, n in enumerate(names):
            if n in accepted:
                found[role] = i
                break
        else:
            return None
    return found


def recognise(profile: Profile, lines: list[str]) -> str | None:
    """None when the first lines of a file fit the profile, else what the profile expected and did not find."""
    limit = min(len(lines), profile.header_within)
    columns = ", ".join(f"{names[0]!r} ({role})" for role, names in profile.columns.items())
    if profile.layout == "table":
        for number in range(limit):
            if _header(profile, cells_of(lines[number])) is not None:
                return None
        return f"a header line with the columns {columns} within the first {profile.header_within} lines"
    for number in range(limit):
        cells = cells_of(lines[number])
        if _label(profile, cells) is not None:
            for later in range(number + 1, min(len(lines), number + 5)):
                nxt = cells_of(lines[later])
                if not _blank(nxt):
                    if _header(profile, nxt) is not None:
                        return None
                    break
            return (f"after the block label on line {number + 1}, a header line with the columns {columns}")
    labels = " or ".join(repr(lab) for labs in profile.blocks.values() for lab in labs)
    return f"a block label line {labels} within the first {profile.header_within} lines"


def describe(lines: list[str]) -> str:
    """What the first lines of a file look like, in words: its first metadata line, the header line (the line
    just before the first data line) with its columns, and that first data line."""
    rows: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines[:500], start=1):
        filled = [normalise(c) for c in cells_of(line) if normalise(c)]
        if filled:
            rows.append((number, filled))
    data_at = next((i for i, (_, cells) in enumerate(rows)
                    if len(cells) >= 2 and sum(any(ch.isdigit() for ch in c) for c in cells) >= 2), None)
    said: list[str] = []
    header_at = data_at - 1 if data_at else None
    if rows and (header_at is None or header_at > 0):
        number, cells = rows[0]
        said.append(f"line {number} looks like metadata ({quoted(', '.join(cells), 60)})")
    if header_at is not None and header_at >= 0:
        number, cells = rows[header_at]
        said.append(f"line {number} has columns " + ", ".join(repr(header_name(c)[0]) for c in cells[:8]))
    if data_at is not None:
        number, cells = rows[data_at]
        said.append(f"line {number} looks like data ({quoted(', '.join(cells), 60)})")
    return "; ".join(said) if said else "no line with any text"


@dataclass
class _Table:
    channel: str | None  # blocks: the block's channel; table: None (the columns say)
    columns: dict[str, int]
    names: list[str]  # the header's cells, as written (normalised spaces)
    units: dict[str, str]
    line: int


def read_export(path: str | os.PathLike[str], profile: Profile, *, timezone: str | None,
                report: ParseReport) -> ExportData | None:
    """Read one file with ``profile``; ``timezone`` (the import's) overrides the profile's zone.

    Returns None when the file is refused whole (``report.fatal``); bad rows are in ``report.errors``.
    """
    data = ExportData(profile)
    lines = read_lines(path, report)
    if lines is None:
        return None
    zone_name = timezone or profile.timezone
    zone = None
    if zone_name is not None:
        try:
            if len(zone_name) > 64:
                raise ValueError(zone_name)
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            report.refuse(RowError("file", "timezone", f"{quoted(zone_name)} is not a time zone name; use an IANA "
                                   "name such as Europe/Berlin or America/New_York"))
            return None
    times = TimeReader(profile.formats, zone, zone_name, profile.ambiguous)
    state = _State(profile, data, times, report)
    table: _Table | None = None
    awaiting: tuple[str, int] | None = None  # blocks: (channel, label line) waiting for its header
    for index, line in enumerate(lines):
        number = index + 1
        cells = cells_of(line)
        if _blank(cells):
            continue
        if profile.layout == "blocks":
            channel = _label(profile, cells)
            if channel is not None:
                if awaiting is not None:
                    report.add_error(_no_header(profile, awaiting, number, cells))
                awaiting, table = (channel, number), None
                continue
            if awaiting is not None:
                found = _header(profile, cells)
                if found is None:
                    report.add_error(_no_header(profile, awaiting, number, cells))
                    awaiting = None
                    state.broken = True  # the block's rows cannot be read: skip them up to the next label
                    continue
                table = _make_table(awaiting[0], found, cells, number, profile, report)
                awaiting = None
                state.broken = False
                continue
            if table is None:
                if state.broken:
                    continue
                if data.channels["delivered"] or data.channels["received"] or number > profile.header_within:
                    report.add_error(RowError(f"line {number}", "row", "is outside any block: no block label "
                                              "line (e.g. " + repr(next(iter(profile.blocks.values()))[0]) +
                                              ") comes before it"))
                    continue
                _metadata(data, cells, number)
                continue
        else:
            if table is None:
                found = _header(profile, cells)
                if found is None:
                    if number > profile.header_within:
                        break
                    _metadata(data, cells, number)
                    continue
                table = _make_table(None, found, cells, number, profile, report)
                continue
        if report.fatal:
            return None
        if [normalise(c) for c in cells] == table.names:
            continue  # the header repeated
        state.row(table, cells, number)
    if report.fatal:
        return None
    if awaiting is not None:
        report.add_error(_no_header(profile, awaiting, len(lines), []))
    if profile.layout == "table" and table is None:
        report.refuse(RowError("file", "header", "the file has no header line of this layout: expected "
                               + (recognise(profile, lines) or "its columns")))
        return None
    if profile.layout == "blocks" and not state.any_block:
        report.refuse(RowError("file", "blocks", "the file has no block of this layout: expected "
                               + (recognise(profile, lines) or "its block labels")))
        return None
    lone: set[int] = set()
    for role, text in times.lone_ambiguous():
        line_no, column = state.ambiguous_lines.get((role, text), (0, role))
        lone.add(line_no)
        report.add_error(RowError(f"line {line_no}" if line_no else "file", column,
                                  f"{quoted(text)} happens twice in {zone_name} (the clocks go back that night) "
                                  "but appears only once here, so which one is meant cannot be told"))
    if lone:  # refused rows stay out of the readings (with skip_invalid the others are kept)
        data.channels = {c: [r for r in rows if r.line not in lone] for c, rows in data.channels.items()}
    state.finish()
    if not any(data.channels.values()) and report.error_count == 0:
        report.refuse(RowError("file", "file", "the file has no readings in this layout"))
        return None
    return data


def _no_header(profile: Profile, awaiting: tuple[str, int], number: int, cells: list[str]) -> RowError:
    channel, label_line = awaiting
    expected = ", ".join(repr(names[0]) for names in profile.columns.values())
    found = ", ".join(repr(normalise(c)) for c in cells if normalise(c)) or "nothing"
    return RowError(f"line {number}", "header", f"the {channel} block opened on line {label_line} has no header "
                    f"line: expected the columns {expected}, found {quoted(found, 80)}")


def _metadata(data: ExportData, cells: list[str], number: int) -> None:
    filled = [normalise(c) for c in cells if normalise(c)]
    if not filled:
        return
    if len(filled) == 1 and ":" in filled[0]:
        key, _, value = filled[0].partition(":")
    else:
        key, value = filled[0], (filled[1] if len(filled) > 1 else "")
    key = header_name(key)[0].rstrip(":").strip()
    if key and key not in data.metadata:
        data.metadata[key] = (value.strip(), number)


def _make_table(channel: str | None, found: dict[str, int], cells: list[str], number: int, profile: Profile,
                report: ParseReport) -> _Table:
    names = [normalise(c) for c in cells]
    units: dict[str, str] = {}
    for role in ("energy", "delivered", "received"):
        if role not in found:
            continue
        header_unit = header_name(cells[found[role]])[1]
        if profile.unit != "header":
            if header_unit is not None and header_unit != profile.unit:
                report.refuse(RowError(f"line {number}", names[found[role]] or role,
                                       f"the header says {header_unit}, but this layout reads {profile.unit}"))
            units[role] = profile.unit
        elif header_unit is not None:
            units[role] = header_unit
        else:
            report.refuse(RowError(f"line {number}", names[found[role]] or role,
                                   "the header names no unit (kWh, Wh or MWh) for this energy column, and the "
                                   "profile does not say one"))
            units[role] = "kWh"
    return _Table(channel, found, names, units, number)


class _State:
    """Rows read so far, per channel; end-time-only rows and registers need the row before."""

    def __init__(self, profile: Profile, data: ExportData, times: TimeReader, report: ParseReport):
        self.profile = profile
        self.data = data
        self.times = times
        self.report = report
        self.broken = False
        self.any_block = False
        self.previous: dict[str, tuple[int, int | None, int]] = {}  # channel -> (end, register mWh, line)
        self.ambiguous_lines: dict[tuple[str, str], tuple[int, str]] = {}  # (role, text) -> (line, column)
        self.dropped_first: list[str] = []

    def row(self, table: _Table, cells: list[str], number: int) -> None:
        profile = self.profile
        self.any_block = True
        raw = {table.names[i] or f"column {i + 1}": (cells[i] if i < len(cells) else "")
               for i in range(len(table.names))}
        where = f"line {number}"
        width = max(table.columns.values()) + 1
        if len(cells) < width:
            self.report.add_error(RowError(where, "row", f"has {len(cells)} values; the header on line "
                                           f"{table.line} has {len(table.names)} columns", raw=raw))
            return
        self.report.rows_read += 1

        def cell(role: str) -> str:
            return normalise(cells[table.columns[role]])

        def column(role: str) -> str:
            return table.names[table.columns[role]] or role

        errors: list[RowError] = []
        role_key = table.channel or "row"
        start = end = None
        timing = profile.timing
        if timing == "period":
            text = cell("period")
            parts = re.split(rf"\s+{re.escape(profile.period_separator)}\s+", text, flags=re.IGNORECASE)
            if len(parts) != 2:
                errors.append(RowError(where, column("period"), f"{quoted(text)} is not a period written "
                                       f"'START {profile.period_separator} END'", raw=raw))
            else:
                start = self._time(parts[0], f"{role_key} start", number, column("period"), raw, errors)
                end = self._time(parts[1], f"{role_key} end", number, column("period"), raw, errors)
        else:
            date = cell("date") if "date" in table.columns else None
            if "start" in table.columns:
                start = self._time(self._joined(date, cell("start")), f"{role_key} start", number, column("start"),
                                   raw, errors)
            if "end" in table.columns:
                end_text = self._joined(date, cell("end"))
                end = self._time(end_text, f"{role_key} end", number, column("end"), raw, errors)
                if date is not None and start is not None and end is not None and end <= start:
                    end = self._next_day(end_text, date, cell("end"), role_key, number, column("end"), raw, errors)
        values: dict[str, int] = {}
        for role in ("energy", "delivered", "received"):
            if role not in table.columns:
                continue
            mwh, reason = energy_mwh(cells[table.columns[role]], table.units[role], profile.decimal)
            if reason is not None:
                errors.append(RowError(where, column(role), reason, raw=raw))
            else:
                values[table.channel or (profile.channel if role == "energy" else role)] = mwh
        if errors:
            self.report.add_errors(errors)
            for channel in values:  # keep the baseline of a register or an end-only row moving
                if end is not None:
                    self.previous[channel] = (end, values[channel] if profile.cumulative else None, number)
                else:
                    self.previous.pop(channel, None)
            return
        for channel, mwh in values.items():
            self._interval(channel, start, end, mwh, number, raw, column)

    def _joined(self, date: str | None, time: str) -> str:
        return f"{date} {time}" if date is not None else time

    def _next_day(self, text, date, time, role_key, number, column, raw, errors):
        value, _ = self.times.parse(text)
        if value is None:
            return None
        later = (value + timedelta(days=1)).strftime(self.profile.formats[0])
        return self._time(later, f"{role_key} end", number, column, raw, errors)

    def _time(self, text: str, role: str, number: int, column: str, raw: dict[str, str],
              errors: list[RowError]) -> int | None:
        seconds, reason = self.times.epoch(normalise(text), role)
        self.ambiguous_lines.setdefault((role, normalise(text)), (number, column))
        if reason is not None:
            errors.append(RowError(f"line {number}", column, reason, raw=raw))
            return None
        return seconds

    def _interval(self, channel: str, start: int | None, end: int | None, mwh: int, number: int,
                  raw: dict[str, str], column) -> None:
        profile = self.profile
        where = f"line {number}"
        before = self.previous.get(channel)
        if profile.cumulative:
            self.previous[channel] = (end, mwh, number)
            if before is None:
                return  # the first register value is the baseline of the next interval
            start, register, _ = before
            if end <= start:
                self.report.add_error(RowError(where, column("end"), f"is not after the line before "
                                               f"(line {before[2]}); a register's rows go forward in time", raw=raw))
                return
            mwh, reason = register_step(register, mwh, profile.register)
            if reason is not None:
                self.report.add_error(RowError(where, column("energy"), reason + f" (line {before[2]})", raw=raw))
                return
        elif start is None:  # end-time-only
            self.previous[channel] = (end, None, number)
            if profile.interval_minutes is not None:
                start = end - profile.interval_minutes * 60
            elif before is None:
                self.dropped_first.append(f"line {number}")
                return
            else:
                start = before[0]
                if end <= start:
                    self.report.add_error(RowError(where, column("end"), f"is not after the line before "
                                                   f"(line {before[2]}); end-time-only rows go forward in time",
                                                   raw=raw))
                    return
        elif end is None:
            end = start + profile.interval_minutes * 60
        if end <= start:
            self.report.add_error(RowError(where, column("end" if "end" in profile.columns else "period"),
                                           "does not end after its start", raw=raw))
            return
        if end - start > MAX_INTERVAL_SECONDS:
            self.report.add_error(RowError(where, column("end" if "end" in profile.columns else "period"),
                                           f"makes an interval longer than {MAX_INTERVAL_SECONDS // 86_400} days, "
                                           "the longest one reading may cover", raw=raw))
            return
        self.data.channels[channel].append(Interval(number, start, end, mwh, raw))

    def finish(self) -> None:
        if self.dropped_first:
            self.report.note(f"{', '.join(self.dropped_first[:5])}: the first row of end-time-only readings has no "
                             "row before it to start from, so it was not imported")


def to_chunk(data: ExportData, meter_code: str, kind: str, report: ParseReport) -> pd.DataFrame:
    """One meter's readings from the file's channels (module docstring); errors go to ``report``."""
    own = OWN_CHANNEL.get(kind, "received")
    other = "delivered" if own == "received" else "received"
    mine, theirs = data.channels[own], data.channels[other]
    if not mine and theirs:
        report.refuse(RowError("file", "channel", f"the file holds only energy {other} "
                               f"({'to' if other == 'delivered' else 'from'} the premises); meter "
                               f"{meter_code} is a {kind} meter, whose readings are the energy {own}"))
        return empty_chunk()
    by_start: dict[int, list[Interval | None]] = {}
    for slot, rows in ((0, mine), (1, theirs)):
        for r in rows:
            pair = by_start.setdefault(r.start, [None, None])
            if pair[slot] is not None:
                report.add_error(RowError(f"line {r.line}", "time", f"the {(own, other)[slot]} interval starting "
                                          f"here is already on line {pair[slot].line}", raw=r.raw))
                continue
            pair[slot] = r
    lines, starts, ends, mwh, raws = [], [], [], [], {}
    for start in sorted(by_start):
        a, b = by_start[start]
        first = a or b
        if a is not None and b is not None and a.end != b.end:
            report.add_error(RowError(f"line {b.line}", "time", f"the {other} interval starting here ends at another "
                                      f"time than the {own} one on line {a.line}", raw=b.raw))
            continue
        if theirs and (a is None or b is None):
            has, lacks = (own, other) if b is None else (other, own)
            report.add_error(RowError(f"line {first.line}", "time", f"has energy {has}, but the file has no {lacks} "
                                      "row for the same interval (or it was refused); a net reading needs both",
                                      raw=first.raw))
            continue
        lines.append(first.line)
        starts.append(start)
        ends.append(first.end)
        mwh.append((a.mwh if a else 0) - (b.mwh if b else 0))
        raws[f"line {first.line}"] = first.raw
    report.meters[meter_code] = report.meters.get(meter_code, 0) + len(lines)
    chunk = make_chunk(where=[f"line {n}" for n in lines], line=lines, meter_code=[meter_code] * len(lines),
                       start=starts, end=ends, mwh=mwh, quality=["actual"] * len(lines))
    chunk.attrs["raw"] = raws
    return chunk
