"""The read-only sessions of web GET requests (``db.get_read_sessionmaker``) see committed data and can never
write, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, func, select, text

from energy_coop.db import get_read_sessionmaker
from energy_coop.models import Member
from tests.helpers import small_coop


def test_reads_see_what_was_committed_and_refuse_to_write(db_url, sessions, tmp_path):
    reads = get_read_sessionmaker(db_url)
    with reads.begin() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 0
    with sessions.begin() as s:
        small_coop(s, tmp_path)
    with reads.begin() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 3
    with pytest.raises(exc.DBAPIError, match=r"(?i)read.only|readonly"):
        with reads.begin() as s:
            s.execute(text("UPDATE members SET name = 'changed' WHERE member_number = '1001'"))
    with sessions.begin() as s:
        assert s.scalar(select(Member.name).where(Member.member_number == "1001")) == "Ada Lovelace"
        s.execute(text("UPDATE members SET name = 'Ada King' WHERE member_number = '1001'"))  # writers still can
    with reads.begin() as s:
        assert s.scalar(select(Member.name).where(Member.member_number == "1001")) == "Ada King"


def test_a_snapshot_sees_one_instant_and_refuses_to_write(db_url, sessions, tmp_path):
    from energy_coop.db import get_snapshot_sessionmaker

    with sessions.begin() as s:
        small_coop(s, tmp_path)
    snapshots = get_snapshot_sessionmaker(db_url)
    with snapshots.begin() as snap:
        assert snap.scalar(select(Member.name).where(Member.member_number == "1001")) == "Ada Lovelace"
        with sessions.begin() as s:  # committed while the snapshot is open
            s.execute(text("UPDATE members SET name = 'Ada King' WHERE member_number = '1001'"))
        assert snap.scalar(select(Member.name).where(Member.member_number == "1001")) == "Ada Lovelace"
    with snapshots.begin() as snap:
        assert snap.scalar(select(Member.name).where(Member.member_number == "1001")) == "Ada King"
    with pytest.raises(exc.DBAPIError, match=r"(?i)read.only|readonly"):
        with snapshots.begin() as snap:
            snap.execute(text("DELETE FROM share_transactions"))
