"""What every ``energy-coop`` command shares: the application context, its transactions, the common options,
JSON output, refusals and their exit codes, progress bars, and the ``YYYY-MM`` parameter type.

A command opens one transaction with :meth:`AppContext.transaction` (or a read-only
:meth:`AppContext.snapshot`), calls one service, and prints. A :class:`RefusedError` from the service becomes ``error: ...`` on stderr (and,
with ``--json``, a JSON document on stdout) and the error's exit status, through :func:`refusals`; the
transaction is rolled back so nothing is half-written. A storage fault (the database busy, a full disk, a
read-only database, a missing folder: :mod:`energy_coop.storage_faults`) becomes its plain message and its own
exit status the same way, never a traceback or SQL: :func:`refusals` for each command, and :class:`FaultGroup`
(the ``main`` group) for anything raised outside one.
"""

from __future__ import annotations

import functools
import getpass
import json
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click
from sqlalchemy.orm import Session

from energy_coop.config import Config, load_config
from energy_coop.db import get_engine, get_read_sessionmaker, get_sessionmaker, get_snapshot_sessionmaker
from energy_coop import storage_faults
from energy_coop.errors import RefusedError, StorageFault
from energy_coop.period import Period

if TYPE_CHECKING:
    from energy_coop.formatting import Formatter

#: A refused request (bad input, a rule of the co-op); :class:`RefusedError` and its kinds carry their own
#: ``exit_code`` (2 refused, 3 conflict, 4 not found).
EXIT_REFUSED = 2
#: A check that ran and found a problem (``ledger verify``), or a job run that failed (``jobs run``).
EXIT_FAILED = 1
#: ``jobs run``: the period is running in another process, so it was left alone.
EXIT_RUNNING_ELSEWHERE = 3
#: Storage faults (:mod:`energy_coop.storage_faults`), the BSD ``sysexits.h`` numbers: the database busy with
#: another change past the wait (75, EX_TEMPFAIL: try again), a disk full (74, EX_IOERR), a read-only database or
#: folder (77, EX_NOPERM), a missing folder (73, EX_CANTCREAT), a database that cannot be reached (69).
EXIT_BUSY = 75
EXIT_DISK_FULL = 74
EXIT_READ_ONLY = 77
EXIT_MISSING_FOLDER = 73
EXIT_UNREACHABLE = 69


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

    def replace_config(self, config: Config) -> None:
        """Use ``config`` from now on (``demo`` serves with a changed copy of the loaded one)."""
        self._config = config

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

    def formatter(self) -> "Formatter":
        """The co-op's :class:`~energy_coop.formatting.Formatter` (its locale, currency and time zone), for a
        command's human-readable lines; ``--json`` output never goes through it."""
        from energy_coop.formatting import formatter_for
        from energy_coop.services.settings import get_settings  # lazy: the models; keeps --help fast

        with self.snapshot() as session:
            return formatter_for(get_settings(session))

    @property
    def actor(self) -> str:
        try:
            return "cli:" + getpass.getuser()
        except Exception:  # noqa: BLE001 - no user name in some containers
            return "cli"


def require_current_schema(url: str) -> None:
    """Refuse to go on unless the database at ``url`` opens and is at the latest schema revision."""
    from energy_coop.migrate import current_revision, head_revision  # lazy: Alembic is not needed for --help

    engine = get_engine(url)
    try:
        # through the read engine: on SQLite the write engine begins with BEGIN IMMEDIATE, so a mere look at the
        # schema revision would queue behind (and, past the busy timeout, fail on) another process's change
        current = current_revision(get_read_sessionmaker(url).kw["bind"])
    except Exception as exc:  # noqa: BLE001 - any connection failure becomes a plain message
        fault = storage_faults.translate(exc, database=url)
        if fault is not None:
            raise fault from None
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


#: A refusal's ``option`` (the service's keyword that would let it through) in the command line's words: the
#: services word their refusals for every entry point, and the command adds the flag that applies here.
OPTION_HINTS = {
    "allow_gaps": "use --allow-gaps to post anyway",
    "repost": "use --repost to replace it with reversal entries and new ones",
    "force": "use --force to replace it",
    "replace": "use --replace to replace it",
}


def refusals(as_json_doc: Callable[..., Any] | None = None) -> Callable:
    """Turn a :class:`RefusedError` into a message (or JSON document) and its exit status.

    ``as_json_doc(exc, **the command's keyword arguments)``, when given, is the JSON document of a refusal;
    otherwise it is ``{"error", "message", "details"}``.
    """

    def deco(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return f(*args, **kwargs)
            except RefusedError as exc:
                hint = OPTION_HINTS.get(exc.option or "")
                if hint and hint not in exc.message:
                    exc.message = f"{exc.message}; {hint}"
                if kwargs.get("as_json") and as_json_doc is not None:
                    emit_json(as_json_doc(exc, **kwargs))
                elif kwargs.get("as_json"):
                    emit_json({"error": exc.__class__.__name__, "message": exc.message,
                               "details": [e.as_dict() for e in exc.errors]})
                click.echo(f"error: {exc}", err=True)
                sys.exit(exc.exit_code)
            except Exception as exc:  # a storage fault in plain words; anything else is a bug and propagates
                fault = fault_of(exc)
                if fault is None:
                    raise
                if kwargs.get("as_json"):
                    emit_json(fault_document(fault))
                click.echo(f"error: {fault}", err=True)
                sys.exit(fault.exit_code)

        return wrapper

    return deco


def fault_of(exc: BaseException) -> StorageFault | None:
    """``exc`` as a :class:`StorageFault` naming this command's database, or None when it is none."""
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(AppContext) if ctx is not None else None
    url = None
    if app is not None:
        try:
            url = app.config.database_url
        except Exception:  # noqa: BLE001 - a configuration that cannot even be read names no database
            url = app.db_url
    return storage_faults.translate(exc, database=url)


def fault_document(fault: StorageFault) -> dict[str, Any]:
    """The ``--json`` document of a storage fault: ``{"error", "message", "details", "retry_after"}``."""
    return {"error": fault.__class__.__name__, "message": fault.message, "details": [],
            "retry_after": fault.retry_after}


class FaultGroup(click.Group):
    """The ``main`` group: a storage fault raised anywhere below it (a command without :func:`refusals`, a
    callback) ends in its plain message and exit status instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            fault = fault_of(exc)
            if fault is None:
                raise
            click.echo(f"error: {fault}", err=True)
            ctx.exit(fault.exit_code)


def show_progress(as_json: bool) -> bool:
    return not as_json and sys.stdout.isatty()


@contextmanager
def progress_bar(as_json: bool, length: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A click progress bar on a terminal; nothing when piped or with --json."""
    if not show_progress(as_json) or length <= 0:
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


class PeriodType(click.ParamType):
    """A ``YYYY-MM`` argument or option, read with :meth:`Period.parse`; anything else is a usage error (exit
    status 2) in :class:`Period`'s words, e.g. ``'2024-13' is not a month; write YYYY-MM, e.g. 2024-03``."""

    name = "YYYY-MM"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Period:
        try:
            return Period.parse(value)
        except (TypeError, ValueError) as exc:
            self.fail(str(exc), param, ctx)


PERIOD = PeriodType()
