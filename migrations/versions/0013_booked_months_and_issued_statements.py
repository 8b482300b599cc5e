"""booked months on ledger entries; issued months and their frozen statements (SPEC 13)

``ledger_entries.booked`` is the month whose statement shows an entry (``period`` stays the month it is for).
The backfill books every existing entry in its own month: ``period``, or for an entry without one the UTC month
of ``created_at``. That is the default of the hash rule in ``energy_coop.calc.credits.chain`` (``|booked=...``
is hashed only when booked differs from it), so every hash made before this revision stays valid and
``ledger verify`` passes before and after.

The append-only triggers are lifted for the backfill and put back at once; on SQLite the table is rebuilt to
make the column NOT NULL (batch mode), after which its indexes and triggers are re-created here.

``issued_months`` and ``issued_statements`` are append-only from the start: an issued statement never changes.

A downgrade drops ``booked``: do it only before any entry was booked outside its own month, or the hashes of
those entries no longer verify.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import energy_coop.models.base
from migrations.helpers import drop_append_only, make_append_only


revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MANUAL_WHERE = "kind IN ('adjustment', 'payout', 'bill_application')"
OLD_CREDITS_INDEX = ['member_id', 'period', 'asset_id', 'kind', 'wh', 'cents']
NEW_CREDITS_INDEX = ['member_id', 'booked', 'period', 'asset_id', 'kind', 'wh', 'cents']


def _ledger_indexes(create: bool) -> None:
    """The ledger's secondary indexes, which SQLite's table rebuild must not lose (the partial one in particular)."""
    names = ['ix_ledger_entries_member_credits', 'ix_ledger_entries_manual', 'ix_ledger_entries_period',
             'ix_ledger_entries_run_id']
    if not create:
        for name in names:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        return
    op.create_index('ix_ledger_entries_period', 'ledger_entries', ['period'], unique=False)
    op.create_index('ix_ledger_entries_run_id', 'ledger_entries', ['run_id'], unique=False)
    op.create_index('ix_ledger_entries_manual', 'ledger_entries', ['seq'], unique=False,
                    sqlite_where=sa.text(MANUAL_WHERE), postgresql_where=sa.text(MANUAL_WHERE))


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    drop_append_only("ledger_entries")
    op.drop_index('ix_ledger_entries_member_credits', table_name='ledger_entries')
    op.add_column('ledger_entries', sa.Column('booked', sa.String(length=7), nullable=True))
    created_month = "substr(created_at, 1, 7)" if sqlite else "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')"
    op.execute(f"UPDATE ledger_entries SET booked = COALESCE(period, {created_month})")
    if sqlite:
        _ledger_indexes(create=False)
        with op.batch_alter_table('ledger_entries', recreate='always') as batch_op:
            batch_op.alter_column('booked', existing_type=sa.String(length=7), nullable=False)
        _ledger_indexes(create=True)
    else:
        op.alter_column('ledger_entries', 'booked', existing_type=sa.String(length=7), nullable=False)
    op.create_index('ix_ledger_entries_member_credits', 'ledger_entries', NEW_CREDITS_INDEX, unique=False)
    op.create_index('ix_ledger_entries_booked', 'ledger_entries', ['booked'], unique=False)
    make_append_only("ledger_entries")

    op.create_table(
        'issued_months',
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('issued_at', energy_coop.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('issued_by', sa.String(length=320), nullable=False),
        sa.Column('statements', sa.Integer(), nullable=False),
        sa.Column('ledger_seq', sa.BigInteger(), nullable=False),
        sa.Column('allocation_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.ForeignKeyConstraint(['allocation_run_id'], ['allocation_runs.id'],
                                name=op.f('fk_issued_months_allocation_run_id_allocation_runs')),
        sa.PrimaryKeyConstraint('period', name=op.f('pk_issued_months')),
    )
    op.create_table(
        'issued_statements',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('number', sa.String(length=80), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
        sa.Column('csv', sa.LargeBinary(), nullable=False),
        sa.Column('csv_sha256', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_issued_statements_member_id_members')),
        sa.ForeignKeyConstraint(['period'], ['issued_months.period'],
                                name=op.f('fk_issued_statements_period_issued_months')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_statements')),
        sa.UniqueConstraint('number', name=op.f('uq_issued_statements_number')),
        sa.UniqueConstraint('period', 'member_id', name=op.f('uq_issued_statements_period_member_id')),
    )
    op.create_index(op.f('ix_issued_statements_member_id'), 'issued_statements', ['member_id'], unique=False)
    make_append_only("issued_months")
    make_append_only("issued_statements")


def downgrade() -> None:
    drop_append_only("issued_statements")
    drop_append_only("issued_months")
    op.drop_index(op.f('ix_issued_statements_member_id'), table_name='issued_statements')
    op.drop_table('issued_statements')
    op.drop_table('issued_months')
    bind = op.get_bind()
    drop_append_only("ledger_entries")
    op.drop_index('ix_ledger_entries_booked', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_member_credits', table_name='ledger_entries')
    if bind.dialect.name == "sqlite":
        _ledger_indexes(create=False)
        with op.batch_alter_table('ledger_entries', recreate='always') as batch_op:
            batch_op.drop_column('booked')
        _ledger_indexes(create=True)
    else:
        op.drop_column('ledger_entries', 'booked')
    op.create_index('ix_ledger_entries_member_credits', 'ledger_entries', OLD_CREDITS_INDEX, unique=False)
    make_append_only("ledger_entries")
