"""data loggers' reading submissions: one row per idempotency key (issue 17, SPEC 20)

``reading_submissions`` keeps, for each sender (an API token, or a user) and ``Idempotency-Key``, the SHA-256 of
the request's canonical body and the answer given, so that the same request sent again is answered again without
storing its readings twice. Unique on (owner, key); indexed on ``created_at`` for pruning. Additive only.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import energy_coop.models.base


revision: str = '0016'
down_revision: Union[str, None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'reading_submissions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('owner', sa.String(length=400), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('meter_code', sa.String(length=64), nullable=False),
        sa.Column('request_sha256', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('created_at', energy_coop.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'],
                                name=op.f('fk_reading_submissions_batch_id_import_batches')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reading_submissions')),
        sa.UniqueConstraint('owner', 'key', name=op.f('uq_reading_submissions_owner_key')),
    )
    op.create_index(op.f('ix_reading_submissions_created_at'), 'reading_submissions', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_reading_submissions_created_at'), table_name='reading_submissions')
    op.drop_table('reading_submissions')
