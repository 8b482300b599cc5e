"""index the manual ledger entries

The admins' page of adjustments, payouts and bill applications lists them newest first. Without an index that
reads every allocation entry (millions in a grown co-op) to find the few made by hand. The index is partial:
allocation and reversal entries are not in it, so posting a month costs nothing more.

Plain ``op.create_index`` (not batch mode), so SQLite keeps the table and its append-only triggers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MANUAL_WHERE = "kind IN ('adjustment', 'payout', 'bill_application')"


def upgrade() -> None:
    op.create_index('ix_ledger_entries_manual', 'ledger_entries', ['seq'], unique=False,
                    sqlite_where=sa.text(MANUAL_WHERE), postgresql_where=sa.text(MANUAL_WHERE))


def downgrade() -> None:
    op.drop_index('ix_ledger_entries_manual', table_name='ledger_entries')
