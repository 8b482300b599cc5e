"""Allocation and posting end to end (SPEC sections 5 and 6) on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from energy_coop.db import get_engine
from energy_coop.models import AllocationRun, LedgerEntry, LedgerHead, Member
from energy_coop.services.credits import ledger
from tests.helpers import add_readings, hourly, small_coop, utc

FEB = (utc(2024, 2, 1), utc(2024, 3, 1))  # 29 days x 24 hourly readings of 1 kWh


@pytest.fixture
def coop(sessions, tmp_path):
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        add_readings(s, "PM-SUN1", hourly(*FEB))
        # the battery charges 2 kWh every night hour 00-05 and discharges 1.5 kWh every other hour
        add_readings(s, "PM-BAT1", [(t, t + 3600, -2_000_000 if (t // 3600) % 24 < 6 else 1_500_000)
                                    for t in range(*FEB, 3600)])
    return sessions


def doc_of(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_draft_splits_day_by_day_and_changes_nothing(coop, cli):
    doc = doc_of(cli("allocate", "2024-02", "--json"))
    assert doc["status"] == "draft" and doc["run_id"] is None
    sun = next(a for a in doc["assets"] if a["asset_code"] == "SUN1")
    # 696 kWh at 0.10/kWh; 1001 holds 3/10 all month; 1002 2/10 until the 14th then 1/10; 1003 1/10 from the 15th
    assert (sun["coverage"], sun["wh"], sun["cents"]) == ("1.0000", 696_000, 6_960)
    assert sun["holders"] == [
        {"holder": "1001", "shares_days": 87, "wh": 208_800, "cents": 2_088},
        {"holder": "1002", "shares_days": 43, "wh": 103_200, "cents": 1_032},
        {"holder": "1003", "shares_days": 15, "wh": 36_000, "cents": 360},
        {"holder": "COOP", "shares_days": 145, "wh": 348_000, "cents": 3_480},
    ]
    bat = next(a for a in doc["assets"] if a["asset_code"] == "BAT1")
    # per day: 6 h x -2 kWh + 18 h x 1.5 kWh = 15 kWh; 29 days = 435 kWh; battery charging counts with its sign
    assert (bat["wh"], bat["cents"]) == (435_000, 4_350)
    assert bat["holders"] == [{"holder": "1003", "shares_days": 116, "wh": 435_000, "cents": 4_350}]
    assert doc["members"] == [
        {"member_number": "1001", "wh": 208_800, "cents": 2_088},
        {"member_number": "1002", "wh": 103_200, "cents": 1_032},
        {"member_number": "1003", "wh": 471_000, "cents": 4_710},
    ]
    assert (doc["total_wh"], doc["total_cents"]) == (1_131_000, 11_310)
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0
        assert s.scalar(select(func.count()).select_from(AllocationRun)) == 0


def test_post_writes_one_run_whose_entries_equal_the_document(coop, cli):
    doc = doc_of(cli("allocate", "2024-02", "--post", "--json"))
    assert doc["status"] == "posted" and isinstance(doc["run_id"], int)
    with coop.begin() as s:
        rows = s.execute(select(Member.member_number, func.sum(LedgerEntry.wh), func.sum(LedgerEntry.cents))
                         .join(Member).group_by(Member.member_number).order_by(Member.member_number)).all()
        assert [tuple(r) for r in rows] == [(m["member_number"], m["wh"], m["cents"]) for m in doc["members"]]
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 4  # 1001, 1002, 1003 on SUN1; 1003 on BAT1
        report = ledger.verify(s)
        assert report.ok, report.problems
        assert (report.total_wh, report.total_cents) == (783_000, 7_830)  # members only, not COOP
    verify = cli("ledger", "verify", "--json")
    assert verify.exit_code == 0 and json.loads(verify.stdout)["ok"] is True


def test_posting_twice_is_refused_with_status_3(coop, cli):
    doc_of(cli("allocate", "2024-02", "--post", "--json"))
    again = cli("allocate", "2024-02", "--post")
    assert again.exit_code == 3
    assert "2024-02 is already posted" in again.stderr and "--repost" in again.stderr
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(AllocationRun)) == 1


def test_repost_with_nothing_changed_is_a_no_op_that_says_so(coop, cli):
    first = doc_of(cli("allocate", "2024-02", "--post", "--json"))
    result = cli("allocate", "2024-02", "--repost", "--json")
    assert result.exit_code == 0 and "nothing changed" in result.stderr
    assert json.loads(result.stdout)["run_id"] == first["run_id"]
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 4


def test_repost_after_a_change_reverses_and_replaces_linked(coop, cli):
    first = doc_of(cli("allocate", "2024-02", "--post", "--json"))
    with coop.begin() as s:  # one more share issued to 1001 from the 20th changes the split
        s.execute(text("INSERT INTO share_transactions (ref, date, asset_id, kind, member_id, shares) "
                       "SELECT 'S-9', '2024-02-20', a.id, 'issue', m.id, 1 FROM assets a, members m "
                       "WHERE a.asset_code = 'SUN1' AND m.member_number = '1001'"))
    second = doc_of(cli("allocate", "2024-02", "--repost", "--json"))
    assert second["run_id"] != first["run_id"]
    with coop.begin() as s:
        reversals = s.scalars(select(LedgerEntry).where(LedgerEntry.kind == "reversal")).all()
        originals = {e.seq: e for e in s.scalars(select(LedgerEntry).where(LedgerEntry.run_id == first["run_id"]))}
        assert len(reversals) == 4 and {r.reverses_seq for r in reversals} == set(originals)
        assert all(r.wh == -originals[r.reverses_seq].wh and r.run_id == second["run_id"] for r in reversals)
        run = s.get(AllocationRun, second["run_id"])
        assert run.replaces_run_id == first["run_id"] and s.get(AllocationRun, first["run_id"]).superseded
        balance = dict(s.execute(select(Member.member_number, func.sum(LedgerEntry.cents)).join(Member)
                                 .group_by(Member.member_number)).all())
        assert balance == {m["member_number"]: m["cents"] for m in second["members"]}
        assert ledger.verify(s).ok


def test_a_reversal_cannot_happen_twice(coop, cli, db_url):
    doc_of(cli("allocate", "2024-02", "--post", "--json"))
    with coop.begin() as s:
        entry = s.scalars(select(LedgerEntry)).first()
        ledger.append(s, [ledger.NewEntry("reversal", entry.member_id, "1001", -entry.wh, -entry.cents,
                                          reverses_seq=entry.seq)])
    with pytest.raises(Exception, match="(?i)unique"):
        with coop.begin() as s:
            ledger.append(s, [ledger.NewEntry("reversal", entry.member_id, "1001", -entry.wh, -entry.cents,
                                              reverses_seq=entry.seq)])


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET cents = cents + 100",
    "DELETE FROM ledger_entries",
])
def test_the_database_refuses_raw_changes_to_posted_entries(coop, cli, db_url, statement):
    doc_of(cli("allocate", "2024-02", "--post", "--json"))
    engine = get_engine(db_url)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    with coop.begin() as s:
        assert ledger.verify(s).ok


def test_verify_finds_an_altered_entry(coop, cli, db_url, backend):
    doc_of(cli("allocate", "2024-02", "--post", "--json"))
    engine = get_engine(db_url)
    with engine.begin() as conn:  # an attacker with the database owner's rights switches the guard off
        if backend == "sqlite":
            conn.execute(text("DROP TRIGGER ledger_entries_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE ledger_entries SET cents = cents + 100 WHERE seq = 2"))
    result = cli("ledger", "verify")
    assert result.exit_code == 1
    assert "entry 2: its content does not match its hash" in result.stderr
    assert "the ledger head totals" in result.stderr


def test_gaps_block_posting_unless_allowed(coop, cli, db_url):
    with get_engine(db_url).begin() as conn:
        conn.execute(text("DELETE FROM readings WHERE start >= :a AND start < :b"),
                     {"a": utc(2024, 2, 10), "b": utc(2024, 2, 10, 3)})
    refused = cli("allocate", "2024-02", "--post")
    assert refused.exit_code == 2
    assert "asset SUN1, coverage: 0.9956 (693 of 696 intervals)" in refused.stderr
    draft = doc_of(cli("allocate", "2024-02", "--json"))
    assert next(a for a in draft["assets"] if a["asset_code"] == "SUN1")["coverage"] == "0.9956"
    posted = doc_of(cli("allocate", "2024-02", "--post", "--allow-gaps", "--json"))
    assert posted["status"] == "posted"


def test_an_asset_with_no_readings_has_coverage_zero(coop, cli):
    doc = doc_of(cli("allocate", "2024-01", "--json"))
    assert {a["asset_code"]: (a["coverage"], a["wh"]) for a in doc["assets"]} == {
        "SUN1": ("0.0000", 0), "BAT1": ("0.0000", 0)}


@pytest.mark.parametrize("period, message", [
    ("2024-13", "'2024-13' is not a month"),
    ("Feb 2024", "is not a month; write YYYY-MM"),
    ("2999-01", "2999-01 is in the future"),
])
def test_bad_periods_are_refused(coop, cli, period, message):
    result = cli("allocate", period)
    assert result.exit_code == 2 and message in result.stderr


def test_an_interval_without_a_rate_is_refused_naming_asset_and_time(coop, cli):
    with coop.begin() as s:
        add_readings(s, "PM-SUN1", hourly(utc(2023, 12, 31, 22), utc(2024, 1, 1)), name="before rates")
    result = cli("allocate", "2023-12")
    assert result.exit_code == 2
    assert "asset SUN1 has no credit rate at 2023-12-31T22:00:00+00:00" in result.stderr
    with coop.begin() as s:
        assert s.get(LedgerHead, 1).entries == 0
