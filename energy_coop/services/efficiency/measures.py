"""Retrofit measures an energy audit recommends, and their state machine (SPEC section 8).

A measure moves ``proposed → approved → installed → verified``; ``proposed`` or ``approved`` may be
``discarded`` (with a reason). A measure that was never installed cannot be verified; the installation date
is required and may not be before the audit that recommended it; verification not before installation. Its
figures (cost [cents], estimated savings [kWh/year], useful life [years]) may be corrected until it is
verified or discarded, the cost and estimate only until an incentive is awarded on them.

Every change is recorded in the audit log; the caller owns the transaction, nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.models import IncentiveAward, Measure, Premises
from energy_coop.services import audit
from energy_coop.services.efficiency.checks import Check, audit_values
from energy_coop.services.efficiency.premises import get_audit, get_premises
from energy_coop.services.efficiency.serialisers import measure_dict
from energy_coop.vocabulary import MEASURE_CATEGORIES, MEASURE_STATUSES

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


MEASURE_FIGURES = ("category", "description", "cost_cents", "estimated_kwh_per_year", "useful_life_years")


def _check_measure(check: Check, values: dict[str, Any]) -> None:
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
    check = Check()
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
    check = Check()
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
    check = Check()
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
    before = audit_values(measure, ("status", "installed_on", "verified_on", "discard_reason"))
    measure.status = status
    if status == "installed":
        measure.installed_on = on
    elif status == "verified":
        measure.verified_on = on
    elif status == "discarded":
        measure.discard_reason = reason.strip()
    after = audit_values(measure, ("status", "installed_on", "verified_on", "discard_reason"))
    session.flush()
    audit.record(session, actor=actor, action="status", entity="measure", key=str(measure.id),
                 before={k: v for k, v in before.items() if v != after[k]},
                 after={k: v for k, v in after.items() if v != before[k]})
    return measure


# ----------------------------------------------------------------------------------------------- look-ups


def get_measure(session: Session, measure_id: int, *, member_id: int | None = None) -> Measure:
    row = session.get(Measure, measure_id) if isinstance(measure_id, int) else None
    if row is None or (member_id is not None and row.premises.member_id != member_id):
        raise NotFoundError(f"no measure {measure_id}")
    return row


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


# ---------------------------------------------------------------------------------------------- form use cases


def propose_measure_on_premises(session: Session, premises_id: int, *, audit_id: int, actor: str,
                                **figures: Any) -> Measure:
    """:func:`propose_measure` from the page of premises ``premises_id``: the audit must be one made of these
    premises (else a refusal naming ``audit_id``); unknown premises are a :class:`NotFoundError`."""
    get_premises(session, premises_id)
    try:
        of_premises = get_audit(session, audit_id).premises_id == premises_id
    except NotFoundError:
        of_premises = False
    if not of_premises:
        raise RefusedError("the measure was not proposed",
                           [RowError("", "audit_id", f"no audit {audit_id} was made of these premises")])
    return propose_measure(session, audit_id=audit_id, actor=actor, **figures)


def correct_measure(session: Session, measure_id: int, *, actor: str,
                    **typed: Any) -> tuple[Measure, list[str]]:
    """Correct a measure from a form's typed figures: a value that is None (left blank) or equal to the stored
    one keeps the stored value (so an awarded measure's unchanged cost is not offered for change); the rest go
    through :func:`update_measure`. Returns the measure and the names of the figures that changed."""
    current = measure_dict(get_measure(session, measure_id))
    changes = {name: value for name, value in typed.items() if value is not None and value != current[name]}
    if not changes:
        return get_measure(session, measure_id), []
    return update_measure(session, measure_id, actor=actor, **changes), list(changes)


def premises_of_measure(session: Session, measure_id: int) -> int | None:
    """The id of the premises of measure ``measure_id`` (None when there is no such measure)."""
    try:
        return get_measure(session, measure_id).premises_id
    except NotFoundError:
        return None
