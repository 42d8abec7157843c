"""Stale entities: what a scan no longer sees (OpenMetadata's ``deleteStale``).

The ingestion sends, per scope (a service, a database or a schema), the FQNs of the
entities of one type it produced in this run; every live entity of that type under the
scope that is not among them is stale and gets soft-deleted (``markDeletedTables``). The
server decides, so an interrupted listing on the client never deletes what it missed.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from dataos_defs.metis import fqn
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.entities import Strict
from dataos_defs.metis.records import Listed

SCOPE_TYPES: dict[str, str] = {
    "service": "databaseService",
    "databaseService": "databaseService",
    "database": "database",
    "databaseSchema": "databaseSchema",
}
"""The scope keys the client sends → the entity type they name."""
MAX_SEEN = 1_000_000


class DeleteStale(Strict):
    scopeFqn: str = Field(min_length=1, max_length=4096)
    scopeEntityType: str
    seenFqns: list[str] = Field(default_factory=list, max_length=MAX_SEEN)
    recursive: bool = True


def stale(catalog: Catalog, entity_type: str, scope_fqn: str, seen: Iterable[str]) -> list[Listed]:
    """Live entities of ``entity_type`` under ``scope_fqn`` that are not in ``seen``."""
    scope = fqn.split(scope_fqn)
    kept = set(seen)
    service = scope[0]
    rows = catalog.listed(entity_type, service=service, include="non-deleted")
    return [
        row
        for row in rows
        if row.names[: len(scope)] == scope and len(row.names) > len(scope) and row.fqn not in kept
    ]
