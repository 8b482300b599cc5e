"""Measured savings (SPEC section 8): a premises' metered consumption against its weather-normalised baseline
(IPMVP option C, whole building; the model and ASHRAE Guideline 14's checks are in
:mod:`energy_coop.calc.efficiency.savings`), and a programme's savings estimated vs measured [kWh/year].

Read-only: nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.calc.efficiency import savings as calc
from energy_coop.errors import RefusedError, RowError
from energy_coop.importers import weather as weather_files
from energy_coop.models import IncentiveAward, Reading
from energy_coop.period import Period
from energy_coop.services.efficiency.incentives import get_programme, list_awards
from energy_coop.services.efficiency.measures import PAYABLE, list_measures
from energy_coop.services.efficiency.premises import get_premises


def temperatures_for(start: dt.date, end: dt.date, csv_path: str | None = None) -> pd.Series:
    """Daily mean temperatures [°C] for ``start`` .. ``end``: from ``csv_path`` (``date,temp_mean_c``) or, without
    one, pvlib's typical year for Greensboro, NC mapped onto the dates (see
    :func:`energy_coop.calc.efficiency.savings.tmy_daily_temperatures`). A bad file is refused with every bad row."""
    try:
        if csv_path:
            return weather_files.read_daily_temperatures(csv_path)
        typical, _ = weather_files.typical_year(weather_files.typical_year_file())  # a premises has no position
        return calc.tmy_daily_temperatures(start, end, typical)
    except calc.SavingsDataError as exc:
        raise RefusedError(exc.message, [RowError("file", "", p) for p in exc.problems]) from None


def _readings_frame(session: Session, meter_id: int, start: int, end: int) -> pd.DataFrame:
    rows = session.execute(select(Reading.start, Reading.end, Reading.mwh)
                           .where(Reading.meter_id == meter_id, Reading.end > start, Reading.start < end)
                           .order_by(Reading.start)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["start", "end", "mwh"])


def premises_savings(session: Session, premises_id: int, *, until: dt.date, temperatures: pd.Series | None = None,
                     member_id: int | None = None) -> dict[str, Any]:
    """Measured savings of a premises beside the estimate (IPMVP option C, whole building).

    ``until``: readings before this date count (usually today); ``temperatures``: daily mean [°C] by date
    (default: the typical year, see :func:`temperatures_for`). Returns ``{"premises_id", "status", "message",
    "estimated_kwh_per_year", "measures", ...}``; with status ``measured`` also ``model`` (fit and Guideline 14
    verdict), ``months`` (actual, adjusted baseline, avoided [kWh]), ``avoided_kwh`` and ``annualised_kwh``
    [kWh/year]. Other statuses (``no_meter``, ``not_installed``, ``insufficient_data``) carry a message saying
    what is missing.
    """
    premises = get_premises(session, premises_id, member_id=member_id)
    measures = [m for m in list_measures(session, premises_id=premises.id) if m.status in PAYABLE]
    estimate = sum(m.estimated_kwh_per_year for m in measures)
    out: dict[str, Any] = {"premises_id": premises.id, "member_number": premises.member.member_number,
                           "estimated_kwh_per_year": estimate, "measures": [m.id for m in measures]}
    if premises.meter is None:
        return {**out, "status": "no_meter",
                "message": "no consumption meter is linked to these premises, so savings cannot be measured"}
    if not measures:
        return {**out, "status": "not_installed", "message": "no measure has been installed yet"}
    first = min(m.installed_on for m in measures)
    last = max(m.installed_on for m in measures)
    window = Period.of(first).add(-calc.MAX_BASELINE_MONTHS).first_day
    if until <= window:
        return {**out, "status": "insufficient_data", "message": f"nothing to measure before {until}"}
    temps = temperatures if temperatures is not None else temperatures_for(window, until - dt.timedelta(days=1))
    zone = ZoneInfo(premises.timezone)
    start_s = int(dt.datetime.combine(window, dt.time(0), zone).timestamp())
    end_s = int(dt.datetime.combine(until, dt.time(0), zone).timestamp())
    readings = _readings_frame(session, premises.meter.id, start_s, end_s)
    try:
        result = calc.measure_savings(readings, temps, tz=premises.timezone, first_installed=first,
                                      last_installed=last, until=until)
    except calc.SavingsDataError as exc:
        return {**out, "status": "insufficient_data", "message": f"meter {premises.meter.code}: {exc}"}
    months = [{"month": m.isoformat()[:7], "days": int(r.days), "hdd": round(float(r.hdd), 1),
               "cdd": round(float(r.cdd), 1), "actual_kwh": round(float(r.actual_kwh)),
               "adjusted_baseline_kwh": round(float(r.adjusted_baseline_kwh)),
               "avoided_kwh": round(float(r.avoided_kwh))} for m, r in result.reporting.iterrows()]
    baseline = [{"month": m.isoformat()[:7], "actual_kwh": round(float(r.kwh)),
                 "predicted_kwh": round(float(r.predicted_kwh))} for m, r in result.baseline.iterrows()]
    model = result.model
    message = (f"baseline of {model.n} months fits with CV(RMSE) {model.cv_rmse:.1%} and NMBE {model.nmbe:+.1%}: "
               + ("within" if model.passes else "outside")
               + " ASHRAE Guideline 14's monthly limits (CV(RMSE) ≤ 15 %, NMBE ±5 %)")
    if not model.passes:
        message += "; treat the measured figure with caution"
    return {**out, "status": "measured", "message": message, "model": model.as_dict(),
            "baseline_months": baseline, "months": months, "reporting_from": result.reporting_from.isoformat(),
            "avoided_kwh": round(result.avoided_kwh),
            "annualised_kwh": None if result.annualised_kwh is None else round(result.annualised_kwh),
            "notes": result.notes}


def programme_savings(session: Session, programme_code: str, *, until: dt.date,
                      temperatures: pd.Series | None = None) -> dict[str, Any]:
    """Savings estimated vs measured for the measures a programme awarded [kWh/year].

    A premises' measured (annualised) savings are shared between its installed measures in proportion to their
    estimates (option C measures the whole building, not each measure). Premises that cannot be measured yet
    are listed with the reason and left out of the measured total (and of ``estimated_measured_kwh_per_year``,
    the estimate of the measures that could be measured, so the two totals compare like with like).
    """
    programme = get_programme(session, programme_code)
    awards = list_awards(session, programme_code=programme.code)
    by_premises: dict[int, list[IncentiveAward]] = {}
    for a in awards:
        by_premises.setdefault(a.measure.premises_id, []).append(a)
    rows, estimated, estimated_measured, measured = [], 0, 0, 0
    for premises_id, items in sorted(by_premises.items()):
        result = premises_savings(session, premises_id, until=until, temperatures=temperatures)
        est = sum(a.measure.estimated_kwh_per_year for a in items)
        estimated += est
        share = None
        if result["status"] == "measured" and result["annualised_kwh"] is not None and result["estimated_kwh_per_year"]:
            installed = [a for a in items if a.measure.status in PAYABLE]
            part = sum(a.measure.estimated_kwh_per_year for a in installed)
            share = round(result["annualised_kwh"] * part / result["estimated_kwh_per_year"])
            measured += share
            estimated_measured += part
        rows.append({"premises_id": premises_id, "member_number": result["member_number"],
                     "measures": [a.measure_id for a in items], "estimated_kwh_per_year": est,
                     "measured_kwh_per_year": share, "status": result["status"], "message": result["message"]})
    return {"programme": programme.code, "estimated_kwh_per_year": estimated,
            "estimated_measured_kwh_per_year": estimated_measured, "measured_kwh_per_year": measured,
            "premises": rows}
