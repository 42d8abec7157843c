"""The nodes of a lineage graph, read light: what a node of the answer and its access
decision need (id, type, FQN, name, display name, deleted) and nothing more.

A graph of depth 3 touches about a hundred entities; decoding each one's whole body (a
table's columns, tags, constraints …) was half of a graph's time. Here the database hands
out only the two body fields an ``EntityReference`` shows (``json_extract`` on SQLite,
``->>`` on PostgreSQL), on the walk's own connection, so a graph reads no entity body.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from dataos_defs.metis.records import StoredEntity
from dataos_defs.metis.schema import entities

CHUNK = 500
"""Ids per ``IN (…)``: well under SQLite's and PostgreSQL's bound-parameter limits."""

NODE_COLUMNS = (
    entities.c.id,
    entities.c.entity_type,
    entities.c.fqn,
    entities.c.body["name"].as_string().label("name"),
    entities.c.body["displayName"].as_string().label("display_name"),
    entities.c.deleted,
)


@dataclass(frozen=True)
class LineageNode:
    """An entity as a lineage graph sees it."""

    id: str
    entity_type: str
    fqn: str
    name: str | None
    display_name: str | None
    deleted: bool


def node_of(entity: StoredEntity | LineageNode) -> LineageNode:
    if isinstance(entity, LineageNode):
        return entity
    return LineageNode(
        id=entity.id,
        entity_type=entity.entity_type,
        fqn=entity.fqn,
        name=entity.body.get("name"),
        display_name=entity.body.get("displayName"),
        deleted=entity.deleted,
    )


def load_nodes(conn: Connection, ids: Iterable[str]) -> dict[str, LineageNode]:
    """The entities of ``ids`` that exist (deleted ones included), by id."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, LineageNode] = {}
    for start in range(0, len(wanted), CHUNK):
        query = select(*NODE_COLUMNS).where(entities.c.id.in_(wanted[start : start + CHUNK]))
        for row in conn.execute(query):
            found[row.id] = node_of_row(row)
    return found


def node_of_row(row: Any) -> LineageNode:
    """The node of a row holding :data:`NODE_COLUMNS`."""
    return LineageNode(
        row.id, row.entity_type, row.fqn, row.name, row.display_name, bool(row.deleted)
    )


def reference(node: LineageNode) -> dict[str, Any]:
    """The node as an OpenMetadata ``EntityReference`` in JSON, unset fields left out (the
    same keys, in the same order, as ``EntityReference.model_dump(exclude_none=True)``)."""
    answer: dict[str, Any] = {"id": node.id, "type": node.entity_type}
    if node.name is not None:
        answer["name"] = node.name
    answer["fullyQualifiedName"] = node.fqn
    if node.display_name is not None:
        answer["displayName"] = node.display_name
    answer["deleted"] = node.deleted
    return answer
