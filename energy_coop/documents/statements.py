"""Statements as documents (SPEC 6, 13): the member's PDF, and issuing a month's statements.

:func:`issue_month` is the one use case that freezes a month: it checks the month with
:func:`energy_coop.services.credits.issued.prepare_issue` (which holds the ledger's head, so nothing is booked
meanwhile), reads each member's statement from :func:`energy_coop.services.credits.statements.statement`,
renders the PDF here and the CSV there (machine numbers), and stores both with their SHA-256 through
:func:`energy_coop.services.credits.issued.store_month`. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable

from sqlalchemy.orm import Session

from energy_coop.services.credits import issued
from energy_coop.services.credits.statements import Statement, statement, statement_csv
from energy_coop.units import format_cents, wh_to_kwh_decimal


@dataclass(frozen=True)
class IssueResult:
    """A month just issued: when, by whom, how many statements."""

    period: str
    issued_at: dt.datetime
    issued_by: str
    statements: int
    allocation_run_id: int

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "issued_at": self.issued_at.isoformat(), "issued_by": self.issued_by,
                "statements": self.statements, "allocation_run_id": self.allocation_run_id}


def issue_month(session: Session, period: str, *, actor: str, now: dt.datetime | None = None,
                progress: Callable[[int], None] | None = None,
                on_plan: Callable[[int], None] | None = None) -> IssueResult:
    """Issue ``period``'s statements: one for every member with an entry booked in or before it, each stored as
    PDF and CSV with their SHA-256 and the document they were rendered from (``Statement.as_dict()``).

    Refusals are :func:`issued.prepare_issue`'s (not posted, stale, issued already: exit 3, not over, out of
    order); then nothing is written. ``on_plan(n)`` is told how many statements will be made before the first
    is rendered, ``progress(1)`` after each.
    """
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    plan = issued.prepare_issue(session, period, now=now)
    if on_plan:
        on_plan(len(plan.member_numbers))
    issued_at = now.isoformat(timespec="seconds")
    files = []
    for number in plan.member_numbers:
        st = statement(session, number, plan.period)
        st.number = issued.statement_number(plan.period, number)
        st.issued_at = issued_at
        files.append(issued.StatementFiles(number, st.number, st.as_dict(), statement_pdf(st, created=now),
                                           statement_csv(st).encode("utf-8")))
        if progress:
            progress(1)
    month = issued.store_month(session, plan, files, actor=actor, now=now)
    return IssueResult(month.period, now, actor, month.statements, month.allocation_run_id)


def statement_pdf(st: Statement, *, coop_name: str = "energy-coop", created: dt.datetime | None = None) -> bytes:
    """The statement as a PDF for the member (fpdf2, core fonts; non-Latin-1 text is transliterated).
    ``created`` [UTC] is the PDF's creation date (the issue time), so the file says when it was issued."""
    from fpdf import FPDF

    def t(text: str) -> str:
        return text.encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF(format="A4")
    if created is not None:
        pdf.set_creation_date(created)
    pdf.set_title(t(f"Statement {st.period} - member {st.member_number}"))
    pdf.set_author(t(coop_name))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, t(f"{coop_name} - credit statement"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, t(f"Member {st.member_number}: {st.member_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, t(f"Month: {st.period}"), new_x="LMARGIN", new_y="NEXT")
    if st.number:
        pdf.cell(0, 7, t(f"Statement {st.number}, issued {(st.issued_at or '')[:10]}"), new_x="LMARGIN",
                 new_y="NEXT")
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
    for e in st.earlier:
        row([f"{e.label.capitalize()}: {e.asset_name} ({e.asset_code})", f"{wh_to_kwh_decimal(e.wh)}",
             format_cents(e.cents)])
    for o in st.other:
        label = f"{o.kind.replace('_', ' ').capitalize()} {o.date}" + (f" (for {o.period})" if o.period else "")
        row([label, f"{wh_to_kwh_decimal(o.wh)}", format_cents(o.cents)])
        if o.memo:  # the memo whole, wrapped under its line
            pdf.set_font("Helvetica", "", 9)
            pdf.multi_cell(sum(widths), 5, t(o.memo), border="LRB", new_x="LMARGIN", new_y="NEXT")
    row(["Closing balance", f"{wh_to_kwh_decimal(st.closing_wh)}", format_cents(st.closing_cents)], bold=True)
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, t("Credits are your share of each asset's metered production, split day by day by the "
                           "shares you held, valued at the co-op's credit rates. Amounts are exact to the Wh and "
                           "the cent and equal the co-op's ledger."))
    return bytes(pdf.output())
