"""``/poros/api/v1/datasets``: the Iceberg tables of lakehouse depots, as ``dataos-ctl
dataset`` reads and changes them.

A dataset is given by its UDL in ``address`` (a query parameter for reads, a body field for
changes). Reads: ``get`` (schema, partition spec, properties, current snapshot), ``list``,
``properties``, ``snapshots``, ``partitions``. The other DataOS operations (drop-field,
set-nullable, properties, update-partition, metadata, create; branches and tags) live in
:mod:`dataset_schema_routes` and :mod:`dataset_ref_routes`, included here.
Changes: ``add-field``, ``rename-field``,
``update-field`` (safe schema evolution only), ``set-snapshot``/``rollback``, ``drop`` (soft
by default: the table moves to the trash with its files and can be restored; ``purge``
deletes the files too and must repeat the address in ``confirm``) and ``restore``. Who may
do what, and the change record, are described in :mod:`dataos_defs.api.dataset_access`.

Every change runs through :func:`dataset_changes.changed` (recorded; the Gateway's cached
rewrites forgotten).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from dataos_defs.adapters import iceberg_ops as ops
from dataos_defs.api import dataset_ref_routes, dataset_schema_routes
from dataos_defs.api.authz import visible
from dataos_defs.api.dataset_access import (
    DELETE,
    READ,
    UPDATE,
    WRITE,
    Target,
    check,
    column_tags,
    lakehouse,
    lakehouse_depots,
    parse_target,
)
from dataos_defs.api.dataset_changes import changed, table_of
from dataos_defs.api.dataset_governance import governed_partitions
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity

router = APIRouter(prefix="/poros/api/v1/datasets", tags=["datasets"])
router.include_router(dataset_schema_routes.router)
router.include_router(dataset_ref_routes.router)
IdentityDep = Annotated[Identity, Depends(current_identity)]
Address = Annotated[str, Query(description="the dataset's UDL, dataos://depot:collection/name")]
MAX_PAGE = 1000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(description="the dataset's UDL, dataos://depot:collection/name")


class FieldChange(_Body):
    action: Literal["add", "rename", "update"]
    name: str = Field(min_length=1, max_length=256, description="the field ('a.b' is nested)")
    new_name: str | None = Field(None, max_length=256, description="rename: the new name")
    type: str | None = Field(None, max_length=64, description="add/update: the field type")
    precision: int | None = Field(None, description="decimal precision")
    scale: int | None = Field(None, description="decimal scale")
    key_type: str | None = Field(None, max_length=64, description="map key type")
    value_type: str | None = Field(None, max_length=64, description="map value type")


class SnapshotChange(_Body):
    action: Literal["set", "rollback"]
    id: int = Field(description="the snapshot id")


class Drop(_Body):
    purge: bool = Field(False, description="delete the files too (final)")
    confirm: str | None = Field(None, description="purge: the address again")


@router.get("")
def list_datasets(
    request: Request,
    identity: IdentityDep,
    address: Annotated[str | None, Query(description="dataos://depot[:collection]")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The datasets you may read, in lakehouse depots (one, or one collection)."""
    if address is not None:
        target = parse_target(address, dataset=False)
        if target.dataset is not None:
            raise ApiError(
                400,
                "invalid_address",
                f"'{address}' names one dataset",
                "list a depot or a collection, or use 'dataset get' for one dataset",
            )
        depots = [target.depot]
    else:
        target, depots = None, lakehouse_depots(request)
    found: list[str] = []
    for depot in depots:
        house = lakehouse(request, identity, depot)
        collection = target.collection if target else None
        found.extend(
            Target(depot, c, d).address for c, d in ops.list_datasets(house.catalog, collection)
        )
    shown = visible(request, identity, READ, found, lambda a: (a, ()))
    page = shown[offset : offset + limit]
    more = offset + limit < len(shown)
    return {"items": page, "next_offset": offset + limit if more else None}


@router.get("/dataset")
def get_dataset(request: Request, identity: IdentityDep, address: Address) -> dict[str, Any]:
    """Schema, partition spec, properties and current snapshot."""
    target, _, table = table_of(request, identity, address, READ)
    return {"address": target.address, **ops.describe(table)}


@router.get("/properties")
def properties(request: Request, identity: IdentityDep, address: Address) -> dict[str, Any]:
    target, _, table = table_of(request, identity, address, READ)
    return {"address": target.address, "properties": dict(table.properties)}


@router.get("/snapshots")
def snapshots(request: Request, identity: IdentityDep, address: Address) -> dict[str, Any]:
    target, _, table = table_of(request, identity, address, READ)
    return {"address": target.address, "snapshots": ops.snapshots(table)}


@router.get("/partitions")
def partitions(
    request: Request,
    identity: IdentityDep,
    address: Address,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """The partition spec, and the record and file counts of the current partitions, their
    values masked (or refused) as the caller's queries would be (:mod:`dataset_governance`)."""
    target, _, table = table_of(request, identity, address, READ)
    return {
        "address": target.address,
        **governed_partitions(request, identity, target, table, limit),
    }


@router.post("/fields")
def change_field(request: Request, identity: IdentityDep, body: FieldChange) -> dict[str, Any]:
    """Add an optional field, rename one, or widen its type."""
    target, _, table = table_of(request, identity, body.address, UPDATE)
    details = body.model_dump(exclude={"address"}, exclude_none=True)
    kind = "rename-field" if body.action == "rename" else f"{body.action}-field"

    def change() -> dict[str, Any]:
        if body.action == "rename":
            if not body.new_name:
                raise ops.DatasetOpError("rename needs the new name", "give -m NEW_NAME")
            _keep_tags(request, target, body.name, body.new_name)
            ops.rename_field(table, body.name, body.new_name)
            return {"renamed": body.name, "to": body.new_name}
        if not body.type:
            raise ops.DatasetOpError(f"{kind} needs the field type", "give -t TYPE")
        scale = body.scale
        if scale is None and body.action == "update":
            scale = ops.decimal_scale(table, body.name)
        spec = ops.TypeSpec(body.type, body.precision, scale, body.key_type, body.value_type)
        field_type = ops.parse_type(spec)
        if body.action == "add":
            ops.add_field(table, body.name, field_type)
            return {"added": body.name, "type": str(field_type)}
        old = ops.update_field(table, body.name, field_type)
        return {"updated": body.name, "from": old, "type": str(field_type)}

    return changed(request, identity, target, kind, details, change)


@router.post("/snapshot")
def change_snapshot(
    request: Request, identity: IdentityDep, body: SnapshotChange
) -> dict[str, Any]:
    """Make a snapshot current (``set``: any snapshot; ``rollback``: an ancestor only)."""
    target, _, table = table_of(request, identity, body.address, UPDATE)
    kind = "rollback" if body.action == "rollback" else "set-snapshot"

    def change() -> dict[str, Any]:
        previous = ops.set_snapshot(table, body.id, rollback=body.action == "rollback")
        return {"current_snapshot_id": body.id, "previous_snapshot_id": previous}

    return changed(request, identity, target, kind, {"id": body.id}, change)


@router.post("/drop")
def drop(request: Request, identity: IdentityDep, body: Drop) -> dict[str, Any]:
    """Soft drop (into the trash, restorable) or, with ``purge``, drop and delete files."""
    target = parse_target(body.address, dataset=True)
    confirmed = body.confirm and parse_target(body.confirm, dataset=True).address
    if body.purge and confirmed != target.address:
        raise ApiError(
            400,
            "confirmation_required",
            f"purging deletes the files of {target.address} for good; confirm it",
            "repeat the address in 'confirm' (dataos-ctl asks, or takes --yes)",
        )
    target, house, _ = table_of(request, identity, body.address, DELETE)
    assert target.collection is not None and target.dataset is not None
    collection, dataset = target.collection, target.dataset

    def change() -> dict[str, Any]:
        if body.purge:
            ops.purge(house.catalog, collection, dataset)
            return {"purged": True}
        moment = datetime.now(UTC)
        trashed = ops.soft_drop(
            house.catalog, collection, dataset, target.address, identity.user_id, moment
        )
        return {"purged": False, "trash": trashed}

    kind = "purge" if body.purge else "drop"
    return changed(request, identity, target, kind, {"purge": body.purge}, change)


@router.post("/restore")
def restore(request: Request, identity: IdentityDep, body: _Body) -> dict[str, Any]:
    """Bring back the newest soft-dropped dataset of an address (``write`` on it)."""
    target = parse_target(body.address, dataset=True)
    check(request, identity, target, WRITE)
    house = lakehouse(request, identity, target.depot)
    assert target.collection is not None and target.dataset is not None
    collection, dataset = target.collection, target.dataset

    def change() -> dict[str, Any]:
        return {"restored_from": ops.restore(house.catalog, collection, dataset, target.address)}

    return changed(request, identity, target, "restore", {}, change)


def _keep_tags(request: Request, target: Target, name: str, new_name: str) -> None:
    """Data policies select columns by tag, and tags are kept by column name: a tagged
    column renamed would lose its masks, so the new name must carry the same tags first."""
    tags = column_tags(request, target)
    old = tags.get(name.lower(), ())
    if not old:
        return
    parent = name.rsplit(".", 1)[0] + "." if "." in name else ""
    missing = sorted(set(old) - set(tags.get((parent + new_name).lower(), ())))
    if missing:
        raise ops.DatasetOpError(
            f"field '{name}' carries {', '.join(missing)}: renamed, it would escape the data "
            "policies that select it by tag",
            f"tag '{parent + new_name}' the same way first (the depot's datasets[].columns, "
            "or Metis), then rename",
        )
