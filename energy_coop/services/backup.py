"""Backups that restore (issue 16): ``energy-coop backup FILE`` and ``energy-coop restore FILE``.

A backup is taken, written to a temporary name beside FILE, opened and verified, and only then renamed to FILE
and reported good:

- SQLite: SQLite's online backup API (``sqlite3.Connection.backup``, the whole database in one step, so one
  consistent snapshot that includes what is still in the WAL; writers carry on meanwhile). The copy is a single
  file (journal mode DELETE). Verified by opening it read-only and re-walking the ledger's hash chain
  (:func:`energy_coop.services.credits.ledger.verify`). Copying the live file instead is *not* a backup: the
  entries committed to the WAL but not yet checkpointed are not in it.
- PostgreSQL: ``pg_dump --format=custom`` (one snapshot of the database, or of the schema named in the URL's
  ``search_path``). Verified by restoring it into a scratch database and re-walking the chain there; when the
  role may not create a database, only ``pg_restore --list`` is run (the archive is readable), and the report
  says so.

A restore refuses (:class:`ConflictError`, exit 3) to replace a database that has data unless ``force``; it
restores (SQLite: the backup API into the configured file; PostgreSQL: ``pg_restore --clean --if-exists
--single-transaction`` into the configured database) and verifies the restored ledger before reporting.

These functions take a database URL, not a Session: a backup is of the whole database, outside any transaction
of the application's. Nothing here commits anything of the application's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from energy_coop.errors import ConflictError, RefusedError
from energy_coop.services.credits import ledger

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
INSTALL_PG_CLIENT = ("install PostgreSQL's client programs of the server's major version or newer (Debian and "
                     "Ubuntu: apt-get install postgresql-client; macOS: brew install libpq) or put them on PATH")


@dataclass
class LedgerCheck:
    """A database's ledger as verified: entries, the head's seq and hash, and any problem."""

    entries: int = 0
    last_seq: int = 0
    last_hash: str = ""
    revision: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "last_seq": self.last_seq, "last_hash": self.last_hash,
                "schema_revision": self.revision, "ledger_ok": self.ok, "problems": self.problems}


@dataclass
class BackupReport:
    file: str
    backend: str
    bytes: int
    sha256: str
    verified: str  # how the copy was verified, in words
    check: LedgerCheck

    @property
    def ok(self) -> bool:
        return self.check.ok

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "backend": self.backend, "bytes": self.bytes, "sha256": self.sha256,
                "verified": self.verified, "ok": self.ok, **self.check.as_dict()}


@dataclass
class RestoreReport:
    file: str
    backend: str
    replaced: str  # what was in the database before ("" when it was empty)
    check: LedgerCheck

    @property
    def ok(self) -> bool:
        return self.check.ok

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "backend": self.backend, "replaced": self.replaced, "ok": self.ok,
                **self.check.as_dict()}


# ---------------------------------------------------------------------------------------------------- shared


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise RefusedError(f"the database {url.render_as_string(hide_password=True)} is not a SQLite file; only "
                           "a file database can be backed up or restored")
    return Path(url.database)


def _ro_sqlite_url(path: Path) -> str:
    return f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"


@contextlib.contextmanager
def _session(url: str, **kwargs: Any) -> Iterator[Session]:
    engine = create_engine(url, **kwargs)
    try:
        with Session(bind=engine) as session, session.begin():
            yield session
    finally:
        engine.dispose()


def check_ledger(url: str, **engine_kwargs: Any) -> LedgerCheck:
    """Open the database at ``url`` on an engine of its own and verify its ledger (hash chain, balances,
    head); a database that is not an energy-coop one is a problem, not an exception."""
    check = LedgerCheck()
    try:
        with _session(url, **engine_kwargs) as session:
            names = set(inspect(session.connection()).get_table_names())
            if not {"alembic_version", "ledger_entries", "ledger_head"} <= names:
                check.problems.append("it is not an energy-coop database (no ledger tables in it)")
                return check
            check.revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            report = ledger.verify(session)
            check.entries, check.last_hash = report.entries, report.last_hash
            check.last_seq = session.execute(text("SELECT last_seq FROM ledger_head WHERE id = 1")).scalar() or 0
            check.problems.extend(report.problems)
    except SQLAlchemyError as exc:
        check.problems.append(f"it cannot be read as an energy-coop database ({str(exc).splitlines()[0][:200]})")
    return check


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _writable_target(dest: Path) -> Path:
    if dest.exists() and not dest.is_file():
        raise RefusedError(f"{dest}: is not a regular file (a folder, a device or a pipe); give a new or ordinary "
                           "file")
    if not dest.parent.is_dir():
        raise RefusedError(f"{dest}: the folder {dest.parent} does not exist; create it or give another place")
    return dest.with_name(dest.name + ".part")


def _kind_of(path: Path) -> str:
    """``"sqlite"`` or ``"postgresql"`` by the file's first bytes; refused for anything else."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(16)
    except OSError as exc:
        raise RefusedError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if start == SQLITE_MAGIC:
        return "sqlite"
    if start.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise RefusedError(f"{path}: is not an energy-coop backup (neither a SQLite database nor a pg_dump archive "
                       "as `energy-coop backup` writes)")


def _data_in(url: str) -> str:
    """What data the database at ``url`` holds, in words ("" when none, or when it has no schema yet)."""
    try:
        with _session(url) as session:
            names = set(inspect(session.connection()).get_table_names())
            counts = []
            for table, what in (("ledger_entries", "ledger entries"), ("members", "members"),
                                ("readings", "meter readings"), ("users", "users")):
                if table in names:
                    n = session.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0
                    if n:
                        counts.append(f"{n} {what}")
            return ", ".join(counts)
    except SQLAlchemyError:
        return ""


def _refuse_live(url: str, force: bool) -> str:
    found = _data_in(url)
    if found and not force:
        raise ConflictError(f"the database {make_url(url).render_as_string(hide_password=True)} has data ({found}); "
                            "a restore would replace all of it, so nothing was restored. Take a backup of it first",
                            option="force")
    return found


# ---------------------------------------------------------------------------------------------------- SQLite


def _sqlite_copy(source: Path, dest: Path) -> None:
    """Copy the database ``source`` into ``dest`` with the online backup API, in one step (one snapshot)."""
    src = sqlite3.connect(source, timeout=30)  # read only by the backup; read-write so that a WAL file opens
    try:
        dst = sqlite3.connect(dest, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
    finally:
        src.close()


def _backup_sqlite(url: URL, dest: Path) -> BackupReport:
    source = _sqlite_path(url)
    if not source.is_file():
        raise RefusedError(f"the database file {source} does not exist")
    tmp = _writable_target(dest)
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        _sqlite_copy(source, tmp)
        _fsync(tmp)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise RefusedError(f"{dest}: the backup could not be written ({exc}); nothing was left there") from None
    check = check_ledger(_ro_sqlite_url(tmp))
    if check.revision is None:
        tmp.unlink()
        raise RefusedError(f"the backup of {source} could not be verified: " + "; ".join(check.problems))
    os.replace(tmp, dest)
    return BackupReport(str(dest), "sqlite", dest.stat().st_size, _sha256(dest),
                        "opened read-only and its ledger's hash chain re-walked", check)


def _restore_sqlite(url: URL, source: Path, force: bool) -> RestoreReport:
    target = _sqlite_path(url)
    before = _sqlite_check_source(source)
    if before.revision is None:
        raise RefusedError(f"{source}: is not an energy-coop backup: " + "; ".join(before.problems))
    if not target.parent.is_dir():
        raise RefusedError(f"the database's folder {target.parent} does not exist")
    replaced = _refuse_live(url.render_as_string(hide_password=False), force) if target.exists() else ""
    try:
        _sqlite_copy(source, target)
    except (OSError, sqlite3.Error) as exc:
        raise RefusedError(f"the backup could not be restored into {target} ({exc})") from None
    check = check_ledger(f"sqlite:///{target.resolve()}")
    return RestoreReport(str(source), "sqlite", replaced, check)


def _sqlite_check_source(source: Path) -> LedgerCheck:
    return check_ledger(_ro_sqlite_url(source))


# ------------------------------------------------------------------------------------------------ PostgreSQL


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RefusedError(f"{name} was not found, and a PostgreSQL database is backed up and restored with it: "
                           f"{INSTALL_PG_CLIENT}")
    return found


def _libpq(url: URL, database: str | None = None) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for ``url`` (its password in the environment instead, never on a command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    if database is not None:
        plain = plain.set(database=database)
    return plain.render_as_string(hide_password=False), env


def _schema(url: URL) -> str | None:
    """The schema named by the URL's ``options=-csearch_path=NAME`` (the tests' and some set-ups'), if any."""
    options = url.query.get("options")
    text_ = " ".join(options) if isinstance(options, tuple) else (options or "")
    m = re.search(r"search_path\s*=\s*([A-Za-z0-9_]+)", text_)
    return m.group(1) if m else None


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise RefusedError(f"{what} failed ({os.path.basename(args[0])} exit {done.returncode}: "
                           f"{detail[-1] if detail else 'no message'})")
    return done


def _backup_postgresql(url: URL, dest: Path) -> BackupReport:
    pg_dump = _tool("pg_dump")
    pg_restore = _tool("pg_restore")
    tmp = _writable_target(dest)
    uri, env = _libpq(url)
    schema = _schema(url)
    args = [pg_dump, "--format=custom", "--no-owner", f"--file={tmp}", f"--dbname={uri}"]
    if schema:
        args.append(f"--schema={schema}")
    try:
        _run(args, env, f"the backup of {url.render_as_string(hide_password=True)}")
        _fsync(tmp)
    except (RefusedError, OSError):
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    try:
        verified, check = _verify_archive(url, tmp, pg_restore)
    except RefusedError:
        tmp.unlink()
        raise
    os.replace(tmp, dest)
    return BackupReport(str(dest), "postgresql", dest.stat().st_size, _sha256(dest), verified, check)


def _verify_archive(url: URL, archive: Path, pg_restore: str) -> tuple[str, LedgerCheck]:
    """Restore ``archive`` into a scratch database and verify its ledger there; when no database may be
    created, read its table of contents only. Returns how it was verified and the check."""
    scratch = f"energy_coop_verify_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        except SQLAlchemyError as exc:
            uri, env = _libpq(url)
            listing = _run([pg_restore, "--list", str(archive)], env, "reading the backup")
            if "TABLE DATA" not in listing.stdout or "ledger_entries" not in listing.stdout:
                raise RefusedError("the backup holds no ledger: it is not an energy-coop database") from None
            return (f"pg_restore --list read the archive; its ledger was NOT re-walked (this role may not create a "
                    f"scratch database to restore it into: {str(exc.orig or exc).splitlines()[0]})", LedgerCheck(
                        revision="unknown"))
        try:
            uri, env = _libpq(url, scratch)
            _run([pg_restore, "--no-owner", "--exit-on-error", "--single-transaction", f"--dbname={uri}",
                  str(archive)], env, "restoring the backup into a scratch database")
            check = check_ledger(url.set(database=scratch).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    finally:
        admin.dispose()
    if check.revision is None:
        raise RefusedError("the backup could not be verified: " + "; ".join(check.problems))
    return "restored into a scratch database and its ledger's hash chain re-walked there", check


def _restore_postgresql(url: URL, source: Path, force: bool) -> RestoreReport:
    pg_restore = _tool("pg_restore")
    plain = url.render_as_string(hide_password=False)
    replaced = _refuse_live(plain, force)
    uri, env = _libpq(url)
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--single-transaction",
          f"--dbname={uri}", str(source)], env, "the restore")
    return RestoreReport(str(source), "postgresql", replaced, check_ledger(plain))


# ------------------------------------------------------------------------------------------------ use cases


def backup(url: str, dest: Path) -> BackupReport:
    """Back up the database at ``url`` into the file ``dest`` (see the module's text); refused, with nothing left
    at ``dest``, when it cannot be written or verified. ``report.ok`` is false when the copy is faithful but its
    ledger does not verify (the live one does not either)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _backup_sqlite(parsed, dest)
    if parsed.get_backend_name() == "postgresql":
        return _backup_postgresql(parsed, dest)
    raise RefusedError(f"cannot back up a {parsed.get_backend_name()} database; energy-coop runs on SQLite and "
                       "PostgreSQL")


def restore(url: str, source: Path, *, force: bool = False) -> RestoreReport:
    """Restore the backup file ``source`` into the database at ``url`` and verify it (see the module's text).

    Refused: a file that is not such a backup, or one of the other backend (exit 2); a database with data
    without ``force`` (:class:`ConflictError`, exit 3). Stop the web app and the scheduler first."""
    parsed = make_url(url)
    kind = _kind_of(source)
    backend = parsed.get_backend_name()
    if kind != backend:
        raise RefusedError(f"{source}: is a {kind} backup, and the configured database is {backend}; restore it "
                           f"into a {kind} database")
    if kind == "sqlite":
        return _restore_sqlite(parsed, source, force)
    return _restore_postgresql(parsed, source, force)
