"""Lakehouse and FILE depots into Metis: no OpenMetadata source reads them, so the scanner
writes their entities itself, as Poros' sync writes a depot (``metis.poros_catalog``):
the depot's service and database, a schema per collection, a table per dataset with the
typed columns the listing found. It writes through the catalog in the platform's store,
as the ``metis`` scanner user, the way a run records its lineage (``metis.run_lineage``).

A table written again merges as the catalog merges every write: tags and descriptions set
in Metis stay, columns the dataset no longer has go, and an unchanged table keeps its
version. With ``markDeletedTables``, a table of a scanned schema that the depot no longer
holds is soft-deleted (``metis.stale``, as the ingestion's ``deleteStale``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dataos_defs.manifest.udl import Udl
from dataos_defs.metis import fqn, poros_catalog
from dataos_defs.metis.access import SCANNER_USER_ID
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.requests import CreateTable
from dataos_defs.metis.run_lineage import catalog_ready
from dataos_defs.metis.stale import stale
from dataos_defs.poros.store import Store
from dataos_defs.stacks.scanner.listing import Dataset, ScannedColumn
from dataos_defs.stacks.scanner.scope import Scope

SCANNED_TYPES = ("databaseService", "database")
"""What of a depot's plan the scan writes (its declared tables are Poros' to write)."""


class PushError(RuntimeError):
    """The catalog cannot take the scan (not set up, or the depot is gone)."""


@dataclass
class PushSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def push_depot(store: Store, scope: Scope, datasets: Sequence[Dataset]) -> PushSummary:
    """Write the scanned ``datasets`` of ``scope``'s depot into the catalog of ``store``."""
    catalog = Catalog(store.engine, store.vault)
    if not catalog_ready(catalog):
        raise PushError(
            "Metis' catalog is not in the platform's store yet; start the API server "
            "(it creates the catalog) and run the scan again"
        )
    resource = store.get("depot", scope.depot)
    if resource is None:
        raise PushError(f"depot '{scope.depot}' is not applied (deleted since the run began?)")
    summary = PushSummary()
    manifest = {**resource.manifest, "name": scope.service}
    for planned in poros_catalog.depot_plan(manifest, resource.owner):
        if planned.entity_type in SCANNED_TYPES:
            catalog.put(planned.entity_type, planned.request, SCANNER_USER_ID, expect_new=None)
    database = poros_catalog.database_name(resource.manifest.get("depot") or {})
    for collection in dict.fromkeys(d.collection for d in datasets):
        request = poros_catalog.schema_request(scope.service, database, collection)
        catalog.put("databaseSchema", request, SCANNER_USER_ID, expect_new=None)
    for dataset in datasets:
        stored, outcome = catalog.put(
            "table",
            table_request(scope.service, database, dataset),
            SCANNER_USER_ID,
            expect_new=None,
        )
        summary.count(outcome)
        summary.tables.append(stored.fqn)
    if scope.mark_deleted:
        summary.deleted = _mark_deleted(catalog, scope, database, summary.tables)
    return summary


def table_request(service: str, database: str, dataset: Dataset) -> CreateTable:
    """The create request of one scanned dataset (``poros_catalog.dataset_table``, typed)."""
    udl = Udl(depot=service, collection=dataset.collection, dataset=dataset.dataset)
    request = poros_catalog.dataset_table(udl, database, {}, None)
    table: dict[str, Any] = request.model_dump(exclude_none=True)
    table["tableType"] = dataset.table_type
    table["columns"] = [_column(c) for c in dataset.columns]
    return CreateTable.model_validate(table)


def _column(column: ScannedColumn) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": column.name,
        "dataType": column.data_type,
        "dataTypeDisplay": column.display,
        "tags": [],
    }
    if column.precision is not None:
        found.update(precision=column.precision, scale=column.scale)
    return found


def _mark_deleted(catalog: Catalog, scope: Scope, database: str, seen: list[str]) -> list[str]:
    """Soft-delete the live tables of the scanned schemas that the scan did not see."""
    deleted = []
    for row in stale(catalog, "table", fqn.join([scope.service, database]), seen):
        names = row.names
        if len(names) != 4 or not scope.touches(names[2], names[3]):
            continue
        found = catalog.get("table", fqn=row.fqn)
        if found is not None:
            catalog.delete(found, [], SCANNER_USER_ID, hard=False)
            deleted.append(row.fqn)
    return deleted
