"""The catalog: entities, their previous versions, lineage edges, pipeline runs.

Revision ID: m0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "m0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metis_entities",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("fqn", sa.Text(), nullable=False),
        sa.Column("fqn_digest", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=True),
        sa.Column("parent_fqn", sa.Text(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=True),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metis_entities"),
        sa.UniqueConstraint(
            "entity_type", "fqn_digest", name="uq_metis_entities_entity_type_fqn_digest"
        ),
    )
    op.create_index(
        "ix_metis_entities_entity_type_service", "metis_entities", ["entity_type", "service"]
    )
    op.create_index(
        "ix_metis_entities_entity_type_parent_fqn", "metis_entities", ["entity_type", "parent_fqn"]
    )
    op.create_table(
        "metis_entity_versions",
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("version_tenths", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "version_tenths", name="pk_metis_entity_versions"),
    )
    op.create_table(
        "metis_lineage_edges",
        sa.Column("from_id", sa.String(36), nullable=False),
        sa.Column("to_id", sa.String(36), nullable=False),
        sa.Column("from_type", sa.String(64), nullable=False),
        sa.Column("to_type", sa.String(64), nullable=False),
        sa.Column("pipeline_id", sa.String(36), nullable=True),
        sa.Column("pipeline_type", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("from_id", "to_id", name="pk_metis_lineage_edges"),
    )
    op.create_index("ix_metis_lineage_edges_to_id", "metis_lineage_edges", ["to_id"])
    op.create_table(
        "metis_pipeline_status",
        sa.Column("pipeline_id", sa.String(36), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("pipeline_id", "timestamp", name="pk_metis_pipeline_status"),
    )


def downgrade() -> None:
    op.drop_table("metis_pipeline_status")
    op.drop_index("ix_metis_lineage_edges_to_id", table_name="metis_lineage_edges")
    op.drop_table("metis_lineage_edges")
    op.drop_table("metis_entity_versions")
    op.drop_index("ix_metis_entities_entity_type_parent_fqn", table_name="metis_entities")
    op.drop_index("ix_metis_entities_entity_type_service", table_name="metis_entities")
    op.drop_table("metis_entities")
