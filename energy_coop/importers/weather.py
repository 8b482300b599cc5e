"""Weather files: the forecast weather CSV (SPEC section 7), daily temperatures, and the typical years.

Readers only: each returns plain pandas values (or refuses with every bad row named) for
:mod:`energy_coop.calc`, which reads no files. The typical meteorological years (TMY3) that ship inside pvlib are chosen here, in one
place (:func:`typical_year_file`), and read once per process (:func:`typical_year`).

**The weather CSV** (:func:`read_weather_csv`)

The CSV has a header row and these columns (names are case-insensitive, surrounding spaces ignored):

* ``time``: ISO 8601 timestamp **with** a UTC offset (``Z`` or ``+hh:mm``), the *start* of the interval the
  row's values describe. Offsets may differ between rows (a file written in local time across a DST change).
* any two (or all three) of ``ghi``, ``dni``, ``dhi``: interval-average irradiance [W/m²];
* or, instead of irradiance, ``cloud_cover``: total cloud cover [%], 0..100;
* optional ``temp_air`` [°C] and ``wind_speed`` [m/s].

Other columns are ignored and listed in the notes.

Rules for values (the outcome of each rule is a refusal or a note; nothing is changed silently):

===============================  ==================================================================
value                            outcome
===============================  ==================================================================
empty or not a number            refused
irradiance in [-10, 0) W/m²      clipped to 0, counted in a note (night-time sensor offset is common)
irradiance below -10 W/m²        refused (not an offset: a broken sensor or a wrong column)
ghi above 1500 W/m²              refused (above the highest cloud-enhanced ground measurements)
dni above 1450 W/m²              refused (above the extraterrestrial irradiance, ~1412 W/m² maximum)
dhi above 1000 W/m²              refused
temp_air outside -60..60 °C      refused (°F or K in a °C column, or a sensor fault)
wind_speed below 0 or above 75   refused (km/h in a m/s column is the usual cause)
cloud_cover outside 0..100 %     refused (a 0..1 fraction cannot be told apart from 0..1 %, so keep %)
===============================  ==================================================================

Times must be strictly increasing with one constant step: a duplicated time, a time going backwards and a gap
(or any other change of step) are refused with the line numbers involved.

Every refusal raises :class:`~energy_coop.weather_rules.WeatherError`; its message lists every problem found
(the first :data:`~energy_coop.weather_rules.MAX_LISTED_PROBLEMS`), each with the file line (the header is
line 1) and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import math
import os
import stat
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pvlib

from energy_coop.weather_rules import (
    IRRADIANCE_COLUMNS,
    KNOWN_COLUMNS,
    TEMP_RANGE_C,
    SavingsDataError,
    WeatherError,
    check_ranges,
    columns_problem,
)

#: The folder of the typical meteorological years (TMY3 format) that ship inside pvlib.
TMY_DIR = Path(pvlib.__file__).parent / "data"
GREENSBORO_TMY = "723170TYA.CSV"  # Greensboro Piedmont Triad Intl, NC
SAND_POINT_TMY = "703165TY.csv"  # Sand Point, AK
#: Each shipped TMY3 file by its station's (latitude, longitude) [degrees]. Sand Point (Alaska) is pvlib's own
#: default but is far cloudier than most co-ops' sites.
SHIPPED_TMY = {GREENSBORO_TMY: (36.1, -79.95), SAND_POINT_TMY: (55.317, -160.517)}
#: The typical year of a place with no position on record (a premises): the co-op's own, Greensboro.
DEFAULT_TMY = GREENSBORO_TMY


# ------------------------------------------------------------------------------------------ the typical year


def typical_year_file(latitude: float | None = None, longitude: float | None = None) -> str:
    """Path of the shipped TMY3 file nearest to a site (great-circle distance); :data:`DEFAULT_TMY` without one.

    The one place that decides which typical year an asset (its latitude and longitude [degrees]) or a
    premises (no position: the default) is given.
    """
    if latitude is None or longitude is None:
        return str(TMY_DIR / DEFAULT_TMY)

    def distance(lat2: float, lon2: float) -> float:
        p1, p2 = math.radians(latitude), math.radians(lat2)
        dl = math.radians(lon2 - longitude)
        cosine = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
        return math.acos(max(-1.0, min(1.0, cosine)))

    name = min(SHIPPED_TMY, key=lambda n: distance(*SHIPPED_TMY[n]))
    return str(TMY_DIR / name)


@functools.lru_cache(maxsize=4)
def _read_tmy3(path: str) -> tuple[pd.DataFrame, dict]:
    return pvlib.iotools.read_tmy3(path, coerce_year=1990, map_variables=True)


def typical_year(path: str | os.PathLike) -> tuple[pd.DataFrame, dict]:
    """A TMY3 file as ``(hourly data, metadata)`` from :py:func:`pvlib.iotools.read_tmy3` (year coerced to 1990,
    pvlib's variable names: ``ghi``, ``dni``, ``dhi`` [W/m²], ``temp_air`` [°C], ``wind_speed`` [m/s],
    ``pressure`` [mbar]; ``latitude``, ``longitude`` [degrees], ``altitude`` [m] in the metadata).

    Rows are stamped hour-ENDING in local standard time. Read once per process per file; each call returns a copy.
    """
    data, meta = _read_tmy3(os.fspath(path))
    return data.copy(), dict(meta)


# ----------------------------------------------------------------------------------------- the weather CSV


def _source_name(path_or_buffer) -> str:
    if isinstance(path_or_buffer, (str, os.PathLike)):
        return f"weather file {os.fspath(path_or_buffer)!r}"
    return "weather file"


#: Largest weather file read [bytes]: a year of 5-minute rows is about 10 MiB.
MAX_WEATHER_BYTES = 64 * 1024**2


def _open_text(path_or_buffer) -> tuple[IO[str], bool]:
    """The file as text. A path must be a regular file (a FIFO would block) under :data:`MAX_WEATHER_BYTES`,
    and UTF-8 text: anything else (a PNG, a spreadsheet) is a :class:`WeatherError` naming the line."""
    if isinstance(path_or_buffer, (str, os.PathLike)):
        source = _source_name(path_or_buffer)
        status = os.stat(path_or_buffer)
        if not stat.S_ISREG(status.st_mode):
            raise WeatherError(["it is not a regular file (a folder, a device or a pipe); give a CSV file"], source)
        if status.st_size > MAX_WEATHER_BYTES:
            raise WeatherError([f"the file is {status.st_size:,} bytes; the limit for a weather file is "
                                f"{MAX_WEATHER_BYTES:,} bytes"], source)
        with open(path_or_buffer, "rb") as fh:
            data = fh.read(MAX_WEATHER_BYTES + 1)
        return io.StringIO(_decoded(data, source), newline=""), True
    if isinstance(path_or_buffer, io.TextIOBase):
        return path_or_buffer, False
    return io.TextIOWrapper(path_or_buffer, encoding="utf-8-sig", newline=""), False


def _decoded(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise WeatherError([f"line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text; is this a CSV file? "
                            "Save the weather data as CSV (UTF-8)"], source) from None


def _parse_time(text: str) -> tuple[pd.Timestamp | None, str | None]:
    text = text.strip()
    if not text:
        return None, "time is empty"
    shown = repr(text) if len(text) <= 40 else f"{text[:40]!r}..."
    if not text.isascii():  # datetime reads other scripts' digits too; dates are written in ASCII digits
        return None, f"time {shown} is not an ISO 8601 timestamp (write its digits as 0-9)"
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        return None, f"time {shown} is not an ISO 8601 timestamp"
    if value.tzinfo is None or value.utcoffset() is None:
        return None, (
            f"time {shown} has no UTC offset (a naive timestamp); write it with its offset, "
            "e.g. 2024-06-01T12:00:00+02:00 or 2024-06-01T10:00:00Z"
        )
    try:
        return pd.Timestamp(value).tz_convert("UTC"), None
    except (ValueError, OverflowError):  # pandas' range: the years 1677 to 2262
        return None, f"time {shown} is outside the years 1677 to 2262 that forecasts can handle"


def _parse_number(text: str) -> tuple[float | None, str | None]:
    stripped = text.strip()
    if not stripped:
        return None, "is empty"
    shown = repr(stripped) if len(stripped) <= 40 else f"{stripped[:40]!r}..."
    if not stripped.isascii():  # float() reads other scripts' digits too
        return None, f"{shown} is not a number (write its digits as 0-9)"
    try:
        value = float(stripped)
    except ValueError:
        return None, f"{shown} is not a number"
    if not math.isfinite(value):
        return None, f"{shown} is not a finite number"
    return value, None


def read_weather_csv(path_or_buffer, *, interval: pd.Timedelta | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read and check a weather CSV (SPEC section 7; the rules are in this module's docstring).

    Parameters
    ----------
    path_or_buffer : str, PathLike or file-like
        The CSV file (UTF-8, header row).
    interval : Timedelta, optional
        The expected step between rows. Needed only for a file of one row; otherwise the step is the one
        between the first two rows and every other step must equal it.

    Returns
    -------
    weather : DataFrame
        Indexed by ``time`` (tz-aware, UTC, interval start), with the columns of the file among
        ``ghi``, ``dni``, ``dhi`` [W/m²], ``temp_air`` [°C], ``wind_speed`` [m/s], ``cloud_cover`` [%],
        as floats.
    notes : list of str
        What was changed or ignored (clipped values, ignored columns), in plain words.

    Raises
    ------
    WeatherError
        Listing every problem with its line and column.
    """
    source = _source_name(path_or_buffer)
    handle, owned = _open_text(path_or_buffer)
    reader = csv.reader(handle)
    try:
        return _read_rows(reader, source, interval)
    except csv.Error as exc:
        raise WeatherError([f"line {reader.line_num}: cannot be read as CSV ({exc})"], source) from None
    except UnicodeDecodeError:
        raise WeatherError([f"line {reader.line_num + 1}: is not UTF-8 text; is this a CSV file? Save the "
                            "weather data as CSV (UTF-8)"], source) from None
    finally:
        if owned:
            handle.close()


def _read_rows(reader, source: str, interval: pd.Timedelta | None) -> tuple[pd.DataFrame, list[str]]:
    try:
        header = next(reader)
    except StopIteration:
        raise WeatherError(["the file is empty (no header row)"], source) from None
    names = [h.strip().lower() for h in header]
    duplicated = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicated:
        raise WeatherError([f"line 1: column(s) {', '.join(map(repr, duplicated))} appear more than once"], source)
    problem = columns_problem(names)
    if problem:
        raise WeatherError([f"line 1: {problem}"], source)
    notes: list[str] = []
    ignored = [h for h, n in zip(header, names) if n not in KNOWN_COLUMNS]
    if ignored:
        notes.append("ignored column(s) " + ", ".join(repr(c) for c in ignored) + " (not used by forecasts)")
    used = [n for n in names if n in KNOWN_COLUMNS and n != "time"]
    present_irr = [c for c in IRRADIANCE_COLUMNS if c in names]
    if len(present_irr) >= 2 and "cloud_cover" in names:
        notes.append("the file has both irradiance and cloud_cover: irradiance is used, cloud_cover is kept")
    position = {n: i for i, n in enumerate(names)}

    problems: list[str] = []
    times: list[pd.Timestamp | None] = []
    lines: list[int] = []
    values = {c: [] for c in used}
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines carry nothing
        if len(row) != len(header):
            problems.append(f"line {line}: has {len(row)} fields, the header has {len(header)}")
            continue
        t, err = _parse_time(row[position["time"]])
        if err:
            problems.append(f"line {line}, column 'time': {err}")
        times.append(t)
        lines.append(line)
        for c in used:
            v, err = _parse_number(row[position[c]])
            if err:
                problems.append(f"line {line}, column {c!r}: value {err}")
            values[c].append(v)

    if not lines:
        problems.append("the file has a header but no data rows")
    if problems:
        raise WeatherError(problems, source)

    problems += _time_problems(times, lines, interval)
    frame = pd.DataFrame(
        {c: np.asarray(v, dtype=float) for c, v in values.items()},
        index=pd.DatetimeIndex(times, name="time"),
    )
    row_lines = np.asarray(lines)
    frame, range_problems, range_notes = check_ranges(frame, lambda i: f"line {row_lines[i]}")
    problems += range_problems
    notes += range_notes
    if problems:
        raise WeatherError(problems, source)
    return frame, notes


def _time_problems(times: list[pd.Timestamp], lines: list[int], interval: pd.Timedelta | None) -> list[str]:
    problems = []
    if len(times) == 1 and interval is None:
        return [f"line {lines[0]}: a file of one row does not show its interval; give the interval explicitly"]
    step = interval if interval is not None else times[1] - times[0]
    if step <= pd.Timedelta(0):
        step = None
    for i in range(1, len(times)):
        prev, cur = times[i - 1], times[i]
        if cur == prev:
            problems.append(
                f"line {lines[i]}, column 'time': {cur.isoformat()} is the same time as line {lines[i - 1]} "
                "(duplicated row)"
            )
        elif cur < prev:
            problems.append(
                f"line {lines[i]}, column 'time': {cur.isoformat()} comes before line {lines[i - 1]}'s "
                f"{prev.isoformat()} (times must increase)"
            )
        elif step is not None and cur - prev != step:
            kind = "a gap" if cur - prev > step else "an irregular step"
            problems.append(
                f"line {lines[i]}, column 'time': {kind}: {cur - prev} after line {lines[i - 1]}, "
                f"expected every {step}"
            )
    return problems



# ----------------------------------------------------------------------------------- daily temperatures


def read_daily_temperatures(source: str | os.PathLike | IO[str]) -> pd.Series:
    """Read a CSV of daily mean temperatures: header ``date,temp_mean_c``; one row per local date.

    ``date`` is ``YYYY-MM-DD``; ``temp_mean_c`` the day's mean outdoor temperature [°C]. Refused with every bad
    row named (line number, the header is line 1): a missing column, an unknown column, a bad date, a value
    that is empty, not a number or outside −60..60 °C (°F or K in a °C column), a date given twice.
    Returns a float Series named ``temp_mean_c`` indexed by ``datetime.date``, sorted.
    """
    name = getattr(source, "name", None) or str(source)
    if isinstance(source, (str, os.PathLike)):
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SavingsDataError(f"temperature file {name}: cannot be read ({exc})") from None
        fh: IO[str] = io.StringIO(text)
    else:
        fh = source
    reader = csv.reader(fh)
    header = [h.strip().lower() for h in next(reader, [])]
    required = ["date", "temp_mean_c"]
    if sorted(header) != sorted(required):
        missing = [c for c in required if c not in header]
        unknown = [c for c in header if c not in required]
        parts = []
        if missing:
            parts.append("missing column(s): " + ", ".join(missing))
        if unknown:
            parts.append("unknown column(s): " + ", ".join(unknown))
        if not parts:
            parts.append("a column is given twice")
        raise SavingsDataError(f"temperature file {name} refused: the header must be date,temp_mean_c", parts)
    i_date, i_temp = header.index("date"), header.index("temp_mean_c")
    problems: list[str] = []
    values: dict[dt.date, float] = {}
    first_line: dict[dt.date, int] = {}
    for line, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 2:
            problems.append(f"line {line}: expected 2 values, found {len(row)}")
            continue
        raw_date, raw_temp = row[i_date].strip(), row[i_temp].strip()
        day = None
        try:
            day = dt.date.fromisoformat(raw_date)
            if len(raw_date) != 10:
                raise ValueError
        except ValueError:
            problems.append(f"line {line}, column date: {raw_date!r} is not a date like 2024-01-31")
            day = None
        try:
            temp = float(raw_temp)
            if not math.isfinite(temp):
                raise ValueError
        except ValueError:
            problems.append(f"line {line}, column temp_mean_c: {raw_temp!r} is not a number")
            continue
        if not TEMP_RANGE_C[0] <= temp <= TEMP_RANGE_C[1]:
            problems.append(f"line {line}, column temp_mean_c: {raw_temp} °C is outside −60..60 °C "
                            "(°F or kelvin in a °C column?)")
            continue
        if day is None:
            continue
        if day in values:
            problems.append(f"line {line}, column date: {day} is also on line {first_line[day]}")
            continue
        values[day] = temp
        first_line[day] = line
    if problems:
        raise SavingsDataError(f"temperature file {name} refused ({len(problems)} problem(s))", problems)
    if not values:
        raise SavingsDataError(f"temperature file {name} refused: it has no rows")
    return pd.Series(values, name="temp_mean_c", dtype=float).sort_index()


__all__: Iterable[str] = [
    "read_daily_temperatures",
    "read_weather_csv",
    "typical_year",
    "typical_year_file",
]
