"""The efficiency programme (SPEC section 8): premises, energy audits, measures, incentive programmes, awards,
payments, and the queries and CSV exports the pages and the API show.

Rules this module enforces (each refusal names every problem, in words a volunteer can act on):

* measures move ``proposed → approved → installed → verified``; ``proposed`` or ``approved`` may be
  ``discarded`` (with a reason). A measure that was never installed cannot be verified; the installation date
  is required and may not be before the audit that recommended it; verification not before installation.
* an award is computed from the programme's rule (:mod:`energy_coop.calc.efficiency.incentives`), only for an approved,
  installed or verified measure, of a member whose type the programme admits, dated within the programme's
  open..close dates, once per measure and programme, and never beyond the budget left: the programme row is
  locked first (``SELECT ... FOR UPDATE``; SQLite takes its write lock at ``BEGIN IMMEDIATE``), so two awards at
  once queue and the second sees the first; the awards are re-summed before returning and a CHECK on the
  programme row refuses any overspend that got past both. Beyond the budget is a :class:`ConflictError`.
* payments are recorded against an award of an installed (or verified) measure, never more in total than the
  award.

Every change is recorded in the audit log. The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.calc.efficiency import savings as calc
from energy_coop.calc.efficiency.incentives import compute_incentive
from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.importers import weather as weather_files
from energy_coop.models import (
    HEATING_FUELS,
    INCENTIVE_RULES,
    MEASURE_CATEGORIES,
    MEASURE_STATUSES,
    MEMBER_TYPES,
    EnergyAudit,
    IncentiveAward,
    IncentivePayment,
    IncentiveProgramme,
    Measure,
    Member,
    Meter,
    Premises,
    Reading,
)
from energy_coop.units import format_cents, rate_to_decimal
from energy_coop.services import audit

#: Allowed status changes of a measure.
TRANSITIONS = {
    "proposed": ("approved", "discarded"),
    "approved": ("installed", "discarded"),
    "installed": ("verified",),
    "verified": (),
    "discarded": (),
}
#: A measure in these statuses moves no more, and its figures can no longer be corrected.
FINAL = ("verified", "discarded")
AWARDABLE = ("approved", "installed", "verified")
PAYABLE = ("installed", "verified")
_UNSET: Any = object()


# ---------------------------------------------------------------------------------------------- checking


class _Check:
    """Collects every problem with a set of values, then refuses them all at once."""

    def __init__(self) -> None:
        self.errors: list[RowError] = []

    def add(self, name: str, reason: str) -> None:
        self.errors.append(RowError("", name, reason))

    def integer(self, name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None,
                required: bool = True, unit: str = "") -> None:
        if value is None:
            if required:
                self.add(name, "is required")
            return
        if type(value) is not int:  # noqa: E721 - bool and float are refused on purpose
            self.add(name, f"must be a whole number{' of ' + unit if unit else ''}, not {value!r}")
            return
        if minimum is not None and value < minimum:
            self.add(name, f"must be at least {minimum}{' ' + unit if unit else ''}, not {value}"
                     if minimum != 0 else f"must not be negative ({value})")
        if maximum is not None and value > maximum:
            self.add(name, f"must be at most {maximum}{' ' + unit if unit else ''}, not {value}")

    def text(self, name: str, value: Any, *, max_len: int, required: bool = True) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(name, "is required")
            return
        if not isinstance(value, str):
            self.add(name, f"must be text, not {value!r}")
        elif len(value) > max_len:
            self.add(name, f"is too long ({len(value)} characters; at most {max_len})")

    def date(self, name: str, value: Any, *, required: bool = True) -> None:
        if value is None:
            if required:
                self.add(name, "is required")
            return
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            self.add(name, f"must be a date like 2024-05-01, not {value!r}")

    def choice(self, name: str, value: Any, choices: Iterable[str]) -> None:
        choices = tuple(choices)
        if value not in choices:
            self.add(name, f"{value!r} is not one of: {', '.join(choices)}")

    def refuse(self, message: str) -> None:
        if self.errors:
            raise RefusedError(message, self.errors)


def _audit_values(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


# ------------------------------------------------------------------------------------------------ premises

PREMISES_FIELDS = ("address", "floor_area_m2", "year_built", "heating_fuel", "timezone")


def _check_premises(check: _Check, values: dict[str, Any]) -> None:
    if "address" in values:
        check.text("address", values["address"], max_len=300)
    if "floor_area_m2" in values:
        check.integer("floor_area_m2", values["floor_area_m2"], minimum=1, maximum=1_000_000, unit="m²")
    if "year_built" in values:
        check.integer("year_built", values["year_built"], minimum=1600, maximum=2100, required=False)
    if "heating_fuel" in values:
        check.choice("heating_fuel", values["heating_fuel"], HEATING_FUELS)
    if "timezone" in values:
        tz = values["timezone"]
        try:
            if not isinstance(tz, str) or not tz:
                raise ValueError
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            check.add("timezone", f"{tz!r} is not a time zone name like America/New_York")


def _meter_for_premises(session: Session, check: _Check, code: Any, member: Member | None) -> Meter | None:
    if code is None:
        return None
    if not isinstance(code, str) or not code.strip():
        check.add("meter_code", f"{code!r} is not a meter code")
        return None
    meter = session.scalar(select(Meter).where(Meter.code == code.strip()))
    if meter is None:
        check.add("meter_code", f"no meter {code.strip()!r} is registered")
        return None
    if meter.kind != "consumption":
        check.add("meter_code", f"meter {meter.code!r} is a {meter.kind} meter, not a consumption meter")
        return None
    owner = session.scalar(select(Member).where(Member.meter_id == meter.id))
    if owner is not None and member is not None and owner.id != member.id:
        check.add("meter_code", f"meter {meter.code!r} belongs to member {owner.member_number}")
        return None
    return meter


def create_premises(session: Session, *, member_number: str, address: str, floor_area_m2: int, heating_fuel: str,
                    timezone: str, year_built: int | None = None, meter_code: str | None = _UNSET,
                    actor: str) -> Premises:
    """Register a member's building; ``meter_code`` defaults to the member's consumption meter (None: no
    meter). Floor area [m²]."""
    member = session.scalar(select(Member).where(Member.member_number == str(member_number)))
    if member is None:
        raise NotFoundError(f"no member with number {member_number!r} is registered")
    values = dict(address=address, floor_area_m2=floor_area_m2, year_built=year_built, heating_fuel=heating_fuel,
                  timezone=timezone)
    check = _Check()
    _check_premises(check, values)
    if meter_code is _UNSET:
        meter = member.meter
    else:
        meter = _meter_for_premises(session, check, meter_code, member)
    check.refuse("cannot register the premises")
    values["address"] = address.strip()
    premises = Premises(member=member, meter=meter, **values)
    session.add(premises)
    session.flush()
    audit.record(session, actor=actor, action="create", entity="premises", key=str(premises.id),
                 after={**values, "member_number": member.member_number,
                        "meter_code": meter.code if meter else None})
    return premises


def update_premises(session: Session, premises_id: int, *, actor: str, **changes: Any) -> Premises:
    """Change some of a premises' ``address``, ``floor_area_m2``, ``year_built``, ``heating_fuel``,
    ``timezone`` and ``meter_code`` (None unlinks the meter)."""
    premises = get_premises(session, premises_id)
    check = _Check()
    for name in sorted(set(changes) - set(PREMISES_FIELDS) - {"meter_code"}):
        check.add(name, "cannot be changed here (unknown field)")
    _check_premises(check, changes)
    meter = _UNSET
    if "meter_code" in changes:
        meter = _meter_for_premises(session, check, changes["meter_code"], premises.member)
    check.refuse(f"cannot change premises {premises_id}")
    if "address" in changes:  # stored trimmed, as when the premises were registered
        changes = {**changes, "address": changes["address"].strip()}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in PREMISES_FIELDS:
        if name in changes and getattr(premises, name) != changes[name]:
            before[name], after[name] = getattr(premises, name), changes[name]
            setattr(premises, name, changes[name])
    if meter is not _UNSET and meter is not premises.meter:
        before["meter_code"] = premises.meter.code if premises.meter else None
        after["meter_code"] = meter.code if meter else None
        premises.meter = meter
    if after:
        audit.record(session, actor=actor, action="update", entity="premises", key=str(premises.id),
                     before=before, after=after)
    return premises


# --------------------------------------------------------------------------------------------------- audits


def record_audit(session: Session, *, premises_id: int, audit_date: dt.date, auditor_name: str, ashrae_level: int,
                 findings: str = "", auditor_credential: str | None = None, actor: str) -> EnergyAudit:
    """Record an energy audit of a premises (ASHRAE level 1, 2 or 3)."""
    premises = get_premises(session, premises_id)
    check = _Check()
    check.date("audit_date", audit_date)
    check.text("auditor_name", auditor_name, max_len=200)
    check.text("auditor_credential", auditor_credential, max_len=200, required=False)
    check.integer("ashrae_level", ashrae_level, minimum=1, maximum=3)
    check.text("findings", findings, max_len=20_000, required=False)
    check.refuse("cannot record the audit")
    row = EnergyAudit(premises=premises, audit_date=audit_date, auditor_name=auditor_name.strip(),
                      auditor_credential=(auditor_credential or "").strip() or None, ashrae_level=ashrae_level,
                      findings=findings or "")
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="create", entity="energy_audit", key=str(row.id),
                 after={"premises_id": premises.id, "audit_date": audit_date, "auditor_name": row.auditor_name,
                        "auditor_credential": row.auditor_credential, "ashrae_level": ashrae_level})
    return row


# ------------------------------------------------------------------------------------------------- measures

MEASURE_FIGURES = ("category", "description", "cost_cents", "estimated_kwh_per_year", "useful_life_years")


def _check_measure(check: _Check, values: dict[str, Any]) -> None:
    if "category" in values:
        check.choice("category", values["category"], MEASURE_CATEGORIES)
    if "description" in values:
        check.text("description", values["description"], max_len=500)
    if "cost_cents" in values:
        check.integer("cost_cents", values["cost_cents"], minimum=0, maximum=10**13, unit="cents")
    if "estimated_kwh_per_year" in values:
        check.integer("estimated_kwh_per_year", values["estimated_kwh_per_year"], minimum=0, maximum=10**10,
                      unit="kWh/year")
    if "useful_life_years" in values:
        check.integer("useful_life_years", values["useful_life_years"], minimum=1, maximum=100, unit="years")


def propose_measure(session: Session, *, audit_id: int, category: str, description: str, cost_cents: int,
                    estimated_kwh_per_year: int, useful_life_years: int, actor: str) -> Measure:
    """A measure an audit recommends, as ``proposed``: cost [cents], estimated savings [kWh/year], useful life
    [years]."""
    energy_audit = get_audit(session, audit_id)
    values = dict(category=category, description=description, cost_cents=cost_cents,
                  estimated_kwh_per_year=estimated_kwh_per_year, useful_life_years=useful_life_years)
    check = _Check()
    _check_measure(check, values)
    check.refuse("cannot propose the measure")
    values["description"] = description.strip()
    measure = Measure(audit=energy_audit, premises_id=energy_audit.premises_id, status="proposed", **values)
    session.add(measure)
    session.flush()
    audit.record(session, actor=actor, action="create", entity="measure", key=str(measure.id),
                 after={**values, "audit_id": energy_audit.id, "status": "proposed"})
    return measure


def update_measure(session: Session, measure_id: int, *, actor: str, **changes: Any) -> Measure:
    """Correct a measure's figures (category, description, cost, estimate, life) before it is verified or
    discarded; the cost and estimate are fixed once an incentive was awarded for it (the award was computed
    from them)."""
    measure = get_measure(session, measure_id)
    check = _Check()
    for name in sorted(set(changes) - set(MEASURE_FIGURES)):
        check.add(name, "cannot be changed here (unknown field; use the status change for status and dates)")
    _check_measure(check, changes)
    if measure.status in FINAL:
        check.add("status", f"measure {measure.id} is {measure.status}: its figures are final")
    awarded = session.scalar(select(func.count()).select_from(IncentiveAward)
                             .where(IncentiveAward.measure_id == measure.id))
    if awarded:
        for name in ("cost_cents", "estimated_kwh_per_year"):
            if name in changes and changes[name] != getattr(measure, name):
                check.add(name, "cannot change: an incentive was awarded on this figure")
    check.refuse(f"cannot change measure {measure_id}")
    if "description" in changes:  # stored trimmed, as when the measure was proposed
        changes = {**changes, "description": changes["description"].strip()}
    before, after = {}, {}
    for name in MEASURE_FIGURES:
        if name in changes and getattr(measure, name) != changes[name]:
            before[name], after[name] = getattr(measure, name), changes[name]
            setattr(measure, name, changes[name])
    if after:
        audit.record(session, actor=actor, action="update", entity="measure", key=str(measure.id),
                     before=before, after=after)
    return measure


def set_measure_status(session: Session, measure_id: int, status: str, *, actor: str, on: dt.date | None = None,
                       reason: str | None = None) -> Measure:
    """Move a measure to ``status``: ``approved``; ``installed`` (``on`` = installation date, not before the
    audit); ``verified`` (``on`` = verification date, not before the installation); ``discarded`` (``reason``
    required)."""
    measure = get_measure(session, measure_id)
    check = _Check()
    check.choice("status", status, MEASURE_STATUSES)
    check.refuse(f"cannot change the status of measure {measure_id}")
    current = measure.status
    if status not in TRANSITIONS[current]:
        if status == "verified" and current in ("proposed", "approved"):
            raise RefusedError(f"measure {measure.id} cannot be verified: it was never installed "
                               f"(it is {current}; record its installation first)")
        allowed = ", ".join(TRANSITIONS[current]) or "nothing (it is final)"
        raise RefusedError(f"measure {measure.id} is {current}: it can become {allowed}, not {status}")
    if status == "installed":
        check.date("on", on)
        if isinstance(on, dt.date) and on < measure.audit.audit_date:
            check.add("on", f"the installation date {on} is before the audit of {measure.audit.audit_date} "
                            "that recommended the measure")
    elif status == "verified":
        check.date("on", on)
        if isinstance(on, dt.date) and measure.installed_on and on < measure.installed_on:
            check.add("on", f"the verification date {on} is before the installation on {measure.installed_on}")
    elif status == "discarded":
        check.text("reason", reason, max_len=2000)
        awards = session.scalar(select(func.count()).select_from(IncentiveAward)
                                .where(IncentiveAward.measure_id == measure.id))
        if awards:
            raise ConflictError(f"measure {measure.id} has an incentive award: it cannot be discarded")
    check.refuse(f"cannot make measure {measure.id} {status}")
    before = _audit_values(measure, ("status", "installed_on", "verified_on", "discard_reason"))
    measure.status = status
    if status == "installed":
        measure.installed_on = on
    elif status == "verified":
        measure.verified_on = on
    elif status == "discarded":
        measure.discard_reason = reason.strip()
    after = _audit_values(measure, ("status", "installed_on", "verified_on", "discard_reason"))
    session.flush()
    audit.record(session, actor=actor, action="status", entity="measure", key=str(measure.id),
                 before={k: v for k, v in before.items() if v != after[k]},
                 after={k: v for k, v in after.items() if v != before[k]})
    return measure


# ---------------------------------------------------------------------------------------------- programmes


def _check_programme(check: _Check, v: dict[str, Any]) -> None:
    check.text("code", v["code"], max_len=64)
    check.text("name", v["name"], max_len=200)
    check.integer("budget_cents", v["budget_cents"], minimum=1, maximum=10**13, unit="cents")
    check.choice("rule", v["rule"], INCENTIVE_RULES)
    if v["rule"] == "per_kwh":
        check.integer("rate_micros_per_kwh", v["rate_micros_per_kwh"], minimum=1, maximum=10**9)
        if v["percent_bp"] is not None:
            check.add("percent_bp", "a per-kWh programme has no percentage of cost")
    elif v["rule"] == "percent_of_cost":
        check.integer("percent_bp", v["percent_bp"], minimum=1, maximum=10_000, unit="basis points")
        if v["rate_micros_per_kwh"] is not None:
            check.add("rate_micros_per_kwh", "a percent-of-cost programme has no rate per kWh")
    check.integer("cap_cents", v["cap_cents"], minimum=1, maximum=10**13, required=False, unit="cents")
    check.integer("low_income_bonus_bp", v["low_income_bonus_bp"], minimum=0, maximum=10_000, unit="basis points")
    types = v["eligible_member_types"]
    if not isinstance(types, (list, tuple)) or not types:
        check.add("eligible_member_types", "name at least one member type")
    else:
        for t in types:
            if t not in MEMBER_TYPES:
                check.add("eligible_member_types", f"{t!r} is not one of: {', '.join(MEMBER_TYPES)}")
    check.date("opens_on", v["opens_on"])
    check.date("closes_on", v["closes_on"])
    if isinstance(v["opens_on"], dt.date) and isinstance(v["closes_on"], dt.date) and v["closes_on"] < v["opens_on"]:
        check.add("closes_on", f"the programme closes ({v['closes_on']}) before it opens ({v['opens_on']})")


def create_programme(session: Session, *, code: str, name: str, budget_cents: int, rule: str, opens_on: dt.date,
                     closes_on: dt.date, eligible_member_types: list[str], rate_micros_per_kwh: int | None = None,
                     percent_bp: int | None = None, cap_cents: int | None = None, low_income_bonus_bp: int = 0,
                     actor: str) -> IncentiveProgramme:
    """Create an incentive programme: budget [cents], rule ``per_kwh`` (rate [1e-6 currency/kWh]) or
    ``percent_of_cost`` ([bp]), optional cap per measure [cents], low-income bonus [bp], eligible member types,
    open and close dates (inclusive)."""
    values = dict(code=code.strip() if isinstance(code, str) else code, name=name, budget_cents=budget_cents,
                  rule=rule, rate_micros_per_kwh=rate_micros_per_kwh, percent_bp=percent_bp, cap_cents=cap_cents,
                  low_income_bonus_bp=low_income_bonus_bp, eligible_member_types=eligible_member_types,
                  opens_on=opens_on, closes_on=closes_on)
    check = _Check()
    _check_programme(check, values)
    check.refuse("cannot create the programme")
    if session.scalar(select(IncentiveProgramme.id).where(IncentiveProgramme.code == values["code"])) is not None:
        raise ConflictError(f"a programme with code {values['code']!r} already exists")
    values["eligible_member_types"] = sorted(set(eligible_member_types), key=MEMBER_TYPES.index)
    values["name"] = name.strip()
    programme = IncentiveProgramme(awarded_cents=0, paid_cents=0, **values)
    session.add(programme)
    session.flush()
    audit.record(session, actor=actor, action="create", entity="incentive_programme", key=programme.code,
                 after=values)
    return programme


def update_programme(session: Session, code: str, *, actor: str, **changes: Any) -> IncentiveProgramme:
    """Change a programme's name, budget [cents], dates, eligibility, cap or bonus. The rule and rates of a
    programme with awards stay as they were (the awards were computed from them); the budget never drops below
    what is already awarded."""
    programme = _locked_programme(session, code)
    allowed = {"name", "budget_cents", "opens_on", "closes_on", "eligible_member_types", "cap_cents",
               "low_income_bonus_bp", "rule", "rate_micros_per_kwh", "percent_bp"}
    check = _Check()
    for name in sorted(set(changes) - allowed):
        check.add(name, "cannot be changed (unknown field)")
    merged = {k: getattr(programme, k) for k in allowed | {"code"}}
    merged.update({k: v for k, v in changes.items() if k in allowed})
    _check_programme(check, merged)
    if programme.awarded_cents:
        for name in ("rule", "rate_micros_per_kwh", "percent_bp", "cap_cents", "low_income_bonus_bp"):
            if name in changes and changes[name] != getattr(programme, name):
                check.add(name, "cannot change: awards were already computed with it")
    check.refuse(f"cannot change programme {programme.code}")
    if isinstance(merged["budget_cents"], int) and merged["budget_cents"] < programme.awarded_cents:
        raise ConflictError(f"programme {programme.code} has already awarded {format_cents(programme.awarded_cents)}: "
                            f"the budget cannot be {format_cents(merged['budget_cents'])}")
    before, after = {}, {}
    for name in sorted(allowed):
        if name in changes and getattr(programme, name) != changes[name]:
            before[name], after[name] = getattr(programme, name), changes[name]
            setattr(programme, name, changes[name])
    if after:
        session.flush()
        audit.record(session, actor=actor, action="update", entity="incentive_programme", key=programme.code,
                     before=before, after=after)
    return programme


def _locked_programme(session: Session, code_or_id: str | int) -> IncentiveProgramme:
    """The programme row, locked for the rest of the transaction (``FOR UPDATE``; a no-op on SQLite, whose
    ``BEGIN IMMEDIATE`` already holds the database's write lock)."""
    stmt = select(IncentiveProgramme).with_for_update()
    if isinstance(code_or_id, int):
        stmt = stmt.where(IncentiveProgramme.id == code_or_id)
    else:
        stmt = stmt.where(IncentiveProgramme.code == str(code_or_id))
    programme = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if programme is None:
        raise NotFoundError(f"no incentive programme {code_or_id!r}")
    return programme


def _resum(session: Session, programme: IncentiveProgramme) -> None:
    """Re-add the awards and payments of ``programme`` and compare them with its running sums."""
    session.flush()
    awarded, paid = session.execute(
        select(func.coalesce(func.sum(IncentiveAward.amount_cents), 0),
               func.coalesce(func.sum(IncentiveAward.paid_cents), 0))
        .where(IncentiveAward.programme_id == programme.id)).one()
    payments = session.scalar(
        select(func.coalesce(func.sum(IncentivePayment.amount_cents), 0))
        .join(IncentiveAward, IncentivePayment.award_id == IncentiveAward.id)
        .where(IncentiveAward.programme_id == programme.id))
    if (int(awarded) != programme.awarded_cents or int(paid) != programme.paid_cents
            or int(payments) != programme.paid_cents or programme.awarded_cents > programme.budget_cents):
        raise ConflictError(
            f"programme {programme.code}: its records disagree (awards {awarded}, recorded {programme.awarded_cents}, "
            f"payments {payments}, recorded {programme.paid_cents}, budget {programme.budget_cents}); nothing saved")


# ----------------------------------------------------------------------------------------- awards, payments


def preview_incentive(session: Session, programme_code: str, measure_id: int) -> dict[str, Any]:
    """What ``programme_code`` would award for ``measure_id`` (no checks of dates, eligibility or budget)."""
    programme = get_programme(session, programme_code)
    measure = get_measure(session, measure_id)
    return _compute(programme, measure).as_dict()


def _compute(programme: IncentiveProgramme, measure: Measure):
    return compute_incentive(
        rule=programme.rule, cost_cents=measure.cost_cents, estimated_kwh_per_year=measure.estimated_kwh_per_year,
        low_income=bool(measure.premises.member.low_income), rate_micros_per_kwh=programme.rate_micros_per_kwh,
        percent_bp=programme.percent_bp, cap_cents=programme.cap_cents,
        low_income_bonus_bp=programme.low_income_bonus_bp)


def award_incentive(session: Session, *, programme_code: str, measure_id: int, awarded_on: dt.date,
                    actor: str) -> IncentiveAward:
    """Award ``programme_code``'s incentive for ``measure_id`` on ``awarded_on``, computed from the rule.

    Refused (:class:`RefusedError`) when the programme is not open that day, the member's type is not eligible,
    the measure is not approved/installed/verified or the rule gives nothing; :class:`ConflictError` when the
    measure already has an award from this programme or the budget left cannot cover it.
    """
    check = _Check()
    check.date("awarded_on", awarded_on)
    check.refuse("cannot award the incentive")
    programme = _locked_programme(session, programme_code)
    measure = get_measure(session, measure_id)
    member = measure.premises.member
    if awarded_on < programme.opens_on:
        check.add("awarded_on", f"programme {programme.code} opens on {programme.opens_on}; {awarded_on} is before")
    if awarded_on > programme.closes_on:
        check.add("awarded_on", f"programme {programme.code} closed on {programme.closes_on}; {awarded_on} is after")
    if member.member_type not in programme.eligible_member_types:
        check.add("member", f"member {member.member_number} is a {member.member_type}; programme {programme.code} "
                            f"is for: {', '.join(programme.eligible_member_types)}")
    if measure.status not in AWARDABLE:
        check.add("measure", f"measure {measure.id} is {measure.status}; only an approved, installed or verified "
                             "measure can have an incentive")
    incentive = _compute(programme, measure)
    if incentive.total_cents <= 0:
        check.add("measure", f"the rule of programme {programme.code} gives nothing for measure {measure.id} "
                             "(no cost or no estimated savings)")
    check.refuse(f"cannot award programme {programme.code}'s incentive for measure {measure.id}")
    existing = session.scalar(select(IncentiveAward.id).where(IncentiveAward.programme_id == programme.id,
                                                              IncentiveAward.measure_id == measure.id))
    if existing is not None:
        raise ConflictError(f"measure {measure.id} already has award {existing} from programme {programme.code}")
    left = programme.budget_cents - programme.awarded_cents
    if incentive.total_cents > left:
        raise ConflictError(
            f"programme {programme.code} has {format_cents(left)} left of its budget of "
            f"{format_cents(programme.budget_cents)}; this award needs {format_cents(incentive.total_cents)}",
            subject=programme.code)
    detail = {**incentive.as_dict(), "rule": programme.rule, "rate_micros_per_kwh": programme.rate_micros_per_kwh,
              "percent_bp": programme.percent_bp, "cap_cents": programme.cap_cents,
              "low_income_bonus_bp": programme.low_income_bonus_bp, "low_income": bool(member.low_income),
              "cost_cents": measure.cost_cents, "estimated_kwh_per_year": measure.estimated_kwh_per_year}
    award = IncentiveAward(programme=programme, measure=measure, member_id=member.id,
                           amount_cents=incentive.total_cents, bonus_cents=incentive.bonus_cents, paid_cents=0,
                           awarded_on=awarded_on, awarded_by=actor, detail=detail)
    session.add(award)
    programme.awarded_cents = programme.awarded_cents + incentive.total_cents
    _resum(session, programme)
    audit.record(session, actor=actor, action="award", entity="incentive_award", key=str(award.id),
                 after={"programme": programme.code, "measure_id": measure.id, "member_number": member.member_number,
                        "amount_cents": award.amount_cents, "awarded_on": awarded_on, "detail": detail},
                 note=f"budget left {programme.budget_cents - programme.awarded_cents} cents")
    return award


def record_payment(session: Session, *, award_id: int, amount_cents: int, paid_on: dt.date,
                   reference: str | None = None, actor: str) -> IncentivePayment:
    """Record money paid [cents] against an award; the measure must be installed, the total paid never more than
    the award (:class:`ConflictError`)."""
    award = get_award(session, award_id)
    programme = _locked_programme(session, award.programme_id)
    session.refresh(award)
    check = _Check()
    check.integer("amount_cents", amount_cents, minimum=1, maximum=10**13, unit="cents")
    check.date("paid_on", paid_on)
    check.text("reference", reference, max_len=200, required=False)
    if isinstance(paid_on, dt.date) and paid_on < award.awarded_on:
        check.add("paid_on", f"{paid_on} is before the award was made ({award.awarded_on})")
    if award.measure.status not in PAYABLE:
        check.add("award", f"measure {award.measure_id} is {award.measure.status}: pay once it is installed")
    check.refuse(f"cannot record a payment against award {award.id}")
    left = award.amount_cents - award.paid_cents
    if amount_cents > left:
        raise ConflictError(f"award {award.id} is {format_cents(award.amount_cents)} of which "
                            f"{format_cents(award.paid_cents)} is paid: at most {format_cents(left)} can be paid, "
                            f"not {format_cents(amount_cents)}")
    payment = IncentivePayment(award=award, amount_cents=amount_cents, paid_on=paid_on,
                               reference=(reference or "").strip() or None, paid_by=actor)
    session.add(payment)
    award.paid_cents = award.paid_cents + amount_cents
    programme.paid_cents = programme.paid_cents + amount_cents
    _resum(session, programme)
    audit.record(session, actor=actor, action="pay", entity="incentive_payment", key=str(payment.id),
                 after={"award_id": award.id, "amount_cents": amount_cents, "paid_on": paid_on,
                        "reference": payment.reference})
    return payment


# ----------------------------------------------------------------------------------------------- look-ups
# ``member_id`` given = a member's own view: anything of another member does not exist (NotFoundError).


def get_premises(session: Session, premises_id: int, *, member_id: int | None = None) -> Premises:
    row = session.get(Premises, premises_id) if isinstance(premises_id, int) else None
    if row is None or (member_id is not None and row.member_id != member_id):
        raise NotFoundError(f"no premises {premises_id}")
    return row


def get_audit(session: Session, audit_id: int, *, member_id: int | None = None) -> EnergyAudit:
    row = session.get(EnergyAudit, audit_id) if isinstance(audit_id, int) else None
    if row is None or (member_id is not None and row.premises.member_id != member_id):
        raise NotFoundError(f"no energy audit {audit_id}")
    return row


def get_measure(session: Session, measure_id: int, *, member_id: int | None = None) -> Measure:
    row = session.get(Measure, measure_id) if isinstance(measure_id, int) else None
    if row is None or (member_id is not None and row.premises.member_id != member_id):
        raise NotFoundError(f"no measure {measure_id}")
    return row


def get_programme(session: Session, code_or_id: str | int) -> IncentiveProgramme:
    if isinstance(code_or_id, int):
        row = session.get(IncentiveProgramme, code_or_id)
    else:
        row = session.scalar(select(IncentiveProgramme).where(IncentiveProgramme.code == str(code_or_id)))
    if row is None:
        raise NotFoundError(f"no incentive programme {code_or_id!r}")
    return row


def get_award(session: Session, award_id: int, *, member_id: int | None = None) -> IncentiveAward:
    row = session.get(IncentiveAward, award_id) if isinstance(award_id, int) else None
    if row is None or (member_id is not None and row.member_id != member_id):
        raise NotFoundError(f"no incentive award {award_id}")
    return row


def list_premises(session: Session, *, member_id: int | None = None) -> list[Premises]:
    stmt = select(Premises).order_by(Premises.id)
    if member_id is not None:
        stmt = stmt.where(Premises.member_id == member_id)
    return list(session.scalars(stmt))


def list_audits(session: Session, *, member_id: int | None = None, premises_id: int | None = None) -> list[EnergyAudit]:
    stmt = select(EnergyAudit).join(Premises).order_by(EnergyAudit.audit_date, EnergyAudit.id)
    if member_id is not None:
        stmt = stmt.where(Premises.member_id == member_id)
    if premises_id is not None:
        stmt = stmt.where(EnergyAudit.premises_id == premises_id)
    return list(session.scalars(stmt))


def list_measures(session: Session, *, member_id: int | None = None, status: str | None = None,
                  premises_id: int | None = None) -> list[Measure]:
    stmt = select(Measure).join(Premises, Measure.premises_id == Premises.id).order_by(Measure.id)
    if member_id is not None:
        stmt = stmt.where(Premises.member_id == member_id)
    if status is not None:
        if status not in MEASURE_STATUSES:
            raise RefusedError(f"status {status!r} is not one of: {', '.join(MEASURE_STATUSES)}")
        stmt = stmt.where(Measure.status == status)
    if premises_id is not None:
        stmt = stmt.where(Measure.premises_id == premises_id)
    return list(session.scalars(stmt))


def list_programmes(session: Session) -> list[IncentiveProgramme]:
    return list(session.scalars(select(IncentiveProgramme).order_by(IncentiveProgramme.opens_on,
                                                                   IncentiveProgramme.code)))


def list_awards(session: Session, *, member_id: int | None = None,
                programme_code: str | None = None) -> list[IncentiveAward]:
    stmt = select(IncentiveAward).order_by(IncentiveAward.id)
    if member_id is not None:
        stmt = stmt.where(IncentiveAward.member_id == member_id)
    if programme_code is not None:
        stmt = stmt.where(IncentiveAward.programme_id == get_programme(session, programme_code).id)
    return list(session.scalars(stmt))


def list_payments(session: Session, *, member_id: int | None = None) -> list[IncentivePayment]:
    stmt = select(IncentivePayment).join(IncentiveAward).order_by(IncentivePayment.id)
    if member_id is not None:
        stmt = stmt.where(IncentiveAward.member_id == member_id)
    return list(session.scalars(stmt))


def budget_summary(session: Session, *, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Budget used vs left per programme [cents]; ``open`` tells whether it takes awards on ``on``."""
    counts = dict(session.execute(select(IncentiveAward.programme_id, func.count())
                                  .group_by(IncentiveAward.programme_id)).all())
    out = []
    for p in list_programmes(session):
        out.append({**programme_dict(p), "awards": int(counts.get(p.id, 0)),
                    "open": None if on is None else p.opens_on <= on <= p.closes_on})
    return out


def measures_by_status(session: Session, *, member_id: int | None = None) -> dict[str, dict[str, int]]:
    """Per status: how many measures, their cost [cents] and estimated savings [kWh/year]."""
    stmt = (select(Measure.status, func.count(), func.coalesce(func.sum(Measure.cost_cents), 0),
                   func.coalesce(func.sum(Measure.estimated_kwh_per_year), 0))
            .join(Premises, Measure.premises_id == Premises.id).group_by(Measure.status))
    if member_id is not None:
        stmt = stmt.where(Premises.member_id == member_id)
    found = {s: (n, c, e) for s, n, c, e in session.execute(stmt)}
    return {s: {"count": int(found.get(s, (0, 0, 0))[0]), "cost_cents": int(found.get(s, (0, 0, 0))[1]),
                "estimated_kwh_per_year": int(found.get(s, (0, 0, 0))[2])} for s in MEASURE_STATUSES}


# -------------------------------------------------------------------------------------------- serialising


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


# ---------------------------------------------------------------------------------------- measured savings


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
    window = calc._add_months(first.replace(day=1), -calc.MAX_BASELINE_MONTHS)
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


# ---------------------------------------------------------------------------------------------- CSV exports

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
