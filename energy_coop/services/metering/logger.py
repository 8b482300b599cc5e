"""Readings a data logger sends for one meter (SPEC section 20), stored exactly as an imported file's are.

:func:`submit_readings` reads the body (:mod:`energy_coop.importers.logger_readings`: the CSV's rules for every
value), checks the readings against the meter and each other (:mod:`energy_coop.calc.metering.reading_checks`,
as an import does) and stores them through the import's own writer (:class:`energy_coop.services.metering.imports._Writer`):
one import batch per request, named ``API: logger <token name>`` and carrying the SHA-256 of the canonical body,
so that accepted readings, unchanged ones, revisions (with their history), stale posted months and the audit
log work as for a file. All or nothing: one bad reading refuses the request, naming every bad reading by its
index, field and reason, and nothing is kept.

**Idempotency.** Every request carries a key chosen by the sender. The first request with a key stores its
readings and its answer in ``reading_submissions`` under (owner, key), the owner being the API token that sent
it. The same key again:

* with the same body (same canonical SHA-256) gets the first answer again, marked ``replayed``, and stores
  nothing, also after a restart (the answer is in the database);
* with another body is refused (:class:`KeyReused`, a conflict) naming the key.

Two requests racing with one key store once: the key's row is inserted before any reading, and the unique
constraint on (owner, key) makes the second wait for the first (PostgreSQL: on the index; SQLite: the write lock
of ``BEGIN IMMEDIATE``) and then find its row and replay it, or be refused as above. A refused request keeps no
row (its transaction is rolled back), so the sender may correct the body and send it again with the same key.

Keys are kept for :data:`KEEP_DAYS` days; older ones are deleted by the next request of anyone (a key older than
that is a new key again). Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from energy_coop.calc.metering.reading_checks import (FileConsistency, SignFlags, check_intervals, check_not_future,
                                                      check_physical)
from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.importers.logger_readings import MAX_BODY_BYTES, MAX_READINGS, parse_logger_body
from energy_coop.models import ImportBatch, Meter, ReadingSubmission, utcnow
from energy_coop.services import audit
from energy_coop.services.credits.allocation import mark_stale
from energy_coop.services.metering.imports import (ConcurrentImport, FileReport, ImportRefused, _Writer,
                                                   meter_limits)
from energy_coop.units import shown

#: How long an idempotency key and its answer are kept [days]; a logger retrying for longer has lost its data.
KEEP_DAYS = 30
MAX_KEY_LENGTH = 255  # characters
BATCH_FORMAT = "logger"  # ImportBatch.format of a logger's batch

__all__ = ["KEEP_DAYS", "MAX_BODY_BYTES", "MAX_KEY_LENGTH", "MAX_READINGS", "KeyReused", "Submission",
           "SubmissionTooLarge", "batch_name", "prune", "submit_readings"]


@dataclass(frozen=True)
class Submission:
    """The answer to a request: HTTP-like ``status_code`` (201 readings stored, 200 nothing new), the JSON
    ``document`` (the import report plus ``meter_code``, ``idempotency_key``, ``readings`` and ``replayed``)."""

    status_code: int
    document: dict[str, Any]
    replayed: bool


class KeyReused(ConflictError):
    """The key was used before for another body: nothing stored (HTTP 409)."""

    def __init__(self, key: str, row: ReadingSubmission):
        super().__init__(
            f"the idempotency key {shown(key, 80)} was used on {row.created_at:%Y-%m-%d %H:%M} UTC for other "
            f"readings (meter {row.meter_code!r}); nothing was stored. Use a new key for new readings, or send "
            "exactly the same readings again to get the first answer", subject=key)


class SubmissionTooLarge(RefusedError):
    """More bytes than one request may carry (HTTP 413). (More readings than one request may carry is an
    ordinary refusal of the body, HTTP 422.)"""


def batch_name(source: str) -> str:
    """The import batch's file name for readings sent by the token named ``source``."""
    return f"API: logger {source}"[:500]


def prune(session: Session, now: dt.datetime) -> int:
    """Delete the idempotency keys older than :data:`KEEP_DAYS` days; the number deleted."""
    result = session.execute(delete(ReadingSubmission).where(
        ReadingSubmission.created_at < now - dt.timedelta(days=KEEP_DAYS)))
    return int(result.rowcount or 0)


def _check_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise RefusedError("the readings were not stored: an idempotency key is required", [RowError(
            "request", "idempotency key", "is missing; send a key of your choice (such as a UUID) with every "
            "request, and the same key when you send the same readings again")])
    if len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise RefusedError("the readings were not stored: the idempotency key is not usable", [RowError(
            "request", "idempotency key", f"{shown(key, 40)} must be 1 to {MAX_KEY_LENGTH} printable ASCII "
            "characters (a UUID is a good key)")])
    return key


def _find(session: Session, owner: str, key: str) -> ReadingSubmission | None:
    return session.scalar(select(ReadingSubmission).where(ReadingSubmission.owner == owner,
                                                          ReadingSubmission.key == key))


def _replay(row: ReadingSubmission, sha256: str, key: str) -> Submission:
    if row.request_sha256 != sha256:
        raise KeyReused(key, row)
    return Submission(row.status_code, {**row.answer, "replayed": True}, True)


def submit_readings(session: Session, meter_code: str, data: bytes, *, key: str | None, owner: str, source: str,
                    actor: str, now: dt.datetime | None = None) -> Submission:
    """Store the readings of the body ``data`` (bytes as received) for the meter ``meter_code``, once per
    ``key`` of ``owner`` (see the module docstring); ``source`` names the sender in the batch's name (the token's
    name), ``actor`` in the audit log (its user's email). ``now`` (aware) is the instant of the request: a reading
    starting after it is refused.

    Raises :class:`SubmissionTooLarge`, :class:`ImportRefused` (bad readings, every one named), ``RefusedError``
    (a body that is not a reading body, a missing or unusable key), ``NotFoundError`` (no such meter) or
    :class:`KeyReused`; the caller must roll back.
    """
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValueError("now must be an aware datetime (UTC), not a naive one")
    now = now or utcnow()
    key = _check_key(key)
    body = parse_logger_body(data, meter_code)
    name = batch_name(source)
    if body.too_large:
        raise SubmissionTooLarge("the readings were not stored: the request is too large", body.report.errors)
    if body.report.fatal:
        what = ("holds more readings than one request may carry" if body.count > MAX_READINGS
                else "is not a list of readings")
        raise RefusedError(f"the readings were not stored: the body {what}", body.report.errors)
    meter = session.scalar(select(Meter).where(Meter.code == meter_code))
    if meter is None:
        raise NotFoundError(f"no meter with code {shown(meter_code, 64)} is registered")

    prune(session, now)
    earlier = _find(session, owner, key)
    if earlier is not None:
        return _replay(earlier, body.sha256, key)
    row = ReadingSubmission(owner=owner, key=key, meter_code=meter_code, request_sha256=body.sha256,
                            status_code=0, answer={}, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # PostgreSQL: a request with this key committed while this one waited on the index
        earlier = _find(session, owner, key)
        if earlier is None:  # pragma: no cover - the unique index only fails on a committed row
            raise ConflictError(f"another request with the idempotency key {shown(key, 80)} is being stored right "
                                "now; send this one again in a moment", subject=key) from None
        return _replay(earlier, body.sha256, key)

    report = _store(session, meter, body, name=name, actor=actor, now=now)
    document = {**report.as_dict(), "meter_code": meter_code, "idempotency_key": key, "readings": body.count,
                "replayed": False}
    status_code = 201 if report.accepted + report.revised else 200
    row.status_code = status_code
    row.answer = document
    row.batch_id = report.batch_id
    session.flush()
    return Submission(status_code, document, False)


def _store(session: Session, meter: Meter, body, *, name: str, actor: str, now: dt.datetime) -> FileReport:
    """Check the body's readings against the meter and each other and store them as one import batch; a body
    already stored (same canonical SHA-256, sent under another key) is a ``duplicate`` that stores nothing."""
    report = FileReport(file=name, sha256=body.sha256)
    chunk = body.chunk
    errors = list(body.report.errors)
    kinds = {meter.code: meter.kind}
    limits = meter_limits(session)
    checks = check_intervals(chunk, kinds)
    known = {(e.where, e.field) for e in checks}
    checks += [RowError(e.where, "start", e.reason) for e in check_not_future(chunk, int(now.timestamp()))
               if (e.where, "start") not in known]
    known = {e.where for e in checks}
    checks += [e for e in check_physical(chunk, kinds, limits) if e.where not in known]  # as for a file
    bad = {e.where for e in checks}
    chunk = chunk[~chunk["where"].isin(bad)].reset_index(drop=True) if bad else chunk
    chunk, later, notes = FileConsistency().check(chunk)
    errors += checks + later
    report.notes.extend(notes)
    flags = SignFlags(limits)
    flags.feed(chunk)  # a solar meter's negative readings beyond standby: stored, and said (SPEC 20)
    report.flags = flags.flags()
    if errors:
        errors.sort(key=lambda e: int(e.where[9:-1]) if e.where.startswith("readings[") else -1)
        report.errors = errors[:1000]
        report.error_count = report.rejected = body.report.error_count + len(checks) + len(later)
        raise ImportRefused(report)

    earlier = session.scalar(select(ImportBatch).where(ImportBatch.sha256 == body.sha256))
    if earlier is not None:
        report.status = "duplicate"
        report.batch_id = earlier.id
        report.meters = list(earlier.meters or [])
        report.notes.append(f"these readings (SHA-256 {body.sha256[:12]}...) were already stored as batch "
                            f"{earlier.id} on {earlier.imported_at:%Y-%m-%d %H:%M} UTC by {earlier.imported_by}")
        return report

    batch = ImportBatch(file_name=name, sha256=body.sha256, format=BATCH_FORMAT, imported_by=actor,
                        status="imported", meters=[], accepted=0, unchanged=0, revised=0, rejected=0, notes=[])
    session.add(batch)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # PostgreSQL: the same readings, sent under another key, committed meanwhile
        raise ConcurrentImport(name, body.sha256, None) from None
    writer = _Writer(session, batch.id, {meter.code: meter.id})
    report.accepted, report.unchanged, report.revised = writer.store(chunk) if len(chunk) else (0, 0, 0)
    report.batch_id = batch.id
    report.status = "imported"
    report.meters = [meter.code]
    for meter_id, starts in writer.revised_starts.items():
        report.stale_periods.extend(
            mark_stale(session, meter_id, starts, f"readings revised by import batch {batch.id} ({name})"))
    report.stale_periods = sorted(set(report.stale_periods))
    batch.meters = report.meters
    batch.accepted, batch.unchanged, batch.revised = report.accepted, report.unchanged, report.revised
    batch.notes = report.notes[:50]
    audit.record(session, actor=actor, action="import", entity="import_batch", key=str(batch.id),
                 after={"file": name, "sha256": report.sha256, "status": report.status, "accepted": report.accepted,
                        "unchanged": report.unchanged, "revised": report.revised, "rejected": 0,
                        "stale_periods": report.stale_periods})
    return report
