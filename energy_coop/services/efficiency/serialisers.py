"""The efficiency programme's records as plain dicts (the pages, the API and the CSV exports show these):
amounts in integer cents, energy in integer kWh/year, dates as ISO text."""

from __future__ import annotations

from typing import Any

from energy_coop.models import (EnergyAudit, IncentiveAward, IncentivePayment, IncentiveProgramme, Measure,
                                Premises)
from energy_coop.units import rate_to_decimal


def premises_dict(p: Premises) -> dict[str, Any]:
    return {"id": p.id, "member_number": p.member.member_number, "address": p.address,
            "floor_area_m2": p.floor_area_m2, "year_built": p.year_built, "heating_fuel": p.heating_fuel,
            "meter_code": p.meter.code if p.meter else None, "timezone": p.timezone}


def audit_dict(a: EnergyAudit) -> dict[str, Any]:
    return {"id": a.id, "premises_id": a.premises_id, "member_number": a.premises.member.member_number,
            "audit_date": a.audit_date.isoformat(), "auditor_name": a.auditor_name,
            "auditor_credential": a.auditor_credential, "ashrae_level": a.ashrae_level, "findings": a.findings}


def measure_dict(m: Measure) -> dict[str, Any]:
    return {"id": m.id, "audit_id": m.audit_id, "premises_id": m.premises_id,
            "member_number": m.premises.member.member_number, "category": m.category,
            "description": m.description, "status": m.status, "cost_cents": m.cost_cents,
            "estimated_kwh_per_year": m.estimated_kwh_per_year, "useful_life_years": m.useful_life_years,
            "installed_on": m.installed_on.isoformat() if m.installed_on else None,
            "verified_on": m.verified_on.isoformat() if m.verified_on else None,
            "discard_reason": m.discard_reason}


def programme_dict(p: IncentiveProgramme) -> dict[str, Any]:
    return {"id": p.id, "code": p.code, "name": p.name, "rule": p.rule,
            "rate_per_kwh": str(rate_to_decimal(p.rate_micros_per_kwh)) if p.rate_micros_per_kwh else None,
            "rate_micros_per_kwh": p.rate_micros_per_kwh, "percent_bp": p.percent_bp, "cap_cents": p.cap_cents,
            "low_income_bonus_bp": p.low_income_bonus_bp, "eligible_member_types": list(p.eligible_member_types),
            "opens_on": p.opens_on.isoformat(), "closes_on": p.closes_on.isoformat(),
            "budget_cents": p.budget_cents, "awarded_cents": p.awarded_cents, "paid_cents": p.paid_cents,
            "left_cents": p.budget_cents - p.awarded_cents}


def award_dict(a: IncentiveAward) -> dict[str, Any]:
    return {"id": a.id, "programme": a.programme.code, "measure_id": a.measure_id,
            "member_number": a.member.member_number, "amount_cents": a.amount_cents, "bonus_cents": a.bonus_cents,
            "paid_cents": a.paid_cents, "awarded_on": a.awarded_on.isoformat(), "awarded_by": a.awarded_by,
            "detail": dict(a.detail)}


def payment_dict(p: IncentivePayment) -> dict[str, Any]:
    return {"id": p.id, "award_id": p.award_id, "member_number": p.award.member.member_number,
            "amount_cents": p.amount_cents, "paid_on": p.paid_on.isoformat(), "reference": p.reference,
            "paid_by": p.paid_by}
