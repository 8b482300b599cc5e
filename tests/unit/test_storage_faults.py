"""The one translation of storage errors into plain words (``energy_coop.storage_faults``), and files written
whole or not at all (``energy_coop.atomic_files``)."""

from __future__ import annotations

import errno
import sqlite3

import psycopg.errors
import pytest
from sqlalchemy.exc import OperationalError

from energy_coop import atomic_files
from energy_coop.errors import DatabaseBusy, DiskFull, MissingFolder, ReadOnlyStorage
from energy_coop.storage_faults import BUSY_MESSAGE, translate

SQL = "INSERT INTO ledger_entries (seq, member_number, cents) VALUES (?, ?, ?)"
PARAMS = (17, "1001", 4242)


def _wrapped(orig: Exception) -> OperationalError:
    return OperationalError(SQL, PARAMS, orig)


@pytest.mark.parametrize("orig, kind, words", [
    (sqlite3.OperationalError("database is locked"), DatabaseBusy, BUSY_MESSAGE),
    (sqlite3.OperationalError("database or disk is full"), DiskFull, "the disk holding the SQLite database /srv/c.db is full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), ReadOnlyStorage,
     "the SQLite database /srv/c.db is read-only here"),
    (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), DatabaseBusy, BUSY_MESSAGE),
    (psycopg.errors.DeadlockDetected("deadlock detected"), DatabaseBusy, BUSY_MESSAGE),
    (psycopg.errors.DiskFull("could not extend file"), DiskFull, "the disk of the database"),
    (psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), ReadOnlyStorage,
     "default_transaction_read_only"),
], ids=["sqlite-busy", "sqlite-full", "sqlite-readonly", "pg-lock-timeout", "pg-deadlock", "pg-full", "pg-readonly"])
def test_database_errors_become_plain_faults_without_sql(orig, kind, words):
    url = "sqlite:////srv/c.db" if isinstance(orig, sqlite3.Error) else "postgresql+psycopg://app:secret@db/coop"
    fault = translate(_wrapped(orig), database=url)
    assert isinstance(fault, kind)
    assert words in fault.message
    assert "INSERT" not in fault.message and "4242" not in fault.message and "secret" not in fault.message


def test_a_missing_database_folder_is_named(tmp_path):
    fault = translate(_wrapped(sqlite3.OperationalError("unable to open database file")),
                      database=f"sqlite:///{tmp_path}/gone/c.db")
    assert isinstance(fault, MissingFolder)
    assert fault.message.startswith(f"the folder {tmp_path}/gone of the SQLite database {tmp_path}/gone/c.db does not exist")


def test_exit_and_http_statuses():
    assert (DatabaseBusy.exit_code, DatabaseBusy.http_status, DatabaseBusy.retry_after) == (75, 503, 60)
    assert (DiskFull.exit_code, ReadOnlyStorage.exit_code, MissingFolder.exit_code) == (74, 77, 73)
    assert DiskFull.retry_after is None


def test_anything_else_is_not_a_storage_fault():
    assert translate(ValueError("a bug")) is None
    assert translate(_wrapped(sqlite3.OperationalError("no such column: x"))) is None


def test_an_atomic_file_that_fails_leaves_nothing(tmp_path):
    target = tmp_path / "ledger.csv"
    with pytest.raises(OSError):
        with atomic_files.atomic_file(target) as fh:
            fh.write("seq,kind\n")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []
    with atomic_files.atomic_file(target) as fh:
        fh.write("seq,kind\n")
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.csv"] and target.read_text() == "seq,kind\n"


def test_an_atomic_folder_appears_whole_and_replaces_an_earlier_one_whole(tmp_path):
    target = tmp_path / "audit"
    with pytest.raises(RuntimeError):
        with atomic_files.atomic_folder(target) as tmp:
            (tmp / "readings.csv").write_text("x")
            raise RuntimeError("the disk filled up")
    assert list(tmp_path.iterdir()) == []
    for content in ("first", "second"):
        with atomic_files.atomic_folder(target) as tmp:
            (tmp / f"{content}.csv").write_text(content)
            (tmp / "manifest.json").write_text("{}")
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json", "second.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["audit"]
