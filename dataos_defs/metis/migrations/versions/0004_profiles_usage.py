"""Profiles and usage: the tables' profiles (bounded history per table), the entities'
daily usage with percentile ranks, the joins last reported per table, the queries' costs.

Revision ID: m0004
Revises: m0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "m0004"
down_revision = "m0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metis_table_profiles",
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("table_profile", sa.JSON(), nullable=False),
        sa.Column("column_profiles", sa.JSON(), nullable=False),
        sa.Column("system_profiles", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "timestamp", name="pk_metis_table_profiles"),
    )
    op.create_table(
        "metis_usage",
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("daily_rank", sa.Float(), nullable=True),
        sa.Column("weekly_rank", sa.Float(), nullable=True),
        sa.Column("monthly_rank", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("entity_id", "day", name="pk_metis_usage"),
    )
    op.create_index("ix_metis_usage_entity_type_day", "metis_usage", ["entity_type", "day"])
    op.create_table(
        "metis_table_joins",
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", name="pk_metis_table_joins"),
    )
    op.create_table(
        "metis_query_costs",
        sa.Column("query_id", sa.String(36), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("count", sa.Float(), nullable=False),
        sa.Column("total_duration", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("query_id", "timestamp", name="pk_metis_query_costs"),
    )


def downgrade() -> None:
    op.drop_table("metis_query_costs")
    op.drop_table("metis_table_joins")
    op.drop_index("ix_metis_usage_entity_type_day", table_name="metis_usage")
    op.drop_table("metis_usage")
    op.drop_table("metis_table_profiles")
