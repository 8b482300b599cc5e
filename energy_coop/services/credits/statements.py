"""Statements, members' credit history and the auditors' exports (SPEC section 6).

A statement for (member, month) shows the opening balance, the month's credits by asset (kWh and value), the
month's other entries and the closing balance. Every figure is a sum of ledger entries, so a statement's totals
equal the ledger's by construction; ``export audit`` writes what an auditor needs to re-compute section 5
without this application. Nothing here writes to the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.allocation import COOP
from energy_coop.period import parse_period
from energy_coop.calc.credits.holdings import holding_segments
from energy_coop.calc.credits.rates import iso_utc
from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.models import Asset, LedgerEntry, Member
from energy_coop.units import format_cents, mwh_to_kwh_decimal, rate_to_decimal, wh_to_kwh_decimal
from energy_coop.vocabulary import CREDIT_ENTRY_KINDS
from energy_coop.services.credits import allocation as allocation_service
from energy_coop.services.metering.imports import file_sha256
from energy_coop.services.credits.ledger import iter_chain

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


def _check_period(period: str) -> str:
    try:
        parse_period(period)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    return period.strip()


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


def _member(session: Session, member_number: str) -> Member:
    member = session.scalar(select(Member).where(Member.member_number == member_number))
    if member is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    return member


def statement(session: Session, member_number: str, period: str) -> Statement:
    """The statement of ``member_number`` for ``period`` ('YYYY-MM'), from the ledger alone."""
    period = _check_period(period)
    member = _member(session, member_number)
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


def periods_with_entries(session: Session, member_number: str) -> list[str]:
    """The months in which ``member_number`` has ledger entries, newest first."""
    member = _member(session, member_number)
    return [p for (p,) in session.execute(
        select(LedgerEntry.period).where(LedgerEntry.member_id == member.id, LedgerEntry.period.is_not(None))
        .group_by(LedgerEntry.period).order_by(LedgerEntry.period.desc()))]


def member_credits(session: Session, member_number: str, from_period: str | None = None,
                   to_period: str | None = None) -> dict[str, Any]:
    """Posted credits by month and asset (integer Wh and cents) and the member's balance (all entries)."""
    for p in (from_period, to_period):
        if p is not None:
            _check_period(p)
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


def periods_from_sums(sums: list[tuple[str | None, str | None, str, int, int]]) -> list[str]:
    """:func:`periods_with_entries` from :func:`ledger_sums`."""
    return sorted({period for period, *_ in sums if period is not None}, reverse=True)


CREDIT_KINDS = frozenset(CREDIT_ENTRY_KINDS)  # the ledger kinds listed as a month's credits


# ------------------------------------------------------------------------------------------------ exports

LEDGER_COLUMNS = ["seq", "kind", "member_number", "period", "asset_code", "wh", "cents", "run_id", "reverses_seq",
                  "memo", "created_at", "prev_hash", "hash"]


def write_ledger_csv(session: Session, fh: IO[str], period: str | None = None) -> int:
    """Every ledger entry (or one period's) with its chain fields, in ``seq`` order; returns the count.

    The memo is written as stored (not formula-escaped) so that the hashes can be re-computed from the file;
    no memo can start a formula, since :func:`ledger.check_memo` refuses those when the entry is made.
    """
    if period is not None:
        period = _check_period(period)
    from energy_coop.calc.credits.chain import format_time

    w = csv.writer(fh, lineterminator="\n")
    w.writerow(LEDGER_COLUMNS)
    n = 0
    for e in iter_chain(session, period=period):
        w.writerow([e.seq, e.kind, e.member_number, e.period or "", e.asset_code or "", e.wh, e.cents,
                    e.run_id if e.run_id is not None else "", e.reverses_seq if e.reverses_seq is not None else "",
                    e.memo or "", format_time(e.created_at), e.prev_hash, e.hash])
        n += 1
    return n


def export_statements(session: Session, period: str, fmt: str, out_dir: Path) -> list[Path]:
    """One statement file per member with ledger entries in or before ``period``."""
    period = _check_period(period)
    if fmt not in ("pdf", "csv"):
        raise RefusedError(f"format {fmt!r} is not pdf or csv")
    out_dir.mkdir(parents=True, exist_ok=True)
    numbers = [n for (n,) in session.execute(
        select(Member.member_number).join(LedgerEntry, LedgerEntry.member_id == Member.id)
        .where(LedgerEntry.period <= period).group_by(Member.member_number).order_by(Member.member_number))]
    paths = []
    for number in numbers:
        st = statement(session, number, period)
        path = out_dir / f"statement_{period}_{_file_safe(number)}.{fmt}"
        if fmt == "csv":
            path.write_text(statement_csv(st), encoding="utf-8")
        else:
            path.write_bytes(statement_pdf(st))
        paths.append(path)
    return paths


def _file_safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


AUDIT_README = """\
energy-coop audit export for {period}

Re-computing SPEC section 5 from these files alone:
- assets.csv: each asset's time zone, total shares, local month bounds [UTC] and coverage.
- readings.csv: every reading of the month (interval start in the asset's local month): kwh exact to 1 mWh,
  the rate in force at the interval start, and the local day the reading belongs to.
- holdings.csv: shares held per holder (member number, or COOP for the shares no member holds), asset and day,
  as runs of consecutive days (first_day..last_day inclusive) with the same holding.
- rates.csv: the rate rows used (valid_from UTC, rate per kWh, scope = asset code or * for every asset).
- daily_totals.csv: per asset and local day, sum of kwh [mWh] and of kwh x rate [mWh x 1e-6 currency/kWh].
- allocation.json: the posted allocation document; ledger.csv: the month's ledger entries with their hashes
  (verify the whole chain with `export ledger`); statements/: one CSV statement per member.
Exact energy of holder m: sum over readings r of kwh_r x h(m, day(r)) / total_shares; value the same with
kwh_r x rate_r. Asset totals are rounded half to even (Wh, cents), then split by largest remainder, ties to
the key that sorts first, COOP after every member number.
"""


def export_audit(session: Session, period: str, out_dir: Path) -> dict[str, Any]:
    """Write the SPEC 6 audit bundle of a posted ``period`` into ``out_dir``; return the manifest."""
    period = _check_period(period)
    run = allocation_service.current_run(session, period)
    if run is None:
        raise RefusedError(f"{period} has not been posted; there is nothing to audit yet")
    outcome = allocation_service.compute(session, period, today=dt.date.max)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    def writer(name: str):
        path = out_dir / name
        files.append(path)
        fh = path.open("w", newline="", encoding="utf-8")
        return fh, csv.writer(fh, lineterminator="\n")

    fh, w = writer("assets.csv")
    w.writerow(["asset_code", "timezone", "total_shares", "month_start_utc", "month_end_utc", "intervals_present",
                "intervals_expected"])
    for i in outcome.inputs:
        w.writerow([i.asset.asset_code, i.asset.timezone, i.asset.total_shares, iso_utc(i.start_utc),
                    iso_utc(i.end_utc), i.coverage.present, i.coverage.expected])
    fh.close()

    fh, w = writer("readings.csv")
    w.writerow(["asset_code", "start_utc", "end_utc", "local_day", "kwh", "rate_per_kwh"])
    from zoneinfo import ZoneInfo

    for i in outcome.inputs:
        zone = ZoneInfo(i.asset.timezone)
        order = i.starts.argsort(kind="stable")
        for k in order.tolist():
            s = int(i.starts[k])
            w.writerow([i.asset.asset_code, iso_utc(s), iso_utc(int(i.ends[k])),
                        dt.datetime.fromtimestamp(s, zone).date().isoformat(), mwh_to_kwh_decimal(int(i.mwh[k])),
                        rate_to_decimal(int(i.rates[k]))])
    fh.close()

    fh, w = writer("daily_totals.csv")
    w.writerow(["asset_code", "local_day", "energy_mwh", "value_mwh_x_micro_per_kwh"])
    for i in outcome.inputs:
        for day, e, v in zip(i.days, i.energy_by_day, i.value_by_day):
            w.writerow([i.asset.asset_code, day.isoformat(), e, v])
    fh.close()

    fh, w = writer("holdings.csv")
    w.writerow(["asset_code", "holder", "first_day", "last_day", "shares"])
    for i in outcome.inputs:
        held = [0] * len(i.days)
        for number in sorted(i.holdings):
            for start, stop, shares in holding_segments(i.holdings[number], i.days):
                w.writerow([i.asset.asset_code, number, i.days[start].isoformat(), i.days[stop - 1].isoformat(),
                            shares])
                for d in range(start, stop):
                    held[d] += shares
        run_start = 0
        for d in range(1, len(i.days) + 1):
            if d == len(i.days) or held[d] != held[run_start]:
                coop = i.asset.total_shares - held[run_start]
                if coop:
                    w.writerow([i.asset.asset_code, COOP, i.days[run_start].isoformat(), i.days[d - 1].isoformat(),
                                coop])
                run_start = d
    fh.close()

    fh, w = writer("rates.csv")
    w.writerow(["asset_code", "valid_from_utc", "rate_per_kwh", "scope"])
    for i in outcome.inputs:
        for row in i.schedule.rows_in_effect(i.start_utc, i.end_utc):
            w.writerow([i.asset.asset_code, iso_utc(row.valid_from), rate_to_decimal(row.rate_micros),
                        row.asset_code or "*"])
    fh.close()

    path = out_dir / "allocation.json"
    path.write_text(json.dumps(run.posted_document, indent=2, sort_keys=True), encoding="utf-8")
    files.append(path)
    path = out_dir / "ledger.csv"
    with path.open("w", newline="", encoding="utf-8") as lf:
        write_ledger_csv(session, lf, period)
    files.append(path)
    for p in export_statements(session, period, "csv", out_dir / "statements"):
        files.append(p)
    path = out_dir / "README.txt"
    path.write_text(AUDIT_README.format(period=period), encoding="utf-8")
    files.append(path)

    stale = run.inputs_sha256 != outcome.inputs_sha256
    manifest = {
        "period": period,
        "run_id": run.id,
        "posted_at": run.posted_at.isoformat(),
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs_match_posted_run": not stale,
        "note": ("the readings, register or rates changed after this month was posted: the inputs here re-compute "
                 "the current draft, not the posted run; repost the month first") if stale else "",
        "files": {str(p.relative_to(out_dir)): file_sha256(p) for p in files},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest
