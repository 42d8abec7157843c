"""Search over the catalog: ONE interface, two full-text backends (SQLite FTS5 and
PostgreSQL's ``tsvector``), chosen by the store's database.

The catalog calls :func:`index` / :func:`unindex` inside every write's transaction, so a
committed entity is searchable at once and a rolled-back one never is. :func:`candidates`
answers a query with every matching entity (ranked when there are words, capped at
:data:`MAX_CANDIDATES`) and its facet values; who may see which hit, facet counts and
paging are the caller's (``dataos_defs.metis.search``), since access is decided per
caller and counts must cover only what the caller sees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, Subquery, delete, func, insert, literal, select

from dataos_defs.metis import rows, search_docs
from dataos_defs.metis.records import StoredEntity
from dataos_defs.metis.schema import entities, search_facets
from dataos_defs.metis.schema import search_docs as docs_table
from dataos_defs.metis.search_docs import Document
from dataos_defs.metis.search_postgres import PostgresText
from dataos_defs.metis.search_sqlite import SqliteText

MAX_CANDIDATES = 20_000
"""Hits a query considers at most, before access filtering and paging."""
MAX_VALUE = 512


class TextIndex(Protocol):
    """A full-text backend: one document per entity, words → ``(entity id, score)``."""

    def replace(self, conn: Connection, doc: Document) -> None: ...

    def delete(self, conn: Connection, entity_id: str) -> None: ...

    def matched(self, words: list[str]) -> Subquery:
        """``(entity_id, score)`` of the entities holding every word (higher is better)."""
        ...


def backend(conn: Connection) -> TextIndex:
    return PostgresText() if conn.dialect.name == "postgresql" else SqliteText()


@dataclass(frozen=True)
class Candidate:
    """A hit before access filtering: enough to authorize, count facets and sort."""

    entity_id: str
    entity_type: str
    fqn: str
    score: float
    facets: dict[str, list[str]]


def index(conn: Connection, stored: StoredEntity) -> None:
    """(Re)write what search knows of ``stored``."""
    doc = search_docs.document(stored)
    unindex(conn, stored.id)
    conn.execute(
        insert(docs_table).values(
            entity_id=doc.entity_id, entity_type=doc.entity_type, fqn=doc.fqn, deleted=doc.deleted
        )
    )
    facet_rows = [
        {"entity_id": doc.entity_id, "facet": facet, "value": value[:MAX_VALUE]}
        for facet, values in doc.facets.items()
        for value in dict.fromkeys(v[:MAX_VALUE] for v in values)
    ]
    if facet_rows:
        conn.execute(insert(search_facets), facet_rows)
    backend(conn).replace(conn, doc)


def unindex(conn: Connection, entity_id: str) -> None:
    conn.execute(delete(search_facets).where(search_facets.c.entity_id == entity_id))
    conn.execute(delete(docs_table).where(docs_table.c.entity_id == entity_id))
    backend(conn).delete(conn, entity_id)


def reindex(conn: Connection) -> int:
    """Index every entity of the catalog again (the migration that adds search)."""
    count = 0
    for row in conn.execute(select(entities)).mappings():
        index(conn, rows.stored_of(row))
        count += 1
    return count


def candidates(
    conn: Connection,
    words: Sequence[str],
    entity_types: Iterable[str] | None,
    facets: dict[str, list[str]],
    *,
    deleted: bool | None,
    fqn_pattern: str | None = None,
) -> list[Candidate]:
    """Entities matching every word (all of them when there are none), of the given types,
    holding one of the wanted values of each facet, deleted or not (``None``: both), whose
    FQN matches ``fqn_pattern`` (``*`` any characters, case-insensitive); best first, else
    in FQN order. Two statements: the hits (full-text match joined in the database), then
    their facet values."""
    docs = docs_table.c
    if words:
        matched = backend(conn).matched(list(words))
        score = matched.c.score
        query = select(docs.entity_id, docs.entity_type, docs.fqn, score).join(
            matched, matched.c.entity_id == docs.entity_id
        )
        query = query.order_by(score.desc(), docs.fqn)
    else:
        query = select(docs.entity_id, docs.entity_type, docs.fqn, literal(0.0).label("score"))
        query = query.order_by(docs.fqn)
    if entity_types is not None:
        query = query.where(docs.entity_type.in_(list(entity_types)))
    if deleted is not None:
        query = query.where(docs.deleted.is_(deleted))
    if fqn_pattern is not None:
        query = query.where(func.lower(docs.fqn).like(_like(fqn_pattern), escape="\\"))
    for facet, values in facets.items():
        if values:
            wanted = select(search_facets.c.entity_id).where(
                search_facets.c.facet == facet, search_facets.c.value.in_(values)
            )
            query = query.where(docs.entity_id.in_(wanted))
    query = query.limit(MAX_CANDIDATES)
    found = list(conn.execute(query))
    by_id = _facet_values(conn, query.subquery()) if found else {}
    return [
        Candidate(
            row.entity_id, row.entity_type, row.fqn, float(row.score), by_id.get(row.entity_id, {})
        )
        for row in found
    ]


def _like(pattern: str) -> str:
    escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _facet_values(conn: Connection, hits: Subquery) -> dict[str, dict[str, list[str]]]:
    """The facet values of every hit of ``hits`` (the hits' own query, joined)."""
    values: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    query = select(search_facets).join(hits, hits.c.entity_id == search_facets.c.entity_id)
    for row in conn.execute(query):
        values[row.entity_id][row.facet].append(row.value)
    return {key: dict(value) for key, value in values.items()}
