"""The ``energy-coop`` command (SPEC section 2): the ``main`` group and the commands it is made of.

Each command opens one transaction, calls one service, and prints. A refusal prints what was wrong and where
on stderr (or, with ``--json``, the JSON document with its ``errors``) and exits non-zero; the transaction
is rolled back so nothing is half-written.

The commands live by area (``registers``, ``accounts``, ``credits``, ``statements``, ``metering``, ``profiles``,
``forecasting``, ``operations``, ``settings``, ``verification``, ``anchors``, ``backup``); what they share is in :mod:`energy_coop.cli.context`. The services are imported inside the
commands that call them: importing them pulls in pandas, pvlib and the models, and ``energy-coop --help``
should not wait for that.
"""

from __future__ import annotations

import click

from energy_coop.cli import (accounts, backup, credits, forecasting, metering, operations, profiles, registers,
                             settings, statements, verification)
from energy_coop.cli.context import AppContext, FaultGroup
from energy_coop.cli.operations import JOB_NAMES

__all__ = ["JOB_NAMES", "main"]


@click.group(cls=FaultGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_url", metavar="URL", help="Database URL (overrides ENERGY_COOP_DATABASE_URL).")
@click.version_option(package_name="energy-coop")
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    """Run a community energy co-operative: registers, meter data, monthly credits, ledger, forecasts."""
    app = ctx.ensure_object(AppContext)
    if db_url:
        app.db_url = db_url


for _command in (
    operations.db,
    registers.load,
    accounts.users,
    operations.demo,
    operations.serve_command,
    credits.allocate,
    credits.battery,
    credits.ledger_group,
    verification.verify_command,
    credits.export_group,
    statements.statements_group,
    metering.import_command,
    forecasting.forecast_command,
    forecasting.performance_command,
    metering.coverage_command,
    metering.batches_command,
    profiles.profiles_group,
    operations.scheduler_command,
    operations.jobs_group,
    settings.settings_group,
    backup.backup_command,
    backup.restore_command,
):
    main.add_command(_command)
del _command
