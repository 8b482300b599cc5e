"""Measured savings of a retrofit, IPMVP option C style (whole building, from the consumption meter).

The steps live in :mod:`.degree_days` (1, 2), :mod:`.energy` (3) and :mod:`.baseline` (4 to 6), whose public
names are re-exported here; this module selects the baseline months and puts the steps together.

The steps, each a pure function over values, Series and DataFrames (no session, no clock):

1. **Weather**: daily mean outdoor temperature [°C] by local date, from a CSV
   (:func:`energy_coop.importers.weather.read_daily_temperatures`) or from a typical meteorological year that
   ships inside pvlib (:func:`tmy_daily_temperatures` of :func:`energy_coop.importers.weather.typical_year`).
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

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from energy_coop.calc.efficiency.baseline import (  # noqa: F401 - re-exported: the steps of measured savings
    GUIDELINE_14_LIMITS,
    TERM_P_VALUE,
    BaselineModel,
    avoided_energy,
    fit_baseline,
    fit_statistics,
    passes_guideline_14,
)
from energy_coop.calc.efficiency.degree_days import (  # noqa: F401 - re-exported
    DEGREE_DAY_BASE_C,
    degree_days,
    tmy_daily_temperatures,
)
from energy_coop.calc.efficiency.energy import daily_energy, monthly_periods  # noqa: F401 - re-exported
from energy_coop.period import Period
from energy_coop.weather_rules import (  # noqa: F401 - re-exported: one refusal for temperature and meter input
    MAX_LISTED_PROBLEMS,
    TEMP_RANGE_C,
    SavingsDataError,
)

MIN_BASELINE_MONTHS = 9
MAX_BASELINE_MONTHS = 12


class InsufficientBaselineError(SavingsDataError):
    """Too few complete months of consumption before the installation to fit a baseline."""


# ----------------------------------------------------------------------------------- periods and the whole


def _add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``month``'s."""
    return Period.of(month).add(n).first_day


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
