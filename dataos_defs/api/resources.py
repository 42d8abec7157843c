"""Poros resource endpoints: apply a set, get, list, history, delete."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from dataos_defs.api import bundles
from dataos_defs.api.admission import Subject, admit
from dataos_defs.api.authz import Target, authorize, decide_visible, heimdall_of, log_list
from dataos_defs.api.bundles_checks import authorize_apply, check_policies
from dataos_defs.api.deps import get_store
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.limits import check_manifest_sizes
from dataos_defs.api.listing_cache import Listing, listing_cache
from dataos_defs.api.listing_json import TaggedResourceList, TaggedResourceOut, listed_json, tagged
from dataos_defs.api.reconciler import after_change, configured
from dataos_defs.api.runtime import runtimes_of
from dataos_defs.api.wire import (
    ApplyRequest,
    ApplyResponse,
    ApplyResultOut,
    DeleteOut,
    HistoryOut,
    ResourceList,
    ResourceOut,
    ResourceRef,
    RevisionOut,
)
from dataos_defs.api.workloads import after_change as workloads_changed
from dataos_defs.api.workloads import runtime_of, workload_runtimes
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.loader import Document
from dataos_defs.manifest.registry import RESOURCE_TYPES, WORKSPACE_TYPES
from dataos_defs.manifest.source import SourceMap
from dataos_defs.manifest.validate import ParsedResource, parse_documents
from dataos_defs.poros import summaries
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.records import ResourceKey, StoredResource
from dataos_defs.poros.store import Store

router = APIRouter(prefix="/poros/api/v1", tags=["resources"])
StoreDep = Annotated[Store, Depends(get_store)]
IdentityDep = Annotated[Identity, Depends(current_identity)]


def _documents(request: ApplyRequest) -> list[Document]:
    documents = []
    for doc in request.documents:
        source = SourceMap.from_json(doc.file, doc.positions)
        source.positions.setdefault((), (1, 1))
        documents.append(Document(doc.file, doc.index, doc.manifest, source))
    return documents


@router.post(
    "/apply", response_model=ApplyResponse, summary="Validate and apply a set of manifests"
)
def apply(
    body: ApplyRequest, request: Request, store: StoreDep, identity: IdentityDep
) -> ApplyResponse:
    """All or nothing: every manifest is validated, the caller must be allowed to create (or
    update) each one, references and policies are checked, then one transaction writes them.
    Any problem returns 422 (403 when not allowed, 413 when too large) and changes nothing.
    Answers once the set is committed: Dagster is reconciled in the background, and the
    workflows in ``pending`` stay pending until it has decided them."""
    check_manifest_sizes(request, body.documents)
    parsed = parse_documents(_documents(body), body.workspace)
    _authorize_apply(request, store, identity, parsed, body.workspace)
    _check_policies(request, parsed)
    run_as = admit(
        heimdall_of(request),
        store,
        request.app.state.identities,
        Subject(identity.user_id, identity.tags),
        request.app.state.home,
        body.workspace,
        parsed,
    )
    plans = bundles.prepare(request, store, identity, parsed, body.force)
    results = apply_resources(
        store, parsed, body.workspace, identity.user_id, dry_run=body.dry_run, run_as=run_as
    )
    reconciling, pending = False, []
    if not body.dry_run:
        heimdall_of(request).reload()
        keys = [ResourceKey(r.kind, r.name, r.workspace) for r in results]
        changed = [key for key, r in zip(keys, results, strict=True) if r.action != "unchanged"]
        requested = after_change(store, changed, keys)
        workloads_changed(request.app, changed)
        reconciling, pending = requested.reconciling, requested.pending
        bundles.start(request, store, identity, plans, results)
    return ApplyResponse(
        dry_run=body.dry_run,
        reconciling=reconciling,
        pending=[ResourceRef(type=k.kind, name=k.name, workspace=k.workspace) for k in pending],
        results=[
            ApplyResultOut(
                type=r.kind,
                name=r.name,
                version=r.version,
                workspace=r.workspace,
                action=r.action,
                revision=r.revision,
            )
            for r in results
        ],
    )


def _authorize_apply(
    request: Request,
    store: Store,
    identity: Identity,
    parsed: list[ParsedResource],
    workspace: str | None,
) -> None:
    subject = Subject(identity.user_id, identity.tags)
    authorize_apply(heimdall_of(request), store, subject, parsed, workspace)


def _check_policies(request: Request, parsed: list[ParsedResource]) -> None:
    """Access policies must compile together with those in force, before anything is written."""
    check_policies(heimdall_of(request), parsed)


def _check_type(kind: str | None) -> None:
    if kind is not None and kind not in RESOURCE_TYPES:
        raise ApiError(
            400,
            "unknown_type",
            f"unknown Resource type '{kind}'",
            f"one of: {', '.join(sorted(RESOURCE_TYPES))}",
        )


def _workspace_for(kind: str, workspace: str | None) -> str | None:
    return (workspace or "public") if kind in WORKSPACE_TYPES else None


def _out(
    resource: StoredResource, with_manifest: bool = False, runtime: str | None = None
) -> ResourceOut:
    return ResourceOut(
        runtime=runtime,
        name=resource.name,
        version=resource.version,
        type=resource.kind,
        workspace=resource.workspace,
        status=resource.status,
        status_reason=resource.status_reason,
        owner=resource.owner,
        run_as=resource.run_as,
        revision=resource.revision,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
        manifest=resource.manifest if with_manifest else None,
    )


@router.get(
    "/resources",
    response_model=ResourceList | TaggedResourceList,
    summary="List Resources",
)
def list_resources(
    request: Request,
    store: StoreDep,
    identity: IdentityDep,
    type: Annotated[str | None, Query(description="Resource type")] = None,
    workspace: Annotated[str | None, Query(description="workspace; all when absent")] = None,
    name: Annotated[str | None, Query()] = None,
    tags: Annotated[bool, Query(description="each Resource's tags too (get --tags)")] = False,
) -> Response:
    """With ``workspace``, workspace-level Resources of that workspace plus the instance-level
    ones (they belong to no workspace); without it, everything. Only what the caller may
    read is listed, logged as one decision. The filtered list is kept (``listing_cache``)
    until the caller's tags, the policies or the Resources change. With ``tags``, each
    item carries its manifest's ``tags`` (reading them costs a listing that does not ask
    for them nothing)."""
    _check_type(type)
    started = time.perf_counter()
    heimdall = heimdall_of(request)
    heimdall.refresh()
    key = (
        (type, workspace, name, tags),
        (identity.user_id, tuple(sorted(set(identity.tags)))),
        heimdall.pdp.generation,
        store.listing_marker(),
    )
    cache = listing_cache(request.app)
    listing = cache.get(key)
    if listing is None:
        listing = _listing(heimdall, store, identity, (type, workspace, name), tags)
        cache.put(key, listing)
    shown = len(listing.resources)
    log_list(request, identity, "read", listing.listed, shown, listing.undecided, started)
    runtimes = runtimes_of([r for r in listing.resources if r.kind == "workflow"])
    runtimes.update(workload_runtimes(request.app, listing.resources))
    body = listing.body(
        runtimes,
        lambda resource, runtime: listed_json(resource, _out(resource, runtime=runtime), tags),
    )
    return Response(body, media_type="application/json")


def _listing(
    heimdall: Heimdall,
    store: Store,
    identity: Identity,
    filters: tuple[str | None, str | None, str | None],
    tags: bool,
) -> Listing:
    """The Resources matching the filters (type, workspace, name) that the caller may read,
    serialised. Manifests are read only for what the listing shows of them: workflows'
    runtimes, with Dagster, and every Resource's tags when asked for."""
    kind, workspace, name = filters
    manifests_of = ("workflow",) if configured() else ()
    with store.reading() as session:
        if workspace is None or (kind is not None and kind not in WORKSPACE_TYPES):
            items = summaries.live(session, kind, None, name, manifests_of, tags)
        else:
            items = summaries.live(session, kind, workspace, name, manifests_of, tags)
            if kind is None:
                instance = summaries.live(session, None, None, name, manifests_of, tags)
                items += [r for r in instance if r.workspace is None]
    readable, undecided = decide_visible(heimdall, identity, "read", items, _target)
    fragments = tuple(listed_json(resource, _out(resource), tags) for resource in readable)
    return Listing(tuple(readable), fragments, len(items), undecided)


def _target(resource: StoredResource) -> Target:
    return resource_object(resource.kind, resource.name, resource.workspace), ()


def _require(store: Store, kind: str, name: str, workspace: str | None) -> StoredResource:
    _check_type(kind)
    found = store.get(kind, name, _workspace_for(kind, workspace))
    if found is None:
        where = (
            f" in workspace '{_workspace_for(kind, workspace)}'" if kind in WORKSPACE_TYPES else ""
        )
        raise ApiError(404, "not_found", f"{kind} '{name}' not found{where}")
    return found


@router.get(
    "/resources/{type}/{name}",
    response_model=TaggedResourceOut | ResourceOut,
    summary="Get one Resource",
)
def get_resource(
    request: Request,
    type: str,
    name: str,
    store: StoreDep,
    identity: IdentityDep,
    workspace: str | None = None,
    unsanitize: Annotated[bool, Query(description="include secret values")] = False,
    tags: Annotated[bool, Query(description="the manifest's tags as a field too")] = False,
) -> ResourceOut:
    """Secret values need ``read`` on ``<resource>/secrets`` too (``unsanitize``); with
    ``tags`` the answer has the listing's ``tags`` field (the manifest has them anyway)."""
    _check_type(type)
    path = resource_object(type, name, _workspace_for(type, workspace))
    authorize(request, identity, "read", path)
    if unsanitize:
        authorize(request, identity, "read", f"{path}/secrets")
    _require(store, type, name, workspace)
    resource = store.get(type, name, _workspace_for(type, workspace), unsanitize=unsanitize)
    assert resource is not None
    runtime = runtimes_of([resource] if type == "workflow" else []).get((name, resource.workspace))
    workload = runtime_of(request.app, resource)
    runtime = workload.summary if workload is not None else runtime
    out = _out(resource, with_manifest=True, runtime=runtime)
    return tagged(resource, out) if tags else out


@router.get("/resources/{type}/{name}/history", response_model=HistoryOut, summary="Every revision")
def history(
    request: Request,
    type: str,
    name: str,
    store: StoreDep,
    identity: IdentityDep,
    workspace: str | None = None,
) -> HistoryOut:
    _check_type(type)
    ws = _workspace_for(type, workspace)
    authorize(request, identity, "read", resource_object(type, name, ws))
    revisions = store.history(type, name, ws)
    if not revisions:
        raise ApiError(404, "not_found", f"{type} '{name}' has no history")
    return HistoryOut(
        type=type,
        name=name,
        workspace=ws,
        revisions=[
            RevisionOut(
                revision=r.revision,
                action=r.action,
                applied_by=r.applied_by,
                applied_at=r.applied_at,
                version=r.version,
                source_file=r.source_file,
                digest=r.digest,
                compacted_at=r.compacted_at,
            )
            for r in revisions
        ],
    )


@router.delete("/resources/{type}/{name}", response_model=DeleteOut, summary="Delete a Resource")
def delete_resource(
    request: Request,
    type: str,
    name: str,
    store: StoreDep,
    identity: IdentityDep,
    workspace: str | None = None,
    force: bool = False,
) -> DeleteOut:
    _check_type(type)
    ws = _workspace_for(type, workspace)
    if type == "bundle":  # its members go too, in reverse order
        gone = bundles.delete_everything(request, store, identity, name, force)
        return DeleteOut(type=type, name=name, workspace=None, reconciling=bool(gone.deleted))
    authorize(request, identity, "delete", resource_object(type, name, ws))
    _require(store, type, name, workspace)
    store.delete(type, name, ws, identity.user_id, force=force)
    heimdall_of(request).reload()
    reconciling = after_change(store, [ResourceKey(type, name, ws)]).reconciling
    workloads_changed(request.app, [ResourceKey(type, name, ws)])
    return DeleteOut(type=type, name=name, workspace=ws, reconciling=reconciling)


class DeleteKey(BaseModel):
    type: str
    name: str
    workspace: str | None = None


class DeleteManyRequest(BaseModel):
    resources: list[DeleteKey] = Field(min_length=1, max_length=10_000)
    force: bool = False


class DeleteManyOut(BaseModel):
    deleted: list[DeleteOut]
    """In the order deleted: dependents before what they depend on."""
    reconciling: bool = False
    """Dagster is reconciled with the deletion in the background."""


@router.post("/delete", response_model=DeleteManyOut, summary="Delete a set of Resources")
def delete_resources(
    body: DeleteManyRequest, request: Request, store: StoreDep, identity: IdentityDep
) -> DeleteManyOut:
    """All or nothing, in one transaction (``dataos-ctl delete -f``): each Resource must
    exist and the caller must be allowed to delete it; refused as a whole (409) while a
    live Resource outside the set depends on one of them, unless ``force``."""
    keys = []
    for entry in body.resources:
        _check_type(entry.type)
        key = ResourceKey(entry.type, entry.name, _workspace_for(entry.type, entry.workspace))
        authorize(request, identity, "delete", resource_object(key.kind, key.name, key.workspace))
        keys.append(key)
    deleted = store.delete_many(keys, identity.user_id, force=body.force)
    heimdall_of(request).reload()
    reconciling = after_change(store, keys).reconciling
    workloads_changed(request.app, keys)
    return DeleteManyOut(
        deleted=[
            DeleteOut(type=k.kind, name=k.name, workspace=k.workspace, reconciling=reconciling)
            for k in deleted
        ],
        reconciling=reconciling,
    )
