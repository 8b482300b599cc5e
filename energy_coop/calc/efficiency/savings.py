"""Measured savings of a retrofit, IPMVP option C style (whole building, from the consumption meter).

The steps, each a pure function over values, Series and DataFrames (no session, no clock):

1. **Weather**: daily mean outdoor temperature [°C] by local date, from a CSV (:func:`read_daily_temperatures`)
   or from the typical meteorological year that ships inside pvlib (:func:`tmy_daily_temperatures`).
2. **Degree days** (:func:`degree_days`): heating degree days ``HDD = max(0, 18 − T)`` and cooling degree days
   ``CDD = max(0, T − 18)`` [K·day] from the day's mean temperature ``T`` [°C]. The base 18 °C (≈ 65 °F) is the
   conventional balance point of a residential building (the base of the US NOAA/EIA and EU Eurostat series);
   it is a parameter.
3. **Energy by local day and month** (:func:`daily_energy`, :func:`monthly_periods`): meter readings (any
   interval: 15-minute, hourly, daily, billing period) are summed by the local calendar day they fall in; a
   reading that spans several days is shared between them in proportion to the seconds it covers. A day is
   complete when readings cover every second of it; a month is complete when all its days are complete and
   have a temperature.
4. **Baseline model** (:func:`fit_baseline`, statsmodels OLS): for monthly periods ``m``

       kWh_m = a · days_m + b · HDD_m + c · CDD_m

   fitted without a constant (``a`` is the weather-independent load [kWh/day], ``b``/``c`` the heating and
   cooling slopes [kWh/(K·day)]); using the number of days as a regressor keeps months of different length
   comparable. A degree-day term whose slope comes out negative (not physical) or not significant
   (p > :data:`TERM_P_VALUE`) is dropped and the model refitted; a term with no degree days in the baseline is
   never fitted. Daily periods use the same equation (``days = 1``).
5. **Fit statistics** (:func:`fit_statistics`, ASHRAE Guideline 14-2014): with ``n`` periods, ``p`` fitted
   parameters and ``ȳ`` the mean metered energy of a period,

       CV(RMSE) = sqrt(Σ(y − ŷ)² / (n − p)) / ȳ        NMBE = Σ(y − ŷ) / ((n − p) · ȳ)

   The product fits **monthly** models and judges them with Guideline 14's monthly limits: CV(RMSE) ≤ 15 %
   and |NMBE| ≤ 5 %. Daily (or hourly) models are judged with CV(RMSE) ≤ 30 % and |NMBE| ≤ 10 %.
6. **Avoided energy** (:func:`avoided_energy`): for each reporting period after installation, the adjusted
   baseline (the model fed with that period's real degree days, i.e. weather-normalised to the reporting
   period) minus the metered energy. Positive = saved.

The baseline uses the (up to) 12 complete calendar months before the month in which the first measure was
installed and needs at least :data:`MIN_BASELINE_MONTHS` of them; the installation month(s) are left out of both
baseline and reporting periods (the building is being worked on).

Floats are used here (regression, degree days); results leave as rounded integers [kWh] where they are stored
or shown.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

DEGREE_DAY_BASE_C = 18.0  # [°C]
MIN_BASELINE_MONTHS = 9
MAX_BASELINE_MONTHS = 12
TERM_P_VALUE = 0.10
#: ASHRAE Guideline 14-2014 calibration limits: (CV(RMSE) max, |NMBE| max) as fractions.
GUIDELINE_14_LIMITS = {"monthly": (0.15, 0.05), "daily": (0.30, 0.10), "hourly": (0.30, 0.10)}
TEMP_RANGE_C = (-60.0, 60.0)  # [°C] a daily mean outside this is a unit or sensor error
MAX_LISTED_PROBLEMS = 20
TMY_FILE = "723170TYA.CSV"  # Greensboro Piedmont Triad Intl, NC (ships inside pvlib)


class SavingsDataError(ValueError):
    """Input that cannot give a measured savings figure; ``str()`` says what is missing and how much more."""

    def __init__(self, message: str, problems: Iterable[str] = ()):
        self.problems = list(problems)
        shown = self.problems[:MAX_LISTED_PROBLEMS]
        text = message + ("".join(f"; {p}" for p in shown))
        if len(self.problems) > len(shown):
            text += f"; and {len(self.problems) - len(shown)} more problem(s)"
        super().__init__(text)
        self.message = message


class InsufficientBaselineError(SavingsDataError):
    """Too few complete months of consumption before the installation to fit a baseline."""


# ------------------------------------------------------------------------------------------------ weather


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


def tmy_daily_temperatures(start: dt.date, end: dt.date, path: str | os.PathLike | None = None) -> pd.Series:
    """Daily mean temperature [°C] for every date ``start`` .. ``end`` (inclusive) from a typical year (TMY3).

    Default file: pvlib's shipped ``723170TYA.CSV`` (Greensboro, NC), read with ``pvlib.iotools.read_tmy3``.
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
    if path is None:
        import pvlib

        path = Path(pvlib.__file__).resolve().parent / "data" / TMY_FILE
    typical = _typical_days(str(path))
    days = pd.date_range(start, end, freq="D").date
    return pd.Series([typical[(d.month, d.day)] for d in days], index=list(days), name="temp_mean_c", dtype=float)


@functools.lru_cache(maxsize=4)
def _typical_days(path: str) -> dict[tuple[int, int], float]:
    """Typical daily mean temperature [°C] by (month, day) of a TMY3 file (read once per process)."""
    import pvlib

    data, _meta = pvlib.iotools.read_tmy3(path, coerce_year=1990, map_variables=True)
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


# ------------------------------------------------------------------------------------------ energy by day


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


# --------------------------------------------------------------------------------------------- the model


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


# ----------------------------------------------------------------------------------- periods and the whole


def _add_months(month: dt.date, n: int) -> dt.date:
    total = month.year * 12 + month.month - 1 + n
    return dt.date(total // 12, total % 12 + 1, 1)


def _month_count(a: dt.date, b: dt.date) -> int:
    """Whole months from month ``a`` to month ``b``."""
    return (b.year - a.year) * 12 + b.month - a.month


def select_baseline(months: pd.DataFrame, first_installed: dt.date,
                    min_months: int = MIN_BASELINE_MONTHS, max_months: int = MAX_BASELINE_MONTHS) -> pd.DataFrame:
    """The complete months among the ``max_months`` calendar months before the month of ``first_installed``.

    Raises :class:`InsufficientBaselineError` when fewer than ``min_months`` are complete, saying how many the
    meter has, from when, and how many more are needed.
    """
    cutoff = first_installed.replace(day=1)
    window_start = _add_months(cutoff, -max_months)
    in_window = months[(months.index >= window_start) & (months.index < cutoff)]
    complete = in_window[in_window["complete"]]
    if len(complete) >= min_months:
        return complete
    have = len(complete)
    if have == 0:
        detail = f"the meter has no complete month of readings in the {max_months} months before it"
    else:
        detail = f"the meter has {have} complete month{'s' if have != 1 else ''} (from {complete.index[0]})"
        gaps = _month_count(complete.index[0], cutoff) - have
        if gaps > 0:
            detail += f", {gaps} month{'s' if gaps != 1 else ''} in between incomplete"
    more = min_months - have
    raise InsufficientBaselineError(
        f"the baseline needs {min_months} months of readings before {cutoff}; {detail}: "
        f"{more} more month{'s' if more != 1 else ''} {'are' if more != 1 else 'is'} needed"
    )


@dataclass(frozen=True)
class MeasuredSavings:
    """The outcome of :func:`measure_savings`.

    ``model`` is the fitted baseline; ``baseline`` the months it was fitted on (with ``predicted_kwh``);
    ``reporting`` the frame of :func:`avoided_energy`; ``avoided_kwh`` its sum [kWh];
    ``annualised_kwh`` = avoided energy scaled to 365 days [kWh/year] (None without reporting months);
    ``notes`` explains anything left out.
    """

    model: BaselineModel
    baseline: pd.DataFrame
    reporting: pd.DataFrame
    avoided_kwh: float
    annualised_kwh: float | None
    reporting_from: dt.date
    notes: list[str]


def measure_savings(readings: pd.DataFrame, temperatures: pd.Series, *, tz: str, first_installed: dt.date,
                    last_installed: dt.date, until: dt.date,
                    base_c: float = DEGREE_DAY_BASE_C) -> MeasuredSavings:
    """Whole-building measured savings (IPMVP option C) of measures installed ``first_installed`` ..
    ``last_installed``, with readings up to ``until`` (exclusive).

    ``readings``: columns ``start``, ``end`` [UTC s], ``mwh`` [mWh]; ``temperatures``: daily mean [°C] by local
    date; ``tz``: the premises' IANA zone. Baseline = complete months in the 12 before the first installation's
    month (at least 9, else :class:`InsufficientBaselineError`); reporting = complete months from the month after
    the last installation up to ``until``. The model is fitted monthly and judged with Guideline 14's monthly
    limits.
    """
    if last_installed < first_installed:
        raise ValueError("last_installed is before first_installed")
    window_start = _add_months(first_installed.replace(day=1), -MAX_BASELINE_MONTHS)
    last_day = until - dt.timedelta(days=1)
    if last_day < window_start:
        raise SavingsDataError(f"no period to measure: {until} is before the baseline window ({window_start})")
    daily = daily_energy(readings, tz, window_start, last_day)
    dd = degree_days(temperatures, base_c)
    dd = dd[[isinstance(d, dt.date) and window_start <= d <= last_day for d in dd.index]]
    months = monthly_periods(daily, dd)
    baseline = select_baseline(months, first_installed)
    model = fit_baseline(baseline, "monthly")
    reporting_from = _add_months(last_installed.replace(day=1), 1)
    after = months[months.index >= reporting_from]
    notes = []
    incomplete = [str(m) for m in after.index[~after["complete"]]]
    if incomplete:
        notes.append("left out, incomplete readings or temperatures: " + ", ".join(incomplete))
    after = after[after["complete"]]
    reporting = avoided_energy(model, after)
    avoided = float(reporting["avoided_kwh"].sum())
    days = int(reporting["days"].sum())
    annualised = avoided * 365.0 / days if days else None
    if not days:
        notes.append(f"no complete month after the installation yet (reporting starts {reporting_from})")
    base = baseline.assign(predicted_kwh=model.predict(baseline))
    return MeasuredSavings(model=model, baseline=base, reporting=reporting, avoided_kwh=avoided,
                           annualised_kwh=annualised, reporting_from=reporting_from, notes=notes)
