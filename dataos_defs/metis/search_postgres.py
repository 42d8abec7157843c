"""Search on PostgreSQL: a weighted ``tsvector`` per entity with a GIN index, ranked by
``ts_rank_cd``.

The ``simple`` configuration (no stemming, no stop words) matches identifiers as typed;
each word of a query is a prefix (``orde:*``) and all are required. Words are reduced to
letters and digits before they reach ``to_tsquery``, so nothing a user types is read as
tsquery syntax.
"""

from __future__ import annotations

from sqlalchemy import Connection, Float, String, Subquery, text

from dataos_defs.metis.search_docs import Document

CREATE = (
    "CREATE TABLE IF NOT EXISTS metis_search_fts ("
    "entity_id varchar(36) PRIMARY KEY, document tsvector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_metis_search_fts_document "
    "ON metis_search_fts USING gin (document)",
)
DROP = ("DROP TABLE IF EXISTS metis_search_fts",)
VECTOR = (
    "setweight(to_tsvector('simple', :name), 'A') || "
    "setweight(to_tsvector('simple', :tags), 'B') || "
    "setweight(to_tsvector('simple', :columns), 'C') || "
    "setweight(to_tsvector('simple', :description), 'D')"
)


class PostgresText:
    """The full-text part of :class:`dataos_defs.metis.search_index.TextIndex` on
    PostgreSQL."""

    def replace(self, conn: Connection, doc: Document) -> None:
        conn.execute(
            text(
                f"INSERT INTO metis_search_fts (entity_id, document) VALUES (:id, {VECTOR}) "
                "ON CONFLICT (entity_id) DO UPDATE SET document = EXCLUDED.document"
            ),
            {
                "id": doc.entity_id,
                "name": doc.name,
                "tags": doc.tags_text,
                "columns": doc.columns_text,
                "description": doc.description,
            },
        )

    def delete(self, conn: Connection, entity_id: str) -> None:
        conn.execute(text("DELETE FROM metis_search_fts WHERE entity_id = :id"), {"id": entity_id})

    def matched(self, words: list[str]) -> Subquery:
        query = " & ".join(f"{word}:*" for word in words)
        statement = text(
            "SELECT entity_id, ts_rank_cd(document, to_tsquery('simple', :q)) AS score "
            "FROM metis_search_fts WHERE document @@ to_tsquery('simple', :q)"
        ).bindparams(q=query)
        return statement.columns(entity_id=String, score=Float).subquery("matched")
