"""import profiles an administrator added: the layout of a utility's meter export, as its TOML text (SPEC 20)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import energy_coop.models.base


revision: str = '0017'
down_revision: Union[str, None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'import_profiles',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('added_by', sa.String(length=320), nullable=False),
        sa.Column('added_at', energy_coop.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_profiles')),
        sa.UniqueConstraint('name', name=op.f('uq_import_profiles_name')),
    )


def downgrade() -> None:
    op.drop_table('import_profiles')
