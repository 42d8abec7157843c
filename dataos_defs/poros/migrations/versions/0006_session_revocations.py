"""Session revocations: web sessions signed out, refused by every API process until they
would have expired anyway (rows past ``expires_at`` are pruned).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_revocations",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_revocations"),
    )
    op.create_index(
        "ix_session_revocations_expires_at", "session_revocations", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_session_revocations_expires_at", table_name="session_revocations")
    op.drop_table("session_revocations")
