"""More ``/poros/api/v1/datasets`` operations, included by :mod:`dataset_routes`' router:
``drop-field``, ``set-nullable``, ``add-properties``/``remove-properties``,
``update-partition``, ``metadata``/``set-metadata`` and ``create`` (from a DataOS dataset
manifest).

Each is a Heimdall decision on the dataset's UDL like the other dataset operations (``read``
first, a denial looking like a missing dataset; then ``update``; ``create`` asks ``write``),
and each change is recorded and makes the Gateway forget its cached rewrites
(:func:`dataset_changes.changed`).

Masks select columns by tag and tags are kept by column name, so: dropping a tagged column
takes only ``update`` (its data becomes unreadable: Iceberg reads by field id, and a column
added later under the same name is a new, empty field that carries the same tags); a tagged
column is never made a partition source, because ``dataset partitions`` and the files'
paths show partition values unmasked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from dataos_defs.adapters import iceberg_create, iceberg_schema_ops
from dataos_defs.adapters.iceberg import PartitionField
from dataos_defs.adapters.iceberg_ops import DatasetOpError
from dataos_defs.api.authz import authorize, decide
from dataos_defs.api.dataset_access import (
    READ,
    UPDATE,
    WRITE,
    Target,
    column_tags,
    lakehouse,
    parse_target,
)
from dataos_defs.api.dataset_changes import changed, op_errors, table_of
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity

router = APIRouter()
IdentityDep = Annotated[Identity, Depends(current_identity)]
Address = Annotated[str, Query(description="the dataset's UDL, dataos://depot:collection/name")]
LATEST = "latest"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(description="the dataset's UDL, dataos://depot:collection/name")


class FieldName(_Body):
    name: str = Field(min_length=1, max_length=256, description="the field ('a.b' is nested)")


class Nullable(FieldName):
    nullable: bool = Field(description="true: the field becomes optional")


class Properties(_Body):
    action: Literal["add", "remove"]
    properties: list[str] = Field(
        max_length=iceberg_schema_ops.MAX_PROPERTIES,
        description="add: NAME:VALUE each; remove: NAME each",
    )


class Partitions(_Body):
    partitions: list[str] = Field(
        max_length=iceberg_schema_ops.MAX_PARTITION_FIELDS,
        description="TRANSFORM:COLUMN[:NAME[:N]] each; none: not partitioned",
    )
    count: int | None = Field(None, ge=1, le=100_000, description="bucket/truncate number")


class MetadataVersion(_Body):
    version: str = Field(min_length=1, max_length=256, description="'latest' or a file name")


class Create(_Body):
    manifest: dict[str, Any] = Field(description="the DataOS dataset manifest")


@router.post("/fields/drop")
def drop_field(request: Request, identity: IdentityDep, body: FieldName) -> dict[str, Any]:
    """Drop a field that no partition spec reads and that identifies no rows."""
    target, _, table = table_of(request, identity, body.address, UPDATE)

    def change() -> dict[str, Any]:
        return {"dropped": body.name, "type": iceberg_schema_ops.drop_field(table, body.name)}

    return changed(request, identity, target, "drop-field", {"name": body.name}, change)


@router.post("/fields/nullable")
def set_nullable(request: Request, identity: IdentityDep, body: Nullable) -> dict[str, Any]:
    """Make a required field optional (the reverse is refused)."""
    target, _, table = table_of(request, identity, body.address, UPDATE)
    details = {"name": body.name, "nullable": body.nullable}

    def change() -> dict[str, Any]:
        iceberg_schema_ops.set_nullable(table, body.name, body.nullable)
        return {"field": body.name, "nullable": True}

    return changed(request, identity, target, "set-nullable", details, change)


@router.post("/properties")
def change_properties(request: Request, identity: IdentityDep, body: Properties) -> dict[str, Any]:
    """Add (or overwrite) or remove table properties; security-relevant ones are refused."""
    target, _, table = table_of(request, identity, body.address, UPDATE)
    kind = f"{body.action}-properties"

    def change() -> dict[str, Any]:
        if body.action == "add":
            values = iceberg_schema_ops.parse_properties(body.properties)
            iceberg_schema_ops.add_properties(table, values)
            return {"properties": sorted(values)}
        iceberg_schema_ops.remove_properties(table, body.properties)
        return {"properties": sorted(body.properties)}

    return changed(request, identity, target, kind, {"properties": body.properties}, change)


@router.post("/partition-spec")
def update_partition(request: Request, identity: IdentityDep, body: Partitions) -> dict[str, Any]:
    """Make the given fields the partition spec of data written from now on."""
    target, _, table = table_of(request, identity, body.address, UPDATE)
    details = {"partitions": body.partitions, "count": body.count}

    def change() -> dict[str, Any]:
        wanted = iceberg_schema_ops.parse_partitions(body.partitions, body.count)
        _untagged_sources(request, target, wanted)
        return {"spec": iceberg_schema_ops.update_partition(table, wanted)}

    return changed(request, identity, target, "update-partition", details, change)


@router.get("/metadata")
def metadata(request: Request, identity: IdentityDep, address: Address) -> dict[str, Any]:
    """The table's metadata files, oldest first (DataOS' ``dataset metadata``)."""
    target, _, table = table_of(request, identity, address, READ)
    return {
        "address": target.address,
        "format_version": table.format_version,
        "metadata": iceberg_schema_ops.metadata_log(table),
    }


@router.post("/metadata")
def set_metadata(request: Request, identity: IdentityDep, body: MetadataVersion) -> dict[str, Any]:
    """``set-metadata``: our catalog always points at the newest metadata file, so
    ``latest`` (or the current file's name) is accepted and changes nothing; an older file
    is refused, because it would bring back old schemas and column names unchecked."""
    target, _, table = table_of(request, identity, body.address, UPDATE)
    current = iceberg_schema_ops.metadata_log(table)[-1]["version"]

    def change() -> dict[str, Any]:
        if body.version not in (LATEST, current):
            raise DatasetOpError(
                f"the dataset's catalog points at its newest metadata ({current}); going back "
                f"to '{body.version}' is not supported",
                "travel in time with 'dataset set-snapshot -i <id>' or 'rollback -i <id>'",
            )
        return {"version": current}

    return changed(request, identity, target, "set-metadata", {"version": body.version}, change)


@router.post("/create")
def create(request: Request, identity: IdentityDep, body: Create) -> dict[str, Any]:
    """Create an Iceberg dataset from a DataOS dataset manifest (``write`` on its UDL)."""
    target = parse_target(body.address, dataset=True)
    authorize(request, identity, WRITE, target.address)
    if not decide(request, identity, READ, target.address).allow:
        raise ApiError(
            403,
            "forbidden",
            f"{identity.user_id} may not create {target.address}: creating a dataset needs "
            "read on it too",
            "ask an operator for an access policy that allows read and write",
        )
    with op_errors():
        manifest = iceberg_create.parse_manifest(body.manifest)
    house = lakehouse(request, identity, target.depot)
    assert target.collection is not None and target.dataset is not None
    collection, dataset = target.collection, target.dataset

    def change() -> dict[str, Any]:
        _untagged_sources(request, target, manifest.partitions)
        fields = iceberg_create.create(house.catalog, collection, dataset, manifest)
        return {"fields": fields, "partitions": [p.field_name for p in manifest.partitions]}

    details = {"fields": len(manifest.schema.fields), "properties": sorted(manifest.properties)}
    return changed(request, identity, target, "create", details, change)


def _untagged_sources(request: Request, target: Target, wanted: list[PartitionField]) -> None:
    tags = column_tags(request, target)
    tagged = [p.column for p in wanted if tags.get(p.column.lower())]
    if tagged:
        raise DatasetOpError(
            f"column(s) {', '.join(tagged)} carry tags that select masks; partition values "
            "are shown unmasked by 'dataset partitions' and in the files' paths",
            "partition by an untagged column",
        )
