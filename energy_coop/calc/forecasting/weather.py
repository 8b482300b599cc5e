"""Weather input for forecasts (SPEC section 7): read a weather CSV, complete irradiance, cloud cover fallback.

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

Every refusal raises :class:`WeatherError`; its message lists every problem found (the first
:data:`MAX_LISTED_PROBLEMS`), each with the file line (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from datetime import datetime
from typing import IO

import numpy as np
import pandas as pd
import pvlib

IRRADIANCE_COLUMNS = ("ghi", "dni", "dhi")
OPTIONAL_COLUMNS = ("temp_air", "wind_speed", "cloud_cover")
KNOWN_COLUMNS = ("time",) + IRRADIANCE_COLUMNS + OPTIONAL_COLUMNS

#: Negative irradiance down to this value [W/m²] is a sensor offset: clipped to 0 and noted.
NEGATIVE_IRRADIANCE_TOLERANCE = -10.0
#: Upper bounds [W/m²] above which irradiance is refused.
IRRADIANCE_MAX = {"ghi": 1500.0, "dni": 1450.0, "dhi": 1000.0}
TEMP_AIR_RANGE = (-60.0, 60.0)  # [°C]
WIND_SPEED_RANGE = (0.0, 75.0)  # [m/s]
CLOUD_COVER_RANGE = (0.0, 100.0)  # [%]
MAX_LISTED_PROBLEMS = 20

#: Default offset of the cloud-cover to GHI relation (Larson et al. 2016 style linear scaling) [unitless].
CLOUD_COVER_OFFSET = 0.35


class WeatherError(ValueError):
    """A weather file or frame that cannot be used; ``problems`` lists every reason, ``str()`` summarises."""

    def __init__(self, problems: list[str], source: str = "weather file"):
        self.problems = list(problems)
        shown = self.problems[:MAX_LISTED_PROBLEMS]
        more = len(self.problems) - len(shown)
        text = f"{source} refused: " + "; ".join(shown)
        if more > 0:
            text += f"; and {more} more problem(s)"
        super().__init__(text)


def _source_name(path_or_buffer) -> str:
    if isinstance(path_or_buffer, (str, os.PathLike)):
        return f"weather file {os.fspath(path_or_buffer)!r}"
    return "weather file"


def _open_text(path_or_buffer) -> tuple[IO[str], bool]:
    if isinstance(path_or_buffer, (str, os.PathLike)):
        return open(path_or_buffer, newline="", encoding="utf-8-sig"), True
    if isinstance(path_or_buffer, io.TextIOBase):
        return path_or_buffer, False
    return io.TextIOWrapper(path_or_buffer, encoding="utf-8-sig", newline=""), False


def _parse_time(text: str) -> tuple[pd.Timestamp | None, str | None]:
    text = text.strip()
    if not text:
        return None, "time is empty"
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        return None, f"time {text!r} is not an ISO 8601 timestamp"
    if value.tzinfo is None or value.utcoffset() is None:
        return None, (
            f"time {text!r} has no UTC offset (a naive timestamp); write it with its offset, "
            "e.g. 2024-06-01T12:00:00+02:00 or 2024-06-01T10:00:00Z"
        )
    return pd.Timestamp(value).tz_convert("UTC"), None


def _parse_number(text: str) -> tuple[float | None, str | None]:
    stripped = text.strip()
    if not stripped:
        return None, "is empty"
    try:
        value = float(stripped)
    except ValueError:
        return None, f"{stripped!r} is not a number"
    if not math.isfinite(value):
        return None, f"{stripped!r} is not a finite number"
    return value, None


def _columns_problem(found: list[str]) -> str | None:
    present = [c for c in IRRADIANCE_COLUMNS if c in found]
    if "time" in found and (len(present) >= 2 or "cloud_cover" in found):
        return None
    return (
        "missing columns: required are 'time' and any two of 'ghi', 'dni', 'dhi' "
        "(or 'cloud_cover' instead of irradiance); found columns: "
        + (", ".join(repr(c) for c in found) if found else "none")
    )


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
    try:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise WeatherError(["the file is empty (no header row)"], source) from None
        names = [h.strip().lower() for h in header]
        duplicated = sorted({n for n in names if names.count(n) > 1 and n})
        if duplicated:
            raise WeatherError([f"line 1: column(s) {', '.join(map(repr, duplicated))} appear more than once"], source)
        problem = _columns_problem(names)
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
    finally:
        if owned:
            handle.close()

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
    frame, range_problems, range_notes = _check_ranges(frame, lambda i: f"line {row_lines[i]}")
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


def _check_ranges(frame: pd.DataFrame, where) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Apply the value rules of the module docstring; ``where(i)`` names row ``i``."""
    problems: list[str] = []
    notes: list[str] = []
    frame = frame.copy()

    def refuse(column: str, mask: np.ndarray, reason: str):
        for i in np.flatnonzero(mask):
            problems.append(f"{where(i)}, column {column!r}: {frame[column].iloc[i]:g} {reason}")

    for c in IRRADIANCE_COLUMNS:
        if c not in frame:
            continue
        v = frame[c].to_numpy()
        refuse(c, v < NEGATIVE_IRRADIANCE_TOLERANCE,
               f"W/m² is negative beyond the {NEGATIVE_IRRADIANCE_TOLERANCE:g} W/m² sensor-offset tolerance")
        refuse(c, v > IRRADIANCE_MAX[c], f"W/m² is above the physical limit of {IRRADIANCE_MAX[c]:g} W/m²")
        small = (v < 0) & (v >= NEGATIVE_IRRADIANCE_TOLERANCE)
        if small.any():
            first = np.flatnonzero(small)[0]
            notes.append(
                f"column {c!r}: {int(small.sum())} slightly negative value(s) (from {where(first)}, "
                f"down to {v[small].min():g} W/m²) clipped to 0"
            )
            frame[c] = np.where(small, 0.0, v)
    bounds = {"temp_air": (TEMP_AIR_RANGE, "°C"), "wind_speed": (WIND_SPEED_RANGE, "m/s"),
              "cloud_cover": (CLOUD_COVER_RANGE, "%")}
    for c, ((lo, hi), unit) in bounds.items():
        if c not in frame:
            continue
        v = frame[c].to_numpy()
        refuse(c, (v < lo) | (v > hi), f"{unit} is outside the possible range {lo:g}..{hi:g} {unit}")
    return frame, problems, notes


def check_weather_frame(weather: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Apply the file rules to a weather DataFrame built in code (same columns and units as the CSV).

    Returns
    -------
    weather : DataFrame
        A copy with slightly negative irradiance clipped to 0.
    notes : list of str

    Raises
    ------
    WeatherError
        Missing columns, naive or non-increasing index, or values out of range (rows named by their time).
    """
    if not isinstance(weather.index, pd.DatetimeIndex):
        raise WeatherError(["the index must be a DatetimeIndex of interval starts"], "weather data")
    if weather.index.tz is None:
        raise WeatherError(["the index has naive timestamps; localise it to its time zone first"], "weather data")
    names = [str(c) for c in weather.columns]
    problem = _columns_problem(["time"] + names)
    if problem:
        raise WeatherError([problem], "weather data")
    if not weather.index.is_monotonic_increasing or weather.index.has_duplicates:
        raise WeatherError(["times must be strictly increasing without duplicates"], "weather data")
    missing = [c for c in weather.columns if c in KNOWN_COLUMNS and weather[c].isna().any()]
    if missing:
        raise WeatherError([f"column {c!r} has missing values" for c in missing], "weather data")
    index = weather.index
    frame, problems, notes = _check_ranges(
        weather[[c for c in weather.columns if c in KNOWN_COLUMNS]].astype(float),
        lambda i: f"time {index[i].isoformat()}",
    )
    if problems:
        raise WeatherError(problems, "weather data")
    return frame, notes


def weather_interval(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The constant step of a weather index [Timedelta]; ``ValueError`` if it is not regular or too short."""
    if len(index) < 2:
        raise ValueError("weather with fewer than two rows does not show its interval; pass interval explicitly")
    steps = np.diff(index.asi8)
    if (steps != steps[0]).any() or steps[0] <= 0:
        raise ValueError("weather times are not evenly spaced; every step must be the same")
    return pd.Timedelta(index[1] - index[0])


def complete_irradiance(weather: pd.DataFrame, solar_zenith) -> pd.DataFrame:
    """Fill the missing one of ``ghi``, ``dni``, ``dhi`` from the other two.

    Uses the closure equation ``ghi = dhi + dni·cos(zenith)`` through
    :py:func:`pvlib.irradiance.complete_irradiance`. A DNI derived from GHI and DHI near the horizon
    (where pvlib returns NaN or the closure is unstable) is set to 0, and every derived value is clipped at 0.

    Parameters
    ----------
    weather : DataFrame
        With at least two of ``ghi``, ``dni``, ``dhi`` [W/m²].
    solar_zenith : array-like or Series
        Solar zenith angle for each row [degrees], best taken at the interval midpoint.

    Returns
    -------
    DataFrame
        A copy of ``weather`` with all of ``ghi``, ``dni``, ``dhi`` [W/m²].
    """
    present = [c for c in IRRADIANCE_COLUMNS if c in weather]
    if len(present) < 2:
        raise WeatherError(
            ["missing columns: required are any two of 'ghi', 'dni', 'dhi'; found columns: "
             + ", ".join(repr(str(c)) for c in weather.columns)],
            "weather data",
        )
    out = weather.copy()
    if len(present) == 3:
        return out
    zenith = pd.Series(np.asarray(solar_zenith, dtype=float), index=weather.index)
    done = pvlib.irradiance.complete_irradiance(
        zenith, ghi=weather.get("ghi"), dhi=weather.get("dhi"), dni=weather.get("dni")
    )
    missing = next(c for c in IRRADIANCE_COLUMNS if c not in present)
    out[missing] = done[missing].fillna(0.0).clip(lower=0.0).to_numpy()
    return out


def cloud_cover_to_irradiance(
    cloud_cover: pd.Series,
    clearsky_ghi,
    solar_zenith,
    *,
    pressure: float = 101325.0,
    offset: float = CLOUD_COVER_OFFSET,
    decomposition: str = "disc",
) -> pd.DataFrame:
    """Irradiance from cloud cover: a fallback when a forecast gives no irradiance.

    GHI is clear-sky GHI scaled linearly by cloud cover (the relation used by pvlib's former forecast module
    after Larson et al. 2016): ``ghi = clearsky_ghi · (offset + (1 − offset) · (1 − cloud_cover/100))``, so a
    fully overcast sky keeps ``offset`` of the clear-sky GHI. DNI then comes from a decomposition model:
    ``'disc'`` (:py:func:`pvlib.irradiance.disc`, Maxwell 1987) or ``'erbs'``
    (:py:func:`pvlib.irradiance.erbs`), and ``dhi = ghi − dni·cos(zenith)``.

    Parameters
    ----------
    cloud_cover : Series
        Total cloud cover [%], indexed by tz-aware times (used for the day of year).
    clearsky_ghi : array-like
        Clear-sky GHI for the same rows [W/m²].
    solar_zenith : array-like
        Solar zenith angle for the same rows [degrees].
    pressure : float, default 101325
        Site air pressure [Pa] (DISC only).
    offset : float, default 0.35
        Fraction of clear-sky GHI left under full cloud cover [unitless].
    decomposition : {'disc', 'erbs'}

    Returns
    -------
    DataFrame
        Columns ``ghi``, ``dni``, ``dhi`` [W/m²], same index as ``cloud_cover``.
    """
    if not isinstance(cloud_cover.index, pd.DatetimeIndex) or cloud_cover.index.tz is None:
        raise ValueError("cloud_cover needs a tz-aware DatetimeIndex; localise naive timestamps first")
    cc = cloud_cover.to_numpy(dtype=float)
    if np.any((cc < 0) | (cc > 100)) or np.isnan(cc).any():
        raise ValueError("cloud_cover must be in 0..100 %")
    if not 0.0 <= offset <= 1.0:
        raise ValueError("offset must be in 0..1")
    index = cloud_cover.index
    zenith = np.asarray(solar_zenith, dtype=float)
    ghi = np.asarray(clearsky_ghi, dtype=float) * (offset + (1.0 - offset) * (1.0 - cc / 100.0))
    return decompose_ghi(pd.Series(ghi, index=index), zenith, pressure=pressure, model=decomposition)


def decompose_ghi(ghi: pd.Series, solar_zenith, *, pressure: float = 101325.0, model: str = "disc") -> pd.DataFrame:
    """Split GHI into DNI and DHI with DISC or Erbs (see :func:`cloud_cover_to_irradiance`).

    Returns
    -------
    DataFrame
        Columns ``ghi``, ``dni``, ``dhi`` [W/m²].
    """
    zenith = pd.Series(np.asarray(solar_zenith, dtype=float), index=ghi.index)
    day_of_year = ghi.index.tz_convert("UTC").day_of_year.to_numpy()  # as pvlib would take it from the index
    if model == "disc":
        dni = pd.Series(np.asarray(pvlib.irradiance.disc(ghi.to_numpy(), zenith.to_numpy(), day_of_year,
                                                         pressure=pressure)["dni"]), index=ghi.index)
    elif model == "erbs":
        dni = pd.Series(np.asarray(pvlib.irradiance.erbs(ghi.to_numpy(), zenith.to_numpy(), day_of_year)["dni"]),
                        index=ghi.index)
    else:
        raise ValueError(f"decomposition must be 'disc' or 'erbs', not {model!r}")
    dni = dni.fillna(0.0).clip(lower=0.0)
    cos_z = np.cos(np.radians(zenith)).clip(lower=0.0)
    dhi = (ghi - dni * cos_z).clip(lower=0.0)
    return pd.DataFrame({"ghi": ghi.to_numpy(), "dni": dni.to_numpy(), "dhi": dhi.to_numpy()}, index=ghi.index)


__all__: Iterable[str] = [
    "WeatherError",
    "check_weather_frame",
    "cloud_cover_to_irradiance",
    "complete_irradiance",
    "decompose_ghi",
    "read_weather_csv",
    "weather_interval",
]
