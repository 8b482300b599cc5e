"""``energy-coop verify``: re-walk both hash chains (the ledger and the audit log) and re-sum the ledger.

``ledger verify`` is the same command under the ledger's group (kept for scripts written before the audit log
had a chain); both print the ledger's line first, exactly as ``ledger verify`` always did, then the audit log's.
"""

from __future__ import annotations

import sys

import click

from energy_coop.cli.anchors import against_options
from energy_coop.cli.context import EXIT_FAILED, AppContext, db_option, emit_json, json_option, pass_app, refusals


@click.command("verify")
@db_option
@json_option
@pass_app
@refusals()
@against_options
def verify_command(app: AppContext, as_json: bool) -> None:
    """Re-walk the ledger's and the audit log's hash chains and re-sum every balance; exit status 1 on any
    mismatch, each problem naming the first changed or missing entry. --json prints both heads (seq, hash,
    entries; the ledger's totals in Wh and cents), "ok" and "problems". With --against FILE|HASH it proves the
    ledger still extends that anchor (the ledger's chain only)."""
    from energy_coop.services import verification  # lazy: the models; keeps --help fast

    with app.snapshot() as session:
        result = verification.verify(session)
    if as_json:
        emit_json(result.as_dict())
    else:
        report, log = result.ledger, result.audit_log
        f = app.formatter()
        click.echo(f"ledger {'intact' if report.ok else 'BROKEN'}: {report.entries} entries, {report.members} "
                   f"members, {f.energy_kwh(report.total_wh)} kWh, {f.money(report.total_cents)} in balances")
        click.echo(f"audit log {'intact' if log.ok else 'BROKEN'}: {log.entries} entries, ending at entry "
                   f"{log.last_seq} (hash {log.last_hash[:16]}...)")
        for problem in result.problems:
            click.echo(f"  - {problem}", err=True)
    if not result.ok:
        sys.exit(EXIT_FAILED)
