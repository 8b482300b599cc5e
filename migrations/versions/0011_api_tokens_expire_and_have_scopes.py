"""API tokens get a name, an expiry and scopes

Tokens used to sign in for ever, with every right of their user. Each now has a name (so its user can tell them
apart), an ``expires_at`` and ``scopes`` (``read``, ``write``, ``meter:CODE``). Tokens issued before this
migration keep working for 90 days from it, named "token", with scopes "read write" (what they could do).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
import datetime as dt
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import energy_coop.models.base


revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

EXISTING_TOKENS_LAST = dt.timedelta(days=90)


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=100), nullable=False, server_default='token'))
        batch_op.add_column(sa.Column('scopes', sa.String(length=1000), nullable=False,
                                      server_default='read write'))
        batch_op.add_column(sa.Column('expires_at', energy_coop.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
    tokens = sa.table('api_tokens', sa.column('expires_at', energy_coop.models.base.UTCDateTime(timezone=True)))
    expires = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + EXISTING_TOKENS_LAST
    op.execute(tokens.update().values(expires_at=expires))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('name', server_default=None, existing_type=sa.String(length=100),
                              existing_nullable=False)
        batch_op.alter_column('scopes', server_default=None, existing_type=sa.String(length=1000),
                              existing_nullable=False)
        batch_op.alter_column('expires_at', nullable=False,
                              existing_type=energy_coop.models.base.UTCDateTime(timezone=True))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scopes')
        batch_op.drop_column('name')
