"""``energy-coop backup FILE`` and ``energy-coop restore FILE`` (issue 16): :mod:`energy_coop.services.backup`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from energy_coop.cli.context import EXIT_FAILED, AppContext, db_option, emit_json, json_option, pass_app, refusals


@click.command("backup")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@json_option
@pass_app
@refusals()
def backup_command(app: AppContext, path: Path, as_json: bool) -> None:
    """Back up the database into FILE while it runs (SQLite: the online backup API, WAL included; PostgreSQL:
    pg_dump), then open the copy and verify its ledger before reporting it good; exit 1 if it does not verify."""
    from energy_coop.cli.context import require_current_schema
    from energy_coop.services import backup  # lazy: keeps --help fast

    require_current_schema(app.config.database_url)
    report = backup.backup(app.config.database_url, path)
    if as_json:
        emit_json(report.as_dict())
    else:
        state = "good" if report.ok else "written, but its ledger does NOT verify"
        click.echo(f"backup {state}: {report.file} ({report.bytes} bytes, sha256 {report.sha256}); "
                   f"{report.check.entries} ledger entries, head entry {report.check.last_seq} "
                   f"{report.check.last_hash}; {report.verified}")
        for problem in report.check.problems:
            click.echo(f"  - {problem}", err=True)
    if not report.ok:
        sys.exit(EXIT_FAILED)


@click.command("restore")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that has data.")
@db_option
@json_option
@pass_app
@refusals()
def restore_command(app: AppContext, path: Path, force: bool, as_json: bool) -> None:
    """Restore a backup FILE into the configured database (refused, exit 3, over data without --force), then
    verify the restored ledger and report its entries and head; exit 1 if it does not verify. Stop the web app
    and the scheduler first."""
    from energy_coop.db import dispose_all
    from energy_coop.migrate import head_revision
    from energy_coop.services import backup  # lazy: keeps --help fast

    dispose_all()  # no pooled connection of ours holds the old database
    try:
        report = backup.restore(app.config.database_url, path, force=force)
    finally:
        dispose_all()
    upgrade = report.check.revision not in (None, head_revision())
    if as_json:
        emit_json({**report.as_dict(), "needs_upgrade": upgrade})
    else:
        state = "restored and verified" if report.ok else "restored, but its ledger does NOT verify"
        replaced = f" (replacing {report.replaced})" if report.replaced else ""
        click.echo(f"{state}{replaced}: {report.check.entries} ledger entries, head entry {report.check.last_seq} "
                   f"{report.check.last_hash}, schema revision {report.check.revision}")
        for problem in report.check.problems:
            click.echo(f"  - {problem}", err=True)
        if upgrade:
            click.echo("the backup is of an older schema: run `energy-coop db upgrade` before using it", err=True)
    if not report.ok:
        sys.exit(EXIT_FAILED)
