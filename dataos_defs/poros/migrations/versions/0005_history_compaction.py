"""History compaction: a revision whose payload an operator compacted says when and by whom.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("compacted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("compacted_by", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("compacted_by")
        batch.drop_column("compacted_at")
