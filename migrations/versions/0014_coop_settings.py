"""the co-op's settings: name, address, contact, currency, locale, time zone, emission factor

One row per key an administrator has set (``energy-coop settings set``, ``/admin/settings``); a key without a
row has its default (USD, en_US, UTC, no emission factor). Pages and PDFs format by these (SPEC 13).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import energy_coop.models.base


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'coop_settings',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', energy_coop.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_coop_settings')),
    )


def downgrade() -> None:
    op.drop_table('coop_settings')
