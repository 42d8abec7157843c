"""Row-level helpers of the catalog: reading, erasing and the version snapshot of a row."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Column, Connection, RowMapping, Table, and_, delete, insert, or_, select

from dataos_defs.metis import builders
from dataos_defs.metis.entities import ENTITY_MODELS, Entity
from dataos_defs.metis.records import StoredEntity
from dataos_defs.metis.schema import (
    entities,
    entity_versions,
    lineage_edges,
    pipeline_status,
    query_costs,
    table_joins,
    table_profiles,
    usage,
)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


CHILD_TYPES: dict[str, frozenset[str]] = {
    "databaseService": frozenset(
        {"database", "databaseSchema", "table", "storedProcedure", "query"}
    ),
    "database": frozenset({"databaseSchema", "table", "storedProcedure"}),
    "databaseSchema": frozenset({"table", "storedProcedure"}),
    "classification": frozenset({"tag"}),
    "tag": frozenset({"tag"}),
    "pipelineService": frozenset({"pipeline"}),
}


def erase(conn: Connection, entity_id: str) -> None:
    conn.execute(entity_versions.delete().where(entity_versions.c.entity_id == entity_id))
    conn.execute(
        lineage_edges.delete().where(
            or_(lineage_edges.c.from_id == entity_id, lineage_edges.c.to_id == entity_id)
        )
    )
    conn.execute(pipeline_status.delete().where(pipeline_status.c.pipeline_id == entity_id))
    conn.execute(table_profiles.delete().where(table_profiles.c.entity_id == entity_id))
    conn.execute(usage.delete().where(usage.c.entity_id == entity_id))
    conn.execute(table_joins.delete().where(table_joins.c.entity_id == entity_id))
    conn.execute(query_costs.delete().where(query_costs.c.query_id == entity_id))
    conn.execute(entities.delete().where(entities.c.id == entity_id))


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in builders.UNVERSIONED_FIELDS}


def version_row(previous: StoredEntity, conn: Connection) -> dict[str, Any]:
    row = conn.execute(
        select(entities.c.updated_at, entities.c.updated_by).where(entities.c.id == previous.id)
    ).one()
    return {
        "entity_id": previous.id,
        "version_tenths": previous.version_tenths,
        "body": previous.body,
        "secret_ciphertext": previous.secret_token,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
        "deleted": previous.deleted,
    }


def get(
    conn: Connection, entity_type: str, fqn: str | None, id: str | None, include_deleted: bool
) -> StoredEntity | None:
    query = select(entities).where(entities.c.entity_type == entity_type)
    if fqn is not None:
        query = query.where(and_(entities.c.fqn_digest == digest(fqn), entities.c.fqn == fqn))
    if id is not None:
        query = query.where(entities.c.id == id)
    row = conn.execute(query).mappings().first()
    if row is None or (row["deleted"] and not include_deleted):
        return None
    return stored_of(row)


def lookup(conn: Connection) -> builders.Lookup:
    def lookup(entity_type: str, fqn: str) -> Entity | None:
        found = get(conn, entity_type, fqn, None, include_deleted=False)
        if found is None:
            return None
        return ENTITY_MODELS[entity_type].model_validate(found.body)

    return lookup


def stored_of(row: RowMapping | dict[str, Any]) -> StoredEntity:
    return StoredEntity(
        row["entity_type"],
        row["id"],
        row["fqn"],
        row["service"],
        row["body"],
        row["secret_ciphertext"],
        row["version_tenths"],
        row["deleted"],
    )


def old(current: RowMapping, version: RowMapping) -> StoredEntity:
    return StoredEntity(
        current["entity_type"],
        current["id"],
        current["fqn"],
        current["service"],
        version["body"],
        version["secret_ciphertext"],
        version["version_tenths"],
        version["deleted"],
    )


def descendants(conn: Connection, stored: StoredEntity) -> list[StoredEntity]:
    prefix = stored.fqn + "."
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = select(entities).where(
        entities.c.fqn.like(escaped + "%", escape="\\"),
        entities.c.entity_type.in_(CHILD_TYPES.get(stored.entity_type, frozenset())),
    )
    names = stored.names
    found = [stored_of(row) for row in conn.execute(query).mappings()]
    under = [item for item in found if item.names[: len(names)] == names]
    return sorted(under, key=lambda item: len(item.names), reverse=True)


def replace_keeping_newest(
    conn: Connection,
    table: Table,
    key: tuple[Column[Any], Any],
    timestamp: int,
    values: dict[str, Any],
    keep: int,
) -> None:
    """Write ``values`` as the row of ``key`` at ``timestamp`` (replacing one already there:
    a re-run of the same moment changes nothing twice), then keep only ``key``'s ``keep``
    newest rows, so a history per entity stays bounded."""
    column, value = key
    moment = table.c.timestamp
    conn.execute(delete(table).where(column == value, moment == timestamp))
    conn.execute(insert(table).values({column.name: value, "timestamp": timestamp, **values}))
    kept = select(moment).where(column == value).order_by(moment.desc()).limit(keep)
    newest = [row.timestamp for row in conn.execute(kept)]
    conn.execute(delete(table).where(column == value, moment.not_in(newest)))
