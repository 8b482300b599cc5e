"""The auditors' files (SPEC section 6): the ledger with its hashes, one statement per member, and the audit
bundle of a posted month, with what an auditor needs to re-compute section 5 without this application.

Each writer takes a Session and where to write; nothing here writes to the database. Files appear whole or not
at all (:mod:`energy_coop.atomic_files`): written under a temporary name in the same folder and renamed when
complete, so a full disk or a crash leaves nothing half-written; the audit bundle is one folder renamed into
place with its manifest written last.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from energy_coop import atomic_files
from energy_coop.calc.credits.allocation import COOP
from energy_coop.calc.credits.chain import format_time
from energy_coop.calc.credits.holdings import holding_segments
from energy_coop.calc.credits.rates import iso_utc
from energy_coop.errors import RefusedError
from energy_coop.services.credits import allocation as allocation_service
from energy_coop.services.credits.ledger import CHAIN_COLUMNS, iter_chain
from energy_coop.services.credits import anchors, issued
from energy_coop.services.credits.statements import check_period
from energy_coop.services.metering.imports import file_sha256
from energy_coop.units import mwh_to_kwh_decimal, rate_to_decimal

LEDGER_COLUMNS = list(CHAIN_COLUMNS)  # the ledger CSV's header: the chain's fields and hashes


def write_ledger_csv(session: Session, fh: IO[str], period: str | None = None) -> int:
    """Every ledger entry (or one period's) with its chain fields, in ``seq`` order; returns the count.

    ``period`` is the month an entry is for, ``booked`` the month whose statement shows it; the hash covers
    ``booked`` only when it differs from the period (see :mod:`energy_coop.calc.credits.chain`).

    The memo is written as stored (not formula-escaped) so that the hashes can be re-computed from the file;
    no memo can start a formula, since :func:`ledger.check_memo` refuses those when the entry is made.
    """
    if period is not None:
        period = check_period(period)
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(LEDGER_COLUMNS)
    n = 0
    for e in iter_chain(session, period=period):
        w.writerow([e.seq, e.kind, e.member_number, e.period or "", e.booked, e.asset_code or "", e.wh, e.cents,
                    e.run_id if e.run_id is not None else "", e.reverses_seq if e.reverses_seq is not None else "",
                    e.memo or "", format_time(e.created_at), e.prev_hash, e.hash])
        n += 1
    return n


def statement_file_name(period: str, member_number: str, fmt: str) -> str:
    return f"statement_{period}_{_file_safe(member_number)}.{fmt}"


def export_statements(session: Session, period: str, fmt: str, out_dir: Path) -> list[Path]:
    """The issued statements of ``period``, one file per member, exactly as stored when the month was issued
    (so two exports are byte for byte the same). :class:`issued.NotIssuedError` (exit 4) for a month not
    issued."""
    period = check_period(period)
    if fmt not in ("pdf", "csv"):
        raise RefusedError(f"format {fmt!r} is not pdf or csv")
    stored = issued.statements_of_month(session, period)
    _make_folder(out_dir)
    files = [(out_dir / statement_file_name(period, number, fmt), row.pdf if fmt == "pdf" else row.csv)
             for number, row in stored]
    return atomic_files.write_all(files)


def _make_folder(folder: Path) -> None:
    """``folder`` is made when new, with its parents (``--out DIR`` names the folder to write)."""
    folder.mkdir(parents=True, exist_ok=True)


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
  (verify the whole chain with `export ledger`; `period` is the month an entry is for, `booked` the month
  whose statement shows it, hashed as "|booked=YYYY-MM" after created_at only when it differs from period).
- statements/: the month's issued statements, PDF and CSV per member, exactly as stored when the month was
  issued; manifest.json lists each with the SHA-256 stored at issue beside the file's own. A statement shows
  what was booked in the month: a late posting or a repost of an issued month is on the next statement issued.
  If the month is not issued yet, manifest.json says so and statements/ is absent.
- manifest.json's ledger_anchor: the signed anchor of the ledger's head recorded when the month was issued (for a
  month not issued, the newest one): seq, hash, signed_at, public_key_fingerprint; `energy-coop ledger verify
  --against HASH` (or the anchor file) proves the ledger still extends it. null when no anchor was made.
Exact energy of holder m: sum over readings r of kwh_r x h(m, day(r)) / total_shares; value the same with
kwh_r x rate_r. Asset totals are rounded half to even (Wh, cents), then split by largest remainder, ties to
the key that sorts first, COOP after every member number.
"""


def export_audit(session: Session, period: str, out_dir: Path) -> dict[str, Any]:
    """Write the SPEC 6 audit bundle of a posted ``period`` into ``out_dir``; return the manifest."""
    period = check_period(period)
    run = allocation_service.current_run(session, period)
    if run is None:
        raise RefusedError(f"{period} has not been posted; there is nothing to audit yet")
    outcome = allocation_service.compute(session, period, today=dt.date.max)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir())
                                                       and not (out_dir / "manifest.json").is_file())):
        raise RefusedError(f"{out_dir} already holds other files; give a new or empty folder (an earlier audit "
                           "bundle there is replaced whole)")
    _make_folder(out_dir.parent)
    with atomic_files.atomic_folder(out_dir) as tmp:
        manifest = _write_audit(session, period, run, outcome, tmp)
    return manifest


def _write_audit(session: Session, period: str, run: Any, outcome: Any, out_dir: Path) -> dict[str, Any]:
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
    issued_row = issued.issued_month(session, period)
    statement_files: list[dict[str, Any]] = []
    if issued_row is not None:
        folder = out_dir / "statements"
        folder.mkdir(exist_ok=True)
        for number, row in issued.statements_of_month(session, period):
            entry: dict[str, Any] = {"member_number": number, "number": row.number}
            for fmt, data, stored_sha in (("pdf", row.pdf, row.pdf_sha256), ("csv", row.csv, row.csv_sha256)):
                path = folder / statement_file_name(period, number, fmt)
                path.write_bytes(data)
                files.append(path)
                entry[fmt] = str(path.relative_to(out_dir))
                entry[f"{fmt}_sha256_stored"] = stored_sha
            statement_files.append(entry)
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
        # the ledger anchor recorded when the month was issued; for a month not issued, the newest one so far
        "ledger_anchor": (issued.month_anchor(session, period) if issued_row is not None
                          else anchors.latest_anchor(session)),
        "note": ("the readings, register or rates changed after this month was posted: the inputs here re-compute "
                 "the current draft, not the posted run; repost the month first") if stale else "",
        "files": {str(p.relative_to(out_dir)): file_sha256(p) for p in files},
        "statements": ({"issued": True, "issued_at": issued_row.issued_at.isoformat(),
                        "issued_by": issued_row.issued_by, "count": issued_row.statements,
                        "files": statement_files} if issued_row is not None else
                       {"issued": False, "issued_at": None, "issued_by": None, "count": 0, "files": [],
                        "note": f"the statements of {period} are not issued yet, so none are in this bundle"}),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest
