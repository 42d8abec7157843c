"""Search on SQLite: an FTS5 table, ranked by BM25 with weights per field.

``metis_search_fts`` holds one row per entity (``rowid``-less lookups go through the
``entity_id`` column, unindexed). A query is words, each matched as a prefix and all of
them required: ``"orde"* AND "cust"*``; every word is quoted, so nothing a user types is
read as FTS5 syntax.
"""

from __future__ import annotations

from sqlalchemy import Connection, Float, String, Subquery, text

from dataos_defs.metis.search_docs import Document

CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS metis_search_fts USING fts5("
    "entity_id UNINDEXED, name, tags, columns, description, "
    "tokenize = 'unicode61 remove_diacritics 2')"
)
DROP = "DROP TABLE IF EXISTS metis_search_fts"
WEIGHTS = "10.0, 4.0, 2.0, 1.0"
"""BM25 weights of name, tags (and owners), columns, description (``entity_id`` first: 0)."""


class SqliteText:
    """The full-text part of :class:`dataos_defs.metis.search_index.TextIndex` on SQLite."""

    def replace(self, conn: Connection, doc: Document) -> None:
        self.delete(conn, doc.entity_id)
        conn.execute(
            text(
                "INSERT INTO metis_search_fts (entity_id, name, tags, columns, description) "
                "VALUES (:id, :name, :tags, :columns, :description)"
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
        expression = " AND ".join('"' + word.replace('"', '""') + '"*' for word in words)
        statement = text(
            f"SELECT entity_id, -bm25(metis_search_fts, 0.0, {WEIGHTS}) AS score "
            "FROM metis_search_fts WHERE metis_search_fts MATCH :q"
        ).bindparams(q=expression)
        return statement.columns(entity_id=String, score=Float).subquery("matched")
