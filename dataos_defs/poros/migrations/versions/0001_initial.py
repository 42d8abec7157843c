"""The initial store: workspaces (with ``public``), resources, revisions, references, writers.

Revision ID: 0001
Revises:
Create Date: 2025-11-24
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Spelled out rather than imported from tables.py: a migration must not change when the
# current models do. Plain JSON keeps the key order of manifests (JSONB would not).
Json = sa.JSON()


def upgrade() -> None:
    workspaces = op.create_table(
        "workspaces",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", Json, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_workspaces"),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=True),
        sa.Column("workspace_key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("current_revision", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_resources"),
        sa.ForeignKeyConstraint(
            ["workspace"], ["workspaces.name"], name="fk_resources_workspace_workspaces"
        ),
        sa.UniqueConstraint(
            "kind", "workspace_key", "name", name="uq_resources_kind_workspace_key_name"
        ),
        sa.CheckConstraint(
            "workspace_key = coalesce(workspace, '')", name="ck_resources_workspace_key"
        ),
        sa.CheckConstraint(
            "status in ('pending', 'active', 'error', 'deleted')", name="ck_resources_status"
        ),
    )
    op.create_index("ix_resources_workspace_key_kind", "resources", ["workspace_key", "kind"])
    op.create_index("ix_resources_name", "resources", ["name"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("manifest", Json, nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("applied_by", sa.String(255), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_revisions"),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name="fk_revisions_resource_id_resources"
        ),
        sa.UniqueConstraint("resource_id", "revision", name="uq_revisions_resource_id_revision"),
        sa.CheckConstraint(
            "action in ('created', 'updated', 'deleted')", name="ck_revisions_action"
        ),
    )
    op.create_table(
        "resource_references",
        sa.Column("from_resource_id", sa.Integer(), nullable=False),
        sa.Column("to_kind", sa.String(32), nullable=False),
        sa.Column("to_workspace_key", sa.String(64), nullable=False),
        sa.Column("to_name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint(
            "from_resource_id",
            "to_kind",
            "to_workspace_key",
            "to_name",
            name="pk_resource_references",
        ),
        sa.ForeignKeyConstraint(
            ["from_resource_id"],
            ["resources.id"],
            name="fk_resource_references_from_resource_id_resources",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_resource_references_to_kind_to_workspace_key_to_name",
        "resource_references",
        ["to_kind", "to_workspace_key", "to_name"],
    )
    op.create_table(
        "dataset_writers",
        sa.Column("dataset", sa.String(1024), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", name="pk_dataset_writers"),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name="fk_dataset_writers_resource_id_resources",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dataset_writers_resource_id", "dataset_writers", ["resource_id"])
    op.bulk_insert(
        workspaces,
        [
            {
                "name": "public",
                "description": "The default workspace",
                "tags": [],
                "created_at": datetime.now(UTC),
                "created_by": "system",
                "deleted_at": None,
            }
        ],
    )


def downgrade() -> None:
    for table in ("dataset_writers", "resource_references", "revisions", "resources"):
        op.drop_table(table)
    op.drop_table("workspaces")
