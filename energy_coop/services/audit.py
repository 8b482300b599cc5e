"""Recording changes in the append-only audit log (SPEC section 1), each entry chained to the one before.

Every entry gets the next ``seq`` of the audit log's own hash chain and its hash
(``energy_coop.calc.audit.chain``), computed under the lock of the chain's head row (``audit_head``, SELECT ...
FOR UPDATE; SQLite's writers queue at BEGIN IMMEDIATE anyway), so two writers chain their entries one after the
other. The lock is taken at the first entry a transaction records and held to its end; a transaction that
appends to the ledger too takes the ledger's head first (every use case records its audit entry after its
ledger entries), so the two locks are always taken in the same order. Per entry this costs one INSERT and one
UPDATE of the head; the head is read once per transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from energy_coop.calc.audit.chain import audit_content, audit_hash
from energy_coop.errors import RefusedError
from energy_coop.models import AuditEntry, AuditHead, utcnow

_HEAD_KEY = "energy_coop.audit_head"  # session.info: (the transaction, last seq, last hash) while it lasts


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _stored(value: dict[str, Any] | None) -> Any:
    """``value`` exactly as the database will give it back (JSON round trip: tuples become lists, keys text), so
    that its hash now and when verified later are computed over the same thing."""
    if value is None:
        return None
    return json.loads(json.dumps(_jsonable(value)))


def _transaction(session: Session) -> Any:
    return session.get_nested_transaction() or session.get_transaction()


def _head(session: Session) -> tuple[int, str]:
    """The chain's last (seq, hash): read and locked at the first entry of a transaction, then remembered."""
    tx = _transaction(session)
    cached = session.info.get(_HEAD_KEY)
    if cached is not None and cached[0] is tx:
        return cached[1], cached[2]
    row = session.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)
                          .with_for_update()).one_or_none()
    if row is None:
        raise RefusedError("the audit log has no head row; run `energy-coop db upgrade`")
    return int(row[0]), row[1]


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    key: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Add one audit entry to ``session`` at the end of the audit log's chain (the caller's transaction commits
    it with the change itself; a rollback takes the entry and the head's move back together)."""
    last_seq, last_hash = _head(session)
    at = utcnow()
    seq = last_seq + 1
    stored_before, stored_after = _stored(before), _stored(after)
    digest = audit_hash(last_hash, audit_content(seq, at, actor, action, entity, key, stored_before, stored_after,
                                                 note))
    entry = AuditEntry(
        at=at, actor=actor, action=action, entity=entity, entity_key=key, before=stored_before, after=stored_after,
        note=note, seq=seq, prev_hash=last_hash, hash=digest,
    )
    session.add(entry)
    session.flush()  # the entry first: the head's trigger accepts only a head on the log's last entry
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(
        last_seq=seq, last_hash=digest, entries=AuditHead.entries + 1), execution_options={"synchronize_session": False})
    session.info[_HEAD_KEY] = (_transaction(session), seq, digest)
    return entry
