"""Create requests → entity bodies: FQNs, parent references, derived fields, merges.

Pure functions over a :data:`Lookup` of live parents. A PUT of an existing entity merges
into it as OpenMetadata does where clients depend on it: tags are the union of both sides
(so a re-run of the ingestion never drops a tag a user set on a column), and a field the
request leaves out keeps its value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dataos_defs.metis import fqn
from dataos_defs.metis.entities import ENTITY_MODELS, Entity, EntityReference, reference
from dataos_defs.metis.requests import (
    CreateDatabase,
    CreateDatabaseSchema,
    CreateEntity,
    CreatePipeline,
    CreateQuery,
    CreateService,
    CreateStoredProcedure,
    CreateTable,
    CreateTag,
    checksum,
)

Lookup = Callable[[str, str], Entity | None]
"""``(entity type, FQN)`` → the live entity, or None."""

SERVER_FIELDS = ("id", "version", "updatedAt", "updatedBy", "deleted")
UNVERSIONED_FIELDS = (*SERVER_FIELDS, "sourceHash")
"""Fields whose change alone makes no new version: ``sourceHash`` is the scanner's
fingerprint of its request, which can change while the entity does not."""
KEPT_COLUMN_FIELDS = ("description", "ordinalPosition")
"""Column fields a re-run that leaves them out does not erase (a user's description, the
position a later patch of the scanner set)."""
IMMUTABLE_FIELDS = (
    "id",
    "name",
    "fullyQualifiedName",
    "version",
    "updatedAt",
    "updatedBy",
    "deleted",
    "service",
    "serviceType",
    "database",
    "databaseSchema",
    "classification",
    "parent",
)


class MissingParent(LookupError):
    def __init__(self, entity_type: str, name: str) -> None:
        super().__init__(f"{entity_type} '{name}' does not exist")
        self.entity_type = entity_type
        self.name = name


class Built:
    """An entity body with where it sits: its FQN, its service's name, its parent's FQN."""

    def __init__(self, body: dict[str, Any], service: str | None, parent: str | None) -> None:
        self.body = body
        self.fqn: str = body["fullyQualifiedName"]
        self.service = service
        self.parent = parent


def build(entity_type: str, request: CreateEntity, lookup: Lookup) -> Built:
    """The body a create request describes (without the server fields)."""
    fields = request.model_dump(exclude_none=True, exclude={"service", "database"})
    fields.pop("databaseSchema", None)
    fields.pop("classification", None)
    fields.pop("parent", None)
    if isinstance(request, CreateService):
        return Built({**fields, "fullyQualifiedName": fqn.join([request.name])}, request.name, None)
    if isinstance(request, CreateDatabase):
        service = _parent(lookup, "databaseService", request.service)
        return _under(fields, service, "databaseService", request.name, {})
    if isinstance(request, CreateDatabaseSchema):
        database = _parent(lookup, "database", request.database)
        extra: dict[str, Any] = {
            "service": _service_of(database),
            "serviceType": _service_type(database),
        }
        return _under(fields, database, "database", request.name, extra)
    if isinstance(request, CreateTable | CreateStoredProcedure):
        schema = _parent(lookup, "databaseSchema", request.databaseSchema)
        extra = {
            "database": _field(schema, "database"),
            "service": _service_of(schema),
            "serviceType": _service_type(schema),
        }
        return _under(fields, schema, "databaseSchema", request.name, extra)
    if isinstance(request, CreateTag):
        return _tag(fields, request, lookup)
    if isinstance(request, CreateQuery):
        return _query(fields, request, lookup)
    if isinstance(request, CreatePipeline):
        service = _parent(lookup, "pipelineService", request.service)
        return _under(fields, service, "pipelineService", request.name, {})
    return Built({**fields, "fullyQualifiedName": fqn.join([request.name])}, None, None)


def _parent(lookup: Lookup, entity_type: str, name: str) -> Entity:
    found = lookup(entity_type, name)
    if found is None:
        raise MissingParent(entity_type, name)
    return found


def _field(entity: Entity, name: str) -> dict[str, Any]:
    value = getattr(entity, name)
    assert isinstance(value, EntityReference)
    return value.model_dump(exclude_none=True)


def _service_of(entity: Entity) -> dict[str, Any]:
    return _field(entity, "service")


def _service_type(entity: Entity) -> str | None:
    return getattr(entity, "serviceType", None)


def _under(
    fields: dict[str, Any], parent: Entity, parent_type: str, name: str, extra: dict[str, Any]
) -> Built:
    own = fqn.child(parent.fullyQualifiedName, name)
    body = {**fields, "fullyQualifiedName": own, parent_key(parent_type): _ref(parent, parent_type)}
    body.update(extra)
    if parent_type.endswith("Service"):
        body["serviceType"] = getattr(parent, "serviceType", None)
        service = parent.name
    else:
        service = body["service"]["name"]
    return Built(body, service, parent.fullyQualifiedName)


def parent_key(parent_type: str) -> str:
    return "service" if parent_type.endswith("Service") else parent_type


def _ref(entity: Entity, entity_type: str) -> dict[str, Any]:
    return reference(entity, entity_type).model_dump(exclude_none=True)


def _tag(fields: dict[str, Any], request: CreateTag, lookup: Lookup) -> Built:
    if request.parent:
        parent = _parent(lookup, "tag", request.parent)
        classification = _field(parent, "classification")
        body = {**fields, "parent": _ref(parent, "tag"), "classification": classification}
    elif request.classification:
        parent = _parent(lookup, "classification", request.classification)
        body = {**fields, "classification": _ref(parent, "classification")}
    else:
        raise MissingParent("classification", "(none given)")
    body["fullyQualifiedName"] = fqn.child(parent.fullyQualifiedName, request.name)
    return Built(body, None, parent.fullyQualifiedName)


def _query(fields: dict[str, Any], request: CreateQuery, lookup: Lookup) -> Built:
    """A query under its database service; the users who ran it are names (Metis keeps no
    user entities), so they join ``usedBy``."""
    service = _parent(lookup, "databaseService", request.service)
    fields.pop("users", None)
    ran = sorted({*request.users, *request.usedBy})
    fields.update(usedBy=ran or None, checksum=checksum(request.query))
    built = _under(fields, service, "databaseService", request.name, {})
    built.body.pop("serviceType", None)
    return built


def merge(previous: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """``incoming`` over ``previous``: absent fields kept, tags united, columns merged."""
    merged = {**previous, **incoming}
    if "tags" in previous or "tags" in incoming:
        merged["tags"] = _union(previous.get("tags") or [], incoming.get("tags") or [])
    if "columns" in incoming and "columns" in previous:
        merged["columns"] = _merge_columns(previous["columns"], incoming["columns"])
    return merged


def _union(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = {tag["tagFQN"] for tag in first}
    return [*first, *(tag for tag in second if tag["tagFQN"] not in seen)]


def _merge_columns(
    previous: list[dict[str, Any]], incoming: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    before = {column["name"]: column for column in previous}
    merged = []
    for column in incoming:
        old = before.get(column["name"])
        if old is None:
            merged.append(column)
            continue
        combined = {**column, "tags": _union(old.get("tags") or [], column.get("tags") or [])}
        for kept in KEPT_COLUMN_FIELDS:
            if kept not in column and kept in old:
                combined[kept] = old[kept]
        if column.get("children") is not None and old.get("children") is not None:
            combined["children"] = _merge_columns(old["children"], column["children"])
        merged.append(combined)
    return merged


def normalize(entity_type: str, body: dict[str, Any]) -> Entity:
    """The typed entity of ``body``, with derived fields recomputed (column and task FQNs)."""
    own = body["fullyQualifiedName"]
    if entity_type == "table" and isinstance(body.get("columns"), list):
        body = {**body, "columns": [_column_fqn(own, c) for c in body["columns"]]}
    if entity_type == "pipeline" and isinstance(body.get("tasks"), list):
        body = {**body, "tasks": [_with_fqn(own, t) for t in body["tasks"]]}
    return ENTITY_MODELS[entity_type].model_validate(body)


def _with_fqn(parent: str, item: Any) -> Any:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return item
    return {**item, "fullyQualifiedName": fqn.child(parent, item["name"])}


def _column_fqn(parent: str, column: Any) -> Any:
    column = _with_fqn(parent, column)
    if isinstance(column, dict) and isinstance(column.get("children"), list):
        own = column["fullyQualifiedName"]
        column = {**column, "children": [_column_fqn(own, c) for c in column["children"]]}
    return column


def body_of(entity: Entity) -> dict[str, Any]:
    return entity.model_dump(mode="json", exclude_none=True)
