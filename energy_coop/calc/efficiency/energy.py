"""Step 3 of measured savings: metered energy by local calendar day, then by calendar month with degree days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd


def _local_midnights(first_day: dt.date, last_day: dt.date, tz: str) -> np.ndarray:
    zone = ZoneInfo(tz)
    days = pd.date_range(first_day, last_day + dt.timedelta(days=1), freq="D").date
    return np.array([int(dt.datetime.combine(d, dt.time(0), zone).timestamp()) for d in days], dtype=np.int64)


def daily_energy(readings: pd.DataFrame, tz: str, first_day: dt.date, last_day: dt.date) -> pd.DataFrame:
    """Metered energy by local calendar day, ``first_day`` .. ``last_day`` inclusive, in zone ``tz``.

    ``readings`` has columns ``start``, ``end`` (UTC epoch seconds [s]) and ``mwh`` (energy of the interval
    [mWh]); intervals must not overlap (the importer guarantees it for consumption meters). A reading across
    day boundaries is shared between the days by the seconds it covers in each.
    Returns a DataFrame indexed by ``datetime.date`` with columns ``kwh`` [kWh], ``covered_s`` and ``day_s`` [s]
    (23 or 25 h on DST change days) and ``complete`` (bool: every second of the day is covered).
    """
    missing = {"start", "end", "mwh"} - set(readings.columns)
    if missing:
        raise ValueError(f"readings need columns start, end, mwh; found {sorted(readings.columns)}")
    edges = _local_midnights(first_day, last_day, tz)
    n_days = len(edges) - 1
    kwh = np.zeros(n_days)
    covered = np.zeros(n_days, dtype=np.int64)
    if len(readings):
        start = readings["start"].to_numpy(dtype=np.int64)
        end = readings["end"].to_numpy(dtype=np.int64)
        e_kwh = readings["mwh"].to_numpy(dtype=np.int64) / 1e6
        keep = (end > edges[0]) & (start < edges[-1]) & (end > start)
        start, end, e_kwh = start[keep], end[keep], e_kwh[keep]
        i0 = np.searchsorted(edges, start, side="right") - 1
        i1 = np.searchsorted(edges, end - 1, side="right") - 1
        single = (i0 == i1) & (start >= edges[0]) & (end <= edges[-1])
        kwh += np.bincount(i0[single], weights=e_kwh[single], minlength=n_days)[:n_days]
        covered += np.bincount(i0[single], weights=(end - start)[single], minlength=n_days)[:n_days].astype(np.int64)
        for s, e, k in zip(start[~single], end[~single], e_kwh[~single]):
            duration = e - s
            first = max(0, int(np.searchsorted(edges, s, side="right")) - 1)
            last = min(n_days - 1, int(np.searchsorted(edges, e - 1, side="right")) - 1)
            for i in range(first, last + 1):
                overlap = min(e, edges[i + 1]) - max(s, edges[i])
                if overlap > 0:
                    kwh[i] += k * overlap / duration
                    covered[i] += overlap
    days = pd.date_range(first_day, last_day, freq="D").date
    day_s = np.diff(edges)
    return pd.DataFrame(
        {"kwh": kwh, "covered_s": covered, "day_s": day_s, "complete": covered >= day_s},
        index=pd.Index(list(days), name="date"),
    )


def monthly_periods(daily: pd.DataFrame, dd: pd.DataFrame) -> pd.DataFrame:
    """Sum daily energy and degree days into calendar months.

    ``daily`` is :func:`daily_energy`'s frame, ``dd`` is :func:`degree_days`' frame (indexed by date; days
    without a temperature make their month incomplete). Returns a DataFrame indexed by the month's first day
    (``datetime.date``) with columns ``days``, ``kwh`` [kWh], ``hdd``, ``cdd`` [K·day] and ``complete`` (every day
    metered completely and with a temperature).
    """
    joined = daily.join(dd[["hdd", "cdd"]], how="left")
    joined["complete"] = joined["complete"] & joined["hdd"].notna() & joined["cdd"].notna()
    month = [d.replace(day=1) for d in joined.index]
    grouped = joined.groupby(month)
    out = pd.DataFrame({
        "days": grouped.size(),
        "kwh": grouped["kwh"].sum(),
        "hdd": grouped["hdd"].sum(min_count=1).fillna(0.0),
        "cdd": grouped["cdd"].sum(min_count=1).fillna(0.0),
        "complete": grouped["complete"].all(),
    })
    # A month is only complete if the frame holds all of its days.
    full_length = [pd.Period(m, freq="M").days_in_month for m in out.index]
    out["complete"] = out["complete"] & (out["days"] == full_length)
    out.index = pd.Index(list(out.index), name="month")
    return out
