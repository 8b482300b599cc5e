"""Meter data: ``import`` reading files (SPEC section 4), a month's ``coverage``, the import ``batches``."""

from __future__ import annotations

import os
import sys

import click

from energy_coop.cli.context import (EXIT_REFUSED, PERIOD, AppContext, db_option, emit_json, fault_document,
                                     fault_of, json_option, pass_app, progress_bar, refusals,
                                     require_current_schema)
from energy_coop.errors import ConflictError, RefusedError
from energy_coop.errors import RowError

EXIT_CONFLICT = ConflictError.exit_code
from energy_coop.period import Period


@click.command("import")
@click.argument("paths", metavar="FILE...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--meter", metavar="CODE", help="Meter code for a Green Button file with one UsagePoint, or for a "
              "utility export read through a profile.")
@click.option("--profile", "profile", metavar="NAME|PATH",
              help="Read the files with this import profile (a name from 'profiles list', or a profile file); "
              "default: detect the layout.")
@click.option("--timezone", "timezone", metavar="ZONE", help="Time zone for timestamps without a UTC offset.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows; write the others to FILE.rejected.csv.")
@db_option
@json_option
@pass_app
@refusals()
def import_command(app: AppContext, paths: tuple[str, ...], meter: str | None, profile: str | None,
                   timezone: str | None, skip_invalid: bool, as_json: bool) -> None:
    """Import meter-reading files (CSV or Green Button XML), each all-or-nothing (SPEC section 4).

    Each file is its own transaction, committed before the next file is read: whatever happens to a later file
    (refused, or an unexpected failure while reading it), the earlier files stay imported and every file's
    outcome is printed (one line per file on stdout as it finishes; with ``--json`` one document at the end).
    Exit status 2 when any file was refused; else 3 when another process imported the same file at the same
    time (nothing imported here). A storage fault (the database busy, a full disk, read-only) stops at that file
    with its message and exit status (:mod:`energy_coop.storage_faults`); the files before it stay imported.
    """
    # lazy: pandas; keeps --help fast
    from energy_coop.services.metering.imports import ConcurrentImport, FileReport, ImportRefused, import_file

    from energy_coop.services.metering.profiles import read_profile_file

    require_current_schema(app.config.database_url)
    chosen = read_profile_file(profile) if profile is not None and os.path.isfile(profile) else profile
    reports: list[FileReport] = []
    conflicts = 0
    for path in paths:  # one transaction per file: each file is all-or-nothing on its own
        if not os.path.isfile(path):
            report = FileReport(file=os.path.basename(path))
            report.errors = [RowError("file", "", f"{path} does not exist or is not a file")]
            report.error_count = 1
        else:
            size = os.path.getsize(path)
            try:
                with progress_bar(as_json, max(1, size // 40), f"importing {os.path.basename(path)}") as progress:
                    with app.transaction(check_schema=False) as session:
                        report = import_file(session, path, actor=app.actor, meter=meter, timezone=timezone,
                                             skip_invalid=skip_invalid, progress=progress, profile=chosen)
            except ImportRefused as exc:
                report = exc.report
            except ConcurrentImport as exc:
                report = FileReport(file=os.path.basename(path), status="conflict", batch_id=exc.batch_id)
                report.errors = [RowError("file", "", exc.message)]
                report.error_count = 1
                conflicts += 1
            except RefusedError as exc:  # e.g. no import profile of that name: the file is refused, not imported
                report = FileReport(file=os.path.basename(path))
                report.errors = [RowError("file", "", exc.message), *exc.errors]
                report.error_count = len(report.errors)
            except Exception as exc:  # noqa: BLE001 - one file's failure must not hide the others' outcomes
                fault = fault_of(exc)
                if fault is not None:  # the next file would meet it too: stop here, in plain words
                    if as_json:
                        emit_json({"files": [r.as_dict() for r in reports], **fault_document(fault)})
                    click.echo(f"error: {os.path.basename(path)}: nothing of it was imported: {fault}", err=True)
                    sys.exit(fault.exit_code)
                report = FileReport(file=os.path.basename(path))
                report.errors = [RowError("file", "", (
                    f"could not be imported: an unexpected {exc.__class__.__name__} while reading it "
                    f"({str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}); nothing of this file was "
                    "kept. Please report this with the file"))]
                report.error_count = 1
        reports.append(report)
        if not as_json:
            _echo_report(report)
    if as_json:
        emit_json({"files": [r.as_dict() for r in reports]})
        for r in reports:
            _echo_report(r, summary_err=True)
    if any(r.status == "refused" for r in reports):
        sys.exit(EXIT_REFUSED)
    if conflicts:
        sys.exit(EXIT_CONFLICT)


def _echo_report(r, *, summary_err: bool = False) -> None:
    """One file's outcome: its summary line (stdout, or stderr beside ``--json``), then its notes and errors."""
    click.echo(r.summary(), err=summary_err)
    for note in r.skipped:
        click.echo(f"  skipped: {note}", err=True)
    for flag in r.flags:
        first = ", ".join(flag["first"][:3])
        click.echo(f"  warning: {flag['message']} (first: {first})", err=True)
    for line in r.lines():
        click.echo(f"  - {line}" if not line.startswith("... ") else f"    {line}", err=True)
    hints = list(r.hints)
    if any(e.where == "file" and e.field == "meter" for e in r.errors) and "meter" not in hints:
        hints.append("meter")  # a profile's file that names no meter code of ours
    for hint in hints:
        if hint in IMPORT_HINTS:
            click.echo(f"  hint: {IMPORT_HINTS[hint]}", err=True)
    if any(e.where == "file" and e.field == "layout" for e in r.errors):
        click.echo("  hint: see the profiles with 'energy-coop profiles list'; import with --profile NAME|PATH",
                   err=True)


#: What an import's ``hints`` mean on the command line.
IMPORT_HINTS = {
    "meter": "for a file of one meter, name it with --meter CODE (the code of a registered meter)",
}


@click.command("coverage")
@click.argument("period", metavar="YYYY-MM", type=PERIOD)
@click.option("--meter", "meter_code", metavar="CODE", help="One meter (default: every asset's meter).")
@db_option
@json_option
@pass_app
@refusals()
def coverage_command(app: AppContext, period: Period, meter_code: str | None, as_json: bool) -> None:
    """Intervals present / expected per meter for its local month (an asset's zone; a consumption meter's
    premises', else the co-op's), with the gaps and the readings of the wrong sign."""
    from energy_coop.services.metering.coverage import month_coverage  # lazy: numpy; keeps --help fast

    with app.transaction() as session:
        reports = [c.as_dict() for c in month_coverage(session, str(period), meter_code=meter_code)]
    if as_json:
        emit_json({"period": str(period), "meters": reports})
        return
    for r in reports:
        click.echo(f"{r['meter_code']:<16} {r['coverage']}  {r['present']} of {r['expected']} "
                   f"{r['interval_minutes']}-minute intervals")
        for gap in r["gaps"][:20]:
            click.echo(f"    missing {gap['start']} .. {gap['end']} ({gap['intervals']} intervals)")
        if len(r["gaps"]) > 20:
            click.echo(f"    ... and {len(r['gaps']) - 20} more gaps")
        for flag in r["flags"]:
            click.echo(f"    warning: {flag}")


@click.command("batches")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@db_option
@json_option
@pass_app
@refusals()
def batches_command(app: AppContext, limit: int, as_json: bool) -> None:
    """The most recent import batches: file, SHA-256, who, when and what they did."""
    from energy_coop.services.metering.imports import list_batches  # lazy: pandas; keeps --help fast

    with app.transaction() as session:
        rows = [{"batch_id": b.id, "file": b.file_name, "sha256": b.sha256, "format": b.format,
                 "imported_by": b.imported_by, "imported_at": b.imported_at.isoformat(), "status": b.status,
                 "meters": b.meters, "accepted": b.accepted, "unchanged": b.unchanged, "revised": b.revised,
                 "rejected": b.rejected} for b in list_batches(session, limit)]
    if as_json:
        emit_json({"batches": rows})
        return
    for r in rows:
        click.echo(f"{r['batch_id']:>6} {r['imported_at'][:16]} {r['imported_by']:<20} {r['status']:<8} "
                   f"{r['accepted']:>8} new {r['unchanged']:>8} same {r['revised']:>6} revised "
                   f"{r['rejected']:>6} rejected  {r['file']}")
