"""Branches and tags of a dataset's snapshots (``/poros/api/v1/datasets/branches``),
included by :mod:`dataset_routes`' router: DataOS' ``list-branch`` (``read``) and
``create-branch``, ``delete-branch``, ``rename-branch``, ``fastforward-branch``, plus our
``create-tag``/``delete-tag`` (``update``), each recorded like every dataset change. ``main``
is the dataset itself and is moved only by ``set-snapshot``/``rollback``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pyiceberg.table.refs import SnapshotRefType

from dataos_defs.adapters import iceberg_refs
from dataos_defs.adapters.iceberg_ops import DatasetOpError
from dataos_defs.api.dataset_access import READ, UPDATE
from dataos_defs.api.dataset_changes import changed, table_of
from dataos_defs.api.identity import Identity, current_identity

router = APIRouter()
IdentityDep = Annotated[Identity, Depends(current_identity)]
Address = Annotated[str, Query(description="the dataset's UDL, dataos://depot:collection/name")]
RefName = Field(min_length=1, max_length=128, description="a branch or tag name")


class RefChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(description="the dataset's UDL, dataos://depot:collection/name")
    action: Literal["create", "delete", "rename", "fastforward"]
    kind: Literal["branch", "tag"] = "branch"
    name: str = RefName
    snapshot_id: int | None = Field(None, description="create: the snapshot (default current)")
    to: str | None = Field(
        None, max_length=128, description="rename: the new name; fastforward: the target"
    )


@router.get("/branches")
def list_refs(request: Request, identity: IdentityDep, address: Address) -> dict[str, Any]:
    """Every branch and tag with its snapshot (``main`` first)."""
    target, _, table = table_of(request, identity, address, READ)
    return {"address": target.address, "refs": iceberg_refs.refs(table)}


@router.post("/branches")
def change_ref(request: Request, identity: IdentityDep, body: RefChange) -> dict[str, Any]:
    """Create, delete, rename or fast-forward a branch; create or delete a tag."""
    target, _, table = table_of(request, identity, body.address, UPDATE)
    kind = SnapshotRefType.TAG if body.kind == "tag" else SnapshotRefType.BRANCH
    details = body.model_dump(exclude={"address"}, exclude_none=True)

    def change() -> dict[str, Any]:
        if body.action == "create":
            made = iceberg_refs.create(table, body.name, body.snapshot_id, kind)
            return {"name": body.name, "snapshot_id": made}
        if body.action == "delete":
            return {"name": body.name, "snapshot_id": iceberg_refs.delete(table, body.name, kind)}
        if kind == SnapshotRefType.TAG:
            raise DatasetOpError(
                f"a tag cannot be moved ({body.action})", "delete it and create another"
            )
        if not body.to:
            wanted = "new name" if body.action == "rename" else "target branch"
            raise DatasetOpError(f"{body.action} needs the {wanted}", "see --help")
        if body.action == "rename":
            moved = iceberg_refs.rename(table, body.name, body.to)
        else:
            moved = iceberg_refs.fast_forward(table, body.name, body.to)
        return {"name": body.name, "to": body.to, "snapshot_id": moved}

    return changed(request, identity, target, f"{body.action}-{body.kind}", details, change)
