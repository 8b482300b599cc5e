"""Members' credits: ``allocate`` a month, ``ledger verify|record`` (``verify``: ``cli.verification``),
``export statements|ledger|audit``."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import click

from energy_coop import atomic_files, storage_faults
from energy_coop.cli.anchors import anchor, anchor_key
from energy_coop.cli.context import (EXIT_FAILED, PERIOD, AppContext, db_option, emit_json, json_option,
                                     pass_app, progress_bar, refusals)
from energy_coop.cli.verification import verify_command
from energy_coop.errors import RefusedError, RowError
from energy_coop.period import Period
from energy_coop.vocabulary import MANUAL_ENTRY_KINDS

# ------------------------------------------------------------------------------------------------- allocation


@click.command("allocate")
@click.argument("period", metavar="YYYY-MM", type=PERIOD)
@click.option("--post", "do_post", is_flag=True, help="Post the month's credits to the ledger.")
@click.option("--repost", is_flag=True, help="Reverse an earlier posting of the month and post it again.")
@click.option("--allow-gaps", is_flag=True, help="Post even though some meter readings are missing.")
@db_option
@json_option
@pass_app
@refusals()
def allocate(app: AppContext, period: Period, do_post: bool, repost: bool, allow_gaps: bool,
             as_json: bool) -> None:
    """Compute a month's credits (a draft that changes nothing), or post them with --post."""
    from energy_coop.services.credits import allocation  # lazy: pandas/pvlib; keeps --help fast

    month = str(period)
    with app.transaction() as session:
        with progress_bar(as_json, allocation.asset_count(session), f"allocating {month}") as progress:
            if do_post or repost:
                outcome = allocation.post(session, month, actor=app.actor, repost=repost, allow_gaps=allow_gaps,
                                          progress=progress)
            else:
                outcome = allocation.compute(session, month, progress=progress)
        current = allocation.current_run(session, month)
        posted_run = current.id if current is not None else None
        doc = outcome.document
    for message in outcome.messages:
        click.echo(message, err=True)
    if outcome.note:
        click.echo(outcome.note, err=True)
    if outcome.status == "draft" and posted_run is not None:
        click.echo(f"{month} is posted as run {posted_run}; this draft re-computes it from today's data "
                   f"(--repost would post it)", err=True)
    if outcome.incomplete and outcome.status == "draft":
        click.echo("coverage below 100 %: " + "; ".join(outcome.incomplete), err=True)
    if as_json:
        emit_json(doc)
        return
    f = app.formatter()
    state = doc["status"] + ("" if outcome.month_over else ", month not over")
    click.echo(f"{doc['period']} ({state}{', run ' + str(doc['run_id']) if doc['run_id'] else ''}): "
               f"{f.energy_kwh(doc['total_wh'])} kWh, {f.money(doc['total_cents'])} in credits")
    for a in doc["assets"]:
        click.echo(f"  {a['asset_code']:<16} coverage {a['coverage']}  {f.energy_kwh(a['wh']):>14} kWh  "
                   f"{f.money(a['cents']):>12}  {len(a['holders'])} holders")
    click.echo(f"  {len(doc['members'])} members credited")


# ----------------------------------------------------------------------------------------------------- ledger


@click.command("battery")
@click.argument("period", type=PERIOD)
@click.option("--member", "member_number", default=None, help="Only this member's share.")
@db_option
@json_option
@pass_app
@refusals()
def battery(app: AppContext, period: Period, member_number: str | None, as_json: bool) -> None:
    """A posted month of each battery (storage asset) as energy charged and discharged per holder.

    For every holder discharged - charged is the net energy in the ledger, and the holders' figures sum to the
    battery's; the value is the ledger's credit for shifting the energy."""
    from energy_coop.services.credits import storage  # lazy: the models; keeps --help fast

    with app.snapshot() as session:
        doc = storage.storage_document(session, period, member_number=member_number)
    if as_json:
        emit_json(doc)
        return
    if not doc["assets"]:
        click.echo(f"{doc['period']}: no battery")
    f = app.formatter()
    for a in doc["assets"]:
        click.echo(f"{a['asset_code']} {a['asset_name']}, {doc['period']}: charged {f.energy_kwh(a['charged_wh'])} kWh, "
                   f"discharged {f.energy_kwh(a['discharged_wh'])} kWh")
        for h in a["holders"]:
            value = "" if h["cents"] is None else f", value {f.money(h['cents'])}"
            click.echo(f"  {h['holder']}: charged {f.energy_kwh(h['charged_wh'])} kWh, discharged "
                       f"{f.energy_kwh(h['discharged_wh'])} kWh{value}")


@click.group("ledger")
def ledger_group() -> None:
    """The credit ledger."""


# ``ledger verify``: the same command as ``energy-coop verify`` (the ledger and the audit log).
ledger_group.add_command(verify_command, "verify")


ledger_group.add_command(anchor)
ledger_group.add_command(anchor_key)

#: The service's field names as the options the user typed, for the refusal's list of problems.
MANUAL_OPTIONS = {"cents": "--amount", "wh": "--kwh", "member_number": "--member", "memo": "--memo",
                  "period": "--period", "kind": "KIND"}


@ledger_group.command("record")
@click.argument("kind", type=click.Choice(MANUAL_ENTRY_KINDS))
@click.option("--member", "member_number", metavar="NUMBER", required=True, help="The member's number.")
@click.option("--amount", metavar="MONEY", required=True,
              help="Signed, in currency, credits positive: -25.00 pays out 25.00 (a payout or bill application "
                   "is negative); an adjustment may be either.")
@click.option("--memo", required=True, help="Why (shown on the member's statement), e.g. 'cheque 17'.")
@click.option("--period", metavar="YYYY-MM", type=PERIOD,
              help="The month it is for (default: this month); it shows on that month's statement, or on the "
                   "next one to be issued when that month's are issued already.")
@click.option("--kwh", metavar="KWH", default="0", show_default=True,
              help="Energy for an adjustment, signed, up to 3 decimals.")
@db_option
@json_option
@pass_app
@refusals()
def ledger_record(app: AppContext, kind: str, member_number: str, amount: str, memo: str,
                  period: Period | None, kwh: str, as_json: bool) -> None:
    """Post an adjustment, payout or bill application on one member's account (audited; never an edit)."""
    from energy_coop.services.credits import ledger  # lazy: the models; keeps --help fast

    month = None if period is None else str(period)
    try:
        cents, wh = ledger.parse_amounts(amount, kwh)
        with app.transaction() as session:
            entry = ledger.record_manual_entry(session, kind=kind, member_number=member_number, cents=cents,
                                               wh=wh, memo=memo, period=month, actor=app.actor)
    except RefusedError as exc:  # name the options the user typed, not the service's fields
        exc.errors = [RowError(MANUAL_OPTIONS.get(e.field, e.field), "", e.reason) for e in exc.errors]
        raise
    if as_json:
        emit_json({"seq": entry.seq, "kind": entry.kind, "member_number": entry.member_number,
                   "period": entry.period, "booked": entry.booked, "wh": entry.wh, "cents": entry.cents,
                   "memo": entry.memo,
                   "balance_wh": entry.balance_wh, "balance_cents": entry.balance_cents})
    else:
        moved = "" if entry.booked == entry.period else \
            f", on the {entry.booked} statement: {entry.period}'s are issued"
        f = app.formatter()
        click.echo(f"ledger entry {entry.seq}: {entry.kind.replace('_', ' ')} of {f.money(entry.cents)} "
                   f"for member {entry.member_number} ({entry.period}{moved}); balance now "
                   f"{f.money(entry.balance_cents)}")


# ---------------------------------------------------------------------------------------------------- exports


@click.group("export")
def export_group() -> None:
    """Statements and auditor exports (SPEC section 6)."""


def _export_fault(exc: OSError, out: str) -> Exception:
    """An export's file-system error as a storage fault naming the folder (or a plain refusal)."""
    fault = storage_faults.from_os_error(exc, path=out)
    return fault or RefusedError(f"--out {out}: cannot write there ({exc.strerror or exc})")


@export_group.command("statements")
@click.option("--period", required=True, metavar="YYYY-MM", type=PERIOD)
@click.option("--format", "fmt", type=click.Choice(["pdf", "csv"]), required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), metavar="DIR")
@db_option
@json_option
@pass_app
@refusals()
def export_statements(app: AppContext, period: Period, fmt: str, out_dir: str, as_json: bool) -> None:
    """An issued month's statements, one per member, as PDF (members) or CSV (auditors): the stored bytes."""
    from energy_coop.services.credits import exports, issued  # lazy: pandas/pvlib; keeps --help fast

    try:
        with app.snapshot() as session:
            paths = exports.export_statements(session, str(period), fmt, Path(out_dir))
    except issued.NotIssuedError as exc:
        exc.message += f"; issue them with `energy-coop statements issue {exc.period}`"
        raise
    except OSError as exc:  # a full disk, no permission: no statement was written (each is whole or absent)
        raise _export_fault(exc, out_dir) from None
    if as_json:
        emit_json({"period": str(period), "format": fmt, "files": [str(p) for p in paths]})
    else:
        click.echo(f"{len(paths)} statements written to {out_dir}")


@export_group.command("ledger")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), metavar="FILE")
@db_option
@json_option
@pass_app
@refusals()
def export_ledger(app: AppContext, out_file: str, as_json: bool) -> None:
    """Every ledger entry with its hashes, so an auditor can verify the chain offline."""
    from energy_coop.services.credits import exports  # lazy: pandas/pvlib; keeps --help fast

    if os.path.exists(out_file) and not os.path.isfile(out_file):
        # /dev/null, a FIFO: the rename below would replace it with a plain file
        raise RefusedError(f"--out {out_file}: is not a regular file (a device, a pipe or a folder); give a new or "
                           "ordinary file")
    try:
        with app.snapshot() as session, atomic_files.atomic_file(out_file) as fh:
            count = exports.write_ledger_csv(session, fh)  # renamed onto FILE only once it is whole
        with open(out_file, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:  # a folder that does not exist, no permission, a full disk: nothing is left behind
        raise storage_faults.from_os_error(exc, path=out_file) or RefusedError(
            f"--out {out_file}: cannot write the ledger there ({exc.strerror or exc}); "
            "give a file in a folder that exists and that you may write to") from None
    if as_json:
        emit_json({"file": out_file, "entries": count, "sha256": digest})
    else:
        click.echo(f"{count} ledger entries written to {out_file} (sha256 {digest})")


@export_group.command("audit")
@click.option("--period", required=True, metavar="YYYY-MM", type=PERIOD)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), metavar="DIR")
@db_option
@json_option
@pass_app
@refusals()
def export_audit(app: AppContext, period: Period, out_dir: str, as_json: bool) -> None:
    """A month's audit bundle: inputs, allocation, ledger entries, statements and a manifest of SHA-256s."""
    from energy_coop.services.credits import exports  # lazy: pandas/pvlib; keeps --help fast

    try:
        with app.snapshot() as session:
            manifest = exports.export_audit(session, str(period), Path(out_dir))
    except OSError as exc:  # the bundle is one folder renamed into place: nothing of it is left behind
        raise _export_fault(exc, out_dir) from None
    if as_json:
        emit_json(manifest)
    else:
        click.echo(f"audit bundle for {period} written to {out_dir} ({len(manifest['files'])} files)")
        if manifest["note"]:
            click.echo("warning: " + manifest["note"], err=True)
