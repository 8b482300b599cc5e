"""Issued statements (SPEC 13): ``statements issue YYYY-MM`` freezes a month's statements, ``statements list``."""

from __future__ import annotations

import click

from energy_coop.cli.context import PERIOD, AppContext, db_option, emit_json, json_option, pass_app, refusals, \
    show_progress
from energy_coop.period import Period


@click.group("statements")
def statements_group() -> None:
    """Issue a month's statements (frozen: stored with their SHA-256) and list the issued months."""


@statements_group.command("issue")
@click.argument("period", metavar="YYYY-MM", type=PERIOD)
@db_option
@json_option
@pass_app
@refusals()
def issue(app: AppContext, period: Period, as_json: bool) -> None:
    """Issue a posted, ended month's statements: one per member, PDF and CSV, stored and never changed again.

    Months are issued in order. Refused (exit 2): a month not posted, posted but with readings changed since
    (repost it first), not over yet, or out of order; a month issued already: exit 3.
    """
    from energy_coop.documents import statements  # lazy: the models and fpdf; keeps --help fast
    from energy_coop.documents.pdf import prepare_fonts

    month = str(period)
    prepare_fonts()  # before the transaction: its write lock is held for the rendering only
    bar = None
    with app.transaction() as session:
        def start(n: int) -> None:
            nonlocal bar
            if show_progress(as_json) and n > 0:
                bar = click.progressbar(length=n, label=f"issuing {month}", file=click.get_text_stream("stderr"))
                bar.__enter__()

        try:
            result = statements.issue_month(session, month, actor=app.actor, on_plan=start,
                                            progress=lambda k: bar.update(k) if bar is not None else None)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(f"{result.statements} statements of {result.period} issued ({result.issued_at:%Y-%m-%d %H:%M} "
                   f"UTC by {result.issued_by}); `energy-coop export statements --period {result.period}` writes "
                   "them")


@statements_group.command("list")
@db_option
@json_option
@pass_app
@refusals()
def list_issued(app: AppContext, as_json: bool) -> None:
    """The issued months, newest first, with how many statements and when they were issued."""
    from energy_coop.services.credits import issued  # lazy: the models

    with app.snapshot() as session:
        months = issued.issued_months(session)
    if as_json:
        emit_json({"months": [{**m, "issued_at": m["issued_at"].isoformat()} for m in months]})
        return
    if not months:
        click.echo("no month is issued yet (`energy-coop statements issue YYYY-MM` issues one)")
    for m in months:
        click.echo(f"{m['period']}  {m['statements']:>6} statements  issued {m['issued_at']:%Y-%m-%d %H:%M} UTC "
                   f"by {m['issued_by']}")
