"""Lineage edges named by their ends' FQNs, as the ingestion's lineage workflows write them:
``PUT``/``PATCH /lineage/{fromType}/name/{fromFqn}/{toType}/name/{toFqn}`` (a body of
lineage details; a patch may change ``sqlQuery``, ``columnsLineage``, ``pipeline`` and
``description`` only) and ``GET /lineage/getLineageEdge/`` + the same path
(``{"edge": {fromEntity, toEntity, ...details}}``, 404 when there is none).

Same rules as by id (``lineage_routes.add``): both ends readable (else 404), ``update`` on
the downstream one to write; an FQN holding ``/`` cannot be named here (use the id routes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from dataos_defs.api.errors import ApiError
from dataos_defs.api.metis.deps import json_body
from dataos_defs.api.metis.entity_routes import GateDep, readable, validation_errors
from dataos_defs.api.metis.errors import MetisRoute, bad_request, not_found
from dataos_defs.api.metis.gate import Gate
from dataos_defs.api.metis.lineage_routes import add
from dataos_defs.metis import lineage
from dataos_defs.metis.entities import ENTITY_MODELS
from dataos_defs.metis.patch import PatchError, apply_patch
from dataos_defs.metis.records import StoredEntity

router = APIRouter(route_class=MetisRoute)
EDGE = "/{from_type}/name/{from_fqn}/{to_type}/name/{to_fqn}"
PATCHABLE = ("sqlQuery", "columnsLineage", "pipeline", "description")


def _ends(
    gate: Gate, from_type: str, from_fqn: str, to_type: str, to_fqn: str
) -> tuple[StoredEntity, StoredEntity]:
    for entity_type, name in ((from_type, from_fqn), (to_type, to_fqn)):
        if entity_type not in ENTITY_MODELS:
            raise not_found(entity_type, name)
    return (
        readable(gate, from_type, from_fqn, None, "non-deleted"),
        readable(gate, to_type, to_fqn, None, "non-deleted"),
    )


def _record(gate: Gate, source: StoredEntity, target: StoredEntity, details: Any) -> None:
    edge = lineage.EdgeIn(
        fromEntity=lineage.RefIn(id=source.id, type=source.entity_type),
        toEntity=lineage.RefIn(id=target.id, type=target.entity_type),
        lineageDetails=details,
    )
    add(gate, edge)


@router.put("/lineage" + EDGE, name="add lineage by name")
async def put_by_name(
    request: Request, from_type: str, from_fqn: str, to_type: str, to_fqn: str, gate: GateDep
) -> dict[str, Any]:
    data = await json_body(request)
    try:
        details = lineage.details_of(data)
    except (ValidationError, lineage.InvalidLineage) as exc:
        raise bad_request(f"not valid lineage details: {_reason(exc)}") from None

    def put() -> None:
        source, target = _ends(gate, from_type, from_fqn, to_type, to_fqn)
        _record(gate, source, target, details)

    await run_in_threadpool(put)
    return {}


@router.get("/lineage/getLineageEdge" + EDGE, name="lineage edge by name")
def get_edge(from_type: str, from_fqn: str, to_type: str, to_fqn: str, gate: GateDep) -> Any:
    source, target = _ends(gate, from_type, from_fqn, to_type, to_fqn)
    details = lineage.edge_details(gate.catalog.engine, source.id, target.id)
    if details is None:
        raise ApiError(404, "not_found", f"no lineage edge from {source.fqn} to {target.fqn}")
    return {"edge": {"fromEntity": source.id, "toEntity": target.id, **details}}


@router.patch("/lineage" + EDGE, name="patch lineage by name")
async def patch_by_name(
    request: Request, from_type: str, from_fqn: str, to_type: str, to_fqn: str, gate: GateDep
) -> dict[str, Any]:
    operations = await json_body(request)

    def patch() -> None:
        source, target = _ends(gate, from_type, from_fqn, to_type, to_fqn)
        current = lineage.edge_details(gate.catalog.engine, source.id, target.id)
        if current is None:
            raise ApiError(404, "not_found", f"no lineage edge from {source.fqn} to {target.fqn}")
        try:
            patched = apply_patch(current, operations)
        except PatchError as exc:
            raise bad_request(f"the patch does not apply: {exc}") from None
        if not isinstance(patched, dict):
            raise bad_request("the patch must leave lineage details (a JSON object)")
        changed = {k for k in set(patched) | set(current) if patched.get(k) != current.get(k)}
        if changed - set(PATCHABLE):
            raise bad_request(f"a lineage patch changes only {', '.join(PATCHABLE)}")
        kept = {k: v for k, v in patched.items() if k in PATCHABLE}
        try:
            details = lineage.details_of(kept)
        except (ValidationError, lineage.InvalidLineage) as exc:
            raise bad_request(f"not valid lineage details: {_reason(exc)}") from None
        _record(gate, source, target, details)

    await run_in_threadpool(patch)
    return {}


def _reason(exc: Exception) -> str:
    return validation_errors(exc) if isinstance(exc, ValidationError) else str(exc)
