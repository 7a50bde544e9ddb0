"""Jobs record when they were last handed to a runner, so a job whose Redis queue entry was lost
(Redis flushed, or restarted without persistence) can be told apart from one just being queued.

Jobs queued before this revision keep an empty ``queued_at`` and are never judged lost: their
queue entries were named before the name followed from the row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('queued_at')
