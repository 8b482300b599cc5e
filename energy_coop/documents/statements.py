"""Statements as documents (SPEC 6, 13): the member's PDF, and issuing a month's statements.

:func:`issue_month` is the one use case that freezes a month: it checks the month with
:func:`energy_coop.services.credits.issued.prepare_issue` (which holds the ledger's head, so nothing is booked
meanwhile), reads each member's statement from :func:`energy_coop.services.credits.statements.statement`,
renders the PDF here and the CSV there (machine numbers), and stores both with their SHA-256 through
:func:`energy_coop.services.credits.issued.store_month`. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from multiprocessing import get_context
from typing import Callable, Iterable

from sqlalchemy.orm import Session

from energy_coop.documents.pdf import Document, Row, Section, prepare_fonts, render
from energy_coop.formatting import Formatter, formatter, formatter_for
from energy_coop.services.credits import issued
from energy_coop.services.credits.statements import Statement, statement, statement_csv
from energy_coop.services.settings import CoopSettings, get_settings


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
                on_plan: Callable[[int], None] | None = None, pool: Executor | None = None) -> IssueResult:
    """Issue ``period``'s statements: one for every member with an entry booked in or before it, each stored as
    PDF and CSV with their SHA-256 and the document they were rendered from (``Statement.as_dict()``).

    Refusals are :func:`issued.prepare_issue`'s (not posted, stale, issued already: exit 3, not over, out of
    order); then nothing is written. ``on_plan(n)`` is told how many statements will be made before the first
    is rendered, ``progress(1)`` after each. ``pool``: an executor (:func:`render_pool`) that renders the PDFs
    in other processes, for a co-op with many members; the statements are read here, in the transaction.
    """
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    plan = issued.prepare_issue(session, period, now=now)
    settings = get_settings(session)
    fmt = formatter_for(settings)
    if on_plan:
        on_plan(len(plan.member_numbers))
    issued_at = now.isoformat(timespec="seconds")
    read = []
    for number in plan.member_numbers:
        st = statement(session, number, plan.period)
        st.number = issued.statement_number(plan.period, number)
        st.issued_at = issued_at
        st.anchor = plan.anchor
        read.append(st)
    if pool is None:
        pdfs: Iterable[bytes] = (statement_pdf(st, settings, fmt, created=now) for st in read)
    else:
        style = (fmt.locale, fmt.currency, fmt.timezone)
        pdfs = pool.map(_render, read, repeat(settings), repeat(style), repeat(now), chunksize=8)
    files = []
    for st, pdf in zip(read, pdfs):
        files.append(issued.StatementFiles(st.member_number, st.number or "", st.as_dict(), pdf,
                                           statement_csv(st).encode("utf-8")))
        if progress:
            progress(1)
    month = issued.store_month(session, plan, files, actor=actor, now=now)
    return IssueResult(month.period, now, actor, month.statements, month.allocation_run_id)



def _render(st: Statement, settings: CoopSettings, style: tuple[str, str, str], created: dt.datetime) -> bytes:
    """One statement's PDF in a worker process of :func:`render_pool`."""
    return statement_pdf(st, settings, formatter(*style), created=created)


def render_pool(workers: int | None = None) -> Executor:
    """A pool of ``workers`` processes (default: one per core) for :func:`issue_month`'s ``pool``; use it as a
    context manager. Started with "spawn", so a worker inherits no database connection."""
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=get_context("spawn"),
                               initializer=prepare_fonts)


ENTRY_LABELS = {"adjustment": "Adjustment", "payout": "Paid out to you", "bill_application": "Applied to your bill"}


def _kwh(fmt: Formatter, wh: int) -> str:
    return f"{fmt.energy_kwh(wh)} kWh"


def statement_document(st: Statement, settings: CoopSettings, fmt: Formatter | None = None) -> Document:
    """The statement as people read it, on the page and in the PDF: every text formatted by ``fmt`` (the
    co-op's locale and currency; default: from ``settings``).

    Sections: the account (opening balance; this month's credits by asset, a battery as the energy it charged
    and discharged with the value of shifting it in one sentence; credits for and corrections of earlier months,
    each labelled with the month it is for; every other entry with its whole memo; closing balance), then the
    year so far (credits, energy generated, CO2 avoided at the co-op's emission factor, its source printed).
    """
    fmt = fmt or formatter_for(settings)
    month = fmt.period_label(st.period)
    rows: list[Row] = [Row("Opening balance", _kwh(fmt, st.opening_wh), fmt.money(st.opening_cents), bold=True)]
    storage = {b.asset_code: b for b in st.storage}
    for c in st.credits:
        battery = storage.get(c.asset_code) if c.asset_kind == "storage" else None
        if battery is None:
            rows.append(Row(f"Credits from {c.asset_name} ({c.asset_code})", _kwh(fmt, c.wh),
                            fmt.money(c.cents)))
            continue
        rows.append(Row(f"{c.asset_name} ({c.asset_code}): energy moved to the hours it is worth more",
                        _kwh(fmt, c.wh), fmt.money(c.cents)))
        rows.append(Row(
            f"Your share of the battery stored {_kwh(fmt, battery.charged_wh)} when energy was cheaper and gave "
            f"back {_kwh(fmt, battery.discharged_wh)} when it was dearer; moving it earned you "
            f"{fmt.money(c.cents)}. The {_kwh(fmt, abs(c.wh))} difference is energy a battery uses up in "
            f"charging and discharging.", sentence=True))
    for e in st.earlier:
        what = fmt.period_label(e.period)
        text = (f"Correction of {what} for {e.asset_name} ({e.asset_code}): that month was counted again"
                if e.correction else f"Credits for {what} from {e.asset_name} ({e.asset_code}), posted late")
        rows.append(Row(text, _kwh(fmt, e.wh), fmt.money(e.cents)))
    for o in st.other:
        label = ENTRY_LABELS.get(o.kind, o.kind.replace("_", " ").capitalize())
        when = fmt.date(_day(o.date))
        text = f"{label}, {when}" + (f" (for {fmt.period_label(o.period)})" if o.period else "")
        if o.memo:
            text += f": {o.memo}"
        rows.append(Row(text, _kwh(fmt, o.wh) if o.wh else "", fmt.money(o.cents)))
    rows.append(Row("Closing balance", _kwh(fmt, st.closing_wh), fmt.money(st.closing_cents), bold=True))
    sections = [Section(f"Your account in {month}", tuple(rows), ("", "Energy", "Amount"))]
    notes: list[str] = []
    if st.year is not None:
        first = fmt.period_label(f"{st.year.year:04d}-01")
        span = month if first == month else f"{first} to {month}"
        year_rows = [Row(f"Credits, {span}", _kwh(fmt, st.year.wh), fmt.money(st.year.cents)),
                     Row("Energy generated by your shares", _kwh(fmt, st.year.generated_wh), "")]
        factor = settings.emission_factor_kg_per_kwh
        if factor is not None:
            kg = Decimal(st.year.generated_wh) / 1000 * factor
            year_rows.append(Row("CO₂ avoided", f"{fmt.number(kg, 1)} kg", ""))
            source = settings.emission_factor_source or "the co-op's settings"
            notes.append(f"CO₂ avoided is the energy generated times {fmt.number(factor, 3)} kg of CO₂ per kWh, "
                         f"the grid's average (source: {source}).")
        sections.append(Section(f"The year so far ({st.year.year})", tuple(year_rows), ("", "Energy", "Amount")))
    notes.append("Credits are your share of each asset's metered production, split day by day by the shares you "
                 "held, valued at the co-op's credit rates. Amounts are exact to the Wh and the cent and equal the "
                 "co-op's ledger. An issued statement never changes: anything found later shows on the next "
                 "statement, labelled with the month it is for.")
    contact = " · ".join(x for x in (settings.contact_email, settings.contact_phone) if x)
    if contact:
        notes.append(f"Questions about this statement: {contact}.")
    if st.anchor:
        notes.append(f"Ledger checkpoint: entry {st.anchor['seq']}, hash {str(st.anchor['hash'])[:16]}…")
    facts = [("Statement no.", st.number or "not issued (draft)")]
    if st.issued_at:
        facts.append(("Issued", fmt.date(dt.datetime.fromisoformat(st.issued_at))))
    facts += [("Month", month), ("Member", f"{st.member_number} · {st.member_name}")]
    if st.stale:
        sections[0] = Section(sections[0].title, (Row(
            "Meter readings changed after this month was posted; the corrected figures will show on a later "
            "statement, labelled as a correction of this month.", sentence=True),) + sections[0].rows,
            sections[0].columns)
    letterhead = (settings.coop_name, *settings.address_lines, *([contact] if contact else []))
    return Document(
        title=f"Credit statement for {month}", author=settings.coop_name, letterhead=letterhead,
        facts=tuple(facts), sections=tuple(sections), notes=tuple(notes),
        footer=f"{settings.coop_name} · statement {st.number or st.period}",
        created=dt.datetime.fromisoformat(st.issued_at) if st.issued_at else None)


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def statement_pdf(st: Statement, settings: CoopSettings | None = None, fmt: Formatter | None = None, *,
                  created: dt.datetime | None = None) -> bytes:
    """The statement as a PDF for the member (A4, numbered pages, memos whole; :mod:`energy_coop.documents.pdf`).
    ``created`` [UTC] is the PDF's creation date (the issue instant)."""
    settings = settings or CoopSettings()
    doc = statement_document(st, settings, fmt)
    if created is not None:
        doc = Document(**{**doc.__dict__, "created": created})
    return render(doc)
