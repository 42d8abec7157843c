"""Column tags: the tags set on tables' columns by dataset id, and the generation that moves
with each change of them (what the Gateway and Heimdall follow to mask); the tables already
in the catalog are projected.

Revision ID: m0003
Revises: m0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dataos_defs.metis import tag_index

revision = "m0003"
down_revision = "m0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metis_column_tags",
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=False),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "column_name", name="pk_metis_column_tags"),
    )
    op.create_index("ix_metis_column_tags_dataset", "metis_column_tags", ["dataset"])
    op.create_table(
        "metis_markers",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_metis_markers"),
    )
    tag_index.reproject(op.get_bind())


def downgrade() -> None:
    op.drop_table("metis_markers")
    op.drop_index("ix_metis_column_tags_dataset", table_name="metis_column_tags")
    op.drop_table("metis_column_tags")
