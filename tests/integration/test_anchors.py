"""Signed anchors of the ledger's head and `ledger verify --against` (issue 16), on SQLite and PostgreSQL.

Each tamper is done as an attacker with the database owner's rights would: the append-only guards switched off
(SQLite: its triggers dropped; PostgreSQL: session_replication_role = replica), rows changed and the ledger's
head adjusted so that a plain `ledger verify` still says "intact". Only an anchor kept outside can tell.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from energy_coop.calc.credits.chain import entry_content, entry_hash
from energy_coop.db import get_engine
from energy_coop.models import AuditEntry, IssuedStatement
from energy_coop.services.credits import ledger
from tests.helpers import add_readings, hourly, small_coop, utc

FEB = (utc(2024, 2, 1), utc(2024, 3, 1))


@pytest.fixture
def coop(sessions, tmp_path):
    """The small co-op with nine manual adjustments on 1001's account (ledger entries 1..9)."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
    for i in range(1, 10):
        with sessions.begin() as s:
            ledger.record_manual_entry(s, kind="adjustment", member_number="1001", cents=100 * i,
                                       memo=f"adjustment {i}", actor="test", period="2024-01")
    return sessions


@pytest.fixture
def key(cli, tmp_path):
    path = tmp_path / "keys" / "anchor.key"
    path.parent.mkdir()
    result = cli("ledger", "anchor-key", str(path))
    assert result.exit_code == 0, result.stderr
    return path


def anchor_file(cli, key, tmp_path, name="anchor.json"):
    out = tmp_path / name
    result = cli("ledger", "anchor", "--key", str(key), "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    return out, json.loads(result.stdout)


def guards_off(conn, backend):
    """What an attacker with the owner's rights does first: switch the append-only triggers off."""
    if backend == "sqlite":
        for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
            conn.execute(text(f'DROP TRIGGER "{name}"'))
    else:
        conn.execute(text("SET LOCAL session_replication_role = replica"))


def fix_head(conn):
    """Make ledger_head agree with what is left, so a plain `ledger verify` passes."""
    last = conn.execute(text("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1")).one()
    n, wh, cents = conn.execute(text("SELECT count(*), coalesce(sum(wh), 0), coalesce(sum(cents), 0) "
                                     "FROM ledger_entries")).one()
    conn.execute(text("UPDATE ledger_head SET last_seq = :s, last_hash = :h, entries = :n, total_wh = :wh, "
                      "total_cents = :c WHERE id = 1"),
                 {"s": last.seq, "h": last.hash, "n": n, "wh": wh, "c": cents})


def truncate(db_url, backend, keep: int):
    with get_engine(db_url).begin() as conn:
        guards_off(conn, backend)
        conn.execute(text("DELETE FROM ledger_entries WHERE seq > :k"), {"k": keep})
        fix_head(conn)


def rewrite(sessions, db_url, backend, seq: int, add_cents: int):
    """Change entry ``seq``'s amount and recompute every hash from there on, as a careful forger would."""
    with sessions.begin() as s:
        entries = [e for e in ledger.iter_chain(s)]
    with get_engine(db_url).begin() as conn:
        guards_off(conn, backend)
        prev = entries[seq - 2].hash if seq > 1 else "0" * 64
        for e in entries[seq - 1:]:
            cents = e.cents + (add_cents if e.seq == seq else 0)
            digest = entry_hash(prev, entry_content(e.seq, e.kind, e.member_number, e.period, e.asset_code, e.wh,
                                                    cents, e.run_id, e.reverses_seq, e.memo, e.created_at,
                                                    e.booked))
            conn.execute(text("UPDATE ledger_entries SET cents = :c, prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"c": cents, "p": prev, "h": digest, "s": e.seq})
            prev = digest
        fix_head(conn)


def test_anchor_key_is_private_and_the_public_key_is_printed(cli, key, tmp_path):
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    public = key.with_name("anchor.key.pub").read_text()
    assert public.startswith("-----BEGIN PUBLIC KEY-----")
    again = cli("ledger", "anchor-key", str(key))
    assert again.exit_code == 3 and "exists already" in again.stderr
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # not overwritten


def test_anchor_is_signed_recorded_in_the_audit_log_and_verifies(coop, cli, key, tmp_path):
    out, made = anchor_file(cli, key, tmp_path)
    doc = json.loads(out.read_text())
    assert doc["head"]["seq"] == 9 and doc["head"]["entries"] == 9
    assert doc["head"]["total_cents"] == 4500 and doc["head"]["total_wh"] == 0
    assert doc["signature"]["algorithm"] == "Ed25519"
    assert made["seq"] == 9 and made["hash"] == doc["head"]["hash"]
    with coop.begin() as s:
        row = s.scalar(select(AuditEntry).where(AuditEntry.action == "ledger_anchor"))
        assert row.entity_key == "9"
        assert row.after["hash"] == doc["head"]["hash"] and row.after["anchor_sha256"] == made["anchor_sha256"]
    result = cli("ledger", "verify", "--against", str(out), "--public-key", str(key) + ".pub")
    assert result.exit_code == 0, result.stderr
    assert f"extends the anchor (entry 9, hash {doc['head']['hash']}" in result.stdout
    assert "checked against the public key given" in result.stdout


def test_later_entries_still_extend_the_anchor(coop, cli, key, tmp_path):
    out, made = anchor_file(cli, key, tmp_path)
    for i in range(3):
        with coop.begin() as s:
            ledger.record_manual_entry(s, kind="adjustment", member_number="1002", cents=7, memo=f"later {i}",
                                       actor="test", period="2024-01")
    result = cli("ledger", "verify", "--against", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["entries"] == 12
    assert doc["against"]["extends"] and doc["against"]["seq"] == 9 and doc["against"]["problems"] == []
    # the head hash an auditor wrote down works without any file or signature
    bare = cli("ledger", "verify", "--against", made["hash"])
    assert bare.exit_code == 0 and "extends the anchor (entry 9" in bare.stdout


def test_truncation_with_a_fixed_head_fails_naming_the_first_missing_entry(coop, cli, key, tmp_path, db_url,
                                                                           backend):
    out, made = anchor_file(cli, key, tmp_path)
    truncate(db_url, backend, keep=6)
    assert cli("ledger", "verify").exit_code == 0  # the plain check is fooled
    result = cli("ledger", "verify", "--against", str(out))
    assert result.exit_code == 1
    assert ("entry 7 is missing: the anchor of " in result.stderr
            and "covers entries 1 to 9, and the ledger now ends at entry 6" in result.stderr)
    assert "does NOT extend the anchor" in result.stdout
    bare = cli("ledger", "verify", "--against", made["hash"])
    assert bare.exit_code == 1 and f"no ledger entry has the hash {made['hash'][:12]}" in bare.stderr


def test_a_rewrite_with_recomputed_hashes_fails_naming_the_first_changed_entry(coop, cli, key, tmp_path, db_url,
                                                                               backend):
    out, _ = anchor_file(cli, key, tmp_path)
    rewrite(coop, db_url, backend, seq=4, add_cents=50_000)
    assert cli("ledger", "verify").exit_code == 0  # the chain is consistent again, the head fixed
    result = cli("ledger", "verify", "--against", str(out), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["against"]["extends"] is False
    [problem] = doc["against"]["problems"]
    assert problem.startswith("entry 4 changed after the anchor of ")
    assert "entry 9 no longer has the anchored hash" in problem


def test_a_rewrite_of_the_anchored_entry_itself_and_a_truncation_before_a_rewrite(coop, cli, key, tmp_path,
                                                                                 db_url, backend):
    out, _ = anchor_file(cli, key, tmp_path)
    rewrite(coop, db_url, backend, seq=9, add_cents=1)
    result = cli("ledger", "verify", "--against", str(out))
    assert result.exit_code == 1 and "entry 9 changed after the anchor" in result.stderr
    truncate(db_url, backend, keep=8)
    with coop.begin() as s:  # and a new, different entry 9 appended in its place
        ledger.record_manual_entry(s, kind="adjustment", member_number="1001", cents=900, memo="adjustment 9",
                                   actor="test", period="2024-01")
    result = cli("ledger", "verify", "--against", str(out))
    assert result.exit_code == 1 and "entry 9 changed after the anchor" in result.stderr


def test_a_forged_or_foreign_signature_and_a_file_that_is_no_anchor_are_refused(coop, cli, key, tmp_path, db_url,
                                                                               backend):
    out, _ = anchor_file(cli, key, tmp_path)
    rewrite(coop, db_url, backend, seq=4, add_cents=50_000)
    with coop.begin() as s:
        new_head = s.execute(text("SELECT last_hash FROM ledger_head")).scalar_one()
    doc = json.loads(out.read_text())
    doc["head"]["hash"] = new_head  # the forger makes the anchor agree with the rewritten ledger
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    result = cli("ledger", "verify", "--against", str(forged))
    assert result.exit_code == 2
    assert "signature does not match its contents" in result.stderr
    # signed afresh with the forger's own key: refused against the co-op's public key
    other = tmp_path / "other.key"
    assert cli("ledger", "anchor-key", str(other)).exit_code == 0
    theirs, _ = anchor_file(cli, other, tmp_path, "theirs.json")
    result = cli("ledger", "verify", "--against", str(theirs), "--public-key", str(key) + ".pub")
    assert result.exit_code == 2 and "was signed by the key sha256:" in result.stderr
    for name, content in (("notes.txt", "just some notes\n"), ("other.json", '{"format": "something else"}'),
                          ("half.json", json.dumps({**doc, "trail": {"stride": 0}}))):
        path = tmp_path / name
        path.write_text(content)
        result = cli("ledger", "verify", "--against", str(path))
        assert result.exit_code == 2, (name, result.stderr)
        assert "this is not a ledger anchor" in result.stderr or "malformed" in result.stderr
    missing = cli("ledger", "verify", "--against", str(tmp_path / "nowhere.json"))
    assert missing.exit_code == 2 and "is neither an anchor file that can be read" in missing.stderr


def test_anchor_refusals_name_the_key(coop, cli, key, tmp_path, monkeypatch):
    monkeypatch.delenv("ENERGY_COOP_ANCHOR_KEY", raising=False)
    none = cli("ledger", "anchor")
    assert none.exit_code == 2 and "no signing key: give --key FILE or set ENERGY_COOP_ANCHOR_KEY" in none.stderr
    os.chmod(key, 0o644)
    loose = cli("ledger", "anchor", "--key", str(key))
    assert loose.exit_code == 2 and "can be read by other users (mode 0644)" in loose.stderr
    os.chmod(key, 0o600)
    monkeypatch.setenv("ENERGY_COOP_ANCHOR_KEY", str(key))
    monkeypatch.chdir(tmp_path)
    made = cli("ledger", "anchor")
    assert made.exit_code == 0, made.stderr
    assert (tmp_path / "ledger-anchor-9.json").exists()


@pytest.fixture
def posted(sessions, tmp_path, cli):
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        add_readings(s, "PM-SUN1", hourly(*FEB))
        add_readings(s, "PM-BAT1", hourly(*FEB, mwh=500_000))
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    return sessions


def test_statements_and_the_audit_bundle_carry_the_anchor(posted, cli, key, tmp_path):
    out, made = anchor_file(cli, key, tmp_path)
    assert cli("statements", "issue", "2024-02").exit_code == 0, "issue"
    summary = {"seq": made["seq"], "hash": made["hash"], "signed_at": made["signed_at"],
               "public_key_fingerprint": made["public_key_fingerprint"]}
    with posted.begin() as s:
        row = s.scalars(select(IssuedStatement)).first()
        assert row.document["anchor"] == summary
        pdf = row.pdf
    page_text = "".join(p.extract_text() for p in PdfReader(__import__("io").BytesIO(pdf)).pages)
    assert f"Ledger checkpoint: entry {made['seq']}, hash {made['hash'][:16]}" in page_text
    bundle = tmp_path / "audit"
    assert cli("export", "audit", "--period", "2024-02", "--out", str(bundle)).exit_code == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["ledger_anchor"] == summary
