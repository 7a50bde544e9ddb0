"""Jobs record a heartbeat while they run, so a job whose worker stopped can be told apart from
one that is still working (and marked failed instead of showing a spinner forever).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
