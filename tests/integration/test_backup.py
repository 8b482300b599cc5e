"""`energy-coop backup` and `restore` (issue 16) on SQLite and PostgreSQL: a live database under writes is backed
up, restored and verified with nothing committed before the backup missing; refusals name what is wrong."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest
from sqlalchemy import select

from energy_coop.db import get_sessionmaker
from energy_coop.models import LedgerEntry
from energy_coop.services.credits import ledger
from tests.helpers import small_coop

HAVE_PG_TOOLS = bool(shutil.which("pg_dump") and shutil.which("pg_restore"))


@pytest.fixture
def coop(sessions, tmp_path, backend):
    if backend == "postgresql" and not HAVE_PG_TOOLS:
        pytest.skip("pg_dump/pg_restore are not installed here (apt-get install postgresql-client)")
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
    return sessions


def post(sessions, n: int, memo: str = "entry") -> list[int]:
    seqs = []
    for i in range(n):
        with sessions.begin() as s:
            seqs.append(ledger.record_manual_entry(s, kind="adjustment", member_number="1001", cents=1 + i,
                                                   memo=f"{memo} {i}", actor="test", period="2024-01").seq)
    return seqs


def seqs_in(url: str) -> list[int]:
    with get_sessionmaker(url).begin() as s:
        return list(s.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)))


def result_doc(result, code=0):
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_backup_of_a_live_database_under_writes_restores_everything_committed_before_it(coop, cli, db_url, tmp_path,
                                                                                     backend):
    committed: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer():  # another writer keeps posting ledger entries, one transaction each, all through the backup
        try:
            i = 0
            while not stop.is_set() and i < 3000:
                committed.extend(post(coop, 1, memo=f"live {i}"))
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(committed) < 30 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        before = list(committed)  # every one of these was committed before the backup started
        out = tmp_path / "backup.db" if backend == "sqlite" else tmp_path / "backup.pgdump"
        doc = result_doc(cli("backup", str(out), "--json"))
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert len(committed) > len(before)  # the writer went on through the backup
    assert doc["ok"] and doc["ledger_ok"] and doc["entries"] >= len(before)
    assert not out.with_name(out.name + ".part").exists()
    live = seqs_in(db_url)
    assert len(live) == len(committed)

    if backend == "sqlite":
        target = f"sqlite:///{tmp_path / 'restored' / 'energy_coop.db'}"
        (tmp_path / "restored").mkdir()
        restored = result_doc(cli("restore", str(out), "--db", target, "--json"))
    else:
        target = db_url
        refused = cli("restore", str(out))
        assert refused.exit_code == 3 and "use --force to replace it" in refused.stderr
        restored = result_doc(cli("restore", str(out), "--force", "--json"))
        assert str(len(live)) + " ledger entries" in restored["replaced"]
    assert restored["ok"] and restored["problems"] == []
    got = seqs_in(target)
    assert set(before) <= set(got)  # nothing committed before the backup is missing
    assert got == list(range(1, len(got) + 1)) and len(got) == doc["entries"] == restored["entries"]
    assert restored["last_seq"] == doc["last_seq"] and restored["last_hash"] == doc["last_hash"]
    assert cli("ledger", "verify", "--db", target).exit_code == 0


def test_restore_refuses_to_replace_live_data_without_force(coop, cli, db_url, tmp_path, backend):
    post(coop, 3)
    out = tmp_path / "backup.file"
    assert cli("backup", str(out)).exit_code == 0
    post(coop, 2, memo="after")
    refused = cli("restore", str(out))
    assert refused.exit_code == 3
    assert "has data (5 ledger entries, 3 members" in refused.stderr and "nothing was restored" in refused.stderr
    assert "use --force to replace it" in refused.stderr
    assert seqs_in(db_url) == [1, 2, 3, 4, 5]  # untouched
    forced = cli("restore", str(out), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "restored and verified (replacing 5 ledger entries" in forced.stdout
    assert seqs_in(db_url) == [1, 2, 3]


def test_a_file_that_is_not_a_backup_is_refused(coop, cli, db_url, tmp_path, backend):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    result = cli("restore", str(notes), "--force")
    assert result.exit_code == 2
    assert "is not an energy-coop backup (neither a SQLite database nor a pg_dump archive" in result.stderr
    if backend == "postgresql":
        other = tmp_path / "other.db"
        import sqlite3

        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
        wrong = cli("restore", str(other), "--force")
        assert wrong.exit_code == 2 and "is a sqlite backup, and the configured database is postgresql" in wrong.stderr
    else:
        import sqlite3

        stranger = tmp_path / "stranger.db"
        conn = sqlite3.connect(stranger)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        result = cli("restore", str(stranger), "--force")
        assert result.exit_code == 2 and "it is not an energy-coop database" in result.stderr
    assert seqs_in(db_url) == []


def test_backup_refusals_leave_nothing_behind(coop, cli, tmp_path, backend, monkeypatch):
    nowhere = cli("backup", str(tmp_path / "no" / "such" / "folder" / "b.db"))
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.stderr
    if backend == "postgresql":
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # a machine without PostgreSQL's client programs
        missing = cli("backup", str(tmp_path / "b.pgdump"))
        assert missing.exit_code == 2
        assert "pg_dump was not found" in missing.stderr and "apt-get install postgresql-client" in missing.stderr
        assert list(tmp_path.glob("b.pgdump*")) == []
