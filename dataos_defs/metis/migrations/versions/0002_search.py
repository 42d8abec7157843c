"""Search: what search knows of each entity, its facets, and the full-text index (an FTS5
table on SQLite, a ``tsvector`` table with a GIN index on PostgreSQL); the entities already
in the catalog are indexed.

Revision ID: m0002
Revises: m0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dataos_defs.metis import search_index, search_postgres, search_sqlite

revision = "m0002"
down_revision = "m0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metis_search_docs",
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("fqn", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", name="pk_metis_search_docs"),
    )
    op.create_index(
        "ix_metis_search_docs_entity_type_deleted",
        "metis_search_docs",
        ["entity_type", "deleted"],
    )
    op.create_table(
        "metis_search_facets",
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("facet", sa.String(16), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "facet", "value", name="pk_metis_search_facets"),
    )
    op.create_index("ix_metis_search_facets_facet_value", "metis_search_facets", ["facet", "value"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in search_postgres.CREATE:
            op.execute(statement)
    else:
        op.execute(search_sqlite.CREATE)
    search_index.reindex(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in search_postgres.DROP:
            op.execute(statement)
    else:
        op.execute(search_sqlite.DROP)
    op.drop_index("ix_metis_search_facets_facet_value", table_name="metis_search_facets")
    op.drop_table("metis_search_facets")
    op.drop_index("ix_metis_search_docs_entity_type_deleted", table_name="metis_search_docs")
    op.drop_table("metis_search_docs")
