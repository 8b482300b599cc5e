"""Every storage fault ends in a clear message and its exit status, with nothing written (SQLite, PostgreSQL).

The commands run as real processes, as an operator runs them, and each test checks what that operator sees:
the message (no traceback, no SQL), the exit status (README, "Exit status"), the ledger unchanged and intact,
and no partial file left. The full disk is a 8 MB tmpfs (root only; skipped with a message otherwise): the
SQLite file itself on it, or, for PostgreSQL, a tablespace the test schema's tables and indexes are moved into.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from energy_coop.db import dispose_all, get_engine, get_sessionmaker
from energy_coop.documents.statements import issue_month
from energy_coop.services.credits import allocation
from tests.faults.conftest import (assert_clear, cli_process, copy_database, fill, ledger_state, listing, seed_february,
                                   mount_tmpfs, unmount)
from tests.jobs.conftest import at, meter_csv

BUSY = "the database is busy with another change; try again in a minute"


def _csv(folder: Path) -> Path:
    path = folder / "march.csv"
    path.write_text(meter_csv("PM-SUN1", at(2024, 3, 1), 24 * 5))
    return path


# ------------------------------------------------------------------------------------------------ a full disk

@pytest.fixture
def db_on_tiny_disk(sqlite_template, tiny_disk, tmp_path):
    """A SQLite database with an unposted February on a 8 MB tmpfs, and one connection holding it open (so
    its -wal and -shm files stay), its write-ahead log emptied: every change must grow a file."""
    url = copy_database(sqlite_template, tiny_disk)
    seed_february(get_sessionmaker(url), tmp_path / "registers")
    dispose_all()
    holder = sqlite3.connect(tiny_disk / "coop.db")
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    yield url
    holder.close()


def test_posting_and_importing_onto_a_full_disk_say_so_and_change_nothing(db_on_tiny_disk, tiny_disk, tmp_path):
    before = ledger_state(db_on_tiny_disk)
    fill(tiny_disk)
    done = cli_process(db_on_tiny_disk, "allocate", "2024-02", "--post", cwd=tmp_path)
    assert_clear(done, 74, "is full", str(tiny_disk / "coop.db"), "nothing was changed")
    done = cli_process(db_on_tiny_disk, "import", str(_csv(tmp_path)), cwd=tmp_path)
    assert_clear(done, 74, "march.csv: nothing of it was imported", "is full")
    (tiny_disk / ".filler").unlink()
    assert ledger_state(db_on_tiny_disk) == before == (0, 0, 2, True)
    assert listing(tiny_disk) == ["coop.db", "coop.db-shm", "coop.db-wal"]
    done = cli_process(db_on_tiny_disk, "allocate", "2024-02", "--post", cwd=tmp_path)  # space again: it posts
    assert done.returncode == 0, done.stderr
    assert ledger_state(db_on_tiny_disk)[:2] == (1, 4)


def test_postgresql_posting_and_importing_onto_a_full_tablespace_say_so_and_change_nothing(pg_on_tiny_disk, tmp_path):
    url, folder = pg_on_tiny_disk
    before = ledger_state(url)
    fill(folder)
    done = cli_process(url, "allocate", "2024-02", "--post", cwd=tmp_path)
    assert_clear(done, 74, "is full", "nothing was changed", "database server")
    done = cli_process(url, "import", str(_csv(tmp_path)), cwd=tmp_path)
    assert_clear(done, 74, "march.csv: nothing of it was imported", "is full")
    (folder / ".filler").unlink()
    assert ledger_state(url) == before == (0, 0, 2, True)
    done = cli_process(url, "allocate", "2024-02", "--post", cwd=tmp_path)  # space again: it posts
    assert done.returncode == 0, done.stderr
    assert ledger_state(url)[:2] == (1, 4)


@pytest.fixture
def posted_and_issued(sessions, tmp_path, db_url):
    seed_february(sessions, tmp_path / "registers")
    with sessions.begin() as s:
        allocation.post(s, "2024-02", actor="test")
    with sessions.begin() as s:
        issue_month(s, "2024-02", actor="test")
    dispose_all()
    return db_url


@pytest.mark.parametrize("export, leave", [
    (("ledger", "--out", "{out}/ledger.csv"), 0),
    (("statements", "--period", "2024-02", "--format", "pdf", "--out", "{out}/statements"), 40_000),
    (("audit", "--period", "2024-02", "--out", "{out}/audit"), 16_000),
], ids=["ledger", "statements", "audit"])
def test_an_export_onto_a_full_disk_leaves_nothing_behind(posted_and_issued, tiny_disk, tmp_path, export, leave):
    before = ledger_state(posted_and_issued)
    fill(tiny_disk, leave=leave)
    args = [a.format(out=tiny_disk) for a in export]
    done = cli_process(posted_and_issued, "export", *args, cwd=tmp_path)
    assert_clear(done, 74, "the disk is full", str(tiny_disk), "nothing was left behind")
    assert listing(tiny_disk) in ([], ["statements"])  # no file, no partial file; at most the empty folder asked for
    assert not any((tiny_disk / "statements").glob("*")) if (tiny_disk / "statements").exists() else True
    assert ledger_state(posted_and_issued) == before
    (tiny_disk / ".filler").unlink()
    done = cli_process(posted_and_issued, "export", *args, cwd=tmp_path)  # room again: the whole export
    assert done.returncode == 0, done.stderr
    if export[0] == "audit":
        assert (tiny_disk / "audit" / "manifest.json").is_file()
        assert not [p for p in tiny_disk.iterdir() if ".partial-" in p.name]


def test_an_export_into_a_folder_that_does_not_exist_names_it(posted_and_issued, tmp_path):
    missing = tmp_path / "no" / "such"
    done = cli_process(posted_and_issued, "export", "ledger", "--out", str(missing / "ledger.csv"), cwd=tmp_path)
    assert_clear(done, 73, f"the folder {missing} does not exist")
    assert not (tmp_path / "no").exists()


# --------------------------------------------------------------------------------------------- read-only

def _read_only_url(db_url: str) -> str:
    if db_url.startswith("sqlite"):
        return "sqlite:///file:" + db_url[len("sqlite:///"):] + "?mode=ro&uri=true"
    return db_url + "%20-cdefault_transaction_read_only%3Don"


def test_a_read_only_database_says_so_naming_it(sessions, db_url, tmp_path, backend):
    seed_february(sessions, tmp_path / "registers")
    dispose_all()
    read_only = _read_only_url(db_url)
    before = ledger_state(db_url)
    done = cli_process(read_only, "allocate", "2024-02", "--post", cwd=tmp_path)
    named = db_url[len("sqlite:///"):] if backend == "sqlite" else "default_transaction_read_only"
    assert_clear(done, 77, "nothing was changed", named)
    done = cli_process(read_only, "import", str(_csv(tmp_path)), cwd=tmp_path)
    assert_clear(done, 77, "march.csv: nothing of it was imported", named)
    assert ledger_state(db_url) == before


def test_a_database_on_a_read_only_mount_says_what_to_check(sqlite_template, tmp_path):
    disk = tmp_path / "ro"
    mount_tmpfs(disk)
    try:
        url = copy_database(sqlite_template, disk)
        seed_february(get_sessionmaker(url), tmp_path / "registers")
        dispose_all()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        done = cli_process(url, "allocate", "2024-02", "--post", cwd=tmp_path)
        assert_clear(done, 77, f"the SQLite database {disk / 'coop.db'} is read-only here",
                     "mounted read-only")
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert ledger_state(url) == (0, 0, 2, True)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], capture_output=True)
        unmount(disk)


def test_a_database_in_a_folder_that_does_not_exist_names_the_folder(tmp_path):
    missing = tmp_path / "gone"
    done = cli_process(f"sqlite:///{missing}/coop.db", "allocate", "2024-02", cwd=tmp_path)
    assert_clear(done, 73, f"the folder {missing} of the SQLite database {missing / 'coop.db'} does not exist")
    assert not missing.exists()


# --------------------------------------------------------------------------------------------------- busy

def test_a_write_lock_held_past_the_wait_is_a_retryable_message(sessions, db_url, tmp_path, backend):
    seed_february(sessions, tmp_path / "registers")
    if backend == "sqlite":
        url = db_url + "?timeout=0.5"
        holder = sqlite3.connect(db_url[len("sqlite:///"):], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        release = holder.close
    else:
        url = db_url + "%20-clock_timeout%3D500ms"
        conn = get_engine(db_url).connect()
        conn.execute(text("SELECT * FROM ledger_head FOR UPDATE"))
        release = conn.close
    try:
        done = cli_process(url, "allocate", "2024-02", "--post", cwd=tmp_path)
        assert_clear(done, 75, BUSY)
        done = cli_process(url, "allocate", "2024-02", "--post", "--json", cwd=tmp_path)
        assert done.returncode == 75 and '"retry_after": 60' in done.stdout, done.stdout + done.stderr
    finally:
        release()
    assert ledger_state(db_url) == (0, 0, 2, True)
