"""Lineage: edges between entities (dataset → dataset), with the pipeline that made them,
column lineage and the SQL; and the graph around an entity to a depth.

An edge is one row per (from, to); adding it again replaces its details (OpenMetadata's
``PUT /lineage``). Column lineage is checked: every ``toColumn`` is a column of the
downstream entity and every ``fromColumns`` entry one of the upstream (top-level columns,
by FQN). Graphs stop at entities the caller may not see: their edges are left out and the
walk does not go through them, so a hidden dataset never shows, nor what lies behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Connection, Engine, Select, delete, insert, select

from dataos_defs.metis.catalog import now_ms
from dataos_defs.metis.entities import EntityReference, Strict
from dataos_defs.metis.lineage_nodes import (
    NODE_COLUMNS,
    LineageNode,
    node_of,
    node_of_row,
    reference,
)
from dataos_defs.metis.records import StoredEntity
from dataos_defs.metis.schema import entities, lineage_edges
from dataos_defs.poros.db import write_transaction

MAX_DEPTH = 5
MAX_COLUMN_LINEAGE = 4096
MAX_NODES = 2000

Visible = Callable[[LineageNode], bool]
Load = Callable[[Iterable[str]], Mapping[str, StoredEntity] | Mapping[str, LineageNode]]


class ColumnLineage(Strict):
    fromColumns: list[str] = Field(default_factory=list, max_length=MAX_COLUMN_LINEAGE)
    toColumn: str | None = None
    function: str | None = None


class LineageDetails(Strict):
    sqlQuery: str | None = Field(default=None, max_length=1_000_000)
    columnsLineage: list[ColumnLineage] | None = Field(default=None, max_length=MAX_COLUMN_LINEAGE)
    pipeline: EntityReference | None = None
    description: str | None = None
    source: (
        Literal[
            "Manual",
            "ViewLineage",
            "QueryLineage",
            "PipelineLineage",
            "DashboardLineage",
            "DbtLineage",
            "SparkLineage",
            "OpenLineage",
            "ExternalTableLineage",
            "CrossDatabaseLineage",
            "ChildAssets",
        ]
        | None
    ) = None
    createdAt: int | None = None
    createdBy: str | None = None
    updatedAt: int | None = None
    updatedBy: str | None = None


class RefIn(Strict):
    id: str
    type: str


class EdgeIn(Strict):
    fromEntity: RefIn
    toEntity: RefIn
    description: str | None = None
    lineageDetails: LineageDetails | None = None


class AddLineage(Strict):
    edge: EdgeIn


class InvalidLineage(ValueError):
    pass


def check_columns(details: LineageDetails, source: StoredEntity, target: StoredEntity) -> None:
    """Every column named is a top-level column of the entity it belongs to."""
    known_from = _column_fqns(source)
    known_to = _column_fqns(target)
    for column in details.columnsLineage or []:
        if column.toColumn is not None and column.toColumn not in known_to:
            raise InvalidLineage(f"{column.toColumn} is not a column of {target.fqn}")
        for name in column.fromColumns:
            if name not in known_from:
                raise InvalidLineage(f"{name} is not a column of {source.fqn}")


def _column_fqns(entity: StoredEntity) -> set[str]:
    columns = entity.body.get("columns") or []
    return {str(c.get("fullyQualifiedName")) for c in columns if isinstance(c, dict)}


def add_edge(
    engine: Engine,
    source: StoredEntity,
    target: StoredEntity,
    details: LineageDetails,
    description: str | None,
    actor: str,
) -> None:
    at = now_ms()
    stored = details.model_dump(mode="json", exclude_none=True)
    stored.update(updatedAt=at, updatedBy=actor)
    stored.setdefault("createdAt", at)
    stored.setdefault("createdBy", actor)
    if description and "description" not in stored:
        stored["description"] = description
    pipeline = details.pipeline
    with write_transaction(engine) as conn:
        conn.execute(
            delete(lineage_edges).where(
                lineage_edges.c.from_id == source.id, lineage_edges.c.to_id == target.id
            )
        )
        conn.execute(
            insert(lineage_edges).values(
                from_id=source.id,
                to_id=target.id,
                from_type=source.entity_type,
                to_type=target.entity_type,
                pipeline_id=pipeline.id if pipeline else None,
                pipeline_type=pipeline.type if pipeline else None,
                details=stored,
                updated_at=at,
                updated_by=actor,
            )
        )


def remove_edge(engine: Engine, from_id: str, to_id: str) -> bool:
    with write_transaction(engine) as conn:
        result = conn.execute(
            delete(lineage_edges).where(
                lineage_edges.c.from_id == from_id, lineage_edges.c.to_id == to_id
            )
        )
    return bool(result.rowcount)


Edge = tuple[str, str, dict[str, Any]]


def graph(
    engine: Engine,
    root: StoredEntity | LineageNode,
    upstream: int,
    downstream: int,
    load: Load | None = None,
    visible: Visible = lambda _: True,
) -> dict[str, Any]:
    """``{entity, nodes, upstreamEdges, downstreamEdges}`` around ``root`` (ids in edges).

    Each level is one query on the walk's one connection: the edges at the frontier joined
    with the light node (``lineage_nodes``) at their other end; or, when ``load`` is given
    (any loader of stored entities or nodes by id), the edges, then ``load``."""
    start = node_of(root)
    seen: dict[str, LineageNode] = {start.id: start}
    with engine.connect() as conn:
        ups = _walk(conn, start.id, min(upstream, MAX_DEPTH), "up", seen, load, visible)
        downs = _walk(conn, start.id, min(downstream, MAX_DEPTH), "down", seen, load, visible)
    return {
        "entity": reference(start),
        "nodes": [reference(node) for key, node in seen.items() if key != start.id],
        "upstreamEdges": [_edge(e) for e in ups],
        "downstreamEdges": [_edge(e) for e in downs],
    }


def _walk(
    conn: Connection,
    start: str,
    depth: int,
    direction: Literal["up", "down"],
    seen: dict[str, LineageNode],
    load: Load | None,
    visible: Visible,
) -> list[Edge]:
    edges: list[Edge] = []
    frontier = {start}
    for _ in range(depth):
        if not frontier or len(seen) >= MAX_NODES:
            break
        if load is None:
            found, loaded = _edges_and_nodes(conn, frontier, direction)
        else:
            found = _edges_at(conn, frontier, direction)
            wanted = (f if direction == "up" else t for f, t, _ in found)
            loaded = {
                key: node_of(entity)
                for key, entity in load(key for key in wanted if key not in seen).items()
            }
        other = [f if direction == "up" else t for f, t, _ in found]
        shown = {
            key
            for key, node in loaded.items()
            if key not in seen and not node.deleted and visible(node)
        }
        frontier = set()
        for edge, key in zip(found, other, strict=True):
            if key in seen or key in shown:
                edges.append(edge)
                if key not in seen:
                    seen[key] = loaded[key]
                    frontier.add(key)
    return edges


def _edges_at(conn: Connection, ids: set[str], direction: Literal["up", "down"]) -> list[Edge]:
    query = _at(select(*_EDGE_COLUMNS), ids, direction)
    return [(row.from_id, row.to_id, row.details) for row in conn.execute(query)]


def _edges_and_nodes(
    conn: Connection, ids: set[str], direction: Literal["up", "down"]
) -> tuple[list[Edge], dict[str, LineageNode]]:
    """The edges at ``ids`` and the light nodes at their other ends, in one query."""
    far = lineage_edges.c.from_id if direction == "up" else lineage_edges.c.to_id
    joined = lineage_edges.outerjoin(entities, entities.c.id == far)
    query = _at(select(*_EDGE_COLUMNS, *NODE_COLUMNS).select_from(joined), ids, direction)
    edges: list[Edge] = []
    nodes: dict[str, LineageNode] = {}
    for row in conn.execute(query):
        edges.append((row.from_id, row.to_id, row.details))
        if row.id is not None:
            nodes[row.id] = node_of_row(row)
    return edges, nodes


_EDGE_COLUMNS = (lineage_edges.c.from_id, lineage_edges.c.to_id, lineage_edges.c.details)


def _at(query: Select[Any], ids: set[str], direction: Literal["up", "down"]) -> Select[Any]:
    """``query`` narrowed to the edges into (up) or out of (down) ``ids``, in edge order."""
    near = lineage_edges.c.to_id if direction == "up" else lineage_edges.c.from_id
    ordered = query.where(near.in_(sorted(ids)))
    return ordered.order_by(lineage_edges.c.from_id, lineage_edges.c.to_id)


def _edge(edge: Edge) -> dict[str, Any]:
    from_id, to_id, details = edge
    answer: dict[str, Any] = {"fromEntity": from_id, "toEntity": to_id}
    if details.get("description"):
        answer["description"] = details["description"]
    answer["lineageDetails"] = details
    return answer


def edge_details(engine: Engine, from_id: str, to_id: str) -> dict[str, Any] | None:
    """The details of the edge ``from_id`` → ``to_id``, if there is one."""
    query = select(lineage_edges.c.details).where(
        lineage_edges.c.from_id == from_id, lineage_edges.c.to_id == to_id
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return dict(row.details) if row is not None else None


def details_of(data: Any) -> LineageDetails:
    """Lineage details as the client sends them by name: its nulls and the fields Metis does
    not keep are dropped (the client dumps every field of its own model)."""
    if not isinstance(data, dict):
        raise InvalidLineage("lineage details are a JSON object")
    known = {k: v for k, v in data.items() if k in LineageDetails.model_fields and v is not None}
    return LineageDetails.model_validate(known)
