"""Caretaker: the quality check results of each run (figures only, no data values).

Revision ID: c0003
Revises: c0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0003"
down_revision = "c0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "caretaker_checks",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_name", sa.String(255), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("asset_key", sa.String(512), nullable=False),
        sa.Column("check", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("evaluated_ms", sa.BigInteger(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=True),
        sa.Column("observed_value", sa.Text(), nullable=True),
        sa.Column("unexpected_count", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "asset_key", "check", name="pk_caretaker_checks"),
    )
    op.create_index("ix_caretaker_checks_evaluated_ms", "caretaker_checks", ["evaluated_ms"])


def downgrade() -> None:
    op.drop_index("ix_caretaker_checks_evaluated_ms", table_name="caretaker_checks")
    op.drop_table("caretaker_checks")
