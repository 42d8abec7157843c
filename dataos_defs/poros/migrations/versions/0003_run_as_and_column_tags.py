"""The identity a Resource runs as (admitted at apply), and column tags derived by runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("run_as", sa.String(255), nullable=True))
    op.create_table(
        "column_tags",
        sa.Column("dataset", sa.String(1024), nullable=False),
        sa.Column("column_name", sa.String(255), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("derived_from", sa.JSON(), nullable=False),
        sa.Column("written_by", sa.String(1024), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "column_name", name="pk_column_tags"),
    )


def downgrade() -> None:
    op.drop_table("column_tags")
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("run_as")
