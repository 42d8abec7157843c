"""Poros resource endpoints: apply a set, get, list, history, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from dataos_defs.api.deps import get_store
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.wire import (
    ApplyRequest,
    ApplyResponse,
    ApplyResultOut,
    DeleteOut,
    HistoryOut,
    ResourceList,
    ResourceOut,
    RevisionOut,
)
from dataos_defs.manifest.loader import Document
from dataos_defs.manifest.registry import RESOURCE_TYPES, WORKSPACE_TYPES
from dataos_defs.manifest.source import SourceMap
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.records import StoredResource
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
def apply(request: ApplyRequest, store: StoreDep, identity: IdentityDep) -> ApplyResponse:
    """All or nothing: every manifest is validated, references are checked, then one
    transaction writes them. Any problem returns 422 with every issue and changes nothing."""
    parsed = parse_documents(_documents(request), request.workspace)
    results = apply_resources(
        store, parsed, request.workspace, identity.user_id, dry_run=request.dry_run
    )
    return ApplyResponse(
        dry_run=request.dry_run,
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


def _out(resource: StoredResource, with_manifest: bool = False) -> ResourceOut:
    return ResourceOut(
        name=resource.name,
        version=resource.version,
        type=resource.kind,
        workspace=resource.workspace,
        status=resource.status,
        status_reason=resource.status_reason,
        owner=resource.owner,
        revision=resource.revision,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
        manifest=resource.manifest if with_manifest else None,
    )


@router.get("/resources", response_model=ResourceList, summary="List Resources")
def list_resources(
    store: StoreDep,
    _: IdentityDep,
    type: Annotated[str | None, Query(description="Resource type")] = None,
    workspace: Annotated[str | None, Query(description="workspace; all when absent")] = None,
    name: Annotated[str | None, Query()] = None,
) -> ResourceList:
    """With ``workspace``, workspace-level Resources of that workspace plus the instance-level
    ones (they belong to no workspace); without it, everything."""
    _check_type(type)
    if workspace is None or (type is not None and type not in WORKSPACE_TYPES):
        items = store.list(kind=type, name=name)
    else:
        items = store.list(kind=type, workspace=workspace, name=name)
        if type is None:
            items += [r for r in store.list(name=name) if r.workspace is None]
    return ResourceList(items=[_out(item) for item in items])


def _require(store: Store, kind: str, name: str, workspace: str | None) -> StoredResource:
    _check_type(kind)
    found = store.get(kind, name, _workspace_for(kind, workspace))
    if found is None:
        where = (
            f" in workspace '{_workspace_for(kind, workspace)}'" if kind in WORKSPACE_TYPES else ""
        )
        raise ApiError(404, "not_found", f"{kind} '{name}' not found{where}")
    return found


@router.get("/resources/{type}/{name}", response_model=ResourceOut, summary="Get one Resource")
def get_resource(
    type: str,
    name: str,
    store: StoreDep,
    _: IdentityDep,
    workspace: str | None = None,
    unsanitize: Annotated[bool, Query(description="include secret values")] = False,
) -> ResourceOut:
    _require(store, type, name, workspace)
    resource = store.get(type, name, _workspace_for(type, workspace), unsanitize=unsanitize)
    assert resource is not None
    return _out(resource, with_manifest=True)


@router.get("/resources/{type}/{name}/history", response_model=HistoryOut, summary="Every revision")
def history(
    type: str, name: str, store: StoreDep, _: IdentityDep, workspace: str | None = None
) -> HistoryOut:
    _check_type(type)
    ws = _workspace_for(type, workspace)
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
            )
            for r in revisions
        ],
    )


@router.delete("/resources/{type}/{name}", response_model=DeleteOut, summary="Delete a Resource")
def delete_resource(
    type: str,
    name: str,
    store: StoreDep,
    identity: IdentityDep,
    workspace: str | None = None,
    force: bool = False,
) -> DeleteOut:
    _require(store, type, name, workspace)
    ws = _workspace_for(type, workspace)
    store.delete(type, name, ws, identity.user_id, force=force)
    return DeleteOut(type=type, name=name, workspace=ws)
