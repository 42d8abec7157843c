"""Create requests (``PUT /{collection}``) as the OpenMetadata client sends them.

Only the fields Metis keeps are read; the others of OpenMetadata's create schemas (data
products, domains, life cycle, extensions, profiler configurations...) are ignored, never
echoed (see ``entities``). Parents are named by FQN, as in OpenMetadata.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dataos_defs.metis.entities import (
    Column,
    EntityReference,
    StoredProcedureCode,
    TableConstraint,
    TagLabel,
    Task,
)

MAX_COLUMNS = 4096
MAX_TEXT = 1_000_000


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TagLabelIn(TagLabel):
    model_config = ConfigDict(extra="ignore")


class ColumnIn(Column):
    model_config = ConfigDict(extra="ignore")
    tags: list[TagLabelIn] = Field(default_factory=list)  # type: ignore[assignment]
    children: list[ColumnIn] | None = None  # type: ignore[assignment]


class TaskIn(Task):
    model_config = ConfigDict(extra="ignore")
    tags: list[TagLabelIn] = Field(default_factory=list)  # type: ignore[assignment]


class ConstraintIn(TableConstraint):
    model_config = ConfigDict(extra="ignore")


class CreateEntity(Lenient):
    name: str = Field(min_length=1, max_length=256)
    displayName: str | None = Field(default=None, max_length=1024)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    owners: list[EntityReference] | None = None


class Tagged(CreateEntity):
    tags: list[TagLabelIn] | None = None


class CreateService(Tagged):
    serviceType: str = Field(min_length=1, max_length=64)
    connection: dict[str, Any] | None = None


class CreateDatabase(Tagged):
    service: str
    default: bool | None = None
    retentionPeriod: str | None = None
    sourceUrl: str | None = None
    sourceHash: str | None = None


class CreateDatabaseSchema(Tagged):
    database: str
    retentionPeriod: str | None = None
    sourceUrl: str | None = None
    sourceHash: str | None = None


class CreateTable(Tagged):
    databaseSchema: str
    tableType: str | None = None
    columns: list[ColumnIn] = Field(max_length=MAX_COLUMNS)
    tableConstraints: list[ConstraintIn] | None = None
    locationPath: str | None = None
    schemaDefinition: str | None = Field(default=None, max_length=MAX_TEXT)
    retentionPeriod: str | None = None
    sourceUrl: str | None = None
    sourceHash: str | None = None


class CodeIn(StoredProcedureCode):
    model_config = ConfigDict(extra="ignore")
    code: str | None = Field(default=None, max_length=MAX_TEXT)


class CreateStoredProcedure(Tagged):
    databaseSchema: str
    storedProcedureCode: CodeIn
    storedProcedureType: str | None = None
    sourceUrl: str | None = None
    sourceHash: str | None = None


class CreateQuery(Tagged):
    """A query of a service; unnamed, it is named by its SQL's MD5 (OpenMetadata's
    checksum), so the same SQL is one entity however often it is sent."""

    name: str = Field(default="", max_length=256)
    service: str
    query: str = Field(min_length=1, max_length=MAX_TEXT)
    query_type: str | None = None
    duration: float | None = None
    users: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS)
    usedBy: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS)
    queryDate: int | None = None
    queryUsedIn: list[EntityReference] | None = Field(default=None, max_length=MAX_COLUMNS)
    triggeredBy: EntityReference | None = None
    processedLineage: bool | None = None
    exclude_usage: bool | None = None

    @model_validator(mode="after")
    def _named(self) -> CreateQuery:
        if not self.name:
            self.name = checksum(self.query)
        return self


def checksum(sql: str) -> str:
    return hashlib.md5(sql.encode(), usedforsecurity=False).hexdigest()


class CreateClassification(CreateEntity):
    description: str = Field(default="", max_length=MAX_TEXT)
    provider: str | None = None
    mutuallyExclusive: bool | None = None


class CreateTag(CreateEntity):
    description: str = Field(default="", max_length=MAX_TEXT)
    classification: str | None = None
    parent: str | None = None
    style: dict[str, Any] | None = None
    provider: str | None = None
    mutuallyExclusive: bool | None = None


class CreatePipeline(Tagged):
    service: str
    sourceUrl: str | None = None
    concurrency: int | None = None
    pipelineLocation: str | None = None
    startDate: str | None = None
    scheduleInterval: str | None = None
    tasks: list[TaskIn] | None = Field(default=None, max_length=MAX_COLUMNS)
    sourceHash: str | None = None


CREATE_REQUESTS: dict[str, type[CreateEntity]] = {
    "databaseService": CreateService,
    "pipelineService": CreateService,
    "database": CreateDatabase,
    "databaseSchema": CreateDatabaseSchema,
    "table": CreateTable,
    "storedProcedure": CreateStoredProcedure,
    "query": CreateQuery,
    "classification": CreateClassification,
    "tag": CreateTag,
    "pipeline": CreatePipeline,
}
