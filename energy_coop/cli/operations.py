"""Running the co-op's software: ``db upgrade``, ``demo``, ``serve``, ``scheduler`` and ``jobs list|run``.

The web server (``web.server``) and the scheduler (``jobs``) are the other entry points; these commands start
them, so this is the one CLI module that imports them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import sys

import click
from sqlalchemy import MetaData

from energy_coop.cli.context import (EXIT_FAILED, EXIT_RUNNING_ELSEWHERE, AppContext, db_option, emit_json,
                                     json_option, pass_app, progress_bar, refusals, require_current_schema)
from energy_coop.db import dispose_all, get_engine
from energy_coop.errors import RefusedError

#: ``jobs.specs.JOBS``'s names, written out so that ``--help`` need not import the jobs (a test keeps them
#: equal).
JOB_NAMES = ("import-inbox", "refresh-forecasts", "monthly-allocation")

# --------------------------------------------------------------------------------------------------------- db


@click.group("db")
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@db_option
@pass_app
@refusals()
def db_upgrade(app: AppContext) -> None:
    """Create or migrate the schema to the latest revision."""
    from energy_coop.migrate import upgrade  # lazy: Alembic is not needed for --help

    url = app.config.database_url
    try:
        upgrade(url)
    except Exception as exc:  # noqa: BLE001
        raise RefusedError(f"the schema upgrade failed: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    click.echo("the database schema is up to date", err=True)


# ------------------------------------------------------------------------------------------------ demo, serve


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete the demo database first and seed it again.")
@click.option("--no-serve", is_flag=True, help="Stop after seeding.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@db_option
@pass_app
@refusals()
def demo(app: AppContext, reset: bool, no_serve: bool, host: str, port: int) -> None:
    """Create the demo co-op in the configured database, print logins, and serve the web app."""
    from energy_coop.demo import seed_demo  # lazy: pandas/pvlib; keeps --help fast
    from energy_coop.migrate import upgrade  # lazy: Alembic is not needed for --help

    config = app.config
    if reset:
        _reset_database(config.database_url)
        dispose_all()
    upgrade(config.database_url)
    require_current_schema(config.database_url)
    steps = ["registers", "meter readings", "allocations", "forecasts", "efficiency programme"]
    with progress_bar(False, len(steps), "seeding the demo co-op") as progress:
        def step(name: str) -> None:
            if progress:
                progress(1)
            else:
                click.echo(f"seeding: {name}", err=True)

        logins = seed_demo(config.database_url, config.instance_dir / "demo",
                           today=dt.date.today(), progress=step)
    click.echo("The demo co-op is ready. Sign in as:")
    click.echo(f"  admin    {logins.admin[0]}  password {logins.admin[1]}")
    click.echo(f"  auditor  {logins.auditor[0]}  password {logins.auditor[1]}")
    click.echo(f"  member   {logins.member[0]}  password {logins.member[1]}")
    if not no_serve:
        # the demo is served over plain http on this machine: a Secure cookie would not come back from every browser
        app.replace_config(dataclasses.replace(config, cookie_secure=False))
        _serve(app, host, port)


def _reset_database(url: str) -> None:
    """Delete the database at ``url``: the SQLite file (and its -wal/-shm), or every table of any other."""
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        engine.dispose()
        if path and path != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        return
    meta = MetaData()
    with engine.begin() as conn:
        meta.reflect(conn)
        for table in reversed(meta.sorted_tables):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}" CASCADE')
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def _serve(app: AppContext, host: str, port: int, workers: int | None = None, threads: int = 4) -> None:
    from web import server  # lazy: Flask and the whole web app; keeps --help fast

    require_current_schema(app.config.database_url)
    workers = server.default_workers() if workers is None else workers
    how = (f"gunicorn, {workers} worker processes x {threads} threads" if server.gunicorn_available()
           else f"waitress, {max(threads * workers, 4)} threads")
    click.echo(f"Serving on http://{host}:{port}/ with {how} (Ctrl+C stops)")
    server.serve(app.config, host, port, workers=workers, threads=threads)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Server processes (default: one per CPU core, 2 to 8).")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Threads per server process.")
@db_option
@pass_app
@refusals()
def serve_command(app: AppContext, host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the web app with a production WSGI server: gunicorn (several processes) where it runs, else
    waitress."""
    _serve(app, host, port, workers, threads)


# -------------------------------------------------------------------------------------------------- scheduler


@click.command("scheduler")
@db_option
@pass_app
@refusals()
def scheduler_command(app: AppContext) -> None:
    """Run the job scheduler in the foreground (SPEC section 9); Ctrl+C or SIGTERM stops it.

    Run one per database (a second one claims nothing twice, but has nothing to add). Never inside a web worker.
    """
    from jobs.scheduler import serve  # lazy: APScheduler and pandas/pvlib; keeps --help fast

    config = app.config
    config.schedule  # noqa: B018 - a malformed timetable setting is refused before anything starts
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(config, check_schema=require_current_schema)


@click.group("jobs")
def jobs_group() -> None:
    """The scheduler's jobs: timetable, last and next runs; run one now."""


@jobs_group.command("list")
@db_option
@json_option
@pass_app
@refusals()
def jobs_list(app: AppContext, as_json: bool) -> None:
    """Show each job, its schedule, its last run and outcome, and when it runs next."""
    from jobs import periods as job_periods, runs as job_runs  # lazy: pandas/pvlib; keeps --help fast
    from jobs.specs import JOBS
    from jobs.scheduler import next_run_times, timetable  # lazy: APScheduler; keeps --help fast

    schedule = app.config.schedule
    now = dt.datetime.now(dt.timezone.utc)
    with app.transaction() as session:
        last = {job: (run.as_dict() if run else None) for job, run in job_runs.last_runs(session).items()}
        owed = {job: job_periods.missed_periods(session, job, now=now, schedule=schedule) for job in JOBS}
    upcoming = next_run_times(schedule, now)
    describe = {t.job_id: t.describe for t in timetable(schedule)}
    doc = {"now": now.isoformat(), "jobs": [
        {"name": job, "summary": spec.summary, "schedule": describe[job], "period_format": spec.period_format,
         "last_run": last[job], "next_run": upcoming[job].isoformat() if upcoming[job] else None,
         "owed": owed[job]}
        for job, spec in JOBS.items()]}
    if as_json:
        emit_json(doc)
        return
    for j in doc["jobs"]:
        click.echo(f"{j['name']}: {j['schedule']}; next {j['next_run'] or 'never'}")
        run = j["last_run"]
        if run is None:
            click.echo("  last run: never")
        else:
            click.echo(f"  last run: {run['period']} {run['outcome']} (attempt {run['attempt']}, started "
                       f"{run['started_at']}, {run['trigger']}){': ' + run['message'] if run['message'] else ''}")
        if j["owed"]:
            click.echo(f"  owed: {', '.join(j['owed'])} (run by the scheduler's catch-up, on start and hourly)")


@jobs_group.command("run")
@click.argument("name", type=click.Choice(JOB_NAMES))
@click.option("--period", metavar="PERIOD", help="YYYY-MM (monthly-allocation), YYYY-MM-DD (refresh-forecasts) "
              "or YYYY-MM-DDTHH:MMZ (import-inbox); default: the current one.")
@db_option
@json_option
@pass_app
@refusals()
def jobs_run(app: AppContext, name: str, period: str | None, as_json: bool) -> None:
    """Run one job now, recorded like a scheduled run.

    A period that already succeeded is not run again (a no-op that says so), except the inbox's current slot:
    `jobs run import-inbox` imports what is in the inbox now. A failed one is retried; one that is running
    elsewhere is left alone (exit status 3). A failed run exits with status 1.
    """
    from jobs import periods as job_periods, runner  # lazy: pandas/pvlib; keeps --help fast

    config = app.config
    schedule = config.schedule
    require_current_schema(config.database_url)
    if period is not None:
        period = job_periods.parse_period(name, period, now=dt.datetime.now(dt.timezone.utc), schedule=schedule)
    runner.recover(config)
    result = runner.run_job(config, name, period=period, trigger="manual", started_by=app.actor, force_retry=True,
                            rerun=name == "import-inbox" and period is None)
    if as_json:
        emit_json(result.as_dict())
    if result.ran:
        status = f"{name} {result.period}: {result.outcome}"
        click.echo(f"{status}: {result.message}" if result.message else status,
                   err=as_json or result.outcome == "failed")
    else:
        click.echo(result.message, err=as_json or not result.recorded or result.previous_outcome == "running")
    if result.outcome == "failed":
        sys.exit(EXIT_FAILED)
    if not result.ran and result.previous_outcome == "running":
        sys.exit(EXIT_RUNNING_ELSEWHERE)
