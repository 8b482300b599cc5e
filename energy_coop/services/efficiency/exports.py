"""The auditor's CSV exports of the efficiency programme (SPEC section 8): one table per export, amounts in
integer cents, energy in integer kWh/year, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from energy_coop.errors import NotFoundError
from energy_coop.services.efficiency.incentives import list_awards, list_payments, list_programmes
from energy_coop.services.efficiency.measures import list_measures
from energy_coop.services.efficiency.premises import list_audits, list_premises
from energy_coop.services.efficiency.serialisers import (audit_dict, award_dict, measure_dict, payment_dict,
                                                         premises_dict, programme_dict)

EXPORTS = ("premises", "audits", "measures", "programmes", "awards", "payments")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """A cell that a spreadsheet would run as a formula (text starting with ``= + - @``, tab or carriage
    return) gets a leading apostrophe; numbers (``-12.5``) and non-text values are left as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def export_csv(session: Session, kind: str) -> str:
    """One auditor export as CSV text (header row; amounts in integer cents, energy in integer kWh/year)."""
    if kind not in EXPORTS:
        raise NotFoundError(f"no export {kind!r}; choose one of: {', '.join(EXPORTS)}")
    rows: list[dict[str, Any]]
    if kind == "premises":
        rows = [premises_dict(p) for p in list_premises(session)]
    elif kind == "audits":
        rows = [audit_dict(a) for a in list_audits(session)]
    elif kind == "measures":
        rows = [measure_dict(m) for m in list_measures(session)]
    elif kind == "programmes":
        rows = [{**programme_dict(p), "eligible_member_types": " ".join(p.eligible_member_types)}
                for p in list_programmes(session)]
    elif kind == "awards":
        rows = []
        for a in list_awards(session):
            d = award_dict(a)
            detail = d.pop("detail")
            rows.append({**d, **{f"rule_{k}": v for k, v in detail.items() if k not in d}})
    else:
        rows = [payment_dict(p) for p in list_payments(session)]
    columns = list(rows[0]) if rows else _EMPTY_COLUMNS[kind]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise_cell("" if row.get(k) is None else row.get(k)) for k in columns})
    return buf.getvalue()


_EMPTY_COLUMNS = {
    "premises": ["id", "member_number", "address", "floor_area_m2", "year_built", "heating_fuel", "meter_code",
                 "timezone"],
    "audits": ["id", "premises_id", "member_number", "audit_date", "auditor_name", "auditor_credential",
               "ashrae_level", "findings"],
    "measures": ["id", "audit_id", "premises_id", "member_number", "category", "description", "status",
                 "cost_cents", "estimated_kwh_per_year", "useful_life_years", "installed_on", "verified_on",
                 "discard_reason"],
    "programmes": ["id", "code", "name", "rule", "rate_per_kwh", "rate_micros_per_kwh", "percent_bp", "cap_cents",
                   "low_income_bonus_bp", "eligible_member_types", "opens_on", "closes_on", "budget_cents",
                   "awarded_cents", "paid_cents", "left_cents"],
    "awards": ["id", "programme", "measure_id", "member_number", "amount_cents", "bonus_cents", "paid_cents",
               "awarded_on", "awarded_by"],
    "payments": ["id", "award_id", "member_number", "amount_cents", "paid_on", "reference", "paid_by"],
}
