"""Migration 0013 books every existing entry in its own month and keeps the whole chain verifiable (SPEC 13).

A long ledger is written at revision 0012 the way the old code wrote it (the old hash rule, raw inserts),
verified by the old rule, upgraded, and verified again by ``ledger verify`` and by the export's rule.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import text

from energy_coop.calc.credits.chain import GENESIS, ChainEntry, entry_content, entry_hash, verify_chain
from energy_coop.db import dispose_all, get_sessionmaker
from energy_coop.migrate import upgrade
from energy_coop.services.credits import ledger
from tests.helpers import database_at, small_coop

PERIODS = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]


@pytest.fixture
def url_at_0012(backend, tmp_path):
    """An empty database migrated to revision 0012 only (its own file, or its own PostgreSQL schema)."""
    with database_at(backend, tmp_path, "0012") as url:
        yield url


def _write_old_ledger(url: str, tmp_path, backend: str) -> list[tuple]:
    """Registers by the services, then 24 months of allocation entries plus manual ones (one without a period)
    inserted as revision 0012's code did. Returns the rows as written."""
    sessions = get_sessionmaker(url)
    _registers_at_0012(url, tmp_path)
    rng = random.Random(13)
    members = {"1001": 1, "1002": 2, "1003": 3}
    assets = {"SUN1": 1, "BAT1": 2}
    rows = []
    prev, seq = GENESIS, 0
    engine = sessions.kw["bind"]
    with engine.begin() as conn:
        for run_id, period in enumerate(PERIODS, start=1):
            created = dt.datetime.fromisoformat(period + "-03T04:40:00+00:00") + dt.timedelta(days=31)
            run_wh = run_cents = n = 0
            for _ in range(60):  # a few long months
                for number, code in (("1001", "SUN1"), ("1002", "SUN1"), ("1003", "BAT1")):
                    seq += 1
                    wh = rng.randint(1, 400_000)
                    cents = wh // 10
                    digest = entry_hash(prev, entry_content(seq, "allocation", number, period, code, wh, cents,
                                                            run_id, None, None, created))
                    rows.append((seq, "allocation", members[number], number, period, assets[code], code, wh,
                                 cents, run_id, None, None, created, prev, digest))
                    prev = digest
                    run_wh += wh
                    run_cents += cents
                    n += 1
            conn.execute(text(
                "INSERT INTO allocation_runs (id, period, generation, posted_at, posted_by, allow_gaps, "
                "inputs_sha256, total_wh, total_cents, member_wh, member_cents, entries, document, superseded) "
                "VALUES (:id, :p, 1, :at, 'old code', :f, :h, :wh, :c, :wh, :c, :n, '{}', :f)"),
                {"id": run_id, "p": period, "at": _stored(created, backend), "f": False, "h": "0" * 64,
                 "wh": run_wh, "c": run_cents, "n": n})
        for period, memo in (("2025-12", "cheque | 17 \\ back"), (None, "an old entry without a month")):
            seq += 1
            created = dt.datetime(2026, 1, 31, 23, 59, 59, 999_999, tzinfo=dt.timezone.utc)
            digest = entry_hash(prev, entry_content(seq, "adjustment", "1001", period, None, 0, 500, None, None,
                                                    memo, created))
            rows.append((seq, "adjustment", 1, "1001", period, None, None, 0, 500, None, None, memo, created, prev,
                         digest))
            prev = digest
        conn.execute(text(
            "INSERT INTO ledger_entries (seq, kind, member_id, period, asset_id, wh, cents, run_id, reverses_seq, "
            "memo, created_at, prev_hash, hash) VALUES (:seq, :kind, :member_id, :period, :asset_id, :wh, :cents, "
            ":run_id, :reverses_seq, :memo, :created_at, :prev_hash, :hash)"),
            [{"seq": r[0], "kind": r[1], "member_id": r[2], "period": r[4], "asset_id": r[5], "wh": r[7],
              "cents": r[8], "run_id": r[9], "reverses_seq": r[10], "memo": r[11],
              "created_at": _stored(r[12], backend), "prev_hash": r[13], "hash": r[14]} for r in rows])
        conn.execute(text("UPDATE ledger_head SET last_seq = :s, last_hash = :h, entries = :s, total_wh = :wh, "
                          "total_cents = :c WHERE id = 1"),
                     {"s": seq, "h": prev, "wh": sum(r[7] for r in rows), "c": sum(r[8] for r in rows)})
    return rows


def _registers_at_0012(url: str, tmp_path) -> None:
    """The small co-op's registers, loaded by today's services (which chain the audit log, so need revision 0015)
    and then taken back down to revision 0012, where the old ledger is written."""
    from alembic import command

    from energy_coop.migrate import alembic_config

    upgrade(url)
    with get_sessionmaker(url).begin() as s:
        small_coop(s, tmp_path / "registers")
    dispose_all()
    command.downgrade(alembic_config(url), "0012")
    dispose_all()


def _stored(when: dt.datetime, backend: str):
    return when.replace(tzinfo=None).isoformat(sep=" ") if backend == "sqlite" else when


def test_upgrade_books_each_entry_in_its_month_and_the_chain_still_verifies(url_at_0012, tmp_path, backend):
    rows = _write_old_ledger(url_at_0012, tmp_path, backend)
    assert len(rows) == 24 * 180 + 2
    # before: the chain verifies by the rule of revision 0012 (no booked month at all)
    old = [ChainEntry(r[0], r[1], r[3], r[4], None, r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14])
           for r in rows]
    assert verify_chain(old) == []

    upgrade(url_at_0012)
    dispose_all()
    with get_sessionmaker(url_at_0012).begin() as s:
        report = ledger.verify(s)
        assert report.problems == [] and report.entries == len(rows)
        booked = dict(s.execute(text("SELECT seq, booked FROM ledger_entries")).all())
    assert booked[1] == "2024-01" and booked[len(rows) - 2] == "2025-12"
    assert booked[len(rows)] == "2026-01"  # no period: the UTC month it was made in
    assert all(booked[r[0]] == r[4] for r in rows if r[4] is not None)


def test_a_changed_booked_month_breaks_the_chain(url_at_0012, tmp_path, backend):
    _write_old_ledger(url_at_0012, tmp_path, backend)
    upgrade(url_at_0012)
    dispose_all()
    sessions = get_sessionmaker(url_at_0012)
    with sessions.begin() as s:
        entries = list(ledger.iter_chain(s))
    moved = [e if e.seq != 5 else ChainEntry(*[getattr(e, f) if f != "booked" else "2026-02"
                                               for f in ChainEntry.__dataclass_fields__]) for e in entries]
    assert verify_chain(moved) == ["entry 5: its content does not match its hash (altered after posting)"]
