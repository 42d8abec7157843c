"""What a scanner job scans: its depot, the Metis service it writes, and its filters.

The filters keep OpenMetadata's meaning (``metadata.utils.filters``), so that the datasets
the job is authorized for before it runs are the ones the ingestion then scans: each
pattern is a regular expression matched at the start of the name, ignoring case; a name
matching an exclude is dropped even when it matches an include; with includes, only names
matching one are kept.

>>> pattern = FilterPattern(includes=["^shop"], excludes=["shop_tmp"])
>>> [keeps(pattern, n) for n in ("Shop", "shop_tmp", "public")]
[True, False, False]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dataos_defs.adapters.openmetadata import WorkflowKind
from dataos_defs.manifest.stacks import ScannerSpec
from dataos_defs.manifest.stacks.scanner import FilterPattern, ScanConfig

METADATA = "DatabaseMetadata"
"""The default kind of scan (``sourceConfig.config.type``)."""
KINDS = {kind.value: kind for kind in WorkflowKind}
"""The kinds of scan the stack runs: the database workflows of openmetadata-ingestion."""


class ScanRefused(ValueError):
    """The job asks for a scan this platform cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class Scope:
    depot: str
    service: str
    """The Metis database service the metadata goes to: the depot's name (a ``source``
    naming another service is refused)."""
    config: ScanConfig

    @property
    def kind(self) -> WorkflowKind:
        return KINDS[self.config.type or METADATA]

    @property
    def reads_query_log(self) -> bool:
        """Lineage and usage read a query log, whose literals may come from any table."""
        return self.kind in (WorkflowKind.LINEAGE, WorkflowKind.USAGE)

    @property
    def mark_deleted(self) -> bool:
        return bool(self.config.markDeletedTables)

    @property
    def include_views(self) -> bool:
        """OpenMetadata's default is to include views."""
        return self.config.includeViews is not False

    def keeps_database(self, name: str) -> bool:
        return keeps(self.config.databaseFilterPattern, name)

    def keeps_schema(self, name: str) -> bool:
        return keeps(self.config.schemaFilterPattern, name)

    def keeps(self, collection: str, dataset: str) -> bool:
        """Whether the dataset ``collection/dataset`` is in the scan."""
        return self.keeps_schema(collection) and keeps(self.config.tableFilterPattern, dataset)

    def touches(self, collection: str, dataset: str) -> bool:
        """Whether the job's identity must be allowed to read ``collection/dataset``: the
        datasets it scans; with ``markDeletedTables`` every table of the schemas it scans
        (the ingestion marks deleted what its table filter left out, as OpenMetadata does);
        for lineage and usage every dataset of the depot (the query log holds the SQL, with
        its literals, run against any of them, whatever the filters)."""
        if self.reads_query_log:
            return True
        if self.mark_deleted:
            return self.keeps_schema(collection)
        return self.keeps(collection, dataset)


def keeps(pattern: FilterPattern | None, name: str) -> bool:
    if pattern is None:
        return True
    if any(re.match(regex, name, re.IGNORECASE) for regex in pattern.excludes or []):
        return False
    includes = pattern.includes or []
    return not includes or any(re.match(regex, name, re.IGNORECASE) for regex in includes)


def scope_of(spec: ScannerSpec, where: str) -> Scope:
    """The scope of a scanner stackSpec; :class:`ScanRefused` for what cannot run here."""
    depot = spec.depot_name
    if depot is None:
        raise ScanRefused(
            f"{where} scans a source without a depot (type '{spec.type}'); the scanner runs "
            "over depots here, whose credentials the platform keeps: define a depot for the "
            "source and give 'depot: dataos://<name>'"
        )
    config = spec.sourceConfig.config if spec.sourceConfig is not None else ScanConfig()
    if (config.type or METADATA) not in KINDS:
        raise ScanRefused(
            f"{where} asks for a {config.type} scan; the scanner runs the database scans of "
            f"depots ({', '.join(KINDS)}): set sourceConfig.config.type to one of them"
        )
    if spec.source is not None and spec.source != depot:
        raise ScanRefused(
            f"{where} would store depot '{depot}' under the Metis service '{spec.source}'; a "
            "depot's metadata is stored under the depot's own name (another service may be "
            "another depot's, which this scan must not rewrite): remove 'source'"
        )
    return Scope(depot, depot, config)
