"""Statements (SPEC section 6).

A statement for (member, month) shows the opening balance, the month's credits by asset (kWh and value), the
month's other entries and the closing balance. Every figure is a sum of ledger entries, so a statement's totals
equal the ledger's by construction. A member's credit history (credits by month, balance) is in
:mod:`energy_coop.services.credits.queries`; the files written from statements and the ledger for auditors are in
:mod:`energy_coop.services.credits.exports`. Nothing here writes to the database.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.errors import RefusedError
from energy_coop.models import Asset, LedgerEntry
from energy_coop.period import Period
from energy_coop.services.credits import allocation as allocation_service
from energy_coop.services.registers.queries import get_member
from energy_coop.units import format_cents, wh_to_kwh_decimal

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    asset_code: str
    asset_name: str
    wh: int  # [Wh]
    cents: int  # [cents]


@dataclass
class OtherEntry:
    seq: int
    kind: str
    date: str
    memo: str
    wh: int
    cents: int


@dataclass
class Statement:
    """One member's month. Balances and amounts are integer Wh and cents."""

    member_number: str
    member_name: str
    period: str
    opening_wh: int
    opening_cents: int
    credits: list[AssetCredit] = field(default_factory=list)
    other: list[OtherEntry] = field(default_factory=list)
    closing_wh: int = 0
    closing_cents: int = 0
    stale: bool = False

    @property
    def credits_wh(self) -> int:
        return sum(c.wh for c in self.credits)

    @property
    def credits_cents(self) -> int:
        return sum(c.cents for c in self.credits)

    def as_dict(self) -> dict[str, Any]:
        return {
            "member_number": self.member_number,
            "name": self.member_name,
            "period": self.period,
            "opening_balance": {"wh": self.opening_wh, "cents": self.opening_cents},
            "credits": [{"asset_code": c.asset_code, "asset_name": c.asset_name, "wh": c.wh, "cents": c.cents}
                        for c in self.credits],
            "credits_total": {"wh": self.credits_wh, "cents": self.credits_cents},
            "other_entries": [{"seq": o.seq, "kind": o.kind, "date": o.date, "memo": o.memo, "wh": o.wh,
                               "cents": o.cents} for o in self.other],
            "closing_balance": {"wh": self.closing_wh, "cents": self.closing_cents},
            "stale": self.stale,
        }


def statement(session: Session, member_number: str, period: str) -> Statement:
    """The statement of ``member_number`` for ``period`` ('YYYY-MM'), from the ledger alone."""
    period = check_period(period)
    member = get_member(session, member_number)
    opening_wh, opening_cents = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.wh), 0), func.coalesce(func.sum(LedgerEntry.cents), 0))
        .where(LedgerEntry.member_id == member.id, LedgerEntry.period < period)
    ).one()
    st = Statement(member.member_number, member.name, period, int(opening_wh), int(opening_cents))
    credits = session.execute(
        select(Asset.asset_code, Asset.name, func.sum(LedgerEntry.wh), func.sum(LedgerEntry.cents))
        .join(Asset, LedgerEntry.asset_id == Asset.id)
        .where(LedgerEntry.member_id == member.id, LedgerEntry.period == period,
               LedgerEntry.kind.in_(("allocation", "reversal")))
        .group_by(Asset.asset_code, Asset.name).order_by(Asset.asset_code)
    ).all()
    st.credits = [AssetCredit(code, name, int(wh), int(cents)) for code, name, wh, cents in credits]
    others = session.execute(
        select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.created_at, LedgerEntry.memo, LedgerEntry.wh,
               LedgerEntry.cents)
        .where(LedgerEntry.member_id == member.id, LedgerEntry.period == period,
               LedgerEntry.kind.not_in(("allocation", "reversal")))
        .order_by(LedgerEntry.seq)
    ).all()
    st.other = [OtherEntry(seq, kind, created.date().isoformat(), memo or "", wh, cents)
                for seq, kind, created, memo, wh, cents in others]
    st.closing_wh = st.opening_wh + st.credits_wh + sum(o.wh for o in st.other)
    st.closing_cents = st.opening_cents + st.credits_cents + sum(o.cents for o in st.other)
    run = allocation_service.current_run(session, period)
    st.stale = bool(run and run.stale_since)
    return st


def statement_csv(st: Statement) -> str:
    """The statement as CSV (for auditors): one line per figure, amounts exact (kWh to 3 places, money to 2)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["member_number", "period", "line", "asset_code", "kind", "kwh", "amount", "wh", "cents"])
    base = [safe_cell(st.member_number), st.period]
    w.writerow(base + ["opening_balance", "", "", wh_to_kwh_decimal(st.opening_wh), format_cents(st.opening_cents),
                       st.opening_wh, st.opening_cents])
    for c in st.credits:
        w.writerow(base + ["credit", safe_cell(c.asset_code), "allocation", wh_to_kwh_decimal(c.wh),
                           format_cents(c.cents), c.wh, c.cents])
    for o in st.other:
        w.writerow(base + ["entry", "", o.kind, wh_to_kwh_decimal(o.wh), format_cents(o.cents), o.wh, o.cents])
    w.writerow(base + ["closing_balance", "", "", wh_to_kwh_decimal(st.closing_wh), format_cents(st.closing_cents),
                       st.closing_wh, st.closing_cents])
    return out.getvalue()


def statement_pdf(st: Statement, *, coop_name: str = "energy-coop") -> bytes:
    """The statement as a one-page PDF for the member (fpdf2, core fonts; non-Latin-1 text is transliterated)."""
    from fpdf import FPDF

    def t(text: str) -> str:
        return text.encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF(format="A4")
    pdf.set_title(t(f"Statement {st.period} - member {st.member_number}"))
    pdf.set_author(t(coop_name))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, t(f"{coop_name} - credit statement"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, t(f"Member {st.member_number}: {st.member_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, t(f"Month: {st.period}"), new_x="LMARGIN", new_y="NEXT")
    if st.stale:
        pdf.set_text_color(160, 0, 0)
        pdf.cell(0, 7, "Meter readings changed after this month was posted; a corrected statement will follow.",
                 new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(4)
    widths = (90, 45, 45)

    def row(cells: Iterable[str], bold: bool = False) -> None:
        pdf.set_font("Helvetica", "B" if bold else "", 11)
        for width, (i, cell) in zip(widths, enumerate(cells)):
            pdf.cell(width, 8, t(cell), border=1, align="L" if i == 0 else "R")
        pdf.ln(8)

    row(["", "Energy (kWh)", "Value"], bold=True)
    row(["Opening balance", f"{wh_to_kwh_decimal(st.opening_wh)}", format_cents(st.opening_cents)])
    for c in st.credits:
        row([f"Credits: {c.asset_name} ({c.asset_code})", f"{wh_to_kwh_decimal(c.wh)}", format_cents(c.cents)])
    for o in st.other:
        row([f"{o.kind.replace('_', ' ').capitalize()} {o.date} {o.memo}"[:60], f"{wh_to_kwh_decimal(o.wh)}",
             format_cents(o.cents)])
    row(["Closing balance", f"{wh_to_kwh_decimal(st.closing_wh)}", format_cents(st.closing_cents)], bold=True)
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, t("Credits are your share of each asset's metered production, split day by day by the "
                           "shares you held, valued at the co-op's credit rates. Amounts are exact to the Wh and "
                           "the cent and equal the co-op's ledger."))
    return bytes(pdf.output())
