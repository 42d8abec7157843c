"""Lineage over HTTP: ``PUT /lineage``, ``GET /lineage/{type}/{id}`` (and ``/name/{fqn}``),
``DELETE /lineage/{fromType}/{fromId}/{toType}/{toId}``.

Adding an edge needs ``update`` on the downstream entity (its lineage changes) and that
the caller may read the upstream one and the pipeline named; a graph shows only entities
the caller may read (see ``dataos_defs.metis.lineage``), and a pipeline in an edge's
details only when the caller may read it. ``knowledgeGraph=true`` adds the knowledge-graph
view (pipelines, owners, tags: ``dataos_defs.metis.lineage_knowledge``); without it the
answer is exactly OpenMetadata's ``EntityLineage``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from dataos_defs.api.errors import ApiError
from dataos_defs.api.metis.deps import json_body
from dataos_defs.api.metis.entity_routes import GateDep, is_uuid, validation_errors
from dataos_defs.api.metis.errors import MetisRoute, bad_request, not_found
from dataos_defs.api.metis.gate import Gate
from dataos_defs.metis import lineage
from dataos_defs.metis.entities import ENTITY_MODELS, EntityReference, reference
from dataos_defs.metis.lineage import Visible
from dataos_defs.metis.lineage_knowledge import TooManyLinks, knowledge_graph
from dataos_defs.metis.lineage_nodes import LineageNode, load_nodes
from dataos_defs.metis.records import StoredEntity

router = APIRouter(route_class=MetisRoute)
Depth = Annotated[int, Query(ge=0, le=lineage.MAX_DEPTH)]
Knowledge = Annotated[bool, Query(description="add the knowledge-graph view (not OpenMetadata)")]


@router.put("/lineage", name="add lineage")
async def add_lineage(request: Request, gate: GateDep) -> dict[str, Any]:
    data = await json_body(request)
    try:
        added = lineage.AddLineage.model_validate(data)
    except ValidationError as exc:
        raise bad_request(f"not a valid lineage request: {validation_errors(exc)}") from None
    await run_in_threadpool(add, gate, added.edge)
    return {}


def add(gate: Gate, edge: lineage.EdgeIn) -> None:
    """Record ``edge`` for the caller: both ends readable, ``update`` on the downstream one."""
    source = _visible(gate, edge.fromEntity.type, edge.fromEntity.id)
    target = _visible(gate, edge.toEntity.type, edge.toEntity.id)
    gate.require("update", target.entity_type, target.fqn)
    details = edge.lineageDetails or lineage.LineageDetails()
    if details.pipeline is not None:
        pipeline = _visible(gate, details.pipeline.type, details.pipeline.id)
        details = details.model_copy(update={"pipeline": _reference(pipeline)})
    try:
        lineage.check_columns(details, source, target)
    except lineage.InvalidLineage as exc:
        raise bad_request(str(exc)) from None
    lineage.add_edge(gate.catalog.engine, source, target, details, edge.description, gate.actor)


def _reference(entity: StoredEntity) -> EntityReference:
    model = ENTITY_MODELS[entity.entity_type].model_validate(entity.body)
    return reference(model, entity.entity_type)


def _visible(gate: Gate, entity_type: str, id: str) -> StoredEntity:
    if entity_type not in ENTITY_MODELS or not is_uuid(id):
        raise not_found(entity_type, id)
    stored = gate.catalog.get(entity_type, id=id)
    if stored is None or not gate.may_read(stored.entity_type, stored.fqn):
        raise not_found(entity_type, id)
    return stored


@router.get("/lineage/{entity_type}/name/{name:path}", name="lineage graph by name")
def graph_by_name(
    entity_type: str,
    name: str,
    gate: GateDep,
    upstreamDepth: Depth = 1,
    downstreamDepth: Depth = 1,
    knowledgeGraph: Knowledge = False,
) -> dict[str, Any]:
    if entity_type not in ENTITY_MODELS:
        raise not_found(entity_type, name)
    try:
        stored = gate.catalog.get(entity_type, fqn=name)
    except ValueError:
        stored = None
    if stored is None or not gate.may_read(entity_type, stored.fqn):
        raise not_found(entity_type, name)
    return graph_for(gate, stored, upstreamDepth, downstreamDepth, knowledge=knowledgeGraph)


@router.get("/lineage/{entity_type}/{id}", name="lineage graph")
def graph_by_id(
    entity_type: str,
    id: str,
    gate: GateDep,
    upstreamDepth: Depth = 1,
    downstreamDepth: Depth = 1,
    knowledgeGraph: Knowledge = False,
) -> dict[str, Any]:
    root = _visible(gate, entity_type, id)
    return graph_for(gate, root, upstreamDepth, downstreamDepth, knowledge=knowledgeGraph)


def graph_for(
    gate: Gate, root: StoredEntity, upstream: int, downstream: int, *, knowledge: bool = False
) -> dict[str, Any]:
    """The lineage answer for the caller; with ``knowledge``, also the knowledge-graph view
    (``lineage_knowledge``) under the one extra key ``knowledgeGraph``."""
    decided: dict[str, bool] = {}

    def visible(node: LineageNode) -> bool:
        if node.id not in decided:
            decided[node.id] = gate.may_read(node.entity_type, node.fqn)
        return decided[node.id]

    found = lineage.graph(gate.catalog.engine, root, upstream, downstream, visible=visible)
    _hide_pipelines(gate, found, visible)
    if knowledge:
        ids = [found["entity"]["id"], *(node["id"] for node in found["nodes"])]
        try:
            found["knowledgeGraph"] = knowledge_graph(found, gate.catalog.get_many(ids))
        except TooManyLinks as exc:
            raise bad_request(str(exc)) from None
    return found


def _hide_pipelines(gate: Gate, found: dict[str, Any], visible: Visible) -> None:
    """Drop from the edges' details every pipeline the caller may not read (or that no
    longer exists); the pipelines are read light, all in one query."""
    edges = [*found["upstreamEdges"], *found["downstreamEdges"]]
    named = {str(e["lineageDetails"]["pipeline"].get("id")) for e in edges if _pipeline_of(e)}
    if not named:
        return
    with gate.catalog.engine.connect() as conn:
        pipelines = load_nodes(conn, named)
    for edge in edges:
        pipeline = _pipeline_of(edge)
        if pipeline is None:
            continue
        node = pipelines.get(str(pipeline.get("id")))
        if node is None or not visible(node):
            edge["lineageDetails"] = {
                k: v for k, v in edge["lineageDetails"].items() if k != "pipeline"
            }


def _pipeline_of(edge: dict[str, Any]) -> dict[str, Any] | None:
    pipeline = edge["lineageDetails"].get("pipeline")
    return pipeline if isinstance(pipeline, dict) else None


@router.delete("/lineage/{from_type}/{from_id}/{to_type}/{to_id}", name="delete lineage edge")
def delete_edge(
    from_type: str, from_id: str, to_type: str, to_id: str, gate: GateDep
) -> dict[str, Any]:
    _visible(gate, from_type, from_id)
    target = _visible(gate, to_type, to_id)
    gate.require("update", target.entity_type, target.fqn)
    if not lineage.remove_edge(gate.catalog.engine, from_id, to_id):
        raise ApiError(404, "not_found", f"no lineage edge from {from_id} to {to_id}")
    return {}
