"""Steps 1 and 2 of measured savings: daily mean temperatures of a typical year, and degree days from them.

Pure: temperature files and typical years are read by :mod:`energy_coop.importers.weather`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

DEGREE_DAY_BASE_C = 18.0  # [°C]


def tmy_daily_temperatures(start: dt.date, end: dt.date, tmy: pd.DataFrame) -> pd.Series:
    """Daily mean temperature [°C] for every date ``start`` .. ``end`` (inclusive) from a typical year (TMY3).

    ``tmy`` is the hourly typical year as :func:`energy_coop.importers.weather.typical_year` reads it (only its
    ``temp_air`` [°C] is used); which year a place gets is the choice of
    :func:`energy_coop.importers.weather.typical_year_file` (Greensboro, NC for a premises).
    TMY3 rows are hour-ending in local standard time, so each row is moved back one hour to the hour it
    describes before the hours are averaged by calendar (month, day). A TMY is stitched from months of
    different years, so it has no real dates: **each real date takes the typical mean of the same month and
    day**, whatever the year; 29 February takes the mean of the typical 28 February and 1 March. The result is
    a typical, not the actual, weather of those dates (good for a demo or a first look; measured savings for
    payment should use a CSV of the real temperatures).
    Returns a float Series named ``temp_mean_c`` indexed by ``datetime.date``.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    typical = _typical_days(tmy)
    days = pd.date_range(start, end, freq="D").date
    return pd.Series([typical[(d.month, d.day)] for d in days], index=list(days), name="temp_mean_c", dtype=float)


def _typical_days(data: pd.DataFrame) -> dict[tuple[int, int], float]:
    """Typical daily mean temperature [°C] by (month, day) of a TMY3 year (hour-ending rows)."""
    hour_start = data.index - pd.Timedelta(hours=1)
    temps = pd.Series(data["temp_air"].to_numpy(dtype=float), index=hour_start)
    by_day = temps.groupby([temps.index.month, temps.index.day]).mean()
    typical = {(int(m), int(d)): float(v) for (m, d), v in by_day.items()}
    typical[(2, 29)] = (typical[(2, 28)] + typical[(3, 1)]) / 2
    return typical


def degree_days(temp_mean_c: pd.Series, base_c: float = DEGREE_DAY_BASE_C) -> pd.DataFrame:
    """Heating and cooling degree days [K·day] from daily mean temperatures [°C].

    ``hdd = max(0, base_c − T)``, ``cdd = max(0, T − base_c)`` for each day (the mean-temperature method).
    Returns a DataFrame with the input's index and columns ``hdd``, ``cdd``.

    >>> degree_days(pd.Series([10.0, 18.0, 25.5])).to_dict("list")
    {'hdd': [8.0, 0.0, 0.0], 'cdd': [0.0, 0.0, 7.5]}
    """
    t = pd.to_numeric(temp_mean_c, errors="raise").astype(float)
    return pd.DataFrame({"hdd": (base_c - t).clip(lower=0.0), "cdd": (t - base_c).clip(lower=0.0)}, index=t.index)
