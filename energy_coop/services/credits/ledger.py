"""Appending to and verifying the credit ledger (SPEC section 6). Nothing here commits."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from energy_coop.calc.credits.booking import booked_month
from energy_coop.calc.credits.chain import GENESIS, ChainEntry, entry_content, entry_hash, format_time, verify_chain
from energy_coop.errors import RefusedError, RowError
from energy_coop.models import AllocationRun, Asset, IssuedMonth, LedgerEntry, LedgerHead, Member, utcnow
from energy_coop.period import Period
from energy_coop.units import UnitError, format_money, kwh_to_wh, parse_cents
from energy_coop.vocabulary import MANUAL_ENTRY_KINDS
from energy_coop.services import audit

MANUAL_KINDS = MANUAL_ENTRY_KINDS


@dataclass
class NewEntry:
    """An entry to append; amounts in integer Wh and cents (signed: credits positive)."""

    kind: str
    member_id: int
    member_number: str
    wh: int
    cents: int
    period: str | None = None
    asset_id: int | None = None
    asset_code: str | None = None
    run_id: int | None = None
    reverses_seq: int | None = None
    memo: str | None = None


def lock_head(session: Session) -> LedgerHead:
    """The chain's head row, locked for this transaction (SELECT ... FOR UPDATE; SQLite locks at BEGIN)."""
    head = session.scalar(select(LedgerHead).where(LedgerHead.id == 1).with_for_update())
    if head is None:
        raise RefusedError("the ledger has no head row; run `energy-coop db upgrade`")
    return head


def issued_periods(session: Session) -> set[str]:
    """The months whose statements are issued (SPEC 13), as 'YYYY-MM'."""
    return set(session.scalars(select(IssuedMonth.period)))


def append(session: Session, entries: list[NewEntry], *, now: dt.datetime | None = None) -> list[int]:
    """Append ``entries`` to the chain in order; return their ``seq`` numbers. One bulk INSERT.

    Each entry is booked (``booked``, the month whose statement shows it) by
    :func:`energy_coop.calc.credits.booking.booked_month` from its ``period``, the issued months (read once,
    under the head's lock, so an issue running at the same time cannot miss it) and the UTC month of ``now``.
    """
    if not entries:
        return []
    head = lock_head(session)
    created = (now or utcnow()).astimezone(dt.timezone.utc)
    issued = issued_periods(session)
    current = created.strftime("%Y-%m")
    prev = head.last_hash
    seq = head.last_seq
    rows: list[tuple[Any, ...]] = []
    total_wh = total_cents = 0
    # the stored form of created_at, as UTCDateTime would bind it on this database
    stored_time: Any = created.replace(tzinfo=None).isoformat(sep=" ") if session.get_bind().dialect.name == "sqlite" \
        else created
    created_text = format_time(created)
    for e in entries:
        if type(e.wh) is not int or type(e.cents) is not int:  # noqa: E721 - never a float in the ledger
            raise TypeError(f"ledger amounts must be integers, got {e.wh!r} Wh and {e.cents!r} cents")
        seq += 1
        booked = booked_month(e.period, issued, current)
        content = entry_content(seq, e.kind, e.member_number, e.period, e.asset_code, e.wh, e.cents, e.run_id,
                                e.reverses_seq, e.memo, created_text, booked)
        digest = entry_hash(prev, content)
        rows.append((seq, e.kind, e.member_id, e.period, booked, e.asset_id, e.wh, e.cents, e.run_id,
                     e.reverses_seq, e.memo, stored_time, prev, digest))
        prev = digest
        total_wh += e.wh
        total_cents += e.cents
    # One bulk write (COPY on PostgreSQL, a plain executemany on SQLite): at 200,000 entries the ORM's per-row
    # bookkeeping would cost more than the insert itself.
    conn = session.connection()
    columns = ("seq, kind, member_id, period, booked, asset_id, wh, cents, run_id, reverses_seq, memo, created_at, "
               "prev_hash, hash")
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f"COPY ledger_entries ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    else:
        conn.exec_driver_sql(f"INSERT INTO ledger_entries ({columns}) VALUES ({', '.join(['?'] * 14)})", rows)
    session.execute(
        update(LedgerHead).where(LedgerHead.id == 1).values(
            last_seq=seq, last_hash=prev, entries=LedgerHead.entries + len(rows),
            total_wh=LedgerHead.total_wh + total_wh, total_cents=LedgerHead.total_cents + total_cents,
        )
    )
    session.expire(head)
    return [r[0] for r in rows]


MAX_MANUAL_CENTS = 100_000_000_000  # the largest manual entry: 1,000,000,000.00 in currency [cents]
MAX_MANUAL_WH = 1_000_000_000_000  # and 1 TWh of energy [Wh]
MAX_MEMO = 200  # characters
FORMULA_STARTS = ("=", "+", "-", "@")  # a spreadsheet runs a cell starting with one of these as a formula


@dataclass(frozen=True)
class ManualEntry:
    """A manual entry as posted: its ``seq``, the amounts (integer Wh, cents) and the member's new balance."""

    seq: int
    kind: str
    member_number: str
    period: str
    wh: int
    cents: int
    memo: str
    balance_wh: int
    balance_cents: int
    booked: str = ""  # the statement month it shows on: ``period``, or the open month when that one is issued


def parse_amounts(amount: str, kwh: str | None = None) -> tuple[int, int]:
    """An amount typed in currency (``-25.00``) and an energy typed in kWh (``-0.5``, blank: 0) as the integer
    ``(cents, wh)`` a manual entry takes; :class:`RefusedError` naming ``cents`` and/or ``wh`` otherwise."""
    values: dict[str, int] = {}
    errors: list[RowError] = []
    for name, text, parse in (("cents", amount, parse_cents), ("wh", kwh or "0", kwh_to_wh)):
        try:
            values[name] = parse(text)
        except UnitError as exc:
            errors.append(RowError("", name, str(exc)))
    if errors:
        raise RefusedError("no ledger entry was made", errors)
    return values["cents"], values["wh"]


def check_memo(memo: str | None) -> tuple[str, str | None]:
    """``memo`` stripped, and why it cannot go into the ledger (``None`` when it can).

    The ledger export writes memos exactly as stored, since their hashes cover them; so a memo may not be
    something a spreadsheet would run as a formula, nor hold line breaks or other control characters.
    """
    text = (memo or "").strip()
    if not text:
        return text, "is required: say why this entry is made (e.g. 'cheque 17')"
    if len(text) > MAX_MEMO:
        return text, f"is {len(text)} characters long; keep it to {MAX_MEMO}"
    if not text.isprintable():
        return text, "has a line break or another control character; write it on one line"
    if text.startswith(FORMULA_STARTS):
        return text, (f"starts with {text[0]!r}, which a spreadsheet would run as a formula; start it with a "
                      "word or a number")
    return text, None


def record_manual_entry(session: Session, *, kind: str, member_number: str, cents: int, wh: int = 0,
                        memo: str, actor: str, period: str | None = None,
                        today: dt.date | None = None) -> ManualEntry:
    """Post an adjustment, payout or bill application on one member's account (an admin action, audited).

    Amounts are signed as the ledger's are, credits positive: ``cents`` [cents] and ``wh`` [Wh]. An
    adjustment may go either way; a payout or a bill application takes money off the balance, so its ``cents``
    is negative, its ``wh`` zero, and it may not take the member's money balance below zero. ``period``
    ('YYYY-MM', not after the current month) is the month it is for; default: this UTC month. It shows on that
    month's statement, or, when that month's statements are issued already, on the next month's to be issued
    (``booked``, SPEC 13).

    Every problem found is named in one :class:`RefusedError` (fields ``kind``, ``member_number``, ``cents``,
    ``wh``, ``memo``, ``period``); then nothing is written.
    """
    errors: list[RowError] = []

    def refuse(field_name: str, reason: str) -> None:
        errors.append(RowError("", field_name, reason))

    if kind not in MANUAL_KINDS:
        refuse("kind", f"{str(kind)[:40]!r} is not a manual entry kind; choose one of: {', '.join(MANUAL_KINDS)}")
    if type(cents) is not int:  # noqa: E721 - never a float (or a bool) in the ledger
        refuse("cents", "must be a whole number of cents")
    elif abs(cents) > MAX_MANUAL_CENTS:
        refuse("cents", f"{format_money(cents)} is beyond the largest manual entry, "
                        f"{format_money(MAX_MANUAL_CENTS)}")
    if type(wh) is not int:  # noqa: E721
        refuse("wh", "must be a whole number of Wh")
    elif abs(wh) > MAX_MANUAL_WH:
        refuse("wh", f"{wh} Wh is beyond the largest manual entry, {MAX_MANUAL_WH} Wh")
    amounts_ok = not any(e.field in ("cents", "wh") for e in errors)
    if amounts_ok and kind in ("payout", "bill_application"):
        what = "a payout" if kind == "payout" else "a bill application"
        if cents >= 0:
            refuse("cents", f"{what} takes money off the member's balance: write it as a negative amount, "
                            f"e.g. -25.00")
        if wh != 0:
            refuse("wh", f"{what} moves money, not energy: leave the Wh at 0")
    elif amounts_ok and cents == 0 and wh == 0:
        refuse("cents", "an entry of nothing changes nothing: give an amount")
    memo, memo_problem = check_memo(memo)
    if memo_problem:
        refuse("memo", memo_problem)
    this_month = str(Period.of(today or utcnow().date()))
    if period is None or not str(period).strip():
        period = this_month
    else:
        period = str(period).strip()
        try:
            Period.parse(period)
        except ValueError as exc:
            refuse("period", str(exc))
        else:
            if period > this_month:
                refuse("period", f"{period} is after this month ({this_month}); an entry cannot be dated ahead")
    member = session.scalar(select(Member).where(Member.member_number == str(member_number).strip()))
    if member is None:
        refuse("member_number", f"there is no member {str(member_number).strip()[:64]!r}")
    if errors:
        raise RefusedError("no ledger entry was made", errors)
    assert member is not None
    # Every ledger write holds the head row, so two payouts at once cannot both pass the balance check.
    lock_head(session)
    balance_wh, balance_cents = balance(session, member.id)
    if kind in ("payout", "bill_application") and balance_cents + cents < 0:
        raise RefusedError("no ledger entry was made", [RowError(
            "", "cents", f"member {member.member_number}'s balance is {format_money(balance_cents)}; "
                         f"{format_money(cents)} would leave it at {format_money(balance_cents + cents)}")])
    [seq] = append(session, [NewEntry(kind, member.id, member.member_number, wh, cents, period=period,
                                      memo=memo)])
    audit.record(session, actor=actor, action="ledger_entry", entity="ledger", key=str(seq),
                 after={"kind": kind, "member_number": member.member_number, "period": period, "wh": wh,
                        "cents": cents, "memo": memo})
    booked = session.scalar(select(LedgerEntry.booked).where(LedgerEntry.seq == seq)) or period
    return ManualEntry(seq, kind, member.member_number, period, wh, cents, memo, balance_wh + wh,
                       balance_cents + cents, booked)


def chain_query(*, period: str | None = None, after_seq: int = 0, newest_first: bool = False) -> Select:
    """The ledger entries with the fields their hashes cover (:class:`ChainEntry`'s, in its order: member and
    asset codes joined in) plus ``prev_hash`` and ``hash``; in ``seq`` order (``newest_first``: reversed),
    optionally one ``period``'s only and only after ``after_seq``. The one query of the chain: the verification,
    the ledger export, the API and the auditors' page all read entries through it."""
    stmt = (
        select(LedgerEntry.seq, LedgerEntry.kind, Member.member_number, LedgerEntry.period, LedgerEntry.booked,
               Asset.asset_code,
               LedgerEntry.wh, LedgerEntry.cents, LedgerEntry.run_id, LedgerEntry.reverses_seq, LedgerEntry.memo,
               LedgerEntry.created_at, LedgerEntry.prev_hash, LedgerEntry.hash)
        .join(Member, LedgerEntry.member_id == Member.id)
        .outerjoin(Asset, LedgerEntry.asset_id == Asset.id)
        .order_by(LedgerEntry.seq.desc() if newest_first else LedgerEntry.seq)
    )
    if after_seq:
        stmt = stmt.where(LedgerEntry.seq > after_seq)
    if period is not None:
        stmt = stmt.where(LedgerEntry.period == period)
    return stmt


#: The names of :func:`chain_query`'s columns.
CHAIN_COLUMNS = ("seq", "kind", "member_number", "period", "booked", "asset_code", "wh", "cents", "run_id",
                 "reverses_seq", "memo", "created_at", "prev_hash", "hash")


def iter_chain(session: Session, *, period: str | None = None, batch: int = 20_000) -> Iterator[ChainEntry]:
    """Every ledger entry in ``seq`` order as :class:`ChainEntry` (member and asset codes joined in)."""
    for row in session.execute(chain_query(period=period).execution_options(yield_per=batch)):
        yield ChainEntry(*row)


@dataclass
class VerifyReport:
    """The ledger as verified: ``entries`` walked, the last ``seq`` and hash as the chain has them, the members'
    totals [Wh, cents] re-summed, and every problem in plain words (none: intact)."""

    entries: int = 0
    last_seq: int = 0
    members: int = 0
    total_wh: int = 0
    total_cents: int = 0
    last_hash: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def head(self) -> dict[str, Any]:
        """The head as ``energy-coop verify --json`` prints it: ``{"seq", "hash", "entries", "total_wh",
        "total_cents"}`` (the chain's own, re-computed; the stored head is checked against it)."""
        return {"seq": self.last_seq, "hash": self.last_hash if self.entries else GENESIS, "entries": self.entries,
                "total_wh": self.total_wh, "total_cents": self.total_cents}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "members": self.members, "total_wh": self.total_wh,
                "total_cents": self.total_cents, "last_hash": self.last_hash, "problems": self.problems}


def verify(session: Session) -> VerifyReport:
    """Re-walk the whole hash chain and re-sum every balance, run and total; name every mismatch. (The audit log's
    chain: ``services.audit_chain.verify``; both at once: ``services.verification.verify``.)"""
    report = VerifyReport()
    balances: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    run_sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])

    def counted() -> Iterator[ChainEntry]:
        for e in iter_chain(session):
            report.entries += 1
            b = balances[e.member_number]
            b[0] += e.wh
            b[1] += e.cents
            if e.run_id is not None and e.kind == "allocation":
                r = run_sums[e.run_id]
                r[0] += e.wh
                r[1] += e.cents
                r[2] += 1
            report.last_hash = e.hash
            report.last_seq = e.seq
            yield e

    report.problems.extend(verify_chain(counted()))
    report.members = len(balances)
    report.total_wh = sum(b[0] for b in balances.values())
    report.total_cents = sum(b[1] for b in balances.values())
    head = session.get(LedgerHead, 1)
    if head is None:
        report.problems.append("the ledger head row is missing")
    else:
        if head.last_seq > report.last_seq:
            missing = (f"entry {head.last_seq} is" if head.last_seq == report.last_seq + 1
                       else f"entries {report.last_seq + 1}..{head.last_seq} are")
            report.problems.append(f"{missing} missing: the ledger head ends at entry {head.last_seq}, the chain "
                                   f"at entry {report.last_seq}")
        if head.entries != report.entries or head.last_seq != report.entries:
            report.problems.append(f"the ledger head counts {head.entries} entries ending at {head.last_seq}; "
                                   f"the chain has {report.entries}")
        if head.last_hash != (report.last_hash if report.entries else GENESIS):
            report.problems.append("the ledger head's hash is not the last entry's hash (entries were removed)")
        if (head.total_wh, head.total_cents) != (report.total_wh, report.total_cents):
            report.problems.append(
                f"the ledger head totals {head.total_wh} Wh / {head.total_cents} cents; the entries sum to "
                f"{report.total_wh} Wh / {report.total_cents} cents")
    for run in session.scalars(select(AllocationRun).order_by(AllocationRun.id)):
        wh, cents, n = run_sums.get(run.id, [0, 0, 0])
        if (wh, cents, n) != (run.member_wh, run.member_cents, run.entries):
            report.problems.append(
                f"allocation run {run.id} ({run.period}) recorded {run.entries} entries, {run.member_wh} Wh, "
                f"{run.member_cents} cents; its ledger entries are {n}, {wh} Wh, {cents} cents")
    return report


def balance(session: Session, member_id: int) -> tuple[int, int]:
    """A member's balance: (Wh, cents) summed over every ledger entry."""
    wh, cents = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.wh), 0), func.coalesce(func.sum(LedgerEntry.cents), 0))
        .where(LedgerEntry.member_id == member_id)
    ).one()
    return int(wh), int(cents)
