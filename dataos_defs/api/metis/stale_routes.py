"""``DELETE /{collection}/deleteStale``: soft-delete what a scan no longer sees
(``dataos_defs.metis.stale``), answered as a BulkOperationResult of the deleted FQNs.

Registered before the collections' ``DELETE /{collection}/{id}``. The scope must exist and
be readable (else 404, like OpenMetadata, and then the client falls back to listing and
deleting one by one); each stale entity needs ``delete``: a refusal fails that entity
alone, the others are still deleted. With ``recursive: false`` a stale entity that still
holds live entities (a database with schemas, a schema with tables) is refused like
OpenMetadata refuses it (400, "not empty"), never soft-deleted over live children.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from dataos_defs.api.errors import ApiError
from dataos_defs.api.metis.collections import COLLECTIONS
from dataos_defs.api.metis.deps import json_body
from dataos_defs.api.metis.entity_routes import GateDep, readable, validation_errors
from dataos_defs.api.metis.errors import MetisRoute, bad_request
from dataos_defs.api.metis.gate import Gate
from dataos_defs.api.metis.tag_guard import guard_of
from dataos_defs.metis import stale
from dataos_defs.metis.entities import BulkOperationResult, BulkResponse

STALE_COLLECTIONS = ("databases", "databaseSchemas", "tables", "storedProcedures")


def add_stale_route(router: APIRouter, path: str, entity_type: str) -> None:
    @router.delete(f"/{path}/deleteStale", name=f"delete stale {entity_type}")
    async def delete_stale(request: Request, gate: GateDep) -> BulkOperationResult:
        data = await json_body(request)
        try:
            wanted = stale.DeleteStale.model_validate(data)
        except ValidationError as exc:
            raise bad_request(
                f"not a valid deleteStale request: {validation_errors(exc)}"
            ) from None
        return await run_in_threadpool(_delete_stale, gate, entity_type, wanted)


def _delete_stale(gate: Gate, entity_type: str, wanted: stale.DeleteStale) -> BulkOperationResult:
    scope_type = stale.SCOPE_TYPES.get(wanted.scopeEntityType)
    if scope_type is None:
        raise bad_request(f"scopeEntityType must be one of {', '.join(stale.SCOPE_TYPES)}")
    scope = readable(gate, scope_type, wanted.scopeFqn, None, "non-deleted")
    found = stale.stale(gate.catalog, entity_type, scope.fqn, wanted.seenFqns)
    passed: list[BulkResponse] = []
    failed: list[BulkResponse] = []
    for row in found:
        try:
            _delete_one(gate, entity_type, row.id, recursive=wanted.recursive)
        except ApiError as exc:
            failed.append(BulkResponse(request=row.fqn, message=exc.message, status=exc.status))
            continue
        passed.append(BulkResponse(request=row.fqn, status=200))
    status = "success" if not failed else "failure" if not passed else "partialSuccess"
    return BulkOperationResult(
        status=status,
        numberOfRowsProcessed=len(found),
        numberOfRowsPassed=len(passed),
        numberOfRowsFailed=len(failed),
        successRequest=passed,
        failedRequest=failed,
    )


def _delete_one(gate: Gate, entity_type: str, id: str, *, recursive: bool) -> None:
    stored = gate.catalog.get(entity_type, id=id)
    if stored is None:
        return
    gate.require("delete", entity_type, stored.fqn)
    children = gate.catalog.descendants(stored)
    live = [child for child in children if not child.deleted]
    if live and not recursive:
        raise bad_request(
            f"{entity_type} {stored.fqn} is not empty: it holds {len(live)} live entities",
            "send recursive: true to delete what it holds too",
        )
    for child in children:
        gate.require("delete", child.entity_type, child.fqn)
    gate.catalog.delete(stored, children, gate.actor, hard=False, guard=guard_of(gate))


def stale_router() -> APIRouter:
    router = APIRouter(route_class=MetisRoute)
    for path, entity_type in COLLECTIONS.items():
        if path in STALE_COLLECTIONS:
            add_stale_route(router, path, entity_type)
    return router
