"""Keep the catalog in step with Poros: depots and workflows in, deleted ones soft-deleted.

:meth:`PorosSync.sync` writes what ``poros_catalog`` plans for every depot and workflow
whose revision it has not written yet (all of them at the first call: a restart re-writes
nothing that did not change, since an unchanged entity keeps its version), and soft-deletes
the entities of deleted Resources. Entities are written as :data:`POROS_ACTOR`, outside the
tag guard: what Poros stored was admitted by Poros (its applier was allowed to change the
depot), and the tags a depot declares apply anyway (``minerva.tags``).

A re-apply that stops declaring a column tag removes the label Poros wrote for it (labels
are marked ``appliedBy: poros``); labels set by users through Metis are never touched.
Failures are logged per Resource and retried when it changes again (or at the next start);
they never stop the rest.
"""

from __future__ import annotations

import logging
from typing import Any

from dataos_defs.metis import fqn, poros_catalog
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.poros_catalog import POROS_ACTOR, Planned
from dataos_defs.metis.requests import CreateTable
from dataos_defs.poros.records import ResourceKey, StoredResource
from dataos_defs.poros.store import Store

KINDS = ("depot", "workflow")
log = logging.getLogger(__name__)


class PorosSync:
    def __init__(self, store: Store, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog
        self._written: dict[ResourceKey, int] = {}

    def sync(self, limit: int | None = None) -> int:
        """Write what changed since the last call, at most ``limit`` Resources (depots
        first: workflows' tables hang under their services); the number written."""
        written = 0
        for kind in KINDS:
            for resource in self.store.list(kind=kind, include_deleted=True):
                if self._written.get(resource.key) == resource.revision:
                    continue
                if limit is not None and written >= limit:
                    return written
                try:
                    self._sync_one(resource)
                except Exception:
                    log.exception("could not catalog %s %s", resource.kind, resource.name)
                    self._written[resource.key] = resource.revision  # retried when changed
                    continue
                self._written[resource.key] = resource.revision
                written += 1
        return written

    def _sync_one(self, resource: StoredResource) -> None:
        if resource.deleted_at is not None:
            self._soft_delete(resource)
        elif resource.kind == "depot":
            for planned in poros_catalog.depot_plan(resource.manifest, resource.owner):
                self._put(planned)
        else:
            self._workflow(resource)

    def _workflow(self, resource: StoredResource) -> None:
        service = poros_catalog.pipeline_service(resource.workspace)
        self._put(
            Planned(
                "pipelineService",
                poros_catalog.CreateService(name=service, serviceType="Dagster"),
            )
        )
        plan = poros_catalog.workflow_plan(resource.manifest, resource.workspace, resource.owner)
        self._put(plan)
        for udl, declared in poros_catalog.workflow_datasets(resource.manifest):
            database = catalog_database(self.catalog, udl.depot)
            if database is None:
                continue  # the depot is not (or no longer) applied: nothing to attach it to
            assert udl.collection is not None
            schema = poros_catalog.schema_request(udl.depot, database, udl.collection)
            self._put(Planned("databaseSchema", schema))
            table = poros_catalog.dataset_table(udl, database, declared, resource.owner)
            self._table(table, drop_undeclared=False)

    def _put(self, planned: Planned) -> None:
        if isinstance(planned.request, CreateTable):
            self._table(planned.request, drop_undeclared=True)
            return
        self.catalog.put(planned.entity_type, planned.request, POROS_ACTOR, expect_new=None)

    def _table(self, request: CreateTable, *, drop_undeclared: bool) -> None:
        """Create the table, or add what Poros declares to the one there: columns another
        writer found (the scanner, a run) and their tags stay. ``drop_undeclared``: remove
        the column labels Poros wrote that ``request`` no longer declares."""
        table_fqn = fqn.child(request.databaseSchema, request.name)
        existing = self.catalog.get("table", fqn=table_fqn, include_deleted=True)
        if existing is None:
            self.catalog.put("table", request, POROS_ACTOR, expect_new=True)
            return
        body = _declared_into(existing.body, request)
        if drop_undeclared:
            declared = {(c.name.lower(), t.tagFQN) for c in request.columns for t in c.tags}
            body = _without_undeclared(body, declared)
        if body != existing.body:
            self.catalog.replace(existing, body, POROS_ACTOR)

    def _soft_delete(self, resource: StoredResource) -> None:
        if resource.kind == "depot":
            found = self.catalog.get("databaseService", fqn=resource.name)
        else:
            pipeline = fqn.join([poros_catalog.pipeline_service(resource.workspace), resource.name])
            found = self.catalog.get("pipeline", fqn=pipeline)
        if found is None:
            return
        children = self.catalog.descendants(found)
        self.catalog.delete(found, children, POROS_ACTOR, hard=False)


def catalog_database(catalog: Catalog, depot: str) -> str | None:
    """The database of a depot's service (the first live one), None without a service."""
    if catalog.get("databaseService", fqn=depot) is None:
        return None
    names = [row.names[-1] for row in catalog.listed("database", service=depot)]
    return poros_catalog.DATABASE if not names or poros_catalog.DATABASE in names else names[0]


def _declared_into(body: dict[str, Any], request: CreateTable) -> dict[str, Any]:
    """``body`` with the description, owners, tags and columns ``request`` declares added."""
    declared = request.model_dump(mode="json", exclude_none=True)
    merged = {**body}
    for key in ("description", "owners"):
        if key in declared:
            merged[key] = declared[key]
    merged["tags"] = _union(body.get("tags") or [], declared.get("tags") or [])
    columns = [dict(c) for c in body.get("columns") or []]
    by_name = {str(c.get("name", "")).lower(): c for c in columns}
    for column in declared.get("columns") or []:
        known = by_name.get(column["name"].lower())
        if known is None:
            columns.append(column)
            continue
        known["tags"] = _union(known.get("tags") or [], column.get("tags") or [])
        if column.get("description"):
            known["description"] = column["description"]
    merged["columns"] = columns
    return merged


def _union(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = {label.get("tagFQN") for label in first}
    return [*first, *(label for label in second if label.get("tagFQN") not in seen)]


def _without_undeclared(body: dict[str, Any], declared: set[tuple[str, str]]) -> dict[str, Any]:
    """``body`` without the column labels Poros wrote that the depot no longer declares."""
    columns = []
    for column in body.get("columns") or []:
        name = str(column.get("name", "")).lower()
        tags = [
            t
            for t in column.get("tags") or []
            if t.get("appliedBy") != POROS_ACTOR or (name, t.get("tagFQN")) in declared
        ]
        columns.append({**column, "tags": tags})
    return {**body, "columns": columns}
