"""Issued statements never change (SPEC 13): booked months, issuing in order, stored bytes, late postings and
reposts on the open month's statement."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import func, select, text

from energy_coop.documents.statements import issue_month
from energy_coop.errors import ConflictError, RefusedError
from energy_coop.models import AuditEntry, IssuedMonth, IssuedStatement, LedgerEntry, Meter
from energy_coop.services.credits import allocation, exports, issued, ledger, statements
from tests.helpers import FEB_TO_APR, three_metered_months

MAR = FEB_TO_APR[1]
NOW = dt.datetime(2024, 5, 3, 4, 40, tzinfo=dt.timezone.utc)


@pytest.fixture
def coop(sessions, tmp_path):
    """The small co-op with complete readings for February to April 2024; nothing posted."""
    three_metered_months(sessions, tmp_path / "registers")
    return sessions


def stored_hashes(sessions) -> dict[tuple[str, int], tuple[str, str, str, str]]:
    """(period, member id) -> the stored files' SHA-256, re-computed from the bytes, and as recorded."""
    with sessions.begin() as s:
        return {(r.period, r.member_id): (hashlib.sha256(r.pdf).hexdigest(), hashlib.sha256(r.csv).hexdigest(),
                                          r.pdf_sha256, r.csv_sha256)
                for r in s.scalars(select(IssuedStatement))}


def counts(sessions) -> tuple[int, int]:
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(IssuedMonth)),
                s.scalar(select(func.count()).select_from(IssuedStatement)))


def test_issuing_stores_every_statement_with_its_sha256(coop, cli):
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    result = cli("statements", "issue", "2024-02", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["period"] == "2024-02" and doc["statements"] == 3
    with coop.begin() as s:
        rows = s.scalars(select(IssuedStatement).order_by(IssuedStatement.number)).all()
        assert [r.number for r in rows] == ["2024-02-1001", "2024-02-1002", "2024-02-1003"]
        for r in rows:
            assert r.pdf.startswith(b"%PDF") and r.pdf_sha256 == hashlib.sha256(r.pdf).hexdigest()
            assert r.csv_sha256 == hashlib.sha256(r.csv).hexdigest()
            assert r.document["number"] == r.number and r.document["period"] == "2024-02"
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.entity == "statements")) == "issue"
    listed = json.loads(cli("statements", "list", "--json").stdout)["months"]
    assert [(m["period"], m["statements"]) for m in listed] == [("2024-02", 3)]


def test_export_writes_the_stored_bytes_and_twice_gives_identical_files(coop, cli, tmp_path):
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    assert cli("statements", "issue", "2024-02").exit_code == 0
    stored = stored_hashes(coop)
    for fmt in ("pdf", "csv"):
        digests = []
        for attempt in ("one", "two"):
            out = tmp_path / fmt / attempt
            result = cli("export", "statements", "--period", "2024-02", "--format", fmt, "--out", str(out))
            assert result.exit_code == 0, result.stderr
            digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()})
        assert digests[0] == digests[1] and len(digests[0]) == 3
        assert sorted(digests[0].values()) == sorted(v[0 if fmt == "pdf" else 1] for v in stored.values())


def test_a_month_not_issued_has_no_statements(coop, cli, tmp_path):
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    result = cli("export", "statements", "--period", "2024-02", "--format", "pdf", "--out", str(tmp_path / "x"))
    assert result.exit_code == 4
    assert "the statements of 2024-02 are not issued yet" in result.stderr
    assert "energy-coop statements issue 2024-02" in result.stderr
    assert not (tmp_path / "x").exists()


def test_issuing_is_refused_with_the_reason_and_writes_nothing(coop, cli):
    not_posted = cli("statements", "issue", "2024-02")
    assert not_posted.exit_code == 2 and "2024-02 cannot be issued: it has not been posted" in not_posted.stderr
    for period in ("2024-02", "2024-03"):
        assert cli("allocate", period, "--post").exit_code == 0
    out_of_order = cli("statements", "issue", "2024-03")
    assert out_of_order.exit_code == 2
    assert "2024-02 has entries and its statements are not issued yet" in out_of_order.stderr
    assert "issue 2024-02 first" in out_of_order.stderr
    with coop.begin() as s:
        with pytest.raises(RefusedError) as unfinished:  # the month is not over at this instant
            issue_month(s, "2024-02", actor="test", now=dt.datetime(2024, 2, 29, 23, 0, tzinfo=dt.timezone.utc))
    assert "the month is not over yet" in str(unfinished.value)
    assert "2024-02 ends at 2024-03-01 00:00 UTC for SUN1" in str(unfinished.value)
    assert counts(coop) == (0, 0)
    assert cli("statements", "issue", "2024-02").exit_code == 0
    again = cli("statements", "issue", "2024-02")
    assert again.exit_code == 3 and "2024-02's statements are issued already" in again.stderr
    before = cli("statements", "issue", "2024-01")
    assert before.exit_code == 2 and "2024-01 comes before 2024-02" in before.stderr
    with coop.begin() as s:  # readings of March revised after it was posted
        meter = s.scalar(select(Meter).where(Meter.code == "PM-SUN1"))
        assert allocation.mark_stale(s, meter.id, [MAR[0]], "readings revised") == ["2024-03"]
    stale = cli("statements", "issue", "2024-03")
    assert stale.exit_code == 2 and "meter readings changed after it was posted" in stale.stderr
    assert "repost the month first" in stale.stderr
    assert counts(coop) == (1, 3)


def test_late_posting_and_repost_change_no_issued_statement_and_show_on_the_open_month(coop, cli):
    # March is posted and issued before February is posted at all
    assert cli("allocate", "2024-03", "--post").exit_code == 0
    with coop.begin() as s:
        issue_month(s, "2024-03", actor="test", now=NOW)
        march_1001 = issued.get_statement(s, "1001", "2024-03").document
    frozen = stored_hashes(coop)
    assert all(v[0] == v[2] and v[1] == v[3] for v in frozen.values())

    # a late posting of February, a repost of March (one more share for 1001 from the 20th), a manual entry for
    # March: all booked in April, the open month
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    with coop.begin() as s:
        s.execute(text("INSERT INTO share_transactions (ref, date, asset_id, kind, member_id, shares) "
                       "SELECT 'S-9', '2024-03-20', a.id, 'issue', m.id, 1 FROM assets a, members m "
                       "WHERE a.asset_code = 'SUN1' AND m.member_number = '1001'"))
    assert cli("allocate", "2024-03", "--repost").exit_code == 0
    with coop.begin() as s:
        entry = ledger.record_manual_entry(s, kind="adjustment", member_number="1001", cents=250,
                                           memo="goodwill credit after the inverter fault in March, agreed at "
                                                "the members' meeting of 12 April with the whole board present",
                                           actor="test", period="2024-03", today=dt.date(2024, 5, 2))
        assert entry.booked == "2024-04"
        late = {b for (b,) in s.execute(select(LedgerEntry.booked).where(LedgerEntry.period == "2024-02"))}
        assert late == {"2024-04"}
        assert ledger.verify(s).ok

    assert stored_hashes(coop) == frozen  # not one byte of an issued statement changed
    with coop.begin() as s:
        assert issued.get_statement(s, "1001", "2024-03").document == march_1001
        mar = statements.statement(s, "1001", "2024-03")
        assert mar.as_dict()["closing_balance"] == march_1001["closing_balance"]  # the ledger's view agrees
        apr = statements.statement(s, "1001", "2024-04")
    assert (apr.opening_wh, apr.opening_cents) == (march_1001["closing_balance"]["wh"],
                                                   march_1001["closing_balance"]["cents"])
    labels = [(e.label, e.asset_code) for e in apr.earlier]
    assert labels == [("credits for 2024-02", "SUN1"), ("correction of 2024-03", "SUN1")]
    feb_sun = apr.earlier[0]
    assert (feb_sun.wh, feb_sun.cents) == (208_800, 2_088)  # 3 of 10 shares of 696 kWh at 0.10
    correction = apr.earlier[1]
    assert correction.correction and correction.wh > 0  # one more share from the 20th
    [other] = apr.other
    assert other.period == "2024-03" and other.memo.endswith("with the whole board present")
    assert apr.closing_cents == (apr.opening_cents + apr.credits_cents + apr.earlier_cents + other.cents)

    # April is posted and issued: its statement carries the lines, labelled
    assert cli("allocate", "2024-04", "--post").exit_code == 0
    with coop.begin() as s:
        issue_month(s, "2024-04", actor="test", now=NOW)
        doc = issued.get_statement(s, "1001", "2024-04").document
        csv_text = issued.get_statement(s, "1001", "2024-04").csv.decode()
        assert ledger.balance(s, s.scalar(text("SELECT id FROM members WHERE member_number = '1001'"))) == (
            doc["closing_balance"]["wh"], doc["closing_balance"]["cents"])
    assert [e["label"] for e in doc["earlier_months"]] == ["credits for 2024-02", "correction of 2024-03"]
    assert doc["other_entries"][0]["period"] == "2024-03"
    assert "earlier_month,SUN1,allocation" in csv_text and ",2024-02," in csv_text
    assert "earlier_month,SUN1,correction" in csv_text
    assert f"{doc['closing_balance']['wh']},{doc['closing_balance']['cents']}" in csv_text
    assert {k: v for k, v in stored_hashes(coop).items() if k[0] == "2024-03"} == frozen


def test_the_audit_bundle_holds_the_issued_statements_and_their_hashes(coop, cli, tmp_path):
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    with coop.begin() as s:
        manifest = exports.export_audit(s, "2024-02", tmp_path / "before")
    assert manifest["statements"]["issued"] is False and "not issued yet" in manifest["statements"]["note"]
    assert not (tmp_path / "before" / "statements").exists()
    assert cli("statements", "issue", "2024-02").exit_code == 0
    result = cli("export", "audit", "--period", "2024-02", "--out", str(tmp_path / "after"), "--json")
    manifest = json.loads(result.stdout)
    assert manifest["statements"]["issued"] is True and manifest["statements"]["count"] == 3
    for entry in manifest["statements"]["files"]:
        for fmt in ("pdf", "csv"):
            path = tmp_path / "after" / entry[fmt]
            assert manifest["files"][entry[fmt]] == entry[f"{fmt}_sha256_stored"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry[f"{fmt}_sha256_stored"]


def test_issued_rows_are_append_only_in_the_database(coop, cli, db_url):
    from energy_coop.db import get_engine
    from sqlalchemy.exc import DBAPIError

    assert cli("allocate", "2024-02", "--post").exit_code == 0
    assert cli("statements", "issue", "2024-02").exit_code == 0
    for statement in ("UPDATE issued_statements SET pdf_sha256 = 'x'", "DELETE FROM issued_months"):
        with pytest.raises(DBAPIError, match="append-only"):
            with get_engine(db_url).begin() as conn:
                conn.execute(text(statement))


def test_two_issues_of_one_month_exactly_one_wins(coop, cli):
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    with coop.begin() as s:
        issue_month(s, "2024-02", actor="first", now=NOW)
    with coop.begin() as s, pytest.raises(ConflictError):
        issue_month(s, "2024-02", actor="second", now=NOW)
    with coop.begin() as s:
        assert s.scalar(select(IssuedMonth.issued_by)) == "first"
