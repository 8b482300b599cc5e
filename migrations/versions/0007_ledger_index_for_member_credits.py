"""index a member's ledger entries with their amounts

A member's credits and statements (the hot path of the member pages and the API) read the entries of one
member. Through the old index on ``member_id`` alone each of them costs a table page, one per month posted;
this index holds what those queries read, side by side, so they never touch the table.

Plain ``op.create_index``/``op.drop_index`` (not batch mode): on SQLite a batch operation may rebuild the table
and with it drop the append-only triggers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_ledger_entries_member_credits', 'ledger_entries',
                    ['member_id', 'period', 'asset_id', 'kind', 'wh', 'cents'], unique=False)
    op.drop_index('ix_ledger_entries_member_id', table_name='ledger_entries')


def downgrade() -> None:
    op.create_index('ix_ledger_entries_member_id', 'ledger_entries', ['member_id'], unique=False)
    op.drop_index('ix_ledger_entries_member_credits', table_name='ledger_entries')
