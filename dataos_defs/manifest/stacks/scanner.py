"""``stackSpec`` of the ``scanner`` stack: pull metadata from a depot or a source into Metis."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from dataos_defs.manifest.base import Reference, StrictModel
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks._fields import OpenMap, Regex, StackSpecBase, error, fail
from dataos_defs.manifest.udl import Udl

_BARE_DEPOT = re.compile(r"^[A-Za-z0-9_-]+$")

MetadataType = Literal[
    "DatabaseMetadata",
    "DashboardMetadata",
    "MessagingMetadata",
    "PipelineMetadata",
    "MlModelMetadata",
    "StorageMetadata",
    "SearchMetadata",
    "DataProduct",
    "DataProductMetadata",
]


class FilterPattern(StrictModel):
    """Regexes matched against names; ``includes`` keeps matches, ``excludes`` drops them."""

    includes: list[Regex] | None = None
    excludes: list[Regex] | None = None


class ScanConfig(StrictModel):
    """``sourceConfig.config``: what to scan and how deletions in the source are recorded."""

    type: MetadataType | None = None
    databaseFilterPattern: FilterPattern | None = None
    schemaFilterPattern: FilterPattern | None = None
    tableFilterPattern: FilterPattern | None = None
    topicFilterPattern: FilterPattern | None = None
    dataProductFilterPattern: FilterPattern | None = None
    collectionFilterPattern: FilterPattern | None = None
    dashboardFilterPattern: FilterPattern | None = None
    chartFilterPattern: FilterPattern | None = None
    pipelineFilterPattern: FilterPattern | None = None
    mlModelFilterPattern: FilterPattern | None = None
    containerFilterPattern: FilterPattern | None = None
    markDeletedTables: bool | None = None
    markDeletedTablesFromFilterOnly: bool | None = None
    markDeletedTablesfromFilterOnly: bool | None = Field(
        default=None, description="Spelling used by the DataOS docs; same as the one above"
    )
    markDeletedTopics: bool | None = None
    markDeletedDashboards: bool | None = None
    markDeletedPipelines: bool | None = None
    markDeletedMlModels: bool | None = None
    markDeletedDataProducts: bool | None = None
    markDeletedStoredProcedures: bool | None = None
    includeViews: bool | None = None
    includeTags: bool | None = None
    includeTables: bool | None = None
    includeCollections: bool | None = None
    includeStoredProcedures: bool | None = None
    includeOwners: bool | None = None
    includeDDL: bool | None = None
    includeDataModels: bool | None = None
    ingestSampleData: bool | None = None
    generateSampleData: bool | None = None
    useFqnForFiltering: bool | None = None
    queryLogDuration: int | None = None


class SourceConfig(StrictModel):
    config: ScanConfig


class SourceConnection(StrictModel):
    """Connection details of a source scanned without a depot; the keys depend on the source."""

    config: OpenMap


class ScannerSpec(StackSpecBase):
    """Either ``depot`` (address or bare name) or a ``type`` (+ ``source``, connection)."""

    depot: str | None = None
    type: str | None = None
    source: str | None = None
    sourceConnection: SourceConnection | None = None
    sourceConfig: SourceConfig | None = None
    worker: str | None = Field(
        default=None, description="Indexer run by a scanner worker (with type: worker)"
    )

    @model_validator(mode="after")
    def _depot_or_type(self) -> ScannerSpec:
        if self.depot is None and self.type is None:
            fail(error((), "give 'depot' (the depot to scan) or 'type' (a source without depot)"))
        if self.depot is not None and self.type is not None:
            fail(error(("type",), "give either 'depot' or 'type', not both", self.type))
        if self.depot is not None:
            self._depot_name(self.depot)
        return self

    @staticmethod
    def _depot_name(text: str) -> str:
        if text.startswith("dataos:"):
            try:
                return Udl.parse(text).depot
            except ValueError as exc:
                fail(error(("depot",), str(exc), text))
        if not _BARE_DEPOT.match(text):
            message = f"'{text}' is neither a depot name nor a dataos:// address"
            fail(error(("depot",), message, text))
        return text

    @property
    def depot_name(self) -> str | None:
        """The scanned depot (metadata is stored under its name), if scanning a depot."""
        return self._depot_name(self.depot) if self.depot is not None else None

    @property
    def source_name(self) -> str | None:
        """The Metis source the metadata goes to: ``source``, else the depot's name."""
        return self.source or self.depot_name

    def references(self, path: KeyPath) -> list[Reference]:
        name = self.depot_name
        return [Reference("depot", name, None, (*path, "depot"))] if name else []
