"""The ``energy-coop`` command (SPEC section 2).

Each command opens one transaction, calls one service, and prints. A refusal prints what was wrong and where
on stderr (or, with ``--json``, the JSON document with its ``errors``) and exits non-zero; the transaction
is rolled back so nothing is half-written.
"""

from __future__ import annotations

import functools
import getpass
import json
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import click
from sqlalchemy.orm import Session

from energy_coop.config import Config, load_config
from energy_coop.db import get_engine, get_sessionmaker, get_snapshot_sessionmaker
from energy_coop.errors import RefusedError, RowError
from energy_coop.vocabulary import MANUAL_ENTRY_KINDS, ROLES

EXIT_REFUSED = 2


class AppContext:
    """What every command needs: the configuration and a way to open a transaction."""

    def __init__(self) -> None:
        self.db_url: str | None = None
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None or (self.db_url and self._config.database_url != self.db_url):
            self._config = load_config(self.db_url)
        return self._config

    @contextmanager
    def transaction(self, *, check_schema: bool = True) -> Iterator[Session]:
        url = self.config.database_url
        if check_schema:
            require_current_schema(url)
        factory = get_sessionmaker(url)
        with factory.begin() as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only transaction that sees one instant throughout (``db.get_snapshot_sessionmaker``): the ledger's
        verification and the exports, which must not mix entries posted while they run."""
        require_current_schema(self.config.database_url)
        with get_snapshot_sessionmaker(self.config.database_url).begin() as session:
            yield session

    @property
    def actor(self) -> str:
        try:
            return "cli:" + getpass.getuser()
        except Exception:  # noqa: BLE001 - no user name in some containers
            return "cli"


def require_current_schema(url: str) -> None:
    from energy_coop.migrate import current_revision, head_revision

    engine = get_engine(url)
    try:
        current = current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - any connection failure becomes a plain message
        raise RefusedError(f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
                           f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    if current != head_revision():
        state = "has no energy-coop schema yet" if current is None else f"is at schema revision {current}"
        raise RefusedError(
            f"the database {engine.url.render_as_string(hide_password=True)} {state}; "
            f"run `energy-coop db upgrade` first"
        )


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def db_option(f: Callable) -> Callable:
    """``--db URL`` on a subcommand (it may also be given before the subcommand)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value:
            ctx.ensure_object(AppContext).db_url = value
        return value

    return click.option("--db", "db_url", metavar="URL", expose_value=False, callback=remember, is_eager=True,
                        help="Database URL (overrides ENERGY_COOP_DATABASE_URL).")(f)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")(f)


def emit_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2, sort_keys=False, default=str))


def refusals(as_json_doc: Callable[[RefusedError], Any] | None = None) -> Callable:
    """Turn a :class:`RefusedError` into a message (or JSON document) and its exit status."""

    def deco(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return f(*args, **kwargs)
            except RefusedError as exc:
                if kwargs.get("as_json") and as_json_doc is not None:
                    emit_json(as_json_doc(exc, **kwargs))
                elif kwargs.get("as_json"):
                    emit_json({"error": exc.__class__.__name__, "message": exc.message,
                               "details": [e.as_dict() for e in exc.errors]})
                click.echo(f"error: {exc}", err=True)
                sys.exit(exc.exit_code)

        return wrapper

    return deco


def show_progress(as_json: bool) -> bool:
    return not as_json and sys.stdout.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_url", metavar="URL", help="Database URL (overrides ENERGY_COOP_DATABASE_URL).")
@click.version_option(package_name="energy-coop")
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    """Run a community energy co-operative: registers, meter data, monthly credits, ledger, forecasts."""
    app = ctx.ensure_object(AppContext)
    if db_url:
        app.db_url = db_url


# ------------------------------------------------------------------------------------------------------ db


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@db_option
@pass_app
@refusals()
def db_upgrade(app: AppContext) -> None:
    """Create or migrate the schema to the latest revision."""
    from energy_coop.migrate import upgrade

    url = app.config.database_url
    try:
        upgrade(url)
    except Exception as exc:  # noqa: BLE001
        raise RefusedError(f"the schema upgrade failed: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    click.echo("the database schema is up to date", err=True)


# ------------------------------------------------------------------------------------------------------ load


def _load_refused_doc(exc: RefusedError, *, kind: str, path: str, as_json: bool) -> dict[str, Any]:
    from pathlib import Path

    errors = [e.as_dict() for e in exc.errors] or [{"where": "", "field": "", "reason": exc.message}]
    return {"file": Path(path).name, "kind": kind, "created": 0, "updated": 0, "unchanged": 0, "errors": errors}


@main.command("load")
@click.argument("kind", type=click.Choice(["members", "assets", "shares", "rates"]))
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@db_option
@json_option
@pass_app
@refusals(_load_refused_doc)
def load(app: AppContext, kind: str, path: str, as_json: bool) -> None:
    """Bulk-load a register file (SPEC section 3); loading the same file twice changes nothing."""
    from energy_coop.services.registers.loading import load_register

    with app.transaction() as session:
        result = load_register(session, kind, path, actor=app.actor)
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(f"{result.file}: {result.created} created, {result.updated} updated, "
                   f"{result.unchanged} unchanged")


# ------------------------------------------------------------------------------------------------------ users


@main.group()
def users() -> None:
    """People who sign in."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(sorted(ROLES)), required=True)
@click.option("--member", "member_number", metavar="NUMBER", help="The member a member user is.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@db_option
@json_option
@pass_app
@refusals()
def users_add(app: AppContext, email: str, role: str, member_number: str | None, password_stdin: bool,
              as_json: bool) -> None:
    """Add a user; the password comes from a prompt or --password-stdin."""
    from energy_coop.services.accounts.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    with app.transaction() as session:
        user = add_user(session, email, role, password, member_number=member_number, actor=app.actor)
        doc = {"email": user.email, "role": user.role, "member_number": member_number}
    if as_json:
        emit_json(doc)
    else:
        click.echo(f"added {doc['role']} {doc['email']}")


@users.command("token")
@click.argument("email")
@db_option
@json_option
@pass_app
@refusals()
def users_token(app: AppContext, email: str, as_json: bool) -> None:
    """Print a new API bearer token for EMAIL (shown once; only its hash is stored)."""
    from energy_coop.services.accounts.users import new_token

    with app.transaction() as session:
        token = new_token(session, email, actor=app.actor)
    if as_json:
        emit_json({"email": email.strip().lower(), "token": token})
    else:
        click.echo(token)


# ------------------------------------------------------------------------------------------------------ demo, serve


@main.command("demo")
@click.option("--reset", is_flag=True, help="Delete the demo database first and seed it again.")
@click.option("--no-serve", is_flag=True, help="Stop after seeding.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@db_option
@pass_app
@refusals()
def demo(app: AppContext, reset: bool, no_serve: bool, host: str, port: int) -> None:
    """Create the demo co-op in the configured database, print logins, and serve the web app."""
    import datetime as dt

    from energy_coop.db import dispose_all
    from energy_coop.migrate import upgrade
    from energy_coop.demo import seed_demo

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

        logins = seed_demo(config.database_url, config.instance_dir / "demo", today=dt.date.today(),
                           progress=step)
    click.echo("The demo co-op is ready. Sign in as:")
    click.echo(f"  admin    {logins.admin[0]}  password {logins.admin[1]}")
    click.echo(f"  auditor  {logins.auditor[0]}  password {logins.auditor[1]}")
    click.echo(f"  member   {logins.member[0]}  password {logins.member[1]}")
    if not no_serve:
        # the demo is served over plain http on this machine: a Secure cookie would not come back from every browser
        import dataclasses

        app._config = dataclasses.replace(config, cookie_secure=False)
        _serve(app, host, port)


def _reset_database(url: str) -> None:
    from sqlalchemy import MetaData

    from energy_coop.db import get_engine

    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        engine.dispose()
        if path and path != ":memory:":
            import os

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
    from web import server

    require_current_schema(app.config.database_url)
    workers = server.default_workers() if workers is None else workers
    how = (f"gunicorn, {workers} worker processes x {threads} threads" if server.gunicorn_available()
           else f"waitress, {max(threads * workers, 4)} threads")
    click.echo(f"Serving on http://{host}:{port}/ with {how} (Ctrl+C stops)")
    server.serve(app.config, host, port, workers=workers, threads=threads)


@main.command("serve")
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


# ------------------------------------------------------------------------------------------------------ allocation


@contextmanager
def progress_bar(as_json: bool, length: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A click progress bar on a terminal; nothing when piped or with --json."""
    if not show_progress(as_json) or length <= 0:
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


@main.command("allocate")
@click.argument("period", metavar="YYYY-MM")
@click.option("--post", "do_post", is_flag=True, help="Post the month's credits to the ledger.")
@click.option("--repost", is_flag=True, help="Reverse an earlier posting of the month and post it again.")
@click.option("--allow-gaps", is_flag=True, help="Post even though some meter readings are missing.")
@db_option
@json_option
@pass_app
@refusals()
def allocate(app: AppContext, period: str, do_post: bool, repost: bool, allow_gaps: bool, as_json: bool) -> None:
    """Compute a month's credits (a draft that changes nothing), or post them with --post."""
    from sqlalchemy import func, select

    from energy_coop.models import Asset
    from energy_coop.services.credits import allocation

    with app.transaction() as session:
        n_assets = session.scalar(select(func.count()).select_from(Asset)) or 0
        with progress_bar(as_json, n_assets, f"allocating {period}") as progress:
            if do_post or repost:
                outcome = allocation.post(session, period, actor=app.actor, repost=repost, allow_gaps=allow_gaps,
                                          progress=progress)
            else:
                outcome = allocation.compute(session, period, progress=progress)
        current = allocation.current_run(session, period.strip())
        posted_run = current.id if current is not None else None
        doc = outcome.document
    for message in outcome.messages:
        click.echo(message, err=True)
    if outcome.status == "draft" and posted_run is not None:
        click.echo(f"{period} is posted as run {posted_run}; this draft re-computes it from today's data "
                   f"(--repost would post it)", err=True)
    if outcome.incomplete and outcome.status == "draft":
        click.echo("coverage below 100 %: " + "; ".join(outcome.incomplete), err=True)
    if as_json:
        emit_json(doc)
        return
    click.echo(f"{doc['period']} ({doc['status']}{', run ' + str(doc['run_id']) if doc['run_id'] else ''}): "
               f"{doc['total_wh'] / 1000:,.3f} kWh, {doc['total_cents'] / 100:,.2f} in credits")
    for a in doc["assets"]:
        click.echo(f"  {a['asset_code']:<16} coverage {a['coverage']}  {a['wh'] / 1000:>14,.3f} kWh  "
                   f"{a['cents'] / 100:>12,.2f}  {len(a['holders'])} holders")
    click.echo(f"  {len(doc['members'])} members credited")


# ------------------------------------------------------------------------------------------------------ ledger


@main.group("ledger")
def ledger_group() -> None:
    """The credit ledger."""


@ledger_group.command("verify")
@db_option
@json_option
@pass_app
@refusals()
def ledger_verify(app: AppContext, as_json: bool) -> None:
    """Re-walk the hash chain and re-sum every balance; exit status 1 on any mismatch."""
    from energy_coop.services.credits import ledger

    with app.snapshot() as session:
        report = ledger.verify(session)
    if as_json:
        emit_json(report.as_dict())
    else:
        state = "intact" if report.ok else "BROKEN"
        click.echo(f"ledger {state}: {report.entries} entries, {report.members} members, "
                   f"{report.total_wh / 1000:,.3f} kWh, {report.total_cents / 100:,.2f} in balances")
        for problem in report.problems:
            click.echo(f"  - {problem}", err=True)
    if not report.ok:
        sys.exit(1)


MANUAL_OPTIONS = {"cents": "--amount", "wh": "--kwh", "member_number": "--member", "memo": "--memo",
                  "period": "--period", "kind": "KIND"}


@ledger_group.command("record")
@click.argument("kind", type=click.Choice(MANUAL_ENTRY_KINDS))
@click.option("--member", "member_number", metavar="NUMBER", required=True, help="The member's number.")
@click.option("--amount", metavar="MONEY", required=True,
              help="Signed, in currency, credits positive: -25.00 pays out 25.00 (a payout or bill application "
                   "is negative); an adjustment may be either.")
@click.option("--memo", required=True, help="Why (shown on the member's statement), e.g. 'cheque 17'.")
@click.option("--period", metavar="YYYY-MM", help="The statement month it shows on (default: this month).")
@click.option("--kwh", metavar="KWH", default="0", show_default=True,
              help="Energy for an adjustment, signed, up to 3 decimals.")
@db_option
@json_option
@pass_app
@refusals()
def ledger_record(app: AppContext, kind: str, member_number: str, amount: str, memo: str, period: str | None,
                  kwh: str, as_json: bool) -> None:
    """Post an adjustment, payout or bill application on one member's account (audited; never an edit)."""
    from energy_coop.services.credits import ledger
    from energy_coop.units import format_money

    try:
        cents, wh = ledger.parse_amounts(amount, kwh)
        with app.transaction() as session:
            entry = ledger.record_manual_entry(session, kind=kind, member_number=member_number, cents=cents,
                                               wh=wh, memo=memo, period=period, actor=app.actor)
    except RefusedError as exc:  # name the options the user typed, not the service's fields
        exc.errors = [RowError(MANUAL_OPTIONS.get(e.field, e.field), "", e.reason) for e in exc.errors]
        raise
    if as_json:
        emit_json({"seq": entry.seq, "kind": entry.kind, "member_number": entry.member_number,
                   "period": entry.period, "wh": entry.wh, "cents": entry.cents, "memo": entry.memo,
                   "balance_wh": entry.balance_wh, "balance_cents": entry.balance_cents})
    else:
        click.echo(f"ledger entry {entry.seq}: {entry.kind.replace('_', ' ')} of {format_money(entry.cents)} "
                   f"for member {entry.member_number} ({entry.period}); balance now "
                   f"{format_money(entry.balance_cents)}")


# ------------------------------------------------------------------------------------------------------ exports


@main.group("export")
def export_group() -> None:
    """Statements and auditor exports (SPEC section 6)."""


@export_group.command("statements")
@click.option("--period", required=True, metavar="YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["pdf", "csv"]), required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), metavar="DIR")
@db_option
@json_option
@pass_app
@refusals()
def export_statements(app: AppContext, period: str, fmt: str, out_dir: str, as_json: bool) -> None:
    """One statement per member for a month, as PDF (members) or CSV (auditors)."""
    from pathlib import Path

    from energy_coop.services.credits import statements

    with app.snapshot() as session:
        paths = statements.export_statements(session, period, fmt, Path(out_dir))
    if as_json:
        emit_json({"period": period, "format": fmt, "files": [str(p) for p in paths]})
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
    import hashlib
    import os

    from energy_coop.services.credits import statements

    tmp = out_file + ".part"
    with app.snapshot() as session, open(tmp, "w", newline="", encoding="utf-8") as fh:
        count = statements.write_ledger_csv(session, fh)
    os.replace(tmp, out_file)
    digest = hashlib.sha256(open(out_file, "rb").read()).hexdigest()
    if as_json:
        emit_json({"file": out_file, "entries": count, "sha256": digest})
    else:
        click.echo(f"{count} ledger entries written to {out_file} (sha256 {digest})")


@export_group.command("audit")
@click.option("--period", required=True, metavar="YYYY-MM")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), metavar="DIR")
@db_option
@json_option
@pass_app
@refusals()
def export_audit(app: AppContext, period: str, out_dir: str, as_json: bool) -> None:
    """A month's audit bundle: inputs, allocation, ledger entries, statements and a manifest of SHA-256s."""
    from pathlib import Path

    from energy_coop.services.credits import statements

    with app.snapshot() as session:
        manifest = statements.export_audit(session, period, Path(out_dir))
    if as_json:
        emit_json(manifest)
    else:
        click.echo(f"audit bundle for {period} written to {out_dir} ({len(manifest['files'])} files)")
        if manifest["note"]:
            click.echo("warning: " + manifest["note"], err=True)


# ------------------------------------------------------------------------------------------------------ import


@main.command("import")
@click.argument("paths", metavar="FILE...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--meter", metavar="CODE", help="Meter code for a Green Button file with one UsagePoint.")
@click.option("--timezone", "timezone", metavar="ZONE", help="Time zone for timestamps without a UTC offset.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows; write the others to FILE.rejected.csv.")
@db_option
@json_option
@pass_app
@refusals()
def import_command(app: AppContext, paths: tuple[str, ...], meter: str | None, timezone: str | None,
                   skip_invalid: bool, as_json: bool) -> None:
    """Import meter-reading files (CSV or Green Button XML), each all-or-nothing (SPEC section 4)."""
    import os

    from energy_coop.services.metering.imports import FileReport, ImportRefused, import_file

    require_current_schema(app.config.database_url)
    reports: list[FileReport] = []
    for path in paths:
        if not os.path.isfile(path):
            report = FileReport(file=os.path.basename(path))
            report.errors = [RowError("file", "", f"{path} does not exist or is not a file")]
            report.error_count = 1
            reports.append(report)
            continue
        size = os.path.getsize(path)
        try:
            with progress_bar(as_json, max(1, size // 40), f"importing {os.path.basename(path)}") as progress:
                with app.transaction(check_schema=False) as session:
                    reports.append(import_file(session, path, actor=app.actor, meter=meter, timezone=timezone,
                                               skip_invalid=skip_invalid, progress=progress))
        except ImportRefused as exc:
            reports.append(exc.report)
    if as_json:
        emit_json({"files": [r.as_dict() for r in reports]})
    for r in reports:
        click.echo(r.summary(), err=as_json or r.status == "refused")
        for note in r.skipped:
            click.echo(f"  skipped: {note}", err=True)
        for e in r.errors:
            click.echo(f"  - {e}", err=True)
    if any(r.status == "refused" for r in reports):
        sys.exit(EXIT_REFUSED)
# ------------------------------------------------------------------------------------------------------ forecasts


@main.command("forecast")
@click.option("--asset", "asset_code", required=True, metavar="CODE")
@click.option("--start", "start", metavar="DATE", help="First local day (YYYY-MM-DD); default today.")
@click.option("--days", default=7, show_default=True, type=int)
@click.option("--weather", "weather", metavar="FILE", type=click.Path(dir_okay=False),
              help="Weather CSV (SPEC section 7); the forecast then covers the file's times.")
@db_option
@json_option
@pass_app
@refusals()
def forecast_command(app: AppContext, asset_code: str, start: str | None, days: int, weather: str | None,
                     as_json: bool) -> None:
    """Expected AC energy per hour for a solar asset (pvlib), stored for comparison with the meter."""
    import datetime as dt

    from energy_coop.services.forecasting import forecasts

    first = None
    if start:
        try:
            first = dt.date.fromisoformat(start)
        except ValueError:
            raise RefusedError(f"--start {start!r} is not a date; write YYYY-MM-DD") from None
    with app.transaction() as session:
        doc = forecasts.forecast(session, asset_code, start=first, days=days, weather_path=weather)
    for note in doc.pop("notes", []):
        click.echo(f"note: {note}", err=True)
    if as_json:
        emit_json(doc)
        return
    click.echo(f"{doc['asset_code']}: {doc['total_kwh']} kWh expected over {len(doc['points'])} hours "
               f"({doc['source']})")
    by_day: dict[str, float] = {}
    for p in doc["points"]:
        by_day[p["start"][:10]] = by_day.get(p["start"][:10], 0.0) + float(p["kwh"])
    for day, kwh in by_day.items():
        click.echo(f"  {day}  {kwh:10.3f} kWh")


@main.command("performance")
@click.argument("period", metavar="YYYY-MM")
@click.option("--asset", "asset_code", metavar="CODE")
@db_option
@json_option
@pass_app
@refusals()
def performance_command(app: AppContext, period: str, asset_code: str | None, as_json: bool) -> None:
    """Metered vs expected energy per solar asset for a month; flags arrays below the threshold."""
    from energy_coop.services.forecasting import forecasts

    with app.transaction() as session:
        rows = forecasts.performance(session, period, asset_code=asset_code,
                                     threshold=app.config.performance_threshold)
    if as_json:
        emit_json({"period": period, "assets": rows})
        return
    for r in rows:
        flag = "  BELOW THRESHOLD" if r["flagged"] else ""
        click.echo(f"{r['asset_code']:<16} metered {r['metered_kwh']:>12} kWh  expected {r['expected_kwh']:>12} kWh  "
                   f"ratio {r['performance_ratio']}{flag}")


# ------------------------------------------------------------------------------------------------------ coverage, batches


@main.command("coverage")
@click.argument("period", metavar="YYYY-MM")
@click.option("--meter", "meter_code", metavar="CODE", help="One meter (default: every asset's meter).")
@db_option
@json_option
@pass_app
@refusals()
def coverage_command(app: AppContext, period: str, meter_code: str | None, as_json: bool) -> None:
    """Intervals present / expected per meter for a local month, with the gaps listed."""
    from sqlalchemy import select

    from energy_coop.period import parse_period
    from energy_coop.models import Asset, Meter
    from energy_coop.services.metering.coverage import meter_month_coverage

    try:
        parse_period(period)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    with app.transaction() as session:
        if meter_code:
            codes = [meter_code]
        else:
            codes = list(session.scalars(select(Meter.code).join(Asset, Asset.meter_id == Meter.id)
                                         .order_by(Meter.code)))
        reports = [meter_month_coverage(session, code, period).as_dict() for code in codes]
    if as_json:
        emit_json({"period": period, "meters": reports})
        return
    for r in reports:
        click.echo(f"{r['meter_code']:<16} {r['coverage']}  {r['present']} of {r['expected']} "
                   f"{r['interval_minutes']}-minute intervals")
        for gap in r["gaps"][:20]:
            click.echo(f"    missing {gap['start']} .. {gap['end']} ({gap['intervals']} intervals)")
        if len(r["gaps"]) > 20:
            click.echo(f"    ... and {len(r['gaps']) - 20} more gaps")


@main.command("batches")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@db_option
@json_option
@pass_app
@refusals()
def batches_command(app: AppContext, limit: int, as_json: bool) -> None:
    """The most recent import batches: file, SHA-256, who, when and what they did."""
    from energy_coop.services.metering.imports import list_batches

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


# ------------------------------------------------------------------------------------------------------ scheduler

JOB_NAMES = ("import-inbox", "refresh-forecasts", "monthly-allocation")  # jobs.specs.JOBS


@main.command("scheduler")
@db_option
@pass_app
@refusals()
def scheduler_command(app: AppContext) -> None:
    """Run the job scheduler in the foreground (SPEC section 9); Ctrl+C or SIGTERM stops it.

    Run one per database (a second one claims nothing twice, but has nothing to add). Never inside a web worker.
    """
    import logging

    from jobs.scheduler import serve

    config = app.config
    config.schedule  # noqa: B018 - a malformed timetable setting is refused before anything starts
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(config, check_schema=require_current_schema)


@main.group("jobs")
def jobs_group() -> None:
    """The scheduler's jobs: timetable, last and next runs; run one now."""


@jobs_group.command("list")
@db_option
@json_option
@pass_app
@refusals()
def jobs_list(app: AppContext, as_json: bool) -> None:
    """Show each job, its schedule, its last run and outcome, and when it runs next."""
    from jobs.scheduler import next_run_times, timetable

    from energy_coop.models import utcnow
    from jobs import periods as job_periods
    from jobs import runs as job_runs
    from jobs.specs import JOBS

    schedule = app.config.schedule
    now = utcnow()
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

    A period that already succeeded is not run again (a no-op that says so); a failed one is retried; one that
    is running elsewhere is left alone (exit status 3). A failed run exits with status 1.
    """
    from jobs import runner

    from energy_coop.models import utcnow
    from jobs import periods as job_periods

    config = app.config
    schedule = config.schedule
    require_current_schema(config.database_url)
    if period is not None:
        period = job_periods.parse_period(name, period, now=utcnow(), schedule=schedule)
    runner.recover(config)
    result = runner.run_job(config, name, period=period, trigger="manual", started_by=app.actor, force_retry=True)
    if as_json:
        emit_json(result.as_dict())
    if result.ran:
        status = f"{name} {result.period}: {result.outcome}"
        click.echo(f"{status}: {result.message}" if result.message else status,
                   err=as_json or result.outcome == "failed")
    else:
        click.echo(result.message, err=as_json or not result.recorded or result.previous_outcome == "running")
    if result.outcome == "failed":
        sys.exit(1)
    if not result.ran and result.previous_outcome == "running":
        sys.exit(3)


if __name__ == "__main__":
    main()
