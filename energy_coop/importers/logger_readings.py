"""The JSON body a data logger sends with its readings (SPEC section 20), read into a chunk of exact readings.

``POST /api/v1/meters/{meter_code}/readings`` takes::

    {"readings": [
        {"start": "2024-03-01T00:00:00Z", "interval_minutes": 15, "kwh": "0.125"},
        {"start": "2024-03-01T00:15:00+01:00", "end": "2024-03-01T00:30:00+01:00", "kwh": 0.25,
         "quality": "estimated"}
    ]}

Each reading holds ``start``, exactly one of ``end`` or ``interval_minutes``, ``kwh`` and optionally ``quality``:
the columns of the CSV of SPEC section 4, with the meter code taken from the address. Every value is judged by
the very rules of a CSV row (:func:`energy_coop.importers.metering.csv_readings` validates them, with the field
checks of :mod:`energy_coop.importers.metering.csv_fields`), so a reading the API takes is one a file would.
JSON adds only its types: ``start`` and ``end`` are text, ``interval_minutes`` a whole number, ``quality`` text
(or null), and ``kwh`` decimal text or a JSON number. A JSON number is read as the decimal text it is written
with (``parse_float=Decimal``), never through a binary float, so ``0.1`` is exactly 100 mWh and ``1e-7`` is
refused as finer than 1 mWh. ``NaN`` and ``Infinity`` are not JSON and are refused.

A problem is named by the reading's index in ``readings`` (``where`` = ``"readings[3]"``), its field and the
reason. The body itself is refused whole (``report.fatal``) when it is not a JSON object with a ``readings``
list, holds other top-level fields, or is larger than :data:`MAX_BODY_BYTES` bytes or
:data:`MAX_READINGS` readings; ``too_large`` says when the bytes alone are too many (the entry point's 413:
it is refused before it is read), while too many readings is a body against its schema like any other.

:func:`canonical_sha256` is the SHA-256 of the body's meaning, not of its bytes: the meter code and the
readings with sorted keys and no spaces, numbers as their decimal text. It names the import batch (its
``sha256``) and decides whether a repeated idempotency key carries the same request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from energy_coop.importers.metering.common import ParseReport, RowError, empty_chunk, quoted
from energy_coop.importers.metering.csv_readings import _validate as validate_csv_rows

#: Most readings one request may carry; a logger with more sends several requests.
MAX_READINGS = 10_000
#: Largest body one request may carry [bytes]: 10,000 readings written out in full fit in well under 2 MiB.
MAX_BODY_BYTES = 4 * 1024**2
READING_FIELDS = ("start", "end", "interval_minutes", "kwh", "quality")
_FIELD_LIST = "start, end or interval_minutes, kwh and (optionally) quality"


def where_of(index: int) -> str:
    """How a reading is named in a refusal: its index in the body's ``readings`` list (from 0)."""
    return f"readings[{index}]"


@dataclass
class LoggerBody:
    """A logger's body as read: the good readings (a chunk of :mod:`energy_coop.importers.metering.common`,
    ``where`` = ``readings[i]``), every problem in ``report``, the body's :func:`canonical_sha256` (empty when the
    body is not JSON) and whether it was refused for its bytes alone (``too_large``)."""

    chunk: pd.DataFrame
    report: ParseReport
    sha256: str = ""
    count: int = 0
    too_large: bool = False
    readings: list[Any] = field(default_factory=list)


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number; write the energy as a decimal number or text, e.g. 0.125")


def load_json(data: bytes) -> Any:
    """The JSON document ``data`` with every number as a :class:`Decimal` (never a float); raises ``ValueError``
    in words for anything that is not JSON (also ``NaN``/``Infinity`` and nesting too deep to read)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the body is not UTF-8 text (byte {exc.start} cannot be read); send JSON in UTF-8") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant)
    except _NotJson as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:
        raise ValueError("the body is nested too deeply to be read; a reading body is an object holding one list "
                         "of flat objects") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$number": str(value)}
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def canonical_sha256(meter_code: str, document: Any) -> str:
    """SHA-256 (hex) of the meter code and the document with sorted keys, no spaces, numbers as their text."""
    text = json.dumps({"meter_code": meter_code, "body": _canonical(document)}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _kwh_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return None


def _minutes_text(value: Any) -> str | None:
    if isinstance(value, Decimal):
        return str(value)  # an integer JSON number is its digits; 15.0 stays "15.0" and is refused as a CSV's is
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _one(index: int, reading: Any, errors: list[RowError]) -> dict[str, str] | None:
    """One reading's values as CSV text, or None after naming what in its JSON shape is wrong."""
    where = where_of(index)
    if not isinstance(reading, dict):
        errors.append(RowError(where, "reading", f"is {_type_name(reading)}, not an object with {_FIELD_LIST}"))
        return None
    problems: list[RowError] = []
    for key in reading:
        if key not in READING_FIELDS:
            problems.append(RowError(where, key if len(key) <= 40 else quoted(key),
                                     f"is not a field of a reading; a reading has {_FIELD_LIST}"))
    row: dict[str, str] = {}
    for name in ("start", "end"):
        if name in reading:
            value = reading[name]
            if isinstance(value, str):
                row[name] = value
            else:
                problems.append(RowError(where, name, f"is {_type_name(value)}; give a date and time in ISO 8601 "
                                         "text with a UTC offset, e.g. \"2024-03-01T00:15:00+01:00\""))
        elif name == "start":
            problems.append(RowError(where, "start", "is missing; every reading needs its start"))
    if "interval_minutes" in reading:
        text = _minutes_text(reading["interval_minutes"])
        if text is None:
            problems.append(RowError(where, "interval_minutes", f"is {_type_name(reading['interval_minutes'])}; "
                                     "give the interval length as a whole number of minutes, e.g. 15"))
        else:
            row["interval_minutes"] = text
    if "end" in reading and "interval_minutes" in reading:
        problems.append(RowError(where, "interval_minutes", "is given with end; give one of end or "
                                 "interval_minutes"))
    elif "end" not in reading and "interval_minutes" not in reading:
        problems.append(RowError(where, "end", "is missing, and so is interval_minutes; give one of them"))
    if "kwh" in reading:
        text = _kwh_text(reading["kwh"])
        if text is None:
            problems.append(RowError(where, "kwh", f"is {_type_name(reading['kwh'])}; give the energy in kWh as a "
                                     "number or decimal text, e.g. 0.125"))
        else:
            row["kwh"] = text
    else:
        problems.append(RowError(where, "kwh", "is missing; give the energy in kWh (0 if there was none)"))
    quality = reading.get("quality")
    if quality is None:
        row["quality"] = ""
    elif isinstance(quality, str):
        row["quality"] = quality
    else:
        problems.append(RowError(where, "quality", f"is {_type_name(quality)}; use \"actual\" or \"estimated\""))
    if problems:
        errors.extend(problems)
        return None
    return row


def _validate_group(meter_code: str, indexes: list[int], rows: list[dict[str, str]], has_end: bool,
                    errors: list[RowError]) -> pd.DataFrame:
    """The CSV rules on the readings ``rows`` (at ``indexes`` in the body), all with ``end`` or all with
    ``interval_minutes``: their good readings as a chunk, their problems added to ``errors``."""
    names = ["meter_code", "start", "end" if has_end else "interval_minutes", "kwh", "quality"]
    raw = pd.DataFrame({n: [meter_code] * len(rows) if n == "meter_code" else [r[n] for r in rows] for n in names},
                       dtype=object)
    sub = ParseReport(max_errors=MAX_READINGS * len(READING_FIELDS))
    chunk = validate_csv_rows(raw, 0, names, has_end, None, None, sub)
    position = np.asarray(indexes, dtype=np.int64)
    for e in sub.errors:  # "line k" is the k-th row of the group (from 0)
        errors.append(RowError(where_of(int(position[int(e.where[5:])])), e.field, e.reason))
    line = position[chunk["line"].to_numpy(dtype=np.int64)]
    chunk["line"] = line + 1
    chunk["where"] = pd.array([where_of(int(i)) for i in line.tolist()], dtype="str")
    return chunk


def parse_logger_body(data: bytes, meter_code: str) -> LoggerBody:
    """Read a logger's body (bytes as received) for the meter ``meter_code`` (see the module docstring)."""
    report = ParseReport(max_errors=1000)
    body = LoggerBody(chunk=empty_chunk(), report=report)
    if len(data) > MAX_BODY_BYTES:
        body.too_large = True
        report.refuse(RowError("body", "", f"the body is {len(data):,} bytes; the most one request may carry is "
                               f"{MAX_BODY_BYTES:,} bytes ({MAX_READINGS:,} readings). Send the readings in "
                               "several requests"))
        return body
    try:
        document = load_json(data)
    except ValueError as exc:
        report.refuse(RowError("body", "", str(exc)))
        return body
    body.sha256 = canonical_sha256(meter_code, document)
    if not isinstance(document, dict):
        report.refuse(RowError("body", "", f"the body is {_type_name(document)}; send an object "
                               "{\"readings\": [...]}"))
        return body
    unknown = [k for k in document if k != "readings"]
    if unknown:
        for key in unknown:
            report.add_error(RowError("body", key if len(key) <= 40 else quoted(key), "is not a field of the body; "
                                      "the body holds one field, readings"))
        report.fatal = True
    readings = document.get("readings")
    if "readings" not in document or not isinstance(readings, list):
        report.refuse(RowError("body", "readings", ("is missing" if "readings" not in document else
                                                   f"is {_type_name(readings)}, not a list")
                               + f"; send {{\"readings\": [...]}}, each reading with {_FIELD_LIST}"))
        return body
    if report.fatal:
        return body
    body.count = len(readings)
    if not readings:
        report.refuse(RowError("body", "readings", "is an empty list; send at least one reading"))
        return body
    if len(readings) > MAX_READINGS:
        report.refuse(RowError("body", "readings", f"holds {len(readings):,} readings; the most one request may "
                               f"carry is {MAX_READINGS:,}. Send them in several requests"))
        return body
    body.readings = readings

    errors: list[RowError] = []
    groups: dict[bool, tuple[list[int], list[dict[str, str]]]] = {True: ([], []), False: ([], [])}
    for index, reading in enumerate(readings):
        row = _one(index, reading, errors)
        if row is not None:
            has_end = "end" in row
            groups[has_end][0].append(index)
            groups[has_end][1].append(row)
    chunks = [_validate_group(meter_code, idx, rows, has_end, errors)
              for has_end, (idx, rows) in groups.items() if rows]
    order = {f: i for i, f in enumerate(READING_FIELDS)}
    errors.sort(key=lambda e: (int(e.where[9:-1]), order.get(e.field, -1)))
    report.add_errors(errors)
    if chunks:
        chunk = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
        body.chunk = chunk.sort_values("line", kind="stable").reset_index(drop=True)
    return body
