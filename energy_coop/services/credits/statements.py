"""Statements (SPEC sections 6 and 13), by booked month.

A statement for (member, month M) is the sum of the ledger entries *booked* in M (``ledger_entries.booked``,
see :mod:`energy_coop.calc.credits.booking`), so an issued statement never changes: a late posting or a repost of
an issued month is booked in the open month and shows there, labelled with the month it is for.

- opening balance: every entry booked before M;
- ``credits``: allocation and reversal entries booked in M and for M, summed per asset;
- ``earlier``: allocation and reversal entries booked in M for another month, summed per (month, asset):
  "credits for 2025-10" when they are only allocations, "correction of 2026-03" when reversals are among them
  (a repost);
- ``other``: every other entry booked in M (adjustments, payouts, bill applications), one line each with its
  kind, date, whole memo, Wh, cents and the month it is for when that is not M;
- closing balance: opening plus everything booked in M.

Every figure is a sum of ledger entries, so a statement's totals equal the ledger's by construction. Only
issued months have statements for members (:mod:`energy_coop.services.credits.issued` stores their files);
:func:`statement` computes one from the ledger as it stands, which issuing renders and stores. The CSV is
written here (machine numbers); the PDF for members is rendered in :mod:`energy_coop.documents.statements`.
Nothing here writes to the database.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from energy_coop.errors import RefusedError
from energy_coop.models import Asset, LedgerEntry
from energy_coop.period import Period
from energy_coop.services.credits import allocation as allocation_service, storage as storage_service
from energy_coop.services.registers.queries import get_member
from energy_coop.units import format_cents, wh_to_kwh_decimal

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CREDIT_KINDS = ("allocation", "reversal")


def safe_cell(value: Any) -> str:
    """Text for a CSV cell that a spreadsheet will not run as a formula (numbers stay numbers)."""
    text = "" if value is None else str(value)
    if text.startswith(CSV_FORMULA_START):
        try:
            float(text)
            return text  # a negative number is data, not a formula
        except ValueError:
            return "'" + text
    return text


def check_period(period: str | Period) -> str:
    """``period`` as 'YYYY-MM' (:class:`Period`), or :class:`RefusedError` saying how to write one."""
    try:
        return str(Period.parse(period))
    except (TypeError, ValueError) as exc:
        raise RefusedError(str(exc)) from None


@dataclass
class AssetCredit:
    """The month's own credits from one asset: allocations (less any reversal) for M booked in M."""

    asset_code: str
    asset_name: str
    wh: int  # [Wh]
    cents: int  # [cents]
    asset_kind: str = "solar"  # "solar" or "storage" (vocabulary.ASSET_KINDS)


@dataclass
class StorageLine:
    """A battery's month for the member: their share of the energy it charged and discharged [Wh]
    (``discharged_wh - charged_wh`` is the credit line's net Wh; :mod:`energy_coop.services.credits.storage`)."""

    asset_code: str
    charged_wh: int  # [Wh]
    discharged_wh: int  # [Wh]


@dataclass
class YearToDate:
    """The credits booked from January to the statement's month of its year: energy [Wh] and value [cents];
    ``generated_wh`` counts generating assets only (a battery moves energy, it makes none)."""

    year: int
    wh: int = 0  # [Wh]
    cents: int = 0  # [cents]
    generated_wh: int = 0  # [Wh]


@dataclass
class EarlierCredit:
    """Credits booked in this month for an earlier month, from one asset: a late posting or a repost."""

    period: str  # the month they are for, 'YYYY-MM'
    asset_code: str
    asset_name: str
    wh: int  # [Wh], net of reversals
    cents: int  # [cents], net of reversals
    correction: bool  # True when reversals are among them (a repost of that month)
    asset_kind: str = "solar"

    @property
    def label(self) -> str:
        """``credits for 2025-10`` or ``correction of 2026-03``."""
        return f"correction of {self.period}" if self.correction else f"credits for {self.period}"


@dataclass
class OtherEntry:
    """One entry that is not a credit (adjustment, payout, bill application), as booked in this month."""

    seq: int
    kind: str
    date: str  # the UTC day it was made, 'YYYY-MM-DD'
    memo: str  # whole, never shortened
    wh: int  # [Wh]
    cents: int  # [cents]
    period: str | None = None  # the month it is for, when that is not the statement's month


@dataclass
class Statement:
    """One member's month by booked month. Balances and amounts are integer Wh and cents.

    ``number`` and ``issued_at`` (ISO 8601 UTC) are set when the month is issued; ``stale`` says the month's
    posted run no longer matches its readings (a repost is due).
    """

    member_number: str
    member_name: str
    period: str
    opening_wh: int
    opening_cents: int
    credits: list[AssetCredit] = field(default_factory=list)
    earlier: list[EarlierCredit] = field(default_factory=list)
    other: list[OtherEntry] = field(default_factory=list)
    closing_wh: int = 0
    closing_cents: int = 0
    stale: bool = False
    number: str | None = None
    issued_at: str | None = None
    storage: list[StorageLine] = field(default_factory=list)  # the month's batteries, charged and discharged
    year: YearToDate | None = None
    # the newest ledger anchor at issue, {seq, hash, signed_at, public_key_fingerprint} (services.credits.anchors)
    anchor: dict[str, Any] | None = None

    @property
    def credits_wh(self) -> int:
        return sum(c.wh for c in self.credits)

    @property
    def credits_cents(self) -> int:
        return sum(c.cents for c in self.credits)

    @property
    def earlier_wh(self) -> int:
        return sum(c.wh for c in self.earlier)

    @property
    def earlier_cents(self) -> int:
        return sum(c.cents for c in self.earlier)

    def as_dict(self) -> dict[str, Any]:
        """The JSON statement: every amount in integer Wh and cents."""
        return {
            "member_number": self.member_number,
            "name": self.member_name,
            "period": self.period,
            "number": self.number,
            "issued_at": self.issued_at,
            "opening_balance": {"wh": self.opening_wh, "cents": self.opening_cents},
            "credits": [{"asset_code": c.asset_code, "asset_name": c.asset_name, "asset_kind": c.asset_kind,
                         "wh": c.wh, "cents": c.cents} for c in self.credits],
            "credits_total": {"wh": self.credits_wh, "cents": self.credits_cents},
            "earlier_months": [{"period": c.period, "asset_code": c.asset_code, "asset_name": c.asset_name,
                                "asset_kind": c.asset_kind, "label": c.label, "correction": c.correction,
                                "wh": c.wh, "cents": c.cents} for c in self.earlier],
            "earlier_total": {"wh": self.earlier_wh, "cents": self.earlier_cents},
            "other_entries": [{"seq": o.seq, "kind": o.kind, "date": o.date, "memo": o.memo, "wh": o.wh,
                               "cents": o.cents, "period": o.period} for o in self.other],
            "closing_balance": {"wh": self.closing_wh, "cents": self.closing_cents},
            "storage": [{"asset_code": b.asset_code, "charged_wh": b.charged_wh, "discharged_wh": b.discharged_wh}
                        for b in self.storage],
            "year_to_date": None if self.year is None else {
                "year": self.year.year, "wh": self.year.wh, "cents": self.year.cents,
                "generated_wh": self.year.generated_wh},
            "stale": self.stale,
            **({"anchor": self.anchor} if self.anchor else {}),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Statement":
        """The statement a stored :meth:`as_dict` document describes (an issued statement's page reads it)."""
        year = doc.get("year_to_date")
        return cls(
            member_number=doc["member_number"], member_name=doc["name"], period=doc["period"],
            opening_wh=doc["opening_balance"]["wh"], opening_cents=doc["opening_balance"]["cents"],
            credits=[AssetCredit(c["asset_code"], c["asset_name"], c["wh"], c["cents"],
                                 c.get("asset_kind", "solar")) for c in doc["credits"]],
            earlier=[EarlierCredit(c["period"], c["asset_code"], c["asset_name"], c["wh"], c["cents"],
                                   c["correction"], c.get("asset_kind", "solar"))
                     for c in doc.get("earlier_months", [])],
            other=[OtherEntry(o["seq"], o["kind"], o["date"], o["memo"], o["wh"], o["cents"], o.get("period"))
                   for o in doc["other_entries"]],
            closing_wh=doc["closing_balance"]["wh"], closing_cents=doc["closing_balance"]["cents"],
            stale=doc.get("stale", False), number=doc.get("number"), issued_at=doc.get("issued_at"),
            storage=[StorageLine(b["asset_code"], b["charged_wh"], b["discharged_wh"])
                     for b in doc.get("storage", [])],
            year=None if not year else YearToDate(year["year"], year["wh"], year["cents"], year["generated_wh"]),
            anchor=doc.get("anchor"),
        )


def statement(session: Session, member_number: str, period: str) -> Statement:
    """The statement of ``member_number`` for ``period`` ('YYYY-MM'), from the ledger's booked months alone."""
    period = check_period(period)
    member = get_member(session, member_number)
    mine = LedgerEntry.member_id == member.id
    opening_wh, opening_cents = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.wh), 0), func.coalesce(func.sum(LedgerEntry.cents), 0))
        .where(mine, LedgerEntry.booked < period)
    ).one()
    st = Statement(member.member_number, member.name, period, int(opening_wh), int(opening_cents))
    credit_rows = session.execute(
        select(LedgerEntry.period, Asset.asset_code, Asset.name, Asset.kind, func.sum(LedgerEntry.wh),
               func.sum(LedgerEntry.cents), func.sum(case((LedgerEntry.kind == "reversal", 1), else_=0)))
        .join(Asset, LedgerEntry.asset_id == Asset.id)
        .where(mine, LedgerEntry.booked == period, LedgerEntry.kind.in_(CREDIT_KINDS))
        .group_by(LedgerEntry.period, Asset.asset_code, Asset.name, Asset.kind)
        .order_by(LedgerEntry.period, Asset.asset_code)
    ).all()
    for for_period, code, name, kind, wh, cents, reversals in credit_rows:
        if for_period == period:
            st.credits.append(AssetCredit(code, name, int(wh), int(cents), kind))
        else:
            st.earlier.append(EarlierCredit(for_period or "", code, name, int(wh), int(cents), bool(reversals),
                                            kind))
    others = session.execute(
        select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.created_at, LedgerEntry.memo, LedgerEntry.wh,
               LedgerEntry.cents, LedgerEntry.period)
        .where(mine, LedgerEntry.booked == period, LedgerEntry.kind.not_in(CREDIT_KINDS))
        .order_by(LedgerEntry.seq)
    ).all()
    st.other = [OtherEntry(seq, kind, created.date().isoformat(), memo or "", wh, cents,
                           for_period if for_period != period else None)
                for seq, kind, created, memo, wh, cents, for_period in others]
    st.closing_wh = st.opening_wh + st.credits_wh + st.earlier_wh + sum(o.wh for o in st.other)
    st.closing_cents = st.opening_cents + st.credits_cents + st.earlier_cents + sum(o.cents for o in st.other)
    run = allocation_service.current_run(session, period)
    st.stale = bool(run and run.stale_since)
    st.year = _year_to_date(session, member.id, period)
    if any(c.asset_kind == "storage" for c in st.credits):
        st.storage = [StorageLine(b.asset_code, b.charged_wh, b.discharged_wh)
                      for b in storage_service.storage_shares(session, member.member_number, period)]
    return st


def _year_to_date(session: Session, member_id: int, period: str) -> YearToDate:
    """The credits (allocations and reversals) booked from January of ``period``'s year through ``period``."""
    year = Period.parse(period).year
    wh, cents, generated = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.wh), 0), func.coalesce(func.sum(LedgerEntry.cents), 0),
               func.coalesce(func.sum(case((Asset.kind != "storage", LedgerEntry.wh), else_=0)), 0))
        .join(Asset, LedgerEntry.asset_id == Asset.id)
        .where(LedgerEntry.member_id == member_id, LedgerEntry.kind.in_(CREDIT_KINDS),
               LedgerEntry.booked >= f"{year:04d}-01", LedgerEntry.booked <= period)
    ).one()
    return YearToDate(year, int(wh), int(cents), int(generated))


#: The statement CSV's columns: ``period`` is the statement's (booked) month, ``for_period`` the month a line is
#: for when that differs.
CSV_COLUMNS = ["member_number", "period", "line", "asset_code", "kind", "kwh", "amount", "wh", "cents",
               "for_period", "memo"]


def statement_csv(st: Statement) -> str:
    """The statement as CSV (for auditors): one line per figure, amounts exact (kWh to 3 places, money to 2)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    base = [safe_cell(st.member_number), st.period]

    def amounts(wh: int, cents: int) -> list[Any]:
        return [wh_to_kwh_decimal(wh), format_cents(cents), wh, cents]

    w.writerow(base + ["opening_balance", "", ""] + amounts(st.opening_wh, st.opening_cents) + ["", ""])
    for c in st.credits:
        w.writerow(base + ["credit", safe_cell(c.asset_code), "allocation"] + amounts(c.wh, c.cents) + ["", ""])
    for e in st.earlier:
        w.writerow(base + ["earlier_month", safe_cell(e.asset_code), "correction" if e.correction else "allocation"]
                   + amounts(e.wh, e.cents) + [e.period, ""])
    for o in st.other:
        w.writerow(base + ["entry", "", o.kind] + amounts(o.wh, o.cents) + [o.period or "", safe_cell(o.memo)])
    w.writerow(base + ["closing_balance", "", ""] + amounts(st.closing_wh, st.closing_cents) + ["", ""])
    return out.getvalue()
