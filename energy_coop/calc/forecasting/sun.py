"""Time and the sun for forecasts: tz-aware interval starts, their midpoints, and solar position at a site.

Step 1 of the model chain in :mod:`energy_coop.calc.forecasting.forecast`. Times are tz-aware everywhere: a naive
timestamp raises ``ValueError``.
"""

from __future__ import annotations

import pandas as pd
import pvlib

from energy_coop.calc.forecasting.arrays import SolarArray, site_altitude

#: Air temperature for atmospheric refraction when the weather has none (pvlib's default) [°C].
REFRACTION_TEMPERATURE = 12.0


def require_aware(times, what: str = "times") -> pd.DatetimeIndex:
    """``times`` as a tz-aware DatetimeIndex (a Timestamp becomes one); naive or not a DatetimeIndex is refused."""
    if isinstance(times, pd.Timestamp):
        times = pd.DatetimeIndex([times])
    if not isinstance(times, pd.DatetimeIndex):
        raise TypeError(f"{what} must be a pandas DatetimeIndex of interval starts")
    if times.tz is None:
        raise ValueError(
            f"{what} are naive (no time zone): localise them to their time zone first "
            "(e.g. index.tz_localize('Europe/Berlin')); naive timestamps are refused"
        )
    return times


def require_interval(interval) -> pd.Timedelta:
    """``interval`` as a positive Timedelta (refused otherwise)."""
    interval = pd.Timedelta(interval)
    if interval <= pd.Timedelta(0):
        raise ValueError(f"interval must be positive, not {interval}")
    return interval


def interval_midpoints(times: pd.DatetimeIndex, interval: pd.Timedelta) -> pd.DatetimeIndex:
    """The middle of each interval: ``times + interval/2`` (tz-aware in, tz-aware out)."""
    times = require_aware(times)
    return times + require_interval(interval) / 2


def _sunlit_midpoints(times, interval, latitude, longitude, timezone) -> pd.DatetimeIndex:
    """Midpoint of the sunlit part of intervals containing sunrise or sunset; plain midpoint elsewhere."""
    # pvlib finds the events of each timestamp's *local date*, so ask in the site's own time zone
    events = pvlib.solarposition.sun_rise_set_transit_spa(times.tz_convert(timezone), latitude, longitude)
    start = pd.Series(times, index=times)
    end = start + interval
    sunrise = pd.Series(pd.DatetimeIndex(events["sunrise"]).tz_convert(times.tz), index=times)
    sunset = pd.Series(pd.DatetimeIndex(events["sunset"]).tz_convert(times.tz), index=times)
    rises = (sunrise >= start) & (sunrise < end)
    sets = (sunset > start) & (sunset <= end)
    lo = start.where(~rises, sunrise)
    hi = end.where(~sets, sunset)
    return pd.DatetimeIndex(lo + (hi - lo) / 2)


def solar_position(
    array: SolarArray,
    times: pd.DatetimeIndex,
    interval: pd.Timedelta,
    *,
    temperature=REFRACTION_TEMPERATURE,
    sunlit_midpoint: bool = False,
) -> pd.DataFrame:
    """Solar position of ``array``'s site for each interval, evaluated at the interval midpoint.

    Parameters
    ----------
    array : SolarArray
        Only its site (latitude, longitude, altitude) is used.
    times : DatetimeIndex
        Interval starts, tz-aware.
    interval : Timedelta
    temperature : float or array-like, default 12
        Air temperature for refraction [°C].
    sunlit_midpoint : bool, default False
        Use the midpoint of the sunlit part of sunrise/sunset intervals (PVWatts).

    Returns
    -------
    DataFrame
        Indexed by ``times``; columns ``apparent_zenith``, ``apparent_elevation``, ``zenith``, ``azimuth``
        [degrees] and
        ``eval_time`` (the instant used).
    """
    times = require_aware(times)
    interval = require_interval(interval)
    if sunlit_midpoint:
        when = _sunlit_midpoints(times, interval, array.latitude, array.longitude, array.timezone)
    else:
        when = times + interval / 2
    altitude = site_altitude(array)
    pos = pvlib.solarposition.get_solarposition(
        when, array.latitude, array.longitude, altitude=altitude,
        pressure=pvlib.atmosphere.alt2pres(altitude), temperature=temperature,
    )
    out = pd.DataFrame(
        {"apparent_zenith": pos["apparent_zenith"].to_numpy(), "apparent_elevation":
         pos["apparent_elevation"].to_numpy(), "zenith": pos["zenith"].to_numpy(),
         "azimuth": pos["azimuth"].to_numpy()},
        index=times,
    )
    out["eval_time"] = when
    return out
