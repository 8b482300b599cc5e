"""The audit log page (issue 18): filtered by who, what and when, each change as a person reads it.

:func:`audit_log_screen` returns one :class:`~energy_coop.services.paging.Page` of entries; each entry's
``changes`` lists the fields that differ between ``before`` and ``after`` (every field of a creation or a
deletion) as typed values the page formats: ``money`` [cents], ``energy`` [Wh], ``energy_mwh`` [mWh],
``rate`` [micro-units per kWh], ``basis_points``, ``date``, ``yes_no``, ``text``. Ids of members, assets,
meters and users are shown as their number, code or email (``text``), never as the database id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.models import Asset, AuditEntry, Member, Meter, User
from energy_coop.services.paging import Page, paged

KEYS = ("id", "at", "actor", "action", "entity", "key", "before", "after", "note")
#: (suffix, kind, how many characters of the suffix to drop from the label)
_SUFFIXES = (("_cents", "money"), ("_mwh", "energy_mwh"), ("_wh", "energy"), ("_micros_per_kwh", "rate"),
             ("_micros", "rate"), ("_bp", "basis_points"), ("_on", "date"))
#: An id field -> (model, the column a person knows it by, what to call it)
_REFERENCES = {"member_id": (Member, Member.member_number, "member"), "asset_id": (Asset, Asset.asset_code, "asset"),
               "meter_id": (Meter, Meter.code, "meter"), "user_id": (User, User.email, "user"),
               "from_member_id": (Member, Member.member_number, "from member")}


@dataclass(frozen=True)
class AuditFilter:
    """Which entries the page shows: by ``actor`` (exact), ``entity`` (what kind of record), ``action``, and
    the UTC days ``since`` .. ``until`` (inclusive)."""

    actor: str | None = None
    entity: str | None = None
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def label(field: str) -> str:
    """"cost_cents" -> "Cost", "annual_usage_wh" -> "Annual usage", "member_id" -> "Member"."""
    if field in _REFERENCES:
        return _REFERENCES[field][2].capitalize()
    for suffix, _ in _SUFFIXES:
        if field.endswith(suffix) and suffix != "_on":
            field = field[: -len(suffix)]
            break
    words = field.replace("_", " ").strip()
    return (words[:1].upper() + words[1:]) if words else field


def kind_of(field: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes_no"
    for suffix, kind in _SUFFIXES:
        if field.endswith(suffix) and (isinstance(value, int) or kind == "date"):
            return kind
    return "text"


def audit_log_screen(session: Session, *, page: int = 1, per_page: int = 50,
                     filter: AuditFilter | None = None) -> Page:
    """The audit log, newest first, as ``filter`` says; each item with its ``changes`` (module docstring)."""
    f = filter or AuditFilter()
    conds = []
    if f.actor:
        conds.append(AuditEntry.actor == f.actor)
    if f.entity:
        conds.append(AuditEntry.entity == f.entity)
    if f.action:
        conds.append(AuditEntry.action == f.action)
    if f.since:
        conds.append(AuditEntry.at >= dt.datetime.combine(f.since, dt.time.min, dt.UTC))
    if f.until:
        conds.append(AuditEntry.at < dt.datetime.combine(f.until + dt.timedelta(days=1), dt.time.min, dt.UTC))
    stmt = select(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.entity,
                  AuditEntry.entity_key, AuditEntry.before, AuditEntry.after, AuditEntry.note).where(*conds)
    result = paged(session, stmt.order_by(AuditEntry.id.desc()),
                   select(func.count()).select_from(AuditEntry).where(*conds), page, per_page, KEYS)
    names = _reference_names(session, result.items)
    for item in result.items:
        item["changes"] = _changes(item["before"] or {}, item["after"] or {}, names)
    return result


def audit_choices(session: Session) -> dict[str, list[str]]:
    """The filter's choices: every actor, kind of record and action that appears in the log."""
    def distinct(column) -> list[str]:
        return [v for v in session.scalars(select(column).distinct().order_by(column)) if v]

    return {"actors": distinct(AuditEntry.actor), "entities": distinct(AuditEntry.entity),
            "actions": distinct(AuditEntry.action)}


def _reference_names(session: Session, items: list[dict[str, Any]]) -> dict[str, dict[int, str]]:
    wanted: dict[str, set[int]] = {}
    for item in items:
        for side in (item["before"] or {}, item["after"] or {}):
            for field, value in side.items():
                if field in _REFERENCES and isinstance(value, int) and not isinstance(value, bool):
                    wanted.setdefault(field, set()).add(value)
    names: dict[str, dict[int, str]] = {}
    for field, ids in wanted.items():
        model, column, _ = _REFERENCES[field]
        names[field] = dict(session.execute(select(model.id, column).where(model.id.in_(sorted(ids)))).all())
    return names


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    """One level of nested records spread out: {"detail": {"cost_cents": 5}} -> {"detail.cost_cents": 5}."""
    out: dict[str, Any] = {}
    for field, value in values.items():
        if isinstance(value, dict) and value:
            out.update({f"{field}.{sub}": v for sub, v in value.items()})
        else:
            out[field] = value
    return out


def _label(field: str) -> str:
    head, _, sub = field.rpartition(".")
    return f"{label(head)} · {label(sub)}" if head else label(sub)


def _changes(before: dict[str, Any], after: dict[str, Any], names: dict[str, dict[int, str]]) -> list[dict[str, Any]]:
    before, after = _flat(before), _flat(after)
    out = []
    fields = list(dict.fromkeys([*before.keys(), *after.keys()]))
    for field in fields:
        old, new = before.get(field), after.get(field)
        if before and after and old == new:
            continue
        if field in _REFERENCES:
            lookup = names.get(field, {})
            old = lookup.get(old, f"#{old}") if isinstance(old, int) else old
            new = lookup.get(new, f"#{new}") if isinstance(new, int) else new
            kind = "text"
        else:
            kind = kind_of(field.rpartition(".")[2], new if new is not None else old)
        out.append({"field": field, "label": _label(field), "kind": kind, "before": old, "after": new,
                    "created": not before, "removed": not after})
    return out
