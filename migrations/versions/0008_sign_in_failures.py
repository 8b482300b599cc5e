"""sign-in failures in the database

The sign-in limits (per account and per client address) were counted in each server process's memory; with
several gunicorn workers each would have allowed the full count. Counted here, every process sees them all.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('subject', sa.String(length=320), nullable=False),
        sa.Column('at_ms', sa.BigInteger(), nullable=False),
        sa.CheckConstraint("scope IN ('account','address')", name=op.f('ck_sign_in_failures_scope')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures')),
    )
    op.create_index('ix_sign_in_failures_subject', 'sign_in_failures', ['scope', 'subject', 'at_ms'], unique=False)
    op.create_index(op.f('ix_sign_in_failures_at_ms'), 'sign_in_failures', ['at_ms'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_failures_at_ms'), table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_subject', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
