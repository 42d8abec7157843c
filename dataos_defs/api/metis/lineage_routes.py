"""Lineage over HTTP: ``PUT /lineage``, ``GET /lineage/{type}/{id}`` (and ``/name/{fqn}``),
``DELETE /lineage/{fromType}/{fromId}/{toType}/{toId}``.

Adding an edge needs ``update`` on the downstream entity (its lineage changes) and that
the caller may read the upstream one and the pipeline named; a graph shows only entities
the caller may read (see ``dataos_defs.metis.lineage``), and a pipeline in an edge's
details only when the caller may read it.
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
from dataos_defs.metis.records import StoredEntity

router = APIRouter(route_class=MetisRoute)
Depth = Annotated[int, Query(ge=0, le=lineage.MAX_DEPTH)]


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
) -> dict[str, Any]:
    if entity_type not in ENTITY_MODELS:
        raise not_found(entity_type, name)
    try:
        stored = gate.catalog.get(entity_type, fqn=name)
    except ValueError:
        stored = None
    if stored is None or not gate.may_read(entity_type, stored.fqn):
        raise not_found(entity_type, name)
    return graph_for(gate, stored, upstreamDepth, downstreamDepth)


@router.get("/lineage/{entity_type}/{id}", name="lineage graph")
def graph_by_id(
    entity_type: str,
    id: str,
    gate: GateDep,
    upstreamDepth: Depth = 1,
    downstreamDepth: Depth = 1,
) -> dict[str, Any]:
    return graph_for(gate, _visible(gate, entity_type, id), upstreamDepth, downstreamDepth)


def graph_for(gate: Gate, root: StoredEntity, upstream: int, downstream: int) -> dict[str, Any]:
    decided: dict[str, bool] = {}

    def visible(entity: StoredEntity) -> bool:
        if entity.id not in decided:
            decided[entity.id] = gate.may_read(entity.entity_type, entity.fqn)
        return decided[entity.id]

    found = lineage.graph(
        gate.catalog.engine, root, upstream, downstream, gate.catalog.get_many, visible
    )
    for edge in [*found["upstreamEdges"], *found["downstreamEdges"]]:
        pipeline = edge["lineageDetails"].get("pipeline")
        if pipeline is not None and not _may_see_pipeline(gate, pipeline, visible):
            edge["lineageDetails"] = {
                k: v for k, v in edge["lineageDetails"].items() if k != "pipeline"
            }
    return found


def _may_see_pipeline(gate: Gate, pipeline: dict[str, Any], visible: Any) -> bool:
    stored = gate.catalog.get_by_id(str(pipeline.get("id")))
    return stored is not None and visible(stored)


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
