"""The migrated schema matches the models, and the audit log is append-only in the database itself."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from energy_coop.db import get_engine
from energy_coop.migrate import head_revision, schema_is_current
from energy_coop.models import Base
from energy_coop.services import audit


def test_migrations_reach_head_and_match_every_model(db_url):
    engine = get_engine(db_url)
    assert schema_is_current(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_head_revision_is_single():
    assert head_revision()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'mallory'",
    "DELETE FROM audit_log",
])
def test_audit_log_refuses_update_and_delete_from_raw_sql(sessions, db_url, statement):
    with sessions.begin() as s:
        audit.record(s, actor="admin@example.org", action="create", entity="member", key="1")
    engine = get_engine(db_url)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalar_one() == "admin@example.org"
