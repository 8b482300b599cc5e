"""Weather for forecasts (SPEC section 7) as values: check a weather frame, complete irradiance, cloud cover.

Pure: weather files are read by :mod:`energy_coop.importers.weather` (``read_weather_csv``), which applies the
same rules (:mod:`energy_coop.weather_rules`, tabled in the importer's docstring) and names bad rows by their
file line; :func:`check_weather_frame` applies them to a frame built in code and names bad rows by their time.
Every refusal raises :class:`~energy_coop.weather_rules.WeatherError` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pvlib

from energy_coop.weather_rules import (  # noqa: F401 - the rules' names, re-exported for calc's callers
    CLOUD_COVER_RANGE,
    IRRADIANCE_COLUMNS,
    IRRADIANCE_MAX,
    KNOWN_COLUMNS,
    MAX_LISTED_PROBLEMS,
    NEGATIVE_IRRADIANCE_TOLERANCE,
    OPTIONAL_COLUMNS,
    TEMP_AIR_RANGE,
    WIND_SPEED_RANGE,
    WeatherError,
    check_ranges,
    columns_problem,
)

#: Default offset of the cloud-cover to GHI relation (Larson et al. 2016 style linear scaling) [unitless].
CLOUD_COVER_OFFSET = 0.35


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
    problem = columns_problem(["time"] + names)
    if problem:
        raise WeatherError([problem], "weather data")
    if not weather.index.is_monotonic_increasing or weather.index.has_duplicates:
        raise WeatherError(["times must be strictly increasing without duplicates"], "weather data")
    missing = [c for c in weather.columns if c in KNOWN_COLUMNS and weather[c].isna().any()]
    if missing:
        raise WeatherError([f"column {c!r} has missing values" for c in missing], "weather data")
    index = weather.index
    frame, problems, notes = check_ranges(
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
    "weather_interval",
]
