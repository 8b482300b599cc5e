"""Steps 4 to 6 of measured savings: the baseline model, its ASHRAE Guideline 14 fit statistics, avoided energy.

The equations are in :mod:`energy_coop.calc.efficiency.savings`' docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from energy_coop.weather_rules import SavingsDataError

TERM_P_VALUE = 0.10
#: ASHRAE Guideline 14-2014 calibration limits: (CV(RMSE) max, |NMBE| max) as fractions.
GUIDELINE_14_LIMITS = {"monthly": (0.15, 0.05), "daily": (0.30, 0.10), "hourly": (0.30, 0.10)}


@dataclass(frozen=True)
class BaselineModel:
    """A fitted baseline: ``kWh = Σ params[t] · X[t]`` over ``terms`` (``days``, ``hdd``, ``cdd``).

    ``params`` [kWh/day for ``days``; kWh/(K·day) for ``hdd``, ``cdd``]; ``cv_rmse`` and ``nmbe`` are fractions
    (0.12 = 12 %); ``passes`` tells whether both are within ASHRAE Guideline 14's ``limits`` for the
    ``granularity``; ``dropped`` lists degree-day terms left out, with the reason.
    """

    granularity: str
    terms: tuple[str, ...]
    params: dict[str, float]
    p_values: dict[str, float]
    n: int
    cv_rmse: float
    nmbe: float
    r_squared: float
    limits: tuple[float, float]
    passes: bool
    dropped: dict[str, str] = field(default_factory=dict)

    def predict(self, periods: pd.DataFrame) -> pd.Series:
        """Adjusted baseline [kWh] of each period (columns ``days``, ``hdd``, ``cdd``)."""
        total = pd.Series(0.0, index=periods.index)
        for term in self.terms:
            total = total + self.params[term] * periods[term].astype(float)
        return total.rename("baseline_kwh")

    def as_dict(self) -> dict:
        return {
            "granularity": self.granularity,
            "terms": list(self.terms),
            "params": {k: round(v, 6) for k, v in self.params.items()},
            "n": self.n,
            "cv_rmse": round(self.cv_rmse, 6),
            "nmbe": round(self.nmbe, 6),
            "r_squared": round(self.r_squared, 6),
            "limits": {"cv_rmse": self.limits[0], "nmbe": self.limits[1]},
            "passes_guideline_14": self.passes,
            "dropped": dict(self.dropped),
        }


def fit_statistics(actual: Iterable[float], predicted: Iterable[float], n_params: int) -> tuple[float, float]:
    """CV(RMSE) and NMBE (fractions) of ``predicted`` against ``actual``, ASHRAE Guideline 14-2014.

    Both divide by ``n − p`` (``p`` = ``n_params``) and by the mean of ``actual``; NMBE is positive when the
    model under-predicts.

    >>> fit_statistics([10, 12, 14], [11, 12, 13], 1)
    (0.08333333333333333, 0.0)
    """
    y = np.asarray(list(actual), dtype=float)
    yhat = np.asarray(list(predicted), dtype=float)
    dof = len(y) - n_params
    if dof <= 0:
        raise ValueError(f"{len(y)} periods cannot judge a model with {n_params} parameters")
    mean = y.mean()
    if mean <= 0:
        raise ValueError("the metered energy averages zero or less: CV(RMSE) and NMBE are undefined")
    resid = y - yhat
    return float(math.sqrt((resid ** 2).sum() / dof) / mean), float(resid.sum() / (dof * mean))


def passes_guideline_14(cv_rmse: float, nmbe: float, granularity: str) -> bool:
    """True when CV(RMSE) and |NMBE| are within Guideline 14's limits for ``granularity`` (monthly|daily|hourly)."""
    cv_max, nmbe_max = GUIDELINE_14_LIMITS[granularity]
    return cv_rmse <= cv_max and abs(nmbe) <= nmbe_max


def fit_baseline(periods: pd.DataFrame, granularity: str = "monthly") -> BaselineModel:
    """Fit ``kWh = a·days + b·HDD + c·CDD`` to ``periods`` with statsmodels OLS (no constant; see module doc).

    ``periods`` has columns ``days``, ``hdd``, ``cdd`` [K·day] and ``kwh`` [kWh], one row per period, only
    periods to fit (complete ones). A degree-day term is dropped when the baseline has no such degree days, when
    its slope is negative, or when its p-value exceeds :data:`TERM_P_VALUE` (the least significant first, then
    refit). Returns a :class:`BaselineModel`.
    """
    import statsmodels.api as sm

    if granularity not in GUIDELINE_14_LIMITS:
        raise ValueError(f"granularity must be one of {sorted(GUIDELINE_14_LIMITS)}")
    missing = {"days", "hdd", "cdd", "kwh"} - set(periods.columns)
    if missing:
        raise ValueError(f"periods need columns days, hdd, cdd, kwh; found {sorted(periods.columns)}")
    data = periods[["days", "hdd", "cdd", "kwh"]].astype(float)
    if len(data) < 3:
        raise SavingsDataError(f"a baseline needs at least 3 periods; {len(data)} given")
    terms = ["days"]
    dropped: dict[str, str] = {}
    for term in ("hdd", "cdd"):
        if data[term].sum() > 0:
            terms.append(term)
        else:
            dropped[term] = "no degree days in the baseline period"
    y = data["kwh"]
    while True:
        result = sm.OLS(y, data[terms], hasconst=False).fit()
        candidates = []
        for term in terms[1:]:
            if result.params[term] < 0:
                candidates.append((2.0, term, "negative slope (not physical)"))
            elif not (result.pvalues[term] <= TERM_P_VALUE):
                candidates.append((float(result.pvalues[term]), term,
                                   f"not significant (p = {float(result.pvalues[term]):.2f})"))
        if not candidates:
            break
        _, worst, why = max(candidates)
        terms.remove(worst)
        dropped[worst] = why
    predicted = result.fittedvalues
    cv, nmbe = fit_statistics(y, predicted, len(terms))
    ss_res = float(((y - predicted) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0
    return BaselineModel(
        granularity=granularity,
        terms=tuple(terms),
        params={t: float(result.params[t]) for t in terms},
        p_values={t: float(result.pvalues[t]) for t in terms},
        n=len(y),
        cv_rmse=cv,
        nmbe=nmbe,
        r_squared=r2,
        limits=GUIDELINE_14_LIMITS[granularity],
        passes=passes_guideline_14(cv, nmbe, granularity),
        dropped=dropped,
    )


def avoided_energy(model: BaselineModel, reporting: pd.DataFrame) -> pd.DataFrame:
    """Avoided energy of each reporting period: adjusted baseline minus metered energy [kWh].

    ``reporting`` has columns ``days``, ``hdd``, ``cdd``, ``kwh`` (the periods after installation). Returns a
    DataFrame with the same index and columns ``days``, ``hdd``, ``cdd``, ``actual_kwh``,
    ``adjusted_baseline_kwh`` and ``avoided_kwh`` (positive = energy saved).
    """
    baseline = model.predict(reporting)
    return pd.DataFrame({
        "days": reporting["days"],
        "hdd": reporting["hdd"],
        "cdd": reporting["cdd"],
        "actual_kwh": reporting["kwh"].astype(float),
        "adjusted_baseline_kwh": baseline,
        "avoided_kwh": baseline - reporting["kwh"].astype(float),
    })
