"""Storage faults in plain words: the one place that turns a database or file-system error into a
:class:`~energy_coop.errors.StorageFault` (busy, disk full, read-only, missing folder, unreachable).

Every entry point asks :func:`translate` about an exception it did not expect: the command line
(``cli.context.refusals`` and the ``main`` group), the web's error handlers (pages and ``/api/v1``) and the
scheduler's runner. What it answers names the database file (or the server, without its password) or the folder
and what to check, never the SQL or its parameters; ``None`` means the exception is no storage fault (a bug,
to be logged as one).

| what happened | SQLite | PostgreSQL | file system (exports) | fault |
|---|---|---|---|---|
| locked too long | ``database is locked`` (``SQLITE_BUSY``, ``SQLITE_LOCKED``) | ``lock_timeout`` 55P03, deadlock 40P01, serialization 40001 | — | :class:`DatabaseBusy` (exit 75, HTTP 503 + Retry-After) |
| disk full | ``database or disk is full`` (``SQLITE_FULL``) | ``disk_full`` 53100 | ``ENOSPC``, ``EDQUOT`` | :class:`DiskFull` (exit 74) |
| read-only | ``attempt to write a readonly database`` (``SQLITE_READONLY``), a file or folder not writable | ``read_only_sql_transaction`` 25006 | ``EROFS``, ``EACCES`` | :class:`ReadOnlyStorage` (exit 77) |
| missing folder | ``unable to open database file`` with no such folder | — | ``ENOENT`` on a folder | :class:`MissingFolder` (exit 73) |
| cannot connect | ``unable to open database file`` otherwise | connection refused, ``too_many_connections`` 53300, ``cannot_connect_now`` 57P03 | — | :class:`DatabaseUnreachable` (exit 69) |
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from energy_coop.atomic_files import is_partial
from energy_coop.errors import (DatabaseBusy, DatabaseUnreachable, DiskFull, MissingFolder, ReadOnlyStorage,
                                StorageFault)

#: The message of a database held by another change: the same words on every entry point.
BUSY_MESSAGE = "the database is busy with another change; try again in a minute (nothing was changed)"

_PG_BUSY = {"55P03", "40P01", "40001"}
_PG_FULL = {"53100"}
_PG_READ_ONLY = {"25006"}
_PG_UNREACHABLE = {"53300", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"}


def describe_database(url: str | None) -> str:
    """How a message names the database: the SQLite file's path, or the server URL without its password."""
    if not url:
        return "the database"
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a URL we cannot read is named as given, minus nothing secret in it
        return "the database"
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database or ""
        if not name or name == ":memory:":
            return "the SQLite database in memory"
        if name.startswith("file:"):  # a URI filename (``?mode=ro&uri=true``)
            name = name[5:].split("?", 1)[0]
        return f"the SQLite database {os.path.abspath(name)}"
    return f"the database {parsed.render_as_string(hide_password=True)}"


def sqlite_path(url: str | None) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL, memory or no URL)."""
    if not url:
        return None
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):
        return Path(parsed.database[5:].split("?", 1)[0])
    return Path(parsed.database).absolute()


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        if isinstance(exc, DBAPIError) and exc.orig is not None:
            yield exc.orig
        exc = exc.__cause__ or exc.__context__


def translate(exc: BaseException, *, database: str | None = None, path: str | os.PathLike | None = None
              ) -> StorageFault | None:
    """The :class:`StorageFault` that ``exc`` (or an exception it was raised from) means, or None.

    ``database`` is the URL the failing work used (named in the message); ``path`` the file or folder being
    written when the error has no file name of its own (an export's destination).
    """
    for e in _chain(exc):
        if isinstance(e, StorageFault):
            return e
        if isinstance(e, sqlite3.Error):
            fault = _sqlite(e, database)
            if fault is not None:
                return fault
        sqlstate = getattr(e, "sqlstate", None)
        if isinstance(sqlstate, str):
            fault = _postgresql(sqlstate, database)
            if fault is not None:
                return fault
        if isinstance(e, OSError) and not isinstance(e, sqlite3.Error):
            fault = from_os_error(e, path=path)
            if fault is not None:
                return fault
        if _pg_connection_failure(e):
            return DatabaseUnreachable(f"{describe_database(database)} does not answer: check that the server "
                                       "is running and that the address, user and password in the database URL "
                                       "are right (nothing was changed)")
    return None


def _pg_connection_failure(e: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(e, psycopg.OperationalError) and getattr(e, "sqlstate", None) is None \
        and "connection" in str(e).lower()


def _sqlite(e: sqlite3.Error, database: str | None) -> StorageFault | None:
    name = getattr(e, "sqlite_errorname", "") or ""
    text = str(e).lower()
    where = describe_database(database)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text \
            or "is locked" in text:
        return DatabaseBusy(BUSY_MESSAGE)
    if name.startswith("SQLITE_FULL") or "database or disk is full" in text:
        return DiskFull(f"the disk holding {where} is full: nothing was changed. Free some space there (or move "
                        "the database to a larger disk) and run this again")
    if name.startswith("SQLITE_READONLY") or "readonly database" in text or "read-only" in text:
        return _sqlite_read_only(where, database)
    if name.startswith("SQLITE_CANTOPEN") or "unable to open database file" in text:
        file = sqlite_path(database)
        if file is not None and not file.parent.exists():
            return MissingFolder(f"the folder {file.parent} of {where} does not exist: create it (or correct "
                                 "the database URL) and run this again")
        if file is not None and (file.exists() and not os.access(file, os.W_OK)
                                 or not os.access(file.parent, os.W_OK)):
            return _sqlite_read_only(where, database)
        return DatabaseUnreachable(f"{where} cannot be opened: check that the file and its folder exist and "
                                   "that this user may read and write both")
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        return DiskFull(f"the disk holding {where} failed to write (a disk I/O error, often a full disk): "
                        "nothing was changed. Check the free space and the disk, then run this again") \
            if _disk_nearly_full(sqlite_path(database)) else \
            StorageFault(f"the disk holding {where} failed to read or write (a disk I/O error): nothing was "
                         "changed. Check the disk and its free space, then run this again")
    return None


def _disk_nearly_full(file: Path | None) -> bool:
    if file is None:
        return True
    try:
        st = os.statvfs(file.parent)
    except OSError:
        return True
    return st.f_bavail * st.f_frsize < 1024 * 1024


def _sqlite_read_only(where: str, database: str | None) -> ReadOnlyStorage:
    file = sqlite_path(database)
    folder = f" and its folder {file.parent}" if file is not None else ""
    return ReadOnlyStorage(f"{where} is read-only here: nothing was changed. Check that the file{folder} may be "
                           "written by this user (SQLite also writes the -wal and -shm files beside it) and that "
                           "the disk is not mounted read-only")


def _postgresql(sqlstate: str, database: str | None) -> StorageFault | None:
    where = describe_database(database)
    if sqlstate in _PG_BUSY:
        return DatabaseBusy(BUSY_MESSAGE)
    if sqlstate in _PG_FULL:
        return DiskFull(f"the disk of {where} is full: nothing was changed. Ask whoever runs the database server "
                        "to free space, then run this again")
    if sqlstate in _PG_READ_ONLY:
        return ReadOnlyStorage(f"{where} accepts no changes (a read-only transaction: a standby server, or "
                               "default_transaction_read_only is on): nothing was changed. Point the database URL "
                               "at the primary server, or ask whoever runs it to allow writes")
    if sqlstate in _PG_UNREACHABLE:
        return DatabaseUnreachable(f"{where} is not taking connections now (starting, shutting down or full "
                                   "of connections); try again in a minute (nothing was changed)")
    return None


def from_os_error(e: OSError, *, path: str | os.PathLike | None = None) -> StorageFault | None:
    """A file-system error while writing ``path`` (an export) as a :class:`StorageFault`, or None."""
    target = e.filename or path
    if e.filename and is_partial(Path(str(e.filename)).name):  # our temporary name: name what was being written
        target = path or Path(str(e.filename)).parent
    named = f" {target}" if target else ""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"the disk is full: could not write{named}; nothing was left behind. Free some space (or "
                        "write somewhere else) and run this again")
    if e.errno == errno.EROFS:
        return ReadOnlyStorage(f"the disk is mounted read-only: could not write{named}; write somewhere else")
    if e.errno in (errno.EACCES, errno.EPERM):
        return ReadOnlyStorage(f"no permission to write{named}: check the folder's owner and permissions, or "
                               "write somewhere else")
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        folder = Path(target).parent if target else None
        if folder is not None and not folder.is_dir():
            return MissingFolder(f"the folder {folder} does not exist: create it (or give another) and run "
                                 "this again")
        return MissingFolder(f"could not write{named}: a folder on the way does not exist")
    return None
