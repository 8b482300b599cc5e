"""the audit log in a hash chain; REPLACE refused on SQLite; both chains' heads guarded (issue 16)

``audit_log`` gains ``seq`` (its place in the chain), ``prev_hash`` and ``hash`` (``energy_coop.calc.audit.chain``)
and a head row, ``audit_head``, like ``ledger_head``. The backfill chains every existing entry in ``id`` order
(seq 1, 2, ... by the rule that ``services.audit.record`` uses from now on), so an existing database verifies
right after the upgrade (``energy-coop verify``). The append-only triggers are lifted for the backfill and put
back at once; on SQLite the table is rebuilt to make the columns NOT NULL and unique (batch mode), after which
its index and triggers are re-created here.

Then, on SQLite, ``audit_log``, ``issued_months`` and ``issued_statements`` refuse an INSERT whose key exists (so
``INSERT OR REPLACE`` cannot rewrite a row; ``ledger_entries`` relies on the app's ``recursive_triggers``, see
``APPEND_ONLY``), and on both databases ``ledger_head`` and
``audit_head`` may move only onto their chain's last entry (``migrations.helpers.protect_head``).

A downgrade drops the chain columns and the head (the entries themselves stay).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import energy_coop.models.base
from energy_coop.calc.audit.chain import GENESIS, audit_content, audit_hash
from migrations.helpers import (allow_replace, drop_append_only, make_append_only, protect_head, refuse_replace,
                                unprotect_head)


revision: str = '0015'
down_revision: Union[str, None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The ledger is not here: a BEFORE INSERT trigger would triple the time of posting a month (measured: 200,000
# entries 5 s -> 15 s), so the app's connections turn recursive_triggers on instead (energy_coop/db.py), and a
# REPLACE from elsewhere is caught by the ledger's chain (energy-coop verify).
APPEND_ONLY = ("audit_log", "issued_months", "issued_statements")
BATCH = 5_000  # audit entries read and chained at a time

_audit = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger()), sa.column("at", energy_coop.models.base.UTCDateTime(timezone=True)),
    sa.column("actor", sa.String()), sa.column("action", sa.String()), sa.column("entity", sa.String()),
    sa.column("entity_key", sa.String()), sa.column("before", sa.JSON()), sa.column("after", sa.JSON()),
    sa.column("note", sa.Text()), sa.column("seq", sa.BigInteger()), sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _backfill() -> tuple[int, str]:
    """Chain every audit entry in id order; return the last seq and hash."""
    bind = op.get_bind()
    seq, prev, after_id = 0, GENESIS, None
    while True:
        stmt = sa.select(_audit.c.id, _audit.c.at, _audit.c.actor, _audit.c.action, _audit.c.entity,
                         _audit.c.entity_key, _audit.c.before, _audit.c.after, _audit.c.note
                         ).order_by(_audit.c.id).limit(BATCH)
        if after_id is not None:
            stmt = stmt.where(_audit.c.id > after_id)
        rows = bind.execute(stmt).all()
        if not rows:
            return seq, prev
        updates = []
        for row in rows:
            seq += 1
            digest = audit_hash(prev, audit_content(seq, row.at, row.actor, row.action, row.entity, row.entity_key,
                                                    row.before, row.after, row.note))
            updates.append({"row_id": row.id, "seq": seq, "prev_hash": prev, "hash": digest})
            prev = digest
        bind.execute(sa.update(_audit).where(_audit.c.id == sa.bindparam("row_id")).values(
            seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash")), updates)
        after_id = rows[-1].id


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    drop_append_only("audit_log")
    op.add_column('audit_log', sa.Column('seq', sa.BigInteger(), nullable=True))
    op.add_column('audit_log', sa.Column('prev_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_log', sa.Column('hash', sa.String(length=64), nullable=True))
    last_seq, last_hash = _backfill()
    if sqlite:
        op.execute("DROP INDEX IF EXISTS ix_audit_log_at")
    with op.batch_alter_table('audit_log', recreate='always' if sqlite else 'auto') as batch_op:
        for name, kind in (('seq', sa.BigInteger()), ('prev_hash', sa.String(length=64)),
                           ('hash', sa.String(length=64))):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_seq'), ['seq'])
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_hash'), ['hash'])
    if sqlite:
        op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)
    make_append_only("audit_log")

    op.create_table(
        'audit_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.BigInteger(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('entries', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_audit_head_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head')),
    )
    op.get_bind().execute(sa.text("INSERT INTO audit_head (id, last_seq, last_hash, entries) "
                                  "VALUES (1, :seq, :hash, :seq)"), {"seq": last_seq, "hash": last_hash})
    for table in APPEND_ONLY:
        refuse_replace(table)
    protect_head("ledger_head")
    protect_head("audit_head")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    unprotect_head("audit_head")
    unprotect_head("ledger_head")
    for table in APPEND_ONLY:
        allow_replace(table)
    op.drop_table('audit_head')
    drop_append_only("audit_log")
    if sqlite:
        op.execute("DROP INDEX IF EXISTS ix_audit_log_at")
    with op.batch_alter_table('audit_log', recreate='always' if sqlite else 'auto') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_log_hash'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_audit_log_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    if sqlite:
        op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)
    make_append_only("audit_log")
