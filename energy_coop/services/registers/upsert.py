"""What every register loader shares (SPEC section 3): the result of a load, refusing a file whole, and the
audited create-or-update of one row.

Every created or changed row is recorded in the audit log with its before/after values. The caller owns the
transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.errors import RefusedError, RowError
from energy_coop.importers.registers.tables import TableRow
from energy_coop.models import Meter
from energy_coop.services import audit
from energy_coop.services.registers.fields import MISSING


@dataclass
class LoadResult:
    """What a load did; ``as_dict`` is the ``load --json`` document of SPEC section 3."""

    file: str
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


def refuse_if(errors: list[RowError], name: str) -> None:
    if errors:
        errors.sort(key=lambda e: (int(e.where[5:]) if e.where[5:].isdigit() else 0, e.field))
        raise RefusedError(
            f"{name}: refused, nothing was loaded ({len(errors)} problem{'s' if len(errors) != 1 else ''})",
            errors,
        )


def apply_changes(
    session: Session,
    result: LoadResult,
    obj: Any,
    values: dict[str, Any],
    *,
    actor: str,
    entity: str,
    key: str,
) -> None:
    """Update ``obj`` with the non-MISSING ``values``; count and audit the change (creation: ``create_row``)."""
    values = {k: v for k, v in values.items() if v is not MISSING}
    before = {k: getattr(obj, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if not changed:
        result.unchanged += 1
        return
    for k, v in changed.items():
        setattr(obj, k, v)
    result.updated += 1
    audit.record(
        session,
        actor=actor,
        action="update",
        entity=entity,
        key=key,
        before={k: before[k] for k in changed},
        after=changed,
    )


def create_row(session: Session, result: LoadResult, obj: Any, values: dict[str, Any], *, actor: str,
            entity: str, key: str) -> None:
    session.add(obj)
    result.created += 1
    shown = {k: v for k, v in values.items() if v is not MISSING}
    audit.record(session, actor=actor, action="create", entity=entity, key=key, after=shown)


def meter_for(
    session: Session,
    code: str,
    kind: str,
    errors: list[RowError],
    row: TableRow,
    pending: dict[str, Meter],
) -> Meter | None:
    meter = pending.get(code) or session.scalar(select(Meter).where(Meter.code == code))
    if meter is None:
        meter = Meter(code=code, kind=kind)
        pending[code] = meter
        return meter
    if meter.kind != kind:
        errors.append(
            RowError(row.where, "meter_code", f"meter {code!r} is already registered as a {meter.kind} meter")
        )
        return None
    pending[code] = meter
    return meter
