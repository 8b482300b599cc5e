"""Reads of the credits aggregate that several screens share: a member's credit history and balance,
allocation runs, posted months, ledger pages.

Each takes a Session and plain values and returns dicts or :class:`~energy_coop.services.paging.Page` of dicts
with integer Wh and cents; nothing here writes. Months are :class:`~energy_coop.period.Period` values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.errors import NotFoundError
from energy_coop.models import AllocationRun, Asset, LedgerEntry, Member
from energy_coop.period import Period
from energy_coop.services.credits import allocation
from energy_coop.services.credits.ledger import CHAIN_COLUMNS, chain_query
from energy_coop.services.credits.statements import check_period
from energy_coop.services.paging import Page, paged
from energy_coop.services.registers.queries import get_member
from energy_coop.vocabulary import CREDIT_ENTRY_KINDS, MANUAL_ENTRY_KINDS


def run_dict(r: AllocationRun) -> dict[str, Any]:
    """An allocation run's record (totals in Wh and cents), without its posted document."""
    return {"id": r.id, "period": r.period, "generation": r.generation, "posted_at": r.posted_at,
            "posted_by": r.posted_by, "allow_gaps": r.allow_gaps, "inputs_sha256": r.inputs_sha256,
            "total_wh": r.total_wh, "total_cents": r.total_cents, "member_wh": r.member_wh,
            "member_cents": r.member_cents, "entries": r.entries, "replaces_run_id": r.replaces_run_id,
            "superseded": r.superseded, "stale_since": r.stale_since, "stale_reason": r.stale_reason}


def allocation_runs(session: Session, *, period: Period | None = None) -> list[dict[str, Any]]:
    """Every allocation run (or one month's), newest first."""
    stmt = select(AllocationRun).order_by(AllocationRun.period.desc(), AllocationRun.generation.desc())
    if period is not None:
        stmt = stmt.where(AllocationRun.period == str(period))
    return [run_dict(r) for r in session.scalars(stmt)]


def allocation_run(session: Session, run_id: int) -> dict[str, Any]:
    """One run with its posted ``document`` (the allocation's inputs and results); NotFoundError if none."""
    run = session.get(AllocationRun, run_id)
    if run is None:
        raise NotFoundError(f"no allocation run {run_id}")
    return run_dict(run) | {"document": run.posted_document}


def stale_runs(session: Session) -> list[dict[str, Any]]:
    """The current runs of the months whose inputs changed after they were posted."""
    return [run_dict(r) for r in allocation.stale_periods(session)]


def posted_periods(session: Session) -> list[str]:
    """Months that have a posted allocation, newest first."""
    return list(session.scalars(select(AllocationRun.period).group_by(AllocationRun.period)
                                .order_by(AllocationRun.period.desc())))


def ledger_entries_page(session: Session, *, page: int = 1, per_page: int = 100,
                        period: Period | None = None) -> Page:
    """Ledger entries with their hashes (:func:`ledger.chain_query`), newest first."""
    month = None if period is None else str(period)
    count = select(func.count()).select_from(LedgerEntry)
    if month is not None:
        count = count.where(LedgerEntry.period == month)
    return paged(session, chain_query(period=month, newest_first=True), count, page, per_page, CHAIN_COLUMNS)


def manual_entries_page(session: Session, *, page: int = 1, per_page: int = 50) -> Page:
    """Adjustments, payouts and bill applications (the entries admins make by hand), newest first."""
    manual = LedgerEntry.kind.in_(MANUAL_ENTRY_KINDS)
    stmt = (select(LedgerEntry.seq, LedgerEntry.kind, Member.member_number, Member.name, LedgerEntry.period,
                   LedgerEntry.wh, LedgerEntry.cents, LedgerEntry.memo, LedgerEntry.created_at)
            .join(Member, LedgerEntry.member_id == Member.id)
            .where(manual)
            .order_by(LedgerEntry.seq.desc()))
    return paged(session, stmt, select(func.count()).select_from(LedgerEntry).where(manual), page, per_page,
                 ("seq", "kind", "member_number", "member_name", "period", "wh", "cents", "memo", "created_at"))


# ------------------------------------------------------------------------------------------------ credit history


def periods_with_entries(session: Session, member_number: str) -> list[str]:
    """The months in which ``member_number`` has ledger entries, newest first."""
    member = get_member(session, member_number)
    return [p for (p,) in session.execute(
        select(LedgerEntry.period).where(LedgerEntry.member_id == member.id, LedgerEntry.period.is_not(None))
        .group_by(LedgerEntry.period).order_by(LedgerEntry.period.desc()))]


def member_credits(session: Session, member_number: str, from_period: str | None = None,
                   to_period: str | None = None) -> dict[str, Any]:
    """Posted credits by month and asset (integer Wh and cents) and the member's balance (all entries)."""
    for p in (from_period, to_period):
        if p is not None:
            check_period(p)
    member_id = session.scalar(select(Member.id).where(Member.member_number == member_number))
    if member_id is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    return credits_from_sums(member_number, ledger_sums(session, member_id), from_period, to_period)


def ledger_sums(session: Session, member_id: int) -> list[tuple[str | None, str | None, str, int, int]]:
    """A member's ledger entries summed per (period, asset code, kind): (period, asset_code, kind, Wh, cents).

    One pass, read from the index ``ix_ledger_entries_member_credits`` alone."""
    return [(period, code, kind, int(wh), int(cents)) for period, code, kind, wh, cents in session.execute(
        select(LedgerEntry.period, Asset.asset_code, LedgerEntry.kind, func.sum(LedgerEntry.wh),
               func.sum(LedgerEntry.cents))
        .outerjoin(Asset, LedgerEntry.asset_id == Asset.id)
        .where(LedgerEntry.member_id == member_id)
        .group_by(LedgerEntry.period, Asset.asset_code, LedgerEntry.kind))]


def credits_from_sums(member_number: str, sums: list[tuple[str | None, str | None, str, int, int]],
                      from_period: str | None = None, to_period: str | None = None) -> dict[str, Any]:
    """:func:`member_credits` from :func:`ledger_sums`: every kind counts in the balance; allocations and their
    reversals are the credits of a month, by asset, optionally only from/to the given months (inclusive)."""
    credit: dict[tuple[str, str], list[int]] = {}
    for period, code, kind, wh, cents in sums:
        if kind not in CREDIT_KINDS or code is None or period is None:
            continue
        if (from_period and period < from_period) or (to_period and period > to_period):
            continue
        total = credit.setdefault((period, code), [0, 0])
        total[0] += wh
        total[1] += cents
    months: dict[str, dict[str, Any]] = {}
    for (period, code), (wh, cents) in sorted(credit.items()):
        m = months.setdefault(period, {"period": period, "wh": 0, "cents": 0, "assets": []})
        m["wh"] += wh
        m["cents"] += cents
        m["assets"].append({"asset_code": code, "wh": wh, "cents": cents})
    return {"member_number": member_number, "balance_wh": sum(s[3] for s in sums),
            "balance_cents": sum(s[4] for s in sums), "months": list(months.values())}


def latest_booked(session: Session, member_id: int) -> str | None:
    """The newest month (booked, 'YYYY-MM') any of the member's ledger entries is booked in; None: no entries."""
    return session.scalar(select(func.max(LedgerEntry.booked)).where(LedgerEntry.member_id == member_id))


def periods_from_sums(sums: list[tuple[str | None, str | None, str, int, int]]) -> list[str]:
    """:func:`periods_with_entries` from :func:`ledger_sums`."""
    return sorted({period for period, *_ in sums if period is not None}, reverse=True)


CREDIT_KINDS = frozenset(CREDIT_ENTRY_KINDS)  # the ledger kinds listed as a month's credits
