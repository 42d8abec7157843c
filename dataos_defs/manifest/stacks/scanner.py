"""``stackSpec`` of the ``scanner`` stack: pull metadata from a depot or a source into Metis.

``sourceConfig.config.type`` chooses the scan (OpenMetadata's pipeline types): the
metadata types, ``DatabaseLineage`` and ``DatabaseUsage`` (from the database's query log or
a query-log CSV, ``queryLogFilePath``) and ``Profiler`` (table and column statistics). An
option of another type's pipeline is refused at its key. Sample data are never taken:
they are raw rows that Metis would serve past the Gateway's masks, so ``generateSampleData``
and ``ingestSampleData`` may only be ``false``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import InitErrorDetails

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
    "DatabaseLineage",
    "DatabaseUsage",
    "Profiler",
]
QUERY_LOG_TYPES = frozenset({"DatabaseLineage", "DatabaseUsage"})
_ONLY_FOR: dict[str, frozenset[str | None]] = {
    **dict.fromkeys(("queryLogDuration", "resultLimit", "queryLogFilePath"), QUERY_LOG_TYPES),
    **dict.fromkeys(
        ("profileSample", "profileSampleType", "computeMetrics"), frozenset({"Profiler"})
    ),
    **dict.fromkeys(
        (
            "markDeletedTables",
            "markDeletedTablesFromFilterOnly",
            "markDeletedTablesfromFilterOnly",
            "includeTags",
            "includeStoredProcedures",
        ),
        frozenset({None, "DatabaseMetadata"}),
    ),
    **dict.fromkeys(
        ("databaseFilterPattern", "schemaFilterPattern", "tableFilterPattern"),
        frozenset({None, "DatabaseMetadata", "DatabaseLineage", "Profiler"}),
    ),
    "includeViews": frozenset({None, "DatabaseMetadata", "Profiler"}),
}
"""Options of one scan type's pipeline only (others' OpenMetadata models forbid them)."""
_NO_SAMPLES = ("generateSampleData", "ingestSampleData")


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
    queryLogDuration: int | None = Field(
        default=None, ge=1, le=365, description="Days of query log read (lineage, usage)"
    )
    resultLimit: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Queries read at most (lineage, usage)"
    )
    queryLogFilePath: str | None = Field(
        default=None,
        description="A query-log CSV (query_text,database_name,schema_name) read instead of "
        "the database's log: the dataos:// address of a CSV dataset of a FILE depot",
    )
    profileSample: float | None = Field(
        default=None, gt=0, description="Share (PERCENTAGE) or number (ROWS) of rows profiled"
    )
    profileSampleType: Literal["PERCENTAGE", "ROWS"] | None = None
    computeMetrics: bool | None = Field(
        default=None, description="Compute table and column metrics (profiler; default true)"
    )

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> ScanConfig:
        errors = []
        for key, types in _ONLY_FOR.items():
            value = getattr(self, key)
            if value is not None and self.type not in types:
                named = sorted(t or "DatabaseMetadata" for t in types)
                message = (
                    f"'{key}' is not an option of a {self.type or 'DatabaseMetadata'} scan "
                    f"(it belongs to: {', '.join(dict.fromkeys(named))})"
                )
                errors.append(error((key,), message, value))
        for key in _NO_SAMPLES:
            if getattr(self, key):
                message = (
                    f"'{key}: true' is refused: sample data are raw rows, which Metis would "
                    "serve past the data policies' masks (remove it or set it to false)"
                )
                errors.append(error((key,), message, True))
        errors.extend(self._sample_errors())
        errors.extend(self._query_log_errors())
        if errors:
            fail(errors)
        return self

    def _sample_errors(self) -> list[InitErrorDetails]:
        sample = self.profileSample
        if sample is None:
            if self.profileSampleType is not None:
                message = "'profileSampleType' needs 'profileSample' (the share or rows profiled)"
                return [error(("profileSampleType",), message, self.profileSampleType)]
            return []
        if self.profileSampleType == "ROWS" and not float(sample).is_integer():
            return [error(("profileSample",), "a ROWS sample is a whole number of rows", sample)]
        if self.profileSampleType != "ROWS" and sample > 100:
            message = "a PERCENTAGE sample is at most 100 (use profileSampleType: ROWS for rows)"
            return [error(("profileSample",), message, sample)]
        return []

    def _query_log_errors(self) -> list[InitErrorDetails]:
        text = self.queryLogFilePath
        if text is None:
            return []
        try:
            udl = Udl.parse(text) if text.startswith("dataos://") else None
        except ValueError as exc:
            return [error(("queryLogFilePath",), str(exc), text)]
        if udl is None or not udl.collection or not udl.dataset:
            message = (
                f"'{text}' is not a dataset address: give the query log as "
                "dataos://<file-depot>:<collection>/<name> (a CSV of a FILE depot; the "
                "scanner reads no path of the platform's host)"
            )
            return [error(("queryLogFilePath",), message, text)]
        return []

    @property
    def query_log(self) -> Udl | None:
        """The query-log CSV dataset the scan reads, if ``queryLogFilePath`` names one."""
        return Udl.parse(self.queryLogFilePath) if self.queryLogFilePath else None


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
        found = [Reference("depot", name, None, (*path, "depot"))] if name else []
        log = self.sourceConfig.config.query_log if self.sourceConfig is not None else None
        if log is not None:
            where = (*path, "sourceConfig", "config", "queryLogFilePath")
            found.append(Reference("depot", log.depot, None, where))
        return found

    def consumed_datasets(self, path: KeyPath) -> list[tuple[str, KeyPath]]:
        log = self.sourceConfig.config.query_log if self.sourceConfig is not None else None
        if log is None:
            return []
        return [(log.address, (*path, "sourceConfig", "config", "queryLogFilePath"))]
