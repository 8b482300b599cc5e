"""The typical year as factors on clear sky: how a month's sunshine compares with a cloudless one.

Step 2 of the model chain of :mod:`energy_coop.calc.forecasting.forecast` without weather: clear-sky GHI scaled by
the month's factor. Pure: the typical meteorological year (TMY3) is read, and chosen for a site, by
:mod:`energy_coop.importers.weather` (``typical_year_file``, ``typical_year``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pvlib


def typical_year_factors(tmy: pd.DataFrame, meta: Mapping, low_quantile: float = 0.1,
                         high_quantile: float = 0.9) -> pd.DataFrame:
    """Monthly ratios of typical-year GHI to clear-sky GHI, with a low/high band.

    ``tmy`` and ``meta`` are a TMY3 year as :func:`energy_coop.importers.weather.typical_year` gives them
    (:py:func:`pvlib.iotools.read_tmy3`, year coerced to 1990, pvlib's variable names): hourly ``ghi`` [W/m²],
    ``temp_air`` [°C], ``pressure`` [mbar]; ``latitude``, ``longitude`` [degrees], ``altitude`` [m]. Its rows
    are hour-ending, so each hour's clear sky (Ineichen, climatological Linke turbidity) is computed at the
    stamp minus 30 minutes; its pressure is in mbar and is converted to Pa for the solar position (refraction).
    Albedo is not used here.

    ``typical`` = Σ GHI / Σ clear-sky GHI over the month; ``low`` and ``high`` are the ``low_quantile`` and
    ``high_quantile`` of the month's *daily* ratios (widened if needed to contain ``typical``); ``clear`` = 1.

    This is a climatological shape, not a site's climate: the nearer the year's station to the site, the
    better the figures.

    Returns
    -------
    DataFrame
        Index ``month`` 1..12; columns ``typical``, ``low``, ``high``, ``clear`` [unitless].
    """
    low_q, high_q = float(low_quantile), float(high_quantile)
    # TMY3 rows are hour-ENDING: the row stamped 01:00 describes 00:00-01:00. Midpoint = stamp - 30 min.
    mid = tmy.index - pd.Timedelta("30min")
    start = tmy.index - pd.Timedelta("1h")
    site = pvlib.location.Location(meta["latitude"], meta["longitude"], tz="UTC",
                                   altitude=meta["altitude"])
    # TMY3 pressure is in mbar (hPa); pvlib's solar position wants Pa. (read_tmy3 does not convert it.)
    pos = site.get_solarposition(mid, pressure=tmy["pressure"].to_numpy() * 100.0,
                                 temperature=tmy["temp_air"].to_numpy())
    clear = site.get_clearsky(mid, model="ineichen", solar_position=pos)
    frame = pd.DataFrame({"ghi": tmy["ghi"].to_numpy(), "clear": clear["ghi"].to_numpy()}, index=start)
    frame["month"] = frame.index.month
    frame["day"] = frame.index.normalize()
    daily = frame.groupby("day").agg(ghi=("ghi", "sum"), clear=("clear", "sum"), month=("month", "first"))
    daily = daily[daily["clear"] > 0]
    daily["k"] = daily["ghi"] / daily["clear"]
    monthly = frame.groupby("month")[["ghi", "clear"]].sum()
    out = pd.DataFrame(index=pd.RangeIndex(1, 13, name="month"))
    out["typical"] = monthly["ghi"] / monthly["clear"]
    out["low"] = daily.groupby("month")["k"].quantile(low_q)
    out["high"] = daily.groupby("month")["k"].quantile(high_q)
    out["low"] = np.minimum(out["low"], out["typical"])
    out["high"] = np.maximum(out["high"], out["typical"])
    out["clear"] = 1.0
    return out


def month_factor(times_local: pd.DatetimeIndex, latitude: float, band: str, factors: pd.DataFrame) -> np.ndarray:
    """The ``band`` factor [unitless] of each local time's month, seasons mirrored south of the equator."""
    months = times_local.month.to_numpy()
    if latitude < 0:
        # the typical-year file is from the northern hemisphere: align seasons (June there ~ December here)
        months = (months + 5) % 12 + 1
    return factors[band].reindex(months).to_numpy(dtype=float)
