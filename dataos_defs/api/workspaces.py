"""Workspace endpoints: the namespaces of workspace-level Resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from dataos_defs.api.authz import authorize, heimdall_of, visible
from dataos_defs.api.deps import get_store
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.reconcile import reconcile_after_change
from dataos_defs.api.wire import WorkspaceIn, WorkspaceList, WorkspaceOut
from dataos_defs.heimdall.objects import workspace_object
from dataos_defs.poros.records import Workspace
from dataos_defs.poros.store import Store

router = APIRouter(prefix="/poros/api/v1/workspaces", tags=["workspaces"])
StoreDep = Annotated[Store, Depends(get_store)]
IdentityDep = Annotated[Identity, Depends(current_identity)]


def _out(workspace: Workspace) -> WorkspaceOut:
    return WorkspaceOut(
        name=workspace.name,
        description=workspace.description,
        tags=list(workspace.tags),
        created_at=workspace.created_at,
        created_by=workspace.created_by,
    )


@router.get("", response_model=WorkspaceList)
def list_workspaces(request: Request, store: StoreDep, identity: IdentityDep) -> WorkspaceList:
    """The workspaces the caller may read."""
    shown = visible(
        request, identity, "read", store.list_workspaces(), lambda w: (workspace_object(w.name), ())
    )
    return WorkspaceList(items=[_out(w) for w in shown])


@router.post("", response_model=WorkspaceOut, status_code=status.HTTP_201_CREATED)
def create_workspace(
    request: Request, body: WorkspaceIn, store: StoreDep, identity: IdentityDep
) -> WorkspaceOut:
    """Members (users tagged ``dataos:workspace:<name>``) then control its Resources."""
    authorize(request, identity, "create", workspace_object(body.name))
    created = store.create_workspace(body.name, body.description, body.tags, identity.user_id)
    heimdall_of(request).reload()
    return _out(created)


@router.get("/{name}", response_model=WorkspaceOut)
def get_workspace(
    request: Request, name: str, store: StoreDep, identity: IdentityDep
) -> WorkspaceOut:
    authorize(request, identity, "read", workspace_object(name))
    found = store.get_workspace(name)
    if found is None:
        raise ApiError(404, "not_found", f"workspace '{name}' not found")
    return _out(found)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_workspace(
    request: Request, name: str, store: StoreDep, identity: IdentityDep, force: bool = False
) -> None:
    """With ``force`` its Resources are deleted too; Dagster is then reconciled, as after
    deleting a Resource: their schedules and runs stop and their jobs leave the location."""
    authorize(request, identity, "delete", workspace_object(name))
    deleted = store.delete_workspace(name, identity.user_id, force=force)
    heimdall_of(request).reload()
    if deleted:
        reconcile_after_change(store)
