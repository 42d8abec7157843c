"""Create requests (``PUT /{collection}``) as the OpenMetadata client sends them.

Only the fields Metis keeps are read; the others of OpenMetadata's create schemas (data
products, domains, life cycle, extensions, profiler configurations...) are ignored, never
echoed (see ``entities``). Parents are named by FQN, as in OpenMetadata.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dataos_defs.metis.entities import Column, EntityReference, TableConstraint, TagLabel, Task

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
    "classification": CreateClassification,
    "tag": CreateTag,
    "pipeline": CreatePipeline,
}
