"""The entities Metis answers with: OpenMetadata's shapes, a subset of their fields.

The OpenMetadata client validates every answer with ``extra='forbid'`` models, so these
models forbid extra keys too and hold only fields of OpenMetadata's entity schemas
(``openmetadata-spec``, 2.0.7). Fields Metis does not keep (domains, data products, votes,
life cycle, followers, custom extensions, profiler configurations...) are left out of
answers rather than invented; a create request's copy of them is dropped. A table's
profile, usage summary and joins are kept beside the entity, never in its body (so no
version, patch or search document carries them), and added to an answer only when
``fields`` asks (``dataos_defs.api.metis.table_extras``).

Deviations from OpenMetadata, by choice:

* ``version`` moves by 0.1 on every change that alters the entity; OpenMetadata moves by
  1.0 on "major" changes (a column removed, a type changed). Clients compare versions only
  for equality (``If-Match``), which both schemes serve.
* ``changeDescription`` is not kept: ``GET .../versions`` gives every previous body.
* ``href`` is never set (it is optional, and the path depends on the proxy in front).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EntityReference(Strict):
    id: str
    type: str
    name: str | None = None
    fullyQualifiedName: str | None = None
    description: str | None = None
    displayName: str | None = None
    deleted: bool | None = None


class TagLabel(Strict):
    tagFQN: str = Field(max_length=3072)
    name: str | None = None
    displayName: str | None = None
    description: str | None = None
    style: dict[str, Any] | None = None
    source: Literal["Classification", "Glossary"] = "Classification"
    labelType: Literal["Manual", "Propagated", "Automated", "Derived", "Generated"] = "Manual"
    state: Literal["Suggested", "Confirmed"] = "Confirmed"
    reason: str | None = None
    appliedAt: str | None = None
    appliedBy: str | None = None
    metadata: dict[str, Any] | None = None


class Column(Strict):
    name: str
    displayName: str | None = None
    dataType: str
    arrayDataType: str | None = None
    dataLength: int | None = None
    precision: int | None = None
    scale: int | None = None
    dataTypeDisplay: str | None = None
    description: str | None = None
    fullyQualifiedName: str | None = None
    # Always present: without it the SDK diffs against nothing and sends an empty patch.
    tags: list[TagLabel] = Field(default_factory=list)
    constraint: str | None = None
    ordinalPosition: int | None = None
    jsonSchema: str | None = None
    children: list[Column] | None = None


class Entity(Strict):
    """The fields every entity Metis keeps has."""

    id: str
    name: str
    fullyQualifiedName: str
    displayName: str | None = None
    description: str | None = None
    version: float = 0.1
    updatedAt: int
    updatedBy: str
    deleted: bool = False


class Owned(Entity):
    owners: list[EntityReference] | None = None
    tags: list[TagLabel] = Field(default_factory=list)


class DatabaseService(Owned):
    serviceType: str
    connection: dict[str, Any] | None = None


class PipelineService(Owned):
    serviceType: str
    connection: dict[str, Any] | None = None


class Database(Owned):
    service: EntityReference
    serviceType: str | None = None
    default: bool | None = None
    retentionPeriod: str | None = None
    sourceUrl: str | None = None
    sourceHash: str | None = None


class DatabaseSchema(Owned):
    service: EntityReference
    serviceType: str | None = None
    database: EntityReference
    retentionPeriod: str | None = None
    sourceUrl: str | None = None
    sourceHash: str | None = None


class TableConstraint(Strict):
    constraintType: str | None = None
    columns: list[str] | None = None
    referredColumns: list[str] | None = None
    relationshipType: str | None = None


class Table(Owned):
    tableType: str | None = None
    columns: list[Column]
    tableConstraints: list[TableConstraint] | None = None
    databaseSchema: EntityReference
    database: EntityReference
    service: EntityReference
    serviceType: str | None = None
    locationPath: str | None = None
    schemaDefinition: str | None = None
    retentionPeriod: str | None = None
    sourceUrl: str | None = None
    sourceHash: str | None = None
    processedLineage: bool | None = None


class StoredProcedureCode(Strict):
    language: str | None = None
    code: str | None = None


class StoredProcedure(Owned):
    storedProcedureCode: StoredProcedureCode
    storedProcedureType: str | None = None
    databaseSchema: EntityReference
    database: EntityReference
    service: EntityReference
    serviceType: str | None = None
    sourceUrl: str | None = None
    sourceHash: str | None = None
    processedLineage: bool | None = None


class Query(Entity):
    """OpenMetadata's Query has no ``deleted`` field: it is kept in the row, never answered."""

    deleted: bool = Field(default=False, exclude=True)
    owners: list[EntityReference] | None = None
    tags: list[TagLabel] = Field(default_factory=list)
    query: str
    query_type: str | None = None
    checksum: str | None = None
    duration: float | None = None
    usedBy: list[str] | None = None
    queryDate: int | None = None
    queryUsedIn: list[EntityReference] | None = None
    triggeredBy: EntityReference | None = None
    processedLineage: bool | None = None
    exclude_usage: bool | None = None
    service: EntityReference


class Classification(Entity):
    description: str = ""
    provider: str | None = None
    mutuallyExclusive: bool | None = None
    disabled: bool | None = None
    owners: list[EntityReference] | None = None


class Tag(Entity):
    description: str = ""
    style: dict[str, Any] | None = None
    classification: EntityReference
    parent: EntityReference | None = None
    provider: str | None = None
    mutuallyExclusive: bool | None = None
    disabled: bool | None = None
    deprecated: bool | None = None
    owners: list[EntityReference] | None = None


class Task(Strict):
    name: str
    displayName: str | None = None
    fullyQualifiedName: str | None = None
    description: str | None = None
    sourceUrl: str | None = None
    downstreamTasks: list[str] | None = None
    taskType: str | None = None
    taskSQL: str | None = None
    startDate: str | None = None
    endDate: str | None = None
    tags: list[TagLabel] = Field(default_factory=list)
    owners: list[EntityReference] | None = None


class TaskStatus(Strict):
    name: str
    executionStatus: Literal["Successful", "Failed", "Pending", "Skipped"]
    startTime: int | None = None
    endTime: int | None = None
    logLink: str | None = None


class PipelineStatus(Strict):
    timestamp: int
    executionStatus: Literal["Successful", "Failed", "Pending", "Skipped"]
    taskStatus: list[TaskStatus] | None = None
    executionId: str | None = None
    endTime: int | None = None
    version: str | None = None
    executedBy: str | None = None


class Pipeline(Owned):
    service: EntityReference
    serviceType: str | None = None
    sourceUrl: str | None = None
    concurrency: int | None = None
    pipelineLocation: str | None = None
    startDate: str | None = None
    scheduleInterval: str | None = None
    tasks: list[Task] | None = None
    pipelineStatus: PipelineStatus | None = None
    sourceHash: str | None = None


ENTITY_MODELS: dict[str, type[Entity]] = {
    "databaseService": DatabaseService,
    "pipelineService": PipelineService,
    "database": Database,
    "databaseSchema": DatabaseSchema,
    "table": Table,
    "storedProcedure": StoredProcedure,
    "query": Query,
    "classification": Classification,
    "tag": Tag,
    "pipeline": Pipeline,
}
EntityType = str
"""One of :data:`ENTITY_MODELS`' keys (OpenMetadata's entity type names)."""


def reference(entity: Entity, entity_type: str) -> EntityReference:
    return EntityReference(
        id=entity.id,
        type=entity_type,
        name=entity.name,
        fullyQualifiedName=entity.fullyQualifiedName,
        displayName=entity.displayName,
        deleted=entity.deleted,
    )


class BulkResponse(Strict):
    request: Any = None
    message: str | None = None
    status: int | None = None


class BulkOperationResult(Strict):
    dryRun: bool | None = None
    status: Literal["success", "failure", "aborted", "partialSuccess"]
    abortReason: str | None = None
    numberOfRowsProcessed: int
    numberOfRowsPassed: int
    numberOfRowsFailed: int
    successRequest: list[BulkResponse] = Field(default_factory=list)
    failedRequest: list[BulkResponse] = Field(default_factory=list)
