"""Performance of a solar asset: metered over expected energy, by local month, flagged below a threshold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from energy_coop.calc.forecasting.sun import require_aware

#: A monthly performance ratio below this is flagged [unitless].
DEFAULT_PR_THRESHOLD = 0.8


def performance_ratio(metered_kwh, expected_kwh) -> float | None:
    """Metered over expected energy [unitless], or None when there is no meaningful expectation.

    Numbers or Series (summed). None when expected is missing, NaN or ≤ 0, or metered is missing or NaN.
    """
    def total(x):
        if x is None:
            return None
        if isinstance(x, (pd.Series, pd.DataFrame, np.ndarray, list, tuple)):
            arr = np.asarray(x, dtype=float)
            if arr.size == 0 or np.isnan(arr).any():
                return None
            return float(arr.sum())
        v = float(x)
        return None if math.isnan(v) else v

    metered = total(metered_kwh)
    expected = total(expected_kwh)
    if metered is None or expected is None or expected <= 0:
        return None
    return metered / expected


def below_threshold(ratio: float | None, threshold: float = DEFAULT_PR_THRESHOLD) -> bool:
    """True when a performance ratio exists and is below ``threshold`` (a missing ratio is not flagged)."""
    return ratio is not None and not math.isnan(ratio) and ratio < threshold


def monthly_performance(
    metered_kwh: pd.Series,
    expected_kwh: pd.Series,
    timezone: str,
    threshold: float = DEFAULT_PR_THRESHOLD,
) -> pd.DataFrame:
    """Performance ratio per local calendar month, over the intervals present in both series.

    Parameters
    ----------
    metered_kwh, expected_kwh : Series
        Energy per interval [kWh], indexed by tz-aware interval starts.
    timezone : str
        The asset's IANA timezone (months are local).
    threshold : float, default 0.8

    Returns
    -------
    DataFrame
        Columns ``month`` ('YYYY-MM'), ``intervals``, ``metered_kwh``, ``expected_kwh`` [kWh],
        ``performance_ratio`` (None when not computable), ``flagged`` (bool).
    """
    for name, s in (("metered_kwh", metered_kwh), ("expected_kwh", expected_kwh)):
        require_aware(s.index, f"{name} times")
    common = metered_kwh.index.intersection(expected_kwh.index)
    local = common.tz_convert(timezone)
    frame = pd.DataFrame({"metered_kwh": metered_kwh.reindex(common).to_numpy(dtype=float),
                          "expected_kwh": expected_kwh.reindex(common).to_numpy(dtype=float),
                          "month": local.strftime("%Y-%m")})
    rows = []
    for month, g in frame.groupby("month", sort=True):
        ratio = performance_ratio(g["metered_kwh"], g["expected_kwh"])
        rows.append({"month": month, "intervals": len(g), "metered_kwh": float(g["metered_kwh"].sum()),
                     "expected_kwh": float(g["expected_kwh"].sum()), "performance_ratio": ratio,
                     "flagged": below_threshold(ratio, threshold)})
    return pd.DataFrame(rows, columns=["month", "intervals", "metered_kwh", "expected_kwh", "performance_ratio",
                                       "flagged"])
