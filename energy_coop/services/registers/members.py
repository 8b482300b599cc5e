"""The members register (SPEC section 3): one row per member, keyed by ``member_number``, with an optional
consumption meter. The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.errors import RowError
from energy_coop.importers.registers.tables import TableRow
from energy_coop.models import Member, Meter
from energy_coop.services import audit
from energy_coop.services.registers.fields import MISSING, RowFields, duplicate_keys
from energy_coop.services.registers.upsert import LoadResult, apply_changes, create_row, meter_for, refuse_if
from energy_coop.units import kwh_to_mwh
from energy_coop.vocabulary import MEMBER_TYPES

REQUIRED = {"member_number", "name"}
OPTIONAL = {"email", "member_type", "joined_on", "low_income", "annual_usage_kwh", "meter_code"}


def load_members(session: Session, rows: list[TableRow], name: str, actor: str) -> LoadResult:
    """Upsert the member rows of file ``name`` by ``member_number`` (see :mod:`.loading`); refused whole on any problem."""
    errors = duplicate_keys(rows, lambda r: r.values["member_number"], "member_number")
    parsed: list[tuple[TableRow, dict[str, Any], Any]] = []
    for row in rows:
        f = RowFields(row, errors)
        usage = f.exact("annual_usage_kwh", kwh_to_mwh, minimum=0)
        values = {
            "member_number": f.code("member_number", required=True),
            "name": f.text("name", required=True),
            "email": f.email("email"),
            "member_type": f.choice("member_type", MEMBER_TYPES, default="household"),
            "joined_on": f.date("joined_on"),
            "low_income": f.boolean("low_income", default=False),
            "annual_usage_wh": usage if usage in (None, MISSING) else usage // 1000,
        }
        meter_code = f.code("meter_code")
        if f.ok:
            parsed.append((row, values, meter_code))
    existing = {
        m.member_number: m
        for m in session.scalars(select(Member).where(Member.member_number.in_([v["member_number"] for _, v, _ in parsed])))
    } if parsed else {}
    pending_meters: dict[str, Meter] = {}
    meter_owner: dict[str, str] = {}
    resolved: list[tuple[dict[str, Any], Any]] = []
    for row, values, meter_code in parsed:
        meter = MISSING
        if meter_code is None:
            meter = None
        elif meter_code is not MISSING:
            if meter_code in meter_owner:
                errors.append(RowError(row.where, "meter_code",
                                       f"meter {meter_code!r} is also given to member {meter_owner[meter_code]}"))
                continue
            meter_owner[meter_code] = values["member_number"]
            meter = meter_for(session, meter_code, "consumption", errors, row, pending_meters)
            if meter is None:
                continue
            if meter.id is not None:
                holder = session.scalar(select(Member.member_number).where(Member.meter_id == meter.id))
                if holder is not None and holder != values["member_number"]:
                    errors.append(RowError(row.where, "meter_code",
                                           f"meter {meter_code!r} belongs to member {holder}"))
                    continue
        resolved.append((values, meter))
    refuse_if(errors, name)
    result = LoadResult(name, "members")
    for values, meter in resolved:
        member = existing.get(values["member_number"])
        shown = dict(values)
        if meter is not MISSING:
            shown["meter_code"] = meter.code if meter is not None else None
        if member is None:
            create = {k: v for k, v in values.items() if v is not MISSING}
            create.setdefault("member_type", "household")
            create.setdefault("low_income", False)
            member = Member(**create)
            if meter is not MISSING:
                member.meter = meter
            create_row(session, result, member, shown, actor=actor, entity="member", key=values["member_number"])
        else:
            old_meter = member.meter.code if member.meter is not None else None
            new_meter = MISSING if meter is MISSING else (meter.code if meter is not None else None)
            before_count = result.updated
            apply_changes(session, result, member, values, actor=actor, entity="member", key=values["member_number"])
            if new_meter is not MISSING and new_meter != old_meter:
                member.meter = meter
                if result.updated == before_count:
                    result.unchanged -= 1
                    result.updated += 1
                audit.record(session, actor=actor, action="update", entity="member", key=values["member_number"],
                             before={"meter_code": old_meter}, after={"meter_code": new_meter})
    session.flush()
    return result
