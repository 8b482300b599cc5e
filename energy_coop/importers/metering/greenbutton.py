"""Parse Green Button (NAESB ESPI) Atom feeds into exact electricity readings (SPEC section 4).

The whole file is parsed in memory (it is size-capped, :data:`~energy_coop.importers.metering.common.XML_MAX_BYTES`)
with :mod:`defusedxml`: a DOCTYPE (hence any entity, internal or external) is refused, as is anything that is
not well-formed XML (a truncated file, say) — always as a :class:`RowError`, never a traceback.

Elements are matched by namespace URI (ESPI ``http://naesb.org/espi``, Atom ``http://www.w3.org/2005/Atom``),
never by prefix. Resources are linked through the Atom ``link`` hrefs of their entries, not document order:

* a MeterReading belongs to a UsagePoint when one of the UsagePoint's ``rel="related"`` hrefs equals the
  MeterReading's ``rel="self"`` or ``rel="up"`` href (or, failing that, its self href lies under the
  UsagePoint's, ``.../UsagePoint/1/MeterReading/...``);
* its ReadingType is the entry whose ``self`` href is one of the MeterReading's ``related`` hrefs;
* an IntervalBlock entry belongs to a MeterReading in the same way as a MeterReading to a UsagePoint
  (one entry may hold several IntervalBlock elements).

Hrefs are compared by their path, without scheme, host and surrounding slashes. When the hrefs cannot tell two
parents apart (a utility that redacts its links may leave both MeterReadings with the same ``self`` href),
document order decides between them: each owns the entries that follow it (see
:func:`~energy_coop.importers.metering.atom.assign`); a file where that is not clear either is refused, saying why.

What is stored, and how:

* only UsagePoints with ``ServiceCategory/kind`` 0 (electricity); other kinds (1 gas, 2 water, ...) are
  reported in ``report.skipped``, not as errors;
* only ReadingTypes of energy in Wh (``uom`` 72) accumulated per interval (``accumulationBehaviour`` 4 or
  absent) and flowing in direction 1 (delivered to the customer, "forward") or 19 (received from the customer,
  "reverse", i.e. exported); others (power, register readings, net direction 4, ...) are skipped with a note;
* value [Wh] = ``value`` x 10^``powerOfTenMultiplier``, converted exactly to mWh (a value finer than 1 mWh is
  an error), and at most 10^6 kWh (10^12 mWh); ``timePeriod/start`` [UTC epoch s] and ``duration`` [s] must be whole
  numbers of ASCII digits: the start in 1970..2099, the duration from 1 s to 92 days (a quarterly billing
  period, :data:`~energy_coop.importers.metering.common.MAX_INTERVAL_SECONDS`), the end before 2100;
* **direction rule**: when one UsagePoint has readings of both directions, each interval yields one reading
  of value received (19) - delivered (1), so an asset's net production is positive; every interval must
  then have exactly one reading of each direction (a missing one is an error, not a zero). When a UsagePoint
  has only one direction, its values are returned as they are (positive): with only 19 that is an asset's
  production, with only 1 (a member's consumption meter, like the public sample files) the consumption.
  Whether that sign fits the meter's kind is for the caller, who knows the meter;
* cost (``IntervalReading/cost``) and usage summaries are not stored: one "cost data: skipped" note;
* ``quality``: ``estimated`` when a ReadingQuality/quality is 8 (estimated by reference day), 9 (estimated by
  interpolation) or 12 (projected); ``actual`` otherwise (also for the samples' free-text qualities).

Meter code: the ``meter`` argument if given (an error when the file has more than one electricity
UsagePoint), else the UsagePoint entry's Atom ``title`` (an error when blank).

The number of readings per day is whatever the file holds (92, 96 or 100 on daylight-saving days; 24 when
hourly). Two readings of one UsagePoint and direction with the same start are an error naming both elements.

The Atom plumbing (safe parsing, entries, hrefs and links) is :mod:`energy_coop.importers.metering.atom`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from xml.etree.ElementTree import Element

import pandas as pd

from energy_coop.importers.metering import atom
from energy_coop.importers.metering.atom import ATOM, ESPI
from energy_coop.importers.metering.common import (
    EARLIEST_EPOCH,
    LATEST_EPOCH,
    MAX_INTERVAL_SECONDS,
    MAX_METER_CODE,
    MAX_READING_MWH,
    XML_MAX_BYTES,
    ParseReport,
    RowError,
    check_size,
    empty_chunk,
    make_chunk,
    quoted,
)
from energy_coop.units import MWH_PER_KWH

UOM_WH = 72
FORWARD, REVERSE = 1, 19
DELTA_DATA = 4
ESTIMATED_QUALITIES = {"8", "9", "12"}
SERVICE_KINDS = {
    "0": "electricity", "1": "natural gas", "2": "water", "3": "time", "4": "heat", "5": "refuse",
    "6": "sewerage", "7": "rates", "8": "TV licence", "9": "internet",
}
UOM_NAMES = {"72": "Wh", "38": "W", "63": "VAr", "73": "VArh", "61": "VA", "71": "VAh", "169": "therm",
             "119": "ft3 (cubic feet)", "125": "m3 (cubic metres)", "42": "m3 (cubic metres)", "128": "US gallons",
             "106": "A", "29": "V", "5": "A", "132": "BTU", "31": "J", "33": "Hz", "0": "no unit"}
FLOW_NAMES = {"0": "none", "1": "delivered (forward)", "4": "net", "19": "received (reverse)",
              "20": "total"}
#: A whole number as the files write it: ASCII digits only.
_INT = re.compile(r"[+-]?[0-9]+")
#: Longest whole number read [digits]: more is out of every range here (and int() of it would be slow).
_MAX_DIGITS = 30


def _whole(text: str) -> int | None:
    """The int of an ASCII whole number, :data:`_HUGE` beyond :data:`_MAX_DIGITS` digits, ``None`` if not one."""
    if not _INT.fullmatch(text):
        return None
    if len(text.lstrip("+-")) > _MAX_DIGITS:
        return -_HUGE if text.startswith("-") else _HUGE
    return int(text)


_HUGE = 10**_MAX_DIGITS


@dataclass
class _Reading:
    meter: str
    direction: int
    start: int
    duration: int
    mwh: int
    estimated: bool
    where: str
    ordinal: int
    raw: dict[str, str] = field(default_factory=dict)  # start, duration, value as read


@dataclass
class _UsagePoint:
    entry: atom.Entry
    label: str  # how messages name it: its title, or its self href
    meter_readings: list[atom.Entry] = field(default_factory=list)


def parse_greenbutton(path: str | os.PathLike[str], *, meter: str | None, report: ParseReport,
                      max_bytes: int = XML_MAX_BYTES) -> pd.DataFrame:
    """Parse one Green Button (ESPI Atom) file into a chunk of electricity readings.

    Parameters
    ----------
    path : path of the XML file.
    meter : meter code for the file's one electricity UsagePoint (``--meter``); ``None`` takes each
        UsagePoint's Atom title as its meter code.
    report : receives errors (bad readings are left out of the result), skipped data and meters seen.
    max_bytes : larger files are refused before reading [bytes].

    Returns
    -------
    DataFrame with columns ``where, line, meter_code, start, end, mwh, quality`` (start/end [UTC epoch s],
    mwh [mWh]; ``line`` is the 1-based ordinal of the IntervalReading in the document), sorted by meter and
    start. See the module docstring for the direction rule. ``attrs["raw"]`` maps each ``where`` to the
    reading as read (``start``, ``duration``, ``value``; a net reading ``value_delivered`` and
    ``value_received``), so that a reading refused later can be written to ``FILE.rejected.csv`` as read.
    """
    too_big = check_size(path, max_bytes)
    if too_big is not None:
        report.refuse(too_big)
        return empty_chunk()
    root = atom.parse_xml(path, report)
    if root is None:
        return empty_chunk()
    if root.tag == ATOM + "feed":
        entry_elements = root.findall(ATOM + "entry")
    elif root.tag == ATOM + "entry":
        entry_elements = [root]
    else:
        report.refuse(RowError("file", "xml", f"this is not a Green Button file: its root element is "
                               f"{atom.local_name(root.tag)!r}, expected an Atom feed"))
        return empty_chunk()
    entries = [atom.read_entry(i, e) for i, e in enumerate(entry_elements, start=1)]

    usage_points = [_UsagePoint(e, _label(e.title or e.self_href or f"entry {e.ordinal}"))
                    for e in entries if e.kind() == "UsagePoint"]
    meter_readings = [e for e in entries if e.kind() == "MeterReading"]
    reading_types = [e for e in entries if e.kind() == "ReadingType"]
    blocks = [e for e in entries if e.kind() == "IntervalBlock"]
    _note_other_resources(entries, report)
    if not usage_points:
        report.refuse(RowError("file", "UsagePoint", "the file has no UsagePoint, so its readings cannot be "
                               "matched to a meter"))
        return empty_chunk()

    electric: list[_UsagePoint] = []
    for up in usage_points:
        kind = (up.entry.resources[0].findtext(f"{ESPI}ServiceCategory/{ESPI}kind") or "").strip()
        if kind == "0":
            electric.append(up)
        elif kind == "":
            report.add_error(RowError(f"UsagePoint {up.label!r}", "ServiceCategory",
                                      "has no ServiceCategory kind, so it is not clear it is electricity"))
        else:
            name = SERVICE_KINDS.get(kind, "unknown service")
            report.skip(f"UsagePoint {up.label!r} (kind {kind}, {name}): skipped, not electricity")

    codes = _meter_codes(electric, meter, report)
    if codes is None:
        return empty_chunk()

    point_of = {up.entry.ordinal: up for up in usage_points}
    mr_links = atom.assign([up.entry for up in usage_points], meter_readings, "MeterReading", "UsagePoint")
    for mr in meter_readings:
        owner = mr_links.owner.get(mr.ordinal)
        if owner is not None:
            point_of[owner.ordinal].meter_readings.append(mr)
        else:
            problem = mr_links.problems[mr.ordinal]
            if problem == "none":
                report.add_error(RowError(f"MeterReading {_label(mr.title or mr.self_href)!r}", "link",
                                          "is linked to no UsagePoint of the file"))
            else:
                report.add_error(RowError(f"MeterReading entry {mr.ordinal}", "link", problem))
    _note_order(mr_links, "MeterReadings", "UsagePoints", report)

    readings: list[_Reading] = []
    has_cost = False
    ordinal = 0
    linked_readings = [mr for up in usage_points for mr in up.meter_readings]
    block_links = atom.assign(linked_readings, blocks, "IntervalBlock", "MeterReading")
    block_owner: dict[int, atom.Entry] = block_links.owner
    for b in blocks:
        problem = block_links.problems.get(b.ordinal)
        if problem == "none":
            report.add_error(RowError(f"IntervalBlock entry {_label(b.self_href) or b.ordinal!r}", "link",
                                      "is linked to no MeterReading of the file"))
        elif problem is not None:  # its hrefs may be the same as its neighbours': name it by its place
            report.add_error(RowError(f"IntervalBlock entry {b.ordinal}", "link", problem))
    _note_order(block_links, "IntervalBlocks", "MeterReadings", report)
    for up in electric:
        code = codes[id(up)]
        block_no = 0
        for mr in up.meter_readings:
            rtype = _reading_type(mr, reading_types, up, report)
            mr_blocks = [b for b in blocks if block_owner.get(b.ordinal) is mr]
            if rtype is None:
                continue
            direction, multiplier = rtype
            for b in mr_blocks:
                for block in b.resources:
                    block_no += 1
                    for k, ir in enumerate(block.findall(ESPI + "IntervalReading"), start=1):
                        ordinal += 1
                        if ir.find(ESPI + "cost") is not None:
                            has_cost = True
                        where = f"UsagePoint {up.label!r}, IntervalBlock {block_no}, IntervalReading {k}"
                        r = _reading(ir, code, direction, multiplier, where, ordinal, report)
                        if r is not None:
                            readings.append(r)
    report.rows_read += ordinal
    if has_cost or any(e.kind() in ("ElectricPowerUsageSummary", "UsageSummary") for e in entries):
        report.skip("cost data: skipped (costs and bill summaries are not stored)")

    rows = _combine(readings, report)
    if not rows:
        if report.error_count == 0 and not electric:
            report.note("the file holds no electricity readings")
        return empty_chunk()
    rows.sort(key=lambda r: (r[2], r[3], r[1]))
    chunk = make_chunk(
        where=[r[0] for r in rows], line=[r[1] for r in rows], meter_code=[r[2] for r in rows],
        start=[r[3] for r in rows], end=[r[4] for r in rows], mwh=[r[5] for r in rows],
        quality=[r[6] for r in rows],
    )
    chunk.attrs["raw"] = {r[0]: r[7] for r in rows}  # where -> the reading as read, for FILE.rejected.csv
    report.count_meters(chunk)
    return chunk


def _note_order(links: atom.Links, children: str, parents: str, report: ParseReport) -> None:
    """A note when entries were linked by document order: the file's hrefs did not tell their parents apart."""
    n = sum(1 for how in links.how.values() if how == "document order")
    if n:
        report.note(f"{n} {children if n != 1 else children[:-1]} linked to their {parents[:-1]} by document order: "
                    f"the {parents} of the file have the same links (redacted?), so each is taken to own the "
                    "entries that follow it")


def _label(text: str) -> str:
    """A name for messages, cut to 64 characters: it is repeated in every reading's ``where``."""
    return text if len(text) <= MAX_METER_CODE else text[:40] + "..."


def _note_other_resources(entries: list[atom.Entry], report: ParseReport) -> None:
    handled = {"UsagePoint", "MeterReading", "ReadingType", "IntervalBlock", "LocalTimeParameters",
               "ElectricPowerUsageSummary", "UsageSummary", ""}
    for kind in sorted({e.kind() for e in entries} - handled):
        report.skip(f"{kind}: skipped (not meter readings)")


def _meter_codes(electric: list[_UsagePoint], meter: str | None, report: ParseReport) -> dict[int, str] | None:
    codes: dict[int, str] = {}
    if meter is not None:
        if not meter.strip():
            report.refuse(RowError("file", "meter", "the meter code given is empty"))
            return None
        if len(meter.strip()) > MAX_METER_CODE:
            report.refuse(RowError("file", "meter", f"the meter code given is {len(meter.strip()):,} characters "
                                   f"long; a meter code has at most {MAX_METER_CODE}"))
            return None
        if len(electric) > 1:
            report.refuse(RowError("file", "meter", (
                f"the file has {len(electric)} electricity UsagePoints ("
                + ", ".join(repr(u.label) for u in electric)
                + "); a meter code can only be given for a file with one. Import it without a meter code to use "
                "each UsagePoint's title as its meter code")))
            return None
        for up in electric:
            codes[id(up)] = meter.strip()
        return codes
    seen: dict[str, _UsagePoint] = {}
    ok = True
    for up in electric:
        title = up.entry.title
        if not title:
            report.add_error(RowError(f"UsagePoint {_label(up.entry.self_href) or up.entry.ordinal!r}", "title",
                                      "has no title to use as the meter code; give the meter code when "
                                      "importing or set the title to the meter code"))
            ok = False
        elif len(title) > MAX_METER_CODE:
            report.add_error(RowError(f"UsagePoint {up.label!r}", "title", f"is {len(title):,} characters long; a "
                                      f"meter code has at most {MAX_METER_CODE}. Give the meter code when importing"))
            ok = False
        elif title in seen:
            report.add_error(RowError(f"UsagePoint {title!r}", "title", "two electricity UsagePoints have this "
                                      "title; each must name its own meter"))
            ok = False
        else:
            seen[title] = up
            codes[id(up)] = title
    return codes if ok else None


def _reading_type(mr: atom.Entry, reading_types: list[atom.Entry], up: _UsagePoint, report: ParseReport
                  ) -> tuple[int, int] | None:
    """(flowDirection, powerOfTenMultiplier) of a MeterReading worth storing, else ``None`` (noted)."""
    label = f"UsagePoint {up.label!r}, MeterReading {_label(mr.title or mr.self_href)!r}"
    found = [rt for rt in reading_types if rt.self_href and rt.self_href in mr.related]
    if len(found) != 1:
        report.add_error(RowError(label, "ReadingType", "has no ReadingType, so the unit of its values is unknown"
                                  if not found else "has several ReadingTypes"))
        return None
    rt = found[0].resources[0]

    def text(name: str) -> str:
        return (rt.findtext(ESPI + name) or "").strip()

    uom, flow, acc, mult = text("uom"), text("flowDirection") or "1", text("accumulationBehaviour"), \
        text("powerOfTenMultiplier") or "0"
    if uom != str(UOM_WH):
        report.skip(f"{label}: unit uom {uom or '(none)'} ({UOM_NAMES.get(uom, 'not energy in Wh')}): skipped, "
                    "only electricity energy in Wh is stored")
        return None
    if acc and acc != str(DELTA_DATA):
        report.skip(f"{label}: accumulationBehaviour {acc} (not energy per interval, e.g. meter register "
                    "readings): skipped")
        return None
    if flow not in (str(FORWARD), str(REVERSE)):
        report.skip(f"{label}: flowDirection {flow} ({FLOW_NAMES.get(flow, 'unknown')}): skipped, only "
                    "delivered (1) and received (19) energy is stored")
        return None
    if (power := _whole(mult)) is None or not -12 <= power <= 12:
        report.add_error(RowError(label, "powerOfTenMultiplier", f"{quoted(mult)} is not a whole number from -12 "
                                  "to 12"))
        return None
    return int(flow), power


def _reading(ir: Element, meter: str, direction: int, multiplier: int, where: str, ordinal: int,
             report: ParseReport) -> _Reading | None:
    raw = {"start": (ir.findtext(f"{ESPI}timePeriod/{ESPI}start") or "").strip(),
           "duration": (ir.findtext(f"{ESPI}timePeriod/{ESPI}duration") or "").strip(),
           "value": (ir.findtext(ESPI + "value") or "").strip()}
    errors = []
    start, duration, value = _whole(raw["start"]), _whole(raw["duration"]), _whole(raw["value"])
    if start is None:
        errors.append(RowError(where, "timePeriod/start", f"{quoted(raw['start'])} is not a whole number of "
                               "seconds since 1970-01-01 UTC" if raw["start"] else "is missing"))
    elif not EARLIEST_EPOCH <= start < LATEST_EPOCH:
        errors.append(RowError(where, "timePeriod/start", f"{quoted(raw['start'])} is outside the years 1970 to "
                               "2099"))
    if duration is None or duration <= 0:
        errors.append(RowError(where, "timePeriod/duration", f"{quoted(raw['duration'])} is not a whole number "
                               "of seconds greater than 0" if raw["duration"] else "is missing"))
    elif duration > MAX_INTERVAL_SECONDS:
        errors.append(RowError(where, "timePeriod/duration", f"{quoted(raw['duration'])} seconds is longer than "
                               f"{MAX_INTERVAL_SECONDS // 86_400} days, the longest interval one reading may "
                               "cover"))
    elif not errors and start + duration > LATEST_EPOCH:
        errors.append(RowError(where, "timePeriod/duration", f"{duration:,} seconds from the start ends after the "
                               "year 2099"))
    mwh = 0
    if value is None:
        errors.append(RowError(where, "value", f"{quoted(raw['value'])} is not a whole number" if raw["value"]
                               else "is missing"))
    else:
        scaled = Decimal(value).scaleb(multiplier + 3)  # Wh x 10^mult -> mWh
        if abs(scaled) > MAX_READING_MWH:
            errors.append(RowError(where, "value", f"{quoted(raw['value'])} x 10^{multiplier} Wh is too large for "
                                   f"one reading (the limit is {MAX_READING_MWH // MWH_PER_KWH:,} kWh)"))
        elif scaled != scaled.to_integral_value():
            errors.append(RowError(where, "value", f"{raw['value']} x 10^{multiplier} Wh is finer than 1 mWh"))
        else:
            mwh = int(scaled)
    if errors:
        for e in errors:
            report.add_error(RowError(e.where, e.field, e.reason, raw=raw))
        return None
    estimated = any((q.text or "").strip() in ESTIMATED_QUALITIES
                    for q in ir.iter(ESPI + "quality"))
    return _Reading(meter, direction, start, duration, mwh, estimated, where, ordinal, raw)


def _combine(readings: list[_Reading], report: ParseReport) -> list[tuple]:
    """Refuse duplicate starts and apply the direction rule; returns rows (where, line, meter, start, end,
    mwh, quality, raw as read)."""
    by_meter: dict[str, dict[int, dict[int, _Reading]]] = {}
    for r in readings:
        per_dir = by_meter.setdefault(r.meter, {}).setdefault(r.direction, {})
        other = per_dir.get(r.start)
        if other is not None:
            report.add_error(RowError(r.where, "timePeriod/start", (
                f"starts at {r.start} ({pd.Timestamp(r.start, unit='s', tz='UTC'):%Y-%m-%d %H:%M} UTC), the same "
                f"time as {other.where}; each interval may appear once"),
                raw=r.raw))
            continue
        per_dir[r.start] = r
    rows: list[tuple] = []
    for code, dirs in by_meter.items():
        fwd, rev = dirs.get(FORWARD, {}), dirs.get(REVERSE, {})
        if fwd and rev:
            for start in sorted(set(fwd) | set(rev)):
                f, v = fwd.get(start), rev.get(start)
                if f is None or v is None:
                    have = f or v
                    missing = "received (flowDirection 19)" if v is None else "delivered (flowDirection 1)"
                    report.add_error(RowError(have.where, "timePeriod/start", (
                        f"meter {code!r} has readings of both directions, but no {missing} reading for the "
                        "interval starting here; the net cannot be computed")))
                    continue
                if f.duration != v.duration:
                    report.add_error(RowError(v.where, "timePeriod/duration", (
                        f"lasts {v.duration} s but the delivered reading of the same start ({f.where}) lasts "
                        f"{f.duration} s")))
                    continue
                quality = "estimated" if f.estimated or v.estimated else "actual"
                rows.append((f"{f.where} (delivered) and {v.where} (received)", min(f.ordinal, v.ordinal), code,
                             start, start + f.duration, v.mwh - f.mwh, quality,
                             {"start": f.raw["start"], "duration": f.raw["duration"],
                              "value_delivered": f.raw["value"], "value_received": v.raw["value"]}))
        else:
            for r in (fwd or rev).values():
                rows.append((r.where, r.ordinal, code, r.start, r.start + r.duration, r.mwh,
                             "estimated" if r.estimated else "actual", r.raw))
    return rows

