"""sign-in failures counted per (account, client address)

Five wrong passwords from anywhere locked an account, an admin's included, for 15 minutes even for the right
password: a denial of service anyone could run. Failures are now counted per (account, address) and per address
(``services.accounts.sign_in_limits``), so each row names both. The old rows (one per scope) are only counters
of the last 15 minutes: the table is recreated empty rather than converted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.drop_index(op.f('ix_sign_in_failures_at_ms'), table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_subject', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('account', sa.String(length=320), nullable=False),
        sa.Column('address', sa.String(length=100), nullable=False),
        sa.Column('at_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures')),
    )
    op.create_index('ix_sign_in_failures_pair', 'sign_in_failures', ['account', 'address', 'at_ms'], unique=False)
    op.create_index('ix_sign_in_failures_address', 'sign_in_failures', ['address', 'at_ms'], unique=False)
    op.create_index(op.f('ix_sign_in_failures_at_ms'), 'sign_in_failures', ['at_ms'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_failures_at_ms'), table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_address', table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_pair', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
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
