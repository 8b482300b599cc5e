"""job runs beat: ``job_runs.heartbeat_at``, when the process running it last said it was alive

A run's process writes it every few seconds while it works (``jobs.runner``); a ``running`` row whose
heartbeat has been silent for ten beats is taken over by any scheduler, on any host, without waiting for the
run's lease (issue 16). Rows written before this revision have none and keep the lease rule.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import energy_coop.models.base


revision: str = '0018'
down_revision: Union[str, None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('job_runs') as batch:
        batch.add_column(sa.Column('heartbeat_at', energy_coop.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_column('heartbeat_at')
