"""Tamper-evidence (issue 16) on SQLite and PostgreSQL: the audit log's chain catches an edited or removed entry,
SQLite refuses INSERT OR REPLACE on the append-only tables, the chains' heads move only onto their chain's end,
and ``energy-coop verify`` (``ledger verify`` too) names the first changed or missing entry."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from energy_coop.calc.audit.chain import GENESIS
from energy_coop.db import get_engine
from energy_coop.models import AuditEntry, AuditHead, LedgerHead
from energy_coop.services import audit, audit_chain, verification
from tests.helpers import add_readings, hourly, small_coop, utc

FEB = (utc(2024, 2, 1), utc(2024, 3, 1))


@pytest.fixture
def coop(sessions, tmp_path, cli):
    """The small co-op's registers (audited row by row) and February 2024 posted: 4 ledger entries, 696 kWh and
    69.60 in credits (SUN1 696 kWh less the co-op's half, BAT1 348 kWh to 1003)."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        add_readings(s, "PM-SUN1", hourly(*FEB))
        add_readings(s, "PM-BAT1", hourly(*FEB, 500_000))
    posted = cli("allocate", "2024-02", "--post", "--json")
    assert posted.exit_code == 0, posted.stderr
    return sessions


def _tamper(db_url: str, backend: str, *statements: str, triggers: tuple[str, ...] = ()) -> None:
    """Run ``statements`` as an attacker with the owner's rights: SQLite drops ``triggers`` first; on PostgreSQL
    a superuser's ``session_replication_role = replica`` skips every trigger."""
    with get_engine(db_url).begin() as conn:
        if backend == "sqlite":
            for name in triggers:
                conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement))


def _audit_count(sessions) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def test_verify_json_prints_both_heads_and_ledger_verify_is_the_same(coop, cli):
    result = cli("verify", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    n = _audit_count(coop)
    with coop.begin() as s:
        head = s.get(LedgerHead, 1)
        last_audit = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == n))
        assert (head.last_seq, head.entries, head.total_wh, head.total_cents) == (4, 4, 696_000, 6_960)
        assert doc == {"ledger": {"seq": 4, "hash": head.last_hash, "entries": 4, "total_wh": 696_000,
                                  "total_cents": 6_960},
                       "audit_log": {"seq": n, "hash": last_audit, "entries": n}, "ok": True, "problems": []}
        assert s.get(AuditHead, 1).last_hash == last_audit
    assert n > 10  # every register row, the import batches and the posting
    assert json.loads(cli("ledger", "verify", "--json").stdout) == doc
    text_out = cli("verify")
    assert text_out.exit_code == 0
    assert text_out.stdout.splitlines()[0].startswith("ledger intact: 4 entries, 3 members")
    assert text_out.stdout.splitlines()[1].startswith(f"audit log intact: {n} entries, ending at entry {n}")


def test_an_edited_audit_entry_is_named(coop, cli, db_url, backend):
    _tamper(db_url, backend, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 3",
            triggers=("audit_log_no_update",))
    result = cli("verify")
    assert result.exit_code == 1
    assert "audit log BROKEN" in result.stdout and "ledger intact" in result.stdout
    problems = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1
    assert problems[0].startswith("  - audit log entry 3 (id 3, ")
    assert problems[0].endswith(", someone else: create member 1003): its content does not match its hash "
                                "(changed after it was written)")
    doc = json.loads(cli("verify", "--json").stdout)
    assert doc["ok"] is False and doc["problems"] == [problems[0][4:]]


def test_a_deleted_audit_entry_is_named_as_missing(coop, cli, db_url, backend):
    _tamper(db_url, backend, "DELETE FROM audit_log WHERE seq = 2", triggers=("audit_log_no_delete",))
    problems = json.loads(cli("verify", "--json").stdout)["problems"]
    assert problems[0] == "audit log entry 2 is missing (entry 3 follows entry 1)"


def test_a_deleted_last_audit_entry_is_named_and_its_head_cannot_be_lowered_after_it(coop, cli, db_url, backend):
    n = _audit_count(coop)
    _tamper(db_url, backend, "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
            triggers=("audit_log_no_delete",))
    with pytest.raises(DBAPIError, match="audit_head moves only onto the last entry of its chain"):
        with get_engine(db_url).begin() as conn:
            conn.execute(text(f"UPDATE audit_head SET last_seq = {n - 1}, entries = {n - 1}, last_hash = "
                              f"(SELECT hash FROM audit_log WHERE seq = {n - 1})"))
    result = cli("verify", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"] == [
        f"audit log entry {n} is missing: the audit log's head says it ends at entry {n}, the log ends at entry "
        f"{n - 1}"]


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_head SET last_seq = 3, entries = 3",
    "UPDATE ledger_head SET total_cents = total_cents + 100",
    "UPDATE ledger_head SET last_hash = '" + "f" * 64 + "'",
    "DELETE FROM ledger_head",
    "UPDATE audit_head SET entries = entries + 1",
    "DELETE FROM audit_head",
])
def test_the_heads_refuse_any_move_that_is_not_onto_their_chain(coop, cli, db_url, statement):
    before = cli("verify", "--json").stdout
    with pytest.raises(DBAPIError, match="moves only onto the last entry of its chain"):
        with get_engine(db_url).begin() as conn:
            conn.execute(text(statement))
    assert cli("verify", "--json").stdout == before


def test_a_ledger_head_changed_behind_the_triggers_is_detected(coop, cli, db_url, backend):
    _tamper(db_url, backend, "UPDATE ledger_head SET last_seq = 6, entries = 6", triggers=("ledger_head_forward",))
    problems = json.loads(cli("ledger", "verify", "--json").stdout)["problems"]
    assert problems[0] == "ledger: entries 5..6 are missing: the ledger head ends at entry 6, the chain at entry 4"


REPLACES = {
    "audit_log": "INSERT OR REPLACE INTO audit_log (id, at, actor, action, entity, seq, prev_hash, hash) "
                 "SELECT id, at, 'mallory', action, entity, seq, prev_hash, hash FROM audit_log WHERE seq = 2",
    "ledger_entries": "INSERT OR REPLACE INTO ledger_entries (seq, kind, member_id, period, booked, asset_id, wh, "
                      "cents, run_id, memo, created_at, prev_hash, hash) SELECT seq, kind, member_id, period, "
                      "booked, asset_id, wh, cents + 100000, run_id, memo, created_at, prev_hash, hash "
                      "FROM ledger_entries WHERE seq = 2",
    "issued_months": "INSERT OR REPLACE INTO issued_months (period, issued_at, issued_by, statements, ledger_seq, "
                     "allocation_run_id) VALUES ('2024-02', '2024-03-05 00:00:00', 'mallory', 0, 1, 1)",
    "issued_statements": "INSERT OR REPLACE INTO issued_statements (id, period, member_id, number, document, pdf, "
                         "pdf_sha256, csv, csv_sha256) VALUES (1, '2024-02', 1, 'X', '{}', x'00', 'x', x'00', 'x')",
    "ledger_head": "INSERT OR REPLACE INTO ledger_head (id, last_seq, last_hash, entries, total_wh, total_cents) "
                   "VALUES (1, 3, 'x', 3, 0, 0)",
    "audit_head": "INSERT OR REPLACE INTO audit_head (id, last_seq, last_hash, entries) VALUES (1, 1, 'x', 1)",
    "replace into": "REPLACE INTO audit_log (id, at, actor, action, entity, seq, prev_hash, hash) "
                    "SELECT id + 1, at, 'mallory', action, entity, seq, prev_hash, hash FROM audit_log WHERE seq = 2",
}


def _snapshot(conn) -> dict[str, list]:
    return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))]
            for t in ("audit_log", "ledger_entries", "issued_months", "issued_statements", "ledger_head",
                      "audit_head")}


@pytest.mark.parametrize("table", list(REPLACES))
def test_sqlite_refuses_insert_or_replace_and_nothing_changes(coop, cli, db_url, backend, table):
    if backend != "sqlite":
        pytest.skip("REPLACE is SQLite's; PostgreSQL's ON CONFLICT DO UPDATE fires the UPDATE triggers")
    engine = get_engine(db_url)
    with engine.begin() as conn:  # an issued month and statement, written as issuing would (raw: no PDF needed)
        conn.execute(text("INSERT INTO issued_months (period, issued_at, issued_by, statements, ledger_seq, "
                          "allocation_run_id) VALUES ('2024-02', '2024-03-04 00:00:00', 'test', 1, 4, 1)"))
        conn.execute(text("INSERT INTO issued_statements (id, period, member_id, number, document, pdf, pdf_sha256, "
                          "csv, csv_sha256) VALUES (1, '2024-02', 1, 'S-1', '{}', x'01', 'a', x'01', 'b')"))
    with engine.connect() as conn:
        before = _snapshot(conn)
    with pytest.raises(DBAPIError, match="append-only: an INSERT repeating a unique key|append-only: DELETE refused|moves only onto"):
        with engine.begin() as conn:
            conn.execute(text(REPLACES[table]))
    with engine.connect() as conn:
        assert _snapshot(conn) == before
    assert json.loads(cli("verify", "--json").stdout)["ok"] is True


def test_two_writers_chain_their_entries_one_after_the_other(sessions):
    """Eight threads, each recording 25 entries in its own transactions: the chain has all 200, in order."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with sessions.begin() as s:
                    audit.record(s, actor=f"writer{n}@example.org", action="update", entity="setting",
                                 key=f"k{i}", before={"value": i}, after={"value": i + 1, "note": "a | b"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sessions.begin() as s:
        report = audit_chain.verify(s)
        assert (report.problems, report.entries, report.last_seq) == ([], 200, 200)
        assert report.last_hash == s.get(AuditHead, 1).last_hash != GENESIS


def test_a_rolled_back_entry_leaves_the_chain_as_it_was(sessions):
    with sessions.begin() as s:
        audit.record(s, actor="a@example.org", action="create", entity="member", key="1")
    with pytest.raises(RuntimeError):
        with sessions.begin() as s:
            audit.record(s, actor="a@example.org", action="create", entity="member", key="2")
            raise RuntimeError("the change failed")
    with sessions.begin() as s:
        audit.record(s, actor="a@example.org", action="create", entity="member", key="3")
        audit.record(s, actor="a@example.org", action="create", entity="member", key="4")
    with sessions.begin() as s:
        result = verification.verify(s)
        assert result.ok and result.audit_log.head()["entries"] == 3
        assert list(s.scalars(select(AuditEntry.entity_key).order_by(AuditEntry.seq))) == ["1", "3", "4"]
