"""Migration 0015 chains an existing audit log in id order, so an existing database verifies right after the
upgrade, and new entries go on from its end (issue 16)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from energy_coop.db import dispose_all, get_sessionmaker
from energy_coop.migrate import upgrade
from energy_coop.models.base import UTCDateTime
from energy_coop.services import audit, audit_chain, verification
from tests.helpers import database_at

ROWS = 5_300  # more than the migration's batch of 5,000


@pytest.fixture
def url_at_0014(backend, tmp_path):
    """An empty database migrated to revision 0014 only (its own file, or its own PostgreSQL schema)."""
    with database_at(backend, tmp_path, "0014") as url:
        yield url


OLD_AUDIT = sa.table("audit_log", sa.column("id", sa.Integer()), sa.column("at", UTCDateTime(timezone=True)),
                     sa.column("actor", sa.String()), sa.column("action", sa.String()),
                     sa.column("entity", sa.String()), sa.column("entity_key", sa.String()),
                     sa.column("before", sa.JSON()), sa.column("after", sa.JSON()), sa.column("note", sa.Text()))


def _old_rows() -> list[dict]:
    """Audit entries as revision 0014's code wrote them, ids with gaps (a PostgreSQL sequence skips numbers
    after a rollback), values with pipes, backslashes, accents, nesting and absent parts."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    rows = []
    for i in range(ROWS):
        rows.append({"id": 1 + i + i // 100, "at": start + dt.timedelta(minutes=i, microseconds=i),
                     "actor": "admin@example.org" if i % 3 else "Zoë | the treasurer",
                     "action": "update", "entity": "member", "entity_key": None if i % 7 == 0 else str(1000 + i),
                     "before": None if i % 2 else {"name": f"Old \\ name {i}", "shares": [i, {"kind": "A"}]},
                     "after": {"name": f"Nom café {i}", "shares": i + 1, "active": True, "ratio": 0.5},
                     "note": "via | the admin page" if i % 5 == 0 else None})
    return rows


def test_the_backfill_chains_an_existing_log_that_then_verifies_and_grows(url_at_0014):
    rows = _old_rows()
    engine = get_sessionmaker(url_at_0014).kw["bind"]
    with engine.begin() as conn:
        conn.execute(OLD_AUDIT.insert(), rows)
        if conn.dialect.name == "postgresql":  # the old code's ids came from the sequence; these were given
            conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), max(id)) FROM audit_log"))
    dispose_all()

    upgrade(url_at_0014)
    dispose_all()
    sessions = get_sessionmaker(url_at_0014)
    with sessions.begin() as s:
        report = audit_chain.verify(s)
        assert (report.problems, report.entries, report.last_seq) == ([], ROWS, ROWS)
        # seq follows id order, without the ids' gaps
        pairs = s.execute(text("SELECT seq, id FROM audit_log ORDER BY seq")).all()
        assert [p[1] for p in pairs] == [r["id"] for r in rows] and [p[0] for p in pairs] == list(range(1, ROWS + 1))
        head = s.execute(text("SELECT last_seq, entries, last_hash FROM audit_head")).one()
        assert tuple(head) == (ROWS, ROWS, report.last_hash)
    with sessions.begin() as s:
        audit.record(s, actor="admin@example.org", action="update", entity="setting", key="currency",
                     before={"value": "USD"}, after={"value": "EUR"})
    with sessions.begin() as s:
        result = verification.verify(s)
        assert result.ok, result.problems
        assert result.as_dict()["audit_log"]["entries"] == ROWS + 1
        assert result.as_dict()["ledger"] == {"seq": 0, "hash": "0" * 64, "entries": 0, "total_wh": 0,
                                              "total_cents": 0}
