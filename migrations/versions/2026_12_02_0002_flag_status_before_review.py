"""Flags remember the status an accepted proposal moved them from.

Rejecting or reopening a proposal puts its linked flags back exactly where they were, and a
flag triaged by hand in the meantime (its column cleared) stays as the reviewer left it,
whatever its reason text says. Flags already moved by an accepted proposal (recognised, this
once, by the reason the acceptance wrote) are marked as coming from *new*.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 01:28:19.961446
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it.
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("status_before_review", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE flags SET status_before_review = 'new' "
        "WHERE status = 'under_review' AND EXISTS ("
        "SELECT 1 FROM proposal_reviews AS r WHERE r.id = flags.review_id "
        "AND r.status = 'accepted' "
        "AND flags.status_reason = 'The improvement team accepted a change for this: ' || r.title)"
    )


def downgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("status_before_review")
