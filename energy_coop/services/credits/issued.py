"""Issued months and their frozen statements (SPEC 13): the checks before issuing, storing, and reading back.

Issuing a month M freezes its statements: each member's statement file (PDF and CSV) and the document they were
rendered from are stored with their SHA-256 (``issued_statements``), and M is recorded as issued
(``issued_months``); both tables are append-only. From then on every download, export and the audit bundle
return exactly those bytes, and anything posted later for M (or an earlier month) is booked in the open month
(:mod:`energy_coop.calc.credits.booking`).

This module stores and reads rows and never renders: the use case that renders the files and calls
:func:`prepare_issue` and :func:`store_month` is :func:`energy_coop.documents.statements.issue_month`.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from energy_coop.calc.credits.booking import issue_blocker
from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.models import AllocationRun, Asset, AuditEntry, IssuedMonth, IssuedStatement, LedgerEntry, Member
from energy_coop.period import Period
from energy_coop.services import audit
from energy_coop.services.credits import allocation as allocation_service, anchors, ledger
from energy_coop.services.credits.statements import check_period
from energy_coop.services.registers.queries import get_member


class NotIssuedError(NotFoundError):
    """The month's statements are not issued (exit status 4, HTTP 404). ``period`` names the month."""

    def __init__(self, period: str):
        super().__init__(f"the statements of {period} are not issued yet; only issued months have statements "
                         "(an administrator issues a month once it is posted)")
        self.period = period


@dataclass(frozen=True)
class IssuePlan:
    """What issuing ``period`` covers: the members to issue a statement to, in member-number order."""

    period: str
    member_numbers: list[str]
    allocation_run_id: int
    ledger_seq: int  # the last ledger entry, held still by the head's lock while the month is issued
    anchor: dict[str, Any] | None = None  # the newest ledger anchor recorded before issuing (anchors.latest_anchor)


@dataclass(frozen=True)
class StatementFiles:
    """One member's rendered statement, ready to store."""

    member_number: str
    number: str
    document: dict[str, Any]
    pdf: bytes
    csv: bytes


def statement_number(period: str, member_number: str) -> str:
    """The statement's number, stable and unique: ``2026-11-1001`` (month and member number)."""
    return f"{period}-{member_number}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def month_end(session: Session, period: str) -> tuple[str, dt.datetime]:
    """The asset whose local month ends last and that instant [UTC]; ('', UTC end) with no assets."""
    return _month_end(_zones(session), period)


def _zones(session: Session) -> list[tuple[str, str]]:
    """(asset code, time zone) of every asset, in code order."""
    return [(a.asset_code, a.timezone) for a in session.scalars(select(Asset).order_by(Asset.asset_code))]


def _month_end(zones: list[tuple[str, str]], period: str) -> tuple[str, dt.datetime]:
    month = Period.parse(period)
    ends = [(month.local_end(zone).astimezone(dt.timezone.utc), code) for code, zone in zones]
    if not ends:
        return "", month.local_end("UTC").astimezone(dt.timezone.utc)
    end, code = max(ends)
    return code, end


@dataclass(frozen=True)
class _Ledger:
    """What the issuing rules read, read once: the issued months, every month with entries booked in it, and
    the assets' time zones."""

    issued: set[str]
    booked: set[str]
    zones: list[tuple[str, str]]

    @classmethod
    def read(cls, session: Session) -> _Ledger:
        return cls(ledger.issued_periods(session), set(session.scalars(select(LedgerEntry.booked).distinct())),
                   _zones(session))


def _refusal(session: Session, period: str, now: dt.datetime, facts: _Ledger,
             run: AllocationRun | None) -> RefusedError | None:
    """Why ``period`` cannot be issued at ``now`` (the refusal :func:`prepare_issue` raises), or None.
    ``run`` is the month's current allocation run (None: not posted). Reads and writes nothing else."""
    if period in facts.issued:
        row = session.get(IssuedMonth, period)
        return ConflictError(f"{period}'s statements are issued already ({row.statements} statements, "
                             f"{row.issued_at:%Y-%m-%d %H:%M} UTC by {row.issued_by}); an issued statement never "
                             "changes: later corrections appear on the next month's statement")
    code, end = _month_end(facts.zones, period)
    if now < end:
        where = f"asset {code}" if code else "period"
        return RefusedError(f"{period} cannot be issued: the month is not over yet",
                            [RowError(where, "period", f"{period} ends at {end:%Y-%m-%d %H:%M} UTC"
                                                       + (f" for {code}" if code else ""))])
    booked = {m for m in facts.booked if m < period} | {period}
    blocker = issue_blocker(period, facts.issued, booked)
    if blocker is not None:
        return RefusedError(f"{period} cannot be issued: {blocker}")
    if run is None:
        return RefusedError(f"{period} cannot be issued: it has not been posted; post the month's credits first")
    if run.stale_since is not None:
        return RefusedError(f"{period} cannot be issued: meter readings changed after it was posted "
                            f"({run.stale_reason or 'readings revised'}); repost the month first")
    return None


def _members_to_issue(session: Session, period: str) -> list[str]:
    """The member numbers with an entry booked in or before ``period``, in order: who gets a statement."""
    return list(session.scalars(
        select(Member.member_number).where(
            Member.id.in_(select(LedgerEntry.member_id).where(LedgerEntry.booked <= period).distinct()))
        .order_by(Member.member_number)))


def prepare_issue(session: Session, period: str, *, now: dt.datetime) -> IssuePlan:
    """Check that ``period`` may be issued at ``now`` and say what it covers; locks the ledger head.

    Refused, naming the month: a month issued already (:class:`ConflictError`, exit 3); a month not posted; a
    posted month whose readings changed since (repost it first); a month not over in some asset's time zone
    (naming the asset and the instant it ends); a month before the latest issued one, or after an earlier
    month that has entries and is not issued (months are issued in order). Every refusal leaves nothing written.
    :func:`issue_status` reads the same rules for a page, without the lock.
    """
    period = check_period(period)
    head = ledger.lock_head(session)  # nothing is appended (and so booked) while the month is issued
    run = allocation_service.current_run(session, period)
    refusal = _refusal(session, period, now, _Ledger.read(session), run)
    if refusal is not None:
        raise refusal
    return IssuePlan(period, _members_to_issue(session, period), run.id, head.last_seq,
                     anchors.latest_anchor(session, up_to_seq=head.last_seq))


def _reason(refusal: RefusedError) -> str:
    """A refusal as one sentence for a page: its message and each problem, without repeating the month."""
    text = refusal.message
    if refusal.errors:
        text += ": " + "; ".join(e.reason for e in refusal.errors)
    return text


def _status_row(session: Session, period: str, now: dt.datetime, facts: _Ledger,
                run: AllocationRun | None) -> dict[str, Any]:
    month = session.get(IssuedMonth, period) if period in facts.issued else None
    refusal = None if month is not None else _refusal(session, period, now, facts, run)
    return {
        "period": period,
        "run": None if run is None else {"id": run.id, "generation": run.generation, "posted_at": run.posted_at,
                                         "posted_by": run.posted_by, "stale_since": run.stale_since},
        "issued": None if month is None else {"issued_at": month.issued_at, "issued_by": month.issued_by,
                                              "statements": month.statements,
                                              "allocation_run_id": month.allocation_run_id},
        "can_issue": month is None and refusal is None,
        "reason": None if refusal is None else _reason(refusal),
        "statements_to_issue": None,
    }


def issue_status(session: Session, *, now: dt.datetime) -> list[dict[str, Any]]:
    """Every month that is posted or issued, newest first, and whether it can be issued at ``now`` [UTC].

    Each row: ``period``; ``run`` (the month's current allocation run: ``id``, ``generation``, ``posted_at``,
    ``posted_by``, ``stale_since``; None if never posted); ``issued`` (``issued_at``, ``issued_by``,
    ``statements``, ``allocation_run_id``; None if not issued); ``can_issue``; ``reason`` (why not, in plain
    words; None for an issued month or the one that can be issued); ``statements_to_issue`` (how many
    statements issuing it would make, for the month that can be issued). The rules are :func:`prepare_issue`'s;
    of several months that pass them (a posted month with no entries before another), only the earliest is
    offered, so months stay in order. Read-only: no lock, nothing written.
    """
    facts = _Ledger.read(session)
    latest = (select(AllocationRun.period, func.max(AllocationRun.generation).label("g"))
              .group_by(AllocationRun.period).subquery())
    runs = {r.period: r for r in session.scalars(
        select(AllocationRun).join(latest, (AllocationRun.period == latest.c.period)
                                   & (AllocationRun.generation == latest.c.g)))}
    rows = [_status_row(session, p, now, facts, runs.get(p)) for p in sorted(set(runs) | facts.issued)]
    offered = None
    for row in rows:  # oldest first
        if not row["can_issue"]:
            continue
        if offered is None:
            offered = row
            row["statements_to_issue"] = len(_members_to_issue(session, row["period"]))
        else:
            row["can_issue"] = False
            row["reason"] = (f"{row['period']} cannot be issued yet: months are issued in order: issue "
                             f"{offered['period']} first")
    return rows[::-1]


def month_issue_status(session: Session, period: str, *, now: dt.datetime) -> dict[str, Any]:
    """:func:`issue_status`'s row for one month (any month: one never posted says so), with
    ``statements_to_issue`` when it can be issued. :class:`RefusedError` when ``period`` is not a month."""
    period = check_period(period)
    for row in issue_status(session, now=now):
        if row["period"] == period:
            return row
    return _status_row(session, period, now, _Ledger.read(session), None)


def store_month(session: Session, plan: IssuePlan, files: list[StatementFiles], *, actor: str,
                now: dt.datetime) -> IssuedMonth:
    """Record ``plan.period`` as issued at ``now`` with its statement ``files``; audited. Append-only rows."""
    month = IssuedMonth(period=plan.period, issued_at=now, issued_by=actor, statements=len(files),
                        ledger_seq=plan.ledger_seq, allocation_run_id=plan.allocation_run_id)
    session.add(month)
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError(f"{plan.period} was issued by someone else at the same moment; nothing was "
                            "issued here") from None
    members = dict(session.execute(select(Member.member_number, Member.id)
                                   .where(Member.member_number.in_([f.member_number for f in files]))).all())
    session.add_all(IssuedStatement(period=plan.period, member_id=members[f.member_number], number=f.number,
                                    document=f.document, pdf=f.pdf, pdf_sha256=sha256(f.pdf), csv=f.csv,
                                    csv_sha256=sha256(f.csv)) for f in files)
    session.flush()
    audit.record(session, actor=actor, action="issue", entity="statements", key=plan.period,
                 after={"statements": len(files), "allocation_run_id": plan.allocation_run_id,
                        "ledger_seq": plan.ledger_seq, "ledger_anchor": plan.anchor})
    return month


def issued_months(session: Session) -> list[dict[str, Any]]:
    """Every issued month, newest first: ``{"period", "issued_at", "issued_by", "statements",
    "allocation_run_id", "ledger_seq"}``."""
    return [{"period": m.period, "issued_at": m.issued_at, "issued_by": m.issued_by, "statements": m.statements,
             "allocation_run_id": m.allocation_run_id, "ledger_seq": m.ledger_seq}
            for m in session.scalars(select(IssuedMonth).order_by(IssuedMonth.period.desc()))]


def month_anchor(session: Session, period: str) -> dict[str, Any] | None:
    """The ledger anchor recorded when ``period`` was issued (``{seq, hash, signed_at, public_key_fingerprint}``;
    ``None`` when it is not issued or no anchor had been made by then), from the issue's audit entry."""
    after = session.scalar(select(AuditEntry.after).where(AuditEntry.action == "issue",
                                                          AuditEntry.entity == "statements",
                                                          AuditEntry.entity_key == check_period(period))
                           .order_by(AuditEntry.id.desc()).limit(1))
    return after.get("ledger_anchor") if isinstance(after, dict) else None


def issued_month(session: Session, period: str) -> IssuedMonth | None:
    return session.get(IssuedMonth, check_period(period))


def get_statement(session: Session, member_number: str, period: str) -> IssuedStatement:
    """The issued statement of (member, month): :class:`NotFoundError` for an unknown member,
    :class:`NotIssuedError` for a month not issued (or, rarely, issued without a statement for them)."""
    period = check_period(period)
    member = get_member(session, member_number)
    if session.get(IssuedMonth, period) is None:
        raise NotIssuedError(period)
    row = session.scalar(select(IssuedStatement).where(IssuedStatement.period == period,
                                                       IssuedStatement.member_id == member.id))
    if row is None:
        raise NotFoundError(f"member {member.member_number} has no statement for {period}: they had no entries "
                            "in or before that month when it was issued")
    return row


def statements_of_month(session: Session, period: str) -> list[tuple[str, IssuedStatement]]:
    """(member number, issued statement) of every statement of an issued ``period``, in member-number order;
    :class:`NotIssuedError` when the month is not issued."""
    period = check_period(period)
    if session.get(IssuedMonth, period) is None:
        raise NotIssuedError(period)
    return list(session.execute(
        select(Member.member_number, IssuedStatement).join(Member, IssuedStatement.member_id == Member.id)
        .where(IssuedStatement.period == period).order_by(Member.member_number)).all())


def periods_for_member(session: Session, member_number: str) -> list[str]:
    """The issued months with a statement for the member, newest first."""
    member = get_member(session, member_number)
    return list(session.scalars(select(IssuedStatement.period).where(IssuedStatement.member_id == member.id)
                                .order_by(IssuedStatement.period.desc())))


def statement_hashes(session: Session, period: str) -> dict[str, tuple[str, str]]:
    """member number -> (pdf sha256, csv sha256) of an issued month, as stored (empty when not issued)."""
    return {number: (pdf, csv) for number, pdf, csv in session.execute(
        select(Member.member_number, IssuedStatement.pdf_sha256, IssuedStatement.csv_sha256)
        .join(Member, IssuedStatement.member_id == Member.id).where(IssuedStatement.period == period))}


def count_statements(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(IssuedStatement)) or 0
