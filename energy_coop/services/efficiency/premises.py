"""Premises (a member's building in the efficiency programme) and their energy audits (SPEC section 8).

A premises has a floor area [m²], an optional year built, a heating fuel, a time zone (its meter readings'
local days) and, optionally, the member's consumption meter. Every change is recorded in the audit log; the
caller owns the transaction, nothing here commits.

In the look-ups, ``member_id`` given means a member's own view: anything of another member does not exist
(:class:`NotFoundError`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.errors import NotFoundError
from energy_coop.models import EnergyAudit, Member, Meter, Premises
from energy_coop.services import audit
from energy_coop.services.efficiency.checks import UNSET, Check
from energy_coop.services.efficiency.serialisers import premises_dict
from energy_coop.vocabulary import HEATING_FUELS

PREMISES_FIELDS = ("address", "floor_area_m2", "year_built", "heating_fuel", "timezone")


def _check_premises(check: Check, values: dict[str, Any]) -> None:
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
            if not isinstance(tz, str) or not tz or len(tz) > 64:  # a long name makes ZoneInfo fail with OSError
                raise ValueError
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            shown = f"{tz[:40]!r}..." if isinstance(tz, str) and len(tz) > 40 else repr(tz)
            check.add("timezone", f"{shown} is not a time zone name like America/New_York")


def _meter_for_premises(session: Session, check: Check, code: Any, member: Member | None) -> Meter | None:
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
                    timezone: str, year_built: int | None = None, meter_code: str | None = UNSET,
                    actor: str) -> Premises:
    """Register a member's building; ``meter_code`` defaults to the member's consumption meter (None: no
    meter). Floor area [m²]."""
    member = session.scalar(select(Member).where(Member.member_number == str(member_number)))
    if member is None:
        raise NotFoundError(f"no member with number {member_number!r} is registered")
    values = dict(address=address, floor_area_m2=floor_area_m2, year_built=year_built, heating_fuel=heating_fuel,
                  timezone=timezone)
    check = Check()
    _check_premises(check, values)
    if meter_code is UNSET:
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
    check = Check()
    for name in sorted(set(changes) - set(PREMISES_FIELDS) - {"meter_code"}):
        check.add(name, "cannot be changed here (unknown field)")
    _check_premises(check, changes)
    meter = UNSET
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
    if meter is not UNSET and meter is not premises.meter:
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
    check = Check()
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


# ----------------------------------------------------------------------------------------------- look-ups


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


def member_id_of(session: Session, member_number: str | None) -> int | None:
    """The id of the member numbered ``member_number`` (None when there is none)."""
    if member_number is None:
        return None
    return session.scalar(select(Member.id).where(Member.member_number == member_number))


def correct_premises(session: Session, premises_id: int, *, actor: str,
                     **typed: Any) -> tuple[Premises, list[str]]:
    """Correct a building from a form's typed values: a value that is None (left blank) or equal to the stored
    one keeps the stored value; the rest go through :func:`update_premises`. Returns the premises and the names
    of the fields that changed (none: nothing was changed or recorded)."""
    current = premises_dict(get_premises(session, premises_id))
    changes = {name: value for name, value in typed.items() if value is not None and value != current[name]}
    if not changes:
        return get_premises(session, premises_id), []
    return update_premises(session, premises_id, actor=actor, **changes), list(changes)
