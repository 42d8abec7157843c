"""Generic entity routes over every collection: create-or-update (one and bulk), get by
name or id, filtered paged lists, JSON Patch with ``If-Match``, versions, soft delete.

Departures from OpenMetadata, by choice: ``fields`` adds only what is kept beside the entity
(a table's ``profile``, ``usageSummary`` and ``joins``: ``table_extras``); every field of the
entity itself is always answered, tags of columns included. Lists apply the regex filters
the profiler sends (``databaseRegex``, ``databaseSchemaRegex``, ``tableRegex``,
``regexMode``, ``regexFilterByFqn``: ``metis.regex_filter``, run by RE2). ``PUT`` answers
201 for a new entity, 200 otherwise; a bulk request is one transaction in which each entity
succeeds or fails on its own, as OpenMetadata reports it.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.metis.collections import COLLECTIONS, LIST_FILTERS, target_fqn
from dataos_defs.api.metis.deps import MAX_BULK, catalog_of, json_body
from dataos_defs.api.metis.errors import bad_request, not_found
from dataos_defs.api.metis.gate import Gate
from dataos_defs.api.metis.listing import Page, list_entities
from dataos_defs.api.metis.table_extras import table_answer, wanted
from dataos_defs.api.metis.tag_guard import guard_of
from dataos_defs.metis import builders, regex_filter
from dataos_defs.metis.catalog import Catalog, Raced, VersionMismatch
from dataos_defs.metis.entities import BulkOperationResult, BulkResponse
from dataos_defs.metis.patch import PatchError, apply_patch
from dataos_defs.metis.records import StoredEntity, version_tenths
from dataos_defs.metis.requests import CREATE_REQUESTS, CreateEntity

MAX_LIST_LIMIT = 1_000_000
IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+(?:\.\d+)?)"?\s*$')
PATCH_TYPES = ("application/json-patch+json", "application/json")

Include = Literal["non-deleted", "deleted", "all"]
Fields = Annotated[str | None, Query(max_length=1024)]
IdentityDep = Annotated[Identity, Depends(current_identity)]
CatalogDep = Annotated[Catalog, Depends(catalog_of)]


def gate_of(request: Request, identity: IdentityDep, catalog: CatalogDep) -> Gate:
    return Gate(request, identity, catalog)


GateDep = Annotated[Gate, Depends(gate_of)]


def add_collection(router: APIRouter, path: str, entity_type: str) -> None:
    """Register the routes of one collection (named routes before ``/{id}``)."""
    base = f"/{path}"

    @router.put(base + "/bulk", name=f"bulk {entity_type}")
    async def put_bulk(request: Request, gate: GateDep) -> BulkOperationResult:
        data = await json_body(request)
        return await run_in_threadpool(_bulk, gate, entity_type, data)

    @router.put(base, name=f"create or update {entity_type}")
    async def put_one(request: Request, gate: GateDep) -> JSONResponse:
        create = _parse(entity_type, await json_body(request))
        stored, action = await run_in_threadpool(_put, gate, entity_type, create)
        return JSONResponse(gate.answer(stored), status_code=201 if action == "created" else 200)

    @router.get(base + "/name/{name:path}", name=f"get {entity_type} by name")
    def get_by_name(
        name: str, gate: GateDep, include: Include = "non-deleted", fields: Fields = None
    ) -> dict[str, Any]:
        stored = readable(gate, entity_type, name, None, include)
        return table_answer(gate, stored, wanted(fields))

    @router.patch(base + "/name/{name:path}", name=f"patch {entity_type} by name")
    async def patch_by_name(request: Request, name: str, gate: GateDep) -> dict[str, Any]:
        return await _patch(request, gate, entity_type, name, None)

    @router.delete(base + "/name/{name:path}", name=f"delete {entity_type} by name")
    def delete_by_name(
        name: str, gate: GateDep, hardDelete: bool = False, recursive: bool = False
    ) -> dict[str, Any]:
        stored = readable(gate, entity_type, name, None, "all")
        return _delete(gate, stored, hard=hardDelete, recursive=recursive)

    @router.get(base, name=f"list {entity_type}")
    def list_of(
        request: Request,
        gate: GateDep,
        limit: Annotated[int, Query(ge=0, le=MAX_LIST_LIMIT)] = 10,
        after: str | None = None,
        before: str | None = None,
        include: Include = "non-deleted",
        fields: Fields = None,
    ) -> dict[str, Any]:
        params = request.query_params
        filters = {k: v for k, v in params.items() if k in LIST_FILTERS.get(entity_type, ())}
        try:
            regexes = regex_filter.parse(params)
        except regex_filter.RegexFilterError as exc:
            raise bad_request(str(exc), "write patterns RE2 runs (no lookarounds)") from None
        page = Page(limit, after, before, include, wanted(fields))
        return list_entities(gate, entity_type, filters, regexes, page)

    @router.get(base + "/{id}/versions", name=f"versions of {entity_type}")
    def versions(id: str, gate: GateDep) -> dict[str, Any]:
        stored = readable(gate, entity_type, None, id, "all")
        bodies = [gate.answer(old) for old in gate.catalog.versions(stored.id)]
        return {"entityType": entity_type, "versions": [gate.answer(stored), *bodies]}

    @router.get(base + "/{id}/versions/{version}", name=f"a version of {entity_type}")
    def one_version(id: str, version: str, gate: GateDep) -> dict[str, Any]:
        stored = readable(gate, entity_type, None, id, "all")
        wanted = _tenths(version)
        for candidate in [stored, *gate.catalog.versions(stored.id)]:
            if candidate.version_tenths == wanted:
                return gate.answer(candidate)
        raise not_found(entity_type, f"{id} version {version}")

    @router.get(base + "/{id}", name=f"get {entity_type}")
    def get_by_id(
        id: str, gate: GateDep, include: Include = "non-deleted", fields: Fields = None
    ) -> dict[str, Any]:
        stored = readable(gate, entity_type, None, id, include)
        return table_answer(gate, stored, wanted(fields))

    @router.patch(base + "/{id}", name=f"patch {entity_type}")
    async def patch_by_id(request: Request, id: str, gate: GateDep) -> dict[str, Any]:
        return await _patch(request, gate, entity_type, None, id)

    @router.delete(base + "/{id}", name=f"delete {entity_type}")
    def delete_by_id(
        id: str, gate: GateDep, hardDelete: bool = False, recursive: bool = False
    ) -> dict[str, Any]:
        stored = readable(gate, entity_type, None, id, "all")
        return _delete(gate, stored, hard=hardDelete, recursive=recursive)


def _parse(entity_type: str, data: Any) -> CreateEntity:
    try:
        return CREATE_REQUESTS[entity_type].model_validate(data)
    except ValidationError as exc:
        raise bad_request(
            f"not a valid create request for a {entity_type}: {validation_errors(exc)}"
        ) from None


def validation_errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"
        for err in exc.errors()[:5]
    )


def _put(gate: Gate, entity_type: str, create: CreateEntity) -> tuple[StoredEntity, str]:
    try:
        try:
            return _put_once(gate, entity_type, create)
        except Raced:
            # Decided again as what it now is: Poros' sync creates a depot's entries right
            # after an apply, when its owner's client often creates them too.
            return _put_once(gate, entity_type, create)
    except Raced:
        hint = "retry: another writer created or deleted it at the same time"
        raise ApiError(
            409, "conflict", f"{entity_type} {create.name} changed meanwhile", hint
        ) from None
    except builders.MissingParent as exc:
        raise ApiError(404, "not_found", str(exc), "create the parent first") from None
    except ValueError as exc:
        raise bad_request(str(exc)) from None


def _put_once(gate: Gate, entity_type: str, create: CreateEntity) -> tuple[StoredEntity, str]:
    own = target_fqn(create)
    exists = gate.catalog.get(entity_type, fqn=own, include_deleted=True) is not None
    gate.require("update" if exists else "create", entity_type, own)
    if exists and not gate.may_read_entry(entity_type, own):
        hint = "updating answers the entity, so it needs read on it too"
        raise ApiError(403, "forbidden", f"{gate.actor} may not read {entity_type} {own}", hint)
    return gate.catalog.put(
        entity_type, create, gate.actor, expect_new=not exists, guard=guard_of(gate)
    )


def _bulk(gate: Gate, entity_type: str, data: Any) -> BulkOperationResult:
    if not isinstance(data, list):
        raise bad_request("a bulk request is a JSON array of create requests")
    if len(data) > MAX_BULK:
        raise bad_request(f"a bulk request holds at most {MAX_BULK} entities")
    passed: list[BulkResponse] = []
    failed: list[BulkResponse] = []
    for item in data:
        name = item.get("name") if isinstance(item, dict) else None
        try:
            stored, _ = _put(gate, entity_type, _parse(entity_type, item))
        except ApiError as exc:
            failed.append(BulkResponse(request=name, message=exc.message, status=exc.status))
            continue
        passed.append(BulkResponse(request=stored.fqn, status=200))
    status = "success" if not failed else "failure" if not passed else "partialSuccess"
    return BulkOperationResult(
        status=status,
        numberOfRowsProcessed=len(data),
        numberOfRowsPassed=len(passed),
        numberOfRowsFailed=len(failed),
        successRequest=passed,
        failedRequest=failed,
    )


def readable(
    gate: Gate, entity_type: str, name: str | None, id: str | None, include: str
) -> StoredEntity:
    key = name if name is not None else str(id)
    if id is not None and not is_uuid(id):
        raise not_found(entity_type, key)
    try:
        stored = gate.catalog.get(
            entity_type, fqn=name, id=id, include_deleted=include != "non-deleted"
        )
    except ValueError:
        stored = None
    if stored is None or (include == "deleted" and not stored.deleted):
        raise not_found(entity_type, key)
    if not gate.may_read(entity_type, stored.fqn):
        raise not_found(entity_type, key)
    return stored


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _tenths(version: str) -> int:
    try:
        return version_tenths(version)
    except ValueError:
        raise bad_request(f"'{version}' is not a version number") from None


async def _patch(
    request: Request, gate: Gate, entity_type: str, name: str | None, id: str | None
) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in PATCH_TYPES:
        hint = "send a JSON Patch as application/json-patch+json"
        raise ApiError(415, "unsupported_media_type", "not a JSON Patch", hint)
    expected = _if_match(request.headers.get("if-match"))
    operations = await json_body(request)
    return await run_in_threadpool(patch_entity, gate, entity_type, name, id, operations, expected)


def patch_entity(
    gate: Gate,
    entity_type: str,
    name: str | None,
    id: str | None,
    operations: Any,
    expected: int | None,
) -> dict[str, Any]:
    stored = readable(gate, entity_type, name, id, "non-deleted")
    gate.require("update", stored.entity_type, stored.fqn)
    try:
        patched = apply_patch(stored.body, operations)
    except PatchError as exc:
        raise bad_request(f"the patch does not apply: {exc}") from None
    if not isinstance(patched, dict):
        raise bad_request("the patch must leave an entity (a JSON object)")
    changed = [f for f in builders.IMMUTABLE_FIELDS if patched.get(f) != stored.body.get(f)]
    if changed:
        raise bad_request(f"{', '.join(changed)} cannot be changed by a patch")
    try:
        # Checked against the version read, so a concurrent change is never overwritten
        # unchecked (the client refetches on 412, as it does for If-Match).
        written = gate.catalog.replace(
            stored,
            patched,
            gate.actor,
            expected_tenths=expected if expected is not None else stored.version_tenths,
            guard=guard_of(gate),
        )
    except VersionMismatch as exc:
        raise ApiError(
            412,
            "version_mismatch",
            f"the entity changed: it is at version {exc.current}",
            "fetch it again and re-apply your change",
        ) from None
    except ValueError as exc:
        raise bad_request(f"the patched entity is not valid: {exc}") from None
    return gate.answer(written)


def _if_match(header: str | None) -> int | None:
    if header is None or header.strip() == "*":
        return None
    match = IF_MATCH.match(header)
    if match is None:
        raise bad_request(f'If-Match must be W/"<version>", not {header!r}')
    return version_tenths(match.group(1))


def _delete(gate: Gate, stored: StoredEntity, *, hard: bool, recursive: bool) -> dict[str, Any]:
    gate.require("delete", stored.entity_type, stored.fqn)
    children = gate.catalog.descendants(stored)
    if children and not recursive:
        raise bad_request(
            f"{stored.entity_type} {stored.fqn} is not empty",
            "delete with recursive=true to delete what it holds too",
        )
    for child in children:
        gate.require("delete", child.entity_type, child.fqn)
    deleted = gate.catalog.delete(stored, children, gate.actor, hard=hard, guard=guard_of(gate))
    return gate.answer(deleted)


def collections_router() -> APIRouter:
    from dataos_defs.api.metis.errors import MetisRoute

    router = APIRouter(route_class=MetisRoute)
    for path, entity_type in COLLECTIONS.items():
        add_collection(router, path, entity_type)
    return router
