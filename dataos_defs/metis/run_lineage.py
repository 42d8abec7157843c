"""Lineage from every workflow run: what a flare job wrote, from what, column by column.

The run (in the Dagster code location, or its pod) reaches the catalog as it reaches the
derived tags: through the platform's store (``poros`` in embedded mode and on Kubernetes
alike), not over HTTP. :func:`record_run` writes, for each dataset the job wrote:

* its table (``<depot>.<database>.<collection>.<dataset>``, see ``poros_catalog``) with the
  columns and types the run wrote; columns and tags already there are kept (the run adds,
  it never removes a tag: its derived tags stay in Poros' ``DerivedColumnTags``, which
  every reader unites with the catalog's; copying them here would turn them into catalog
  tags that outlive the run that derived them);
* one edge from every dataset its columns were made of (every dataset the job read when
  flare could trace none) to it, with the pipeline (the workflow, ``dataos-<workspace>.
  <workflow>``), ``source: PipelineLineage`` and the column lineage flare computed for
  the derived tags (columns an input table does not list yet are added to it, typeless).

Datasets of a depot the catalog does not hold (no database service) are left out. Nothing
here decides access: the run was authorized for every dataset before it read or wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect

from dataos_defs.manifest.udl import Udl
from dataos_defs.metis import fqn, lineage, poros_catalog
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.entities import EntityReference
from dataos_defs.metis.poros_sync import catalog_database
from dataos_defs.metis.records import StoredEntity
from dataos_defs.metis.requests import CreatePipeline, CreateService
from dataos_defs.metis.schema import lineage_edges
from dataos_defs.poros.store import Store

RUN_ACTOR = "poros-run"
MAX_DATASETS = 256
"""Datasets one job's lineage may name (inputs and outputs): a bound, far above real jobs."""
TYPES = (
    ("VARCHAR", "VARCHAR"),
    ("BIGINT", "BIGINT"),
    ("HUGEINT", "NUMERIC"),
    ("INTEGER", "INT"),
    ("SMALLINT", "SMALLINT"),
    ("TINYINT", "TINYINT"),
    ("DOUBLE", "DOUBLE"),
    ("FLOAT", "FLOAT"),
    ("REAL", "FLOAT"),
    ("DECIMAL", "DECIMAL"),
    ("BOOLEAN", "BOOLEAN"),
    ("TIMESTAMP", "TIMESTAMP"),
    ("DATE", "DATE"),
    ("TIME", "TIME"),
    ("BLOB", "BLOB"),
    ("UUID", "UUID"),
    ("JSON", "JSON"),
)


@dataclass(frozen=True)
class WrittenDataset:
    """One output of a run: its address (``dataos://depot:collection/dataset``), its
    ``(column, DuckDB type)`` list, and each column's sources ``(address, column)``."""

    address: str
    columns: Sequence[tuple[str, str]]
    lineage: Mapping[str, Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class Job:
    workspace: str
    workflow: str
    job: str


def data_type(duckdb_type: str) -> str:
    """OpenMetadata's ``dataType`` of a DuckDB type.

    >>> data_type("DECIMAL(14,2)"), data_type("STRUCT(a INTEGER)")
    ('DECIMAL', 'UNKNOWN')
    """
    upper = duckdb_type.upper()
    return next((kind for prefix, kind in TYPES if upper.startswith(prefix)), "UNKNOWN")


def catalog_ready(catalog: Catalog) -> bool:
    """Metis' schema is in the store (the API server migrates it when it starts)."""
    return inspect(catalog.engine).has_table(lineage_edges.name)


def record_run(
    catalog: Catalog, job: Job, reads: Sequence[str], written: Sequence[WrittenDataset]
) -> int:
    """Record what ``job`` wrote and its lineage; the number of edges written."""
    pipeline = _pipeline(catalog, job)
    edges = 0
    for output in written[:MAX_DATASETS]:
        target = _table(catalog, output.address, output.columns)
        if target is None:
            continue
        by_source: dict[str, list[tuple[str, str]]] = {}
        for column, sources in output.lineage.items():
            for address, source_column in sources:
                by_source.setdefault(_canonical(address), []).append((source_column, column))
        for address in by_source or {_canonical(a): [] for a in reads}:
            edges += _edge(catalog, address, target, by_source.get(address, []), pipeline, job)
    return edges


def _edge(
    catalog: Catalog,
    address: str,
    target: StoredEntity,
    pairs: list[tuple[str, str]],
    pipeline: StoredEntity,
    job: Job,
) -> int:
    source = _table(catalog, address, [(c, "") for c, _ in pairs])
    if source is None or source.id == target.id:
        return 0
    grouped: dict[str, list[str]] = {}
    for source_column, target_column in pairs:
        from_fqn = _column_fqn(source, source_column)
        to_fqn = _column_fqn(target, target_column)
        if from_fqn and to_fqn:
            grouped.setdefault(to_fqn, []).append(from_fqn)
    details = lineage.LineageDetails(
        pipeline=EntityReference(
            id=pipeline.id,
            type="pipeline",
            name=pipeline.body["name"],
            fullyQualifiedName=pipeline.fqn,
        ),
        source="PipelineLineage",
        columnsLineage=[
            lineage.ColumnLineage(fromColumns=sorted(set(f)), toColumn=t)
            for t, f in sorted(grouped.items())
        ]
        or None,
    )
    where = f"written by {job.workspace}/{job.workflow}/{job.job}"
    lineage.add_edge(catalog.engine, source, target, details, where, RUN_ACTOR)
    return 1


def _pipeline(catalog: Catalog, job: Job) -> StoredEntity:
    """The workflow's pipeline (created with this job as its task if Poros' sync has not
    written it yet; the sync then sets every task)."""
    service = poros_catalog.pipeline_service(job.workspace)
    found = catalog.get("pipeline", fqn=fqn.join([service, job.workflow]), include_deleted=True)
    if found is not None:
        return found
    catalog.put(
        "pipelineService",
        CreateService(name=service, serviceType="Dagster"),
        RUN_ACTOR,
        expect_new=None,
    )
    request = CreatePipeline.model_validate(
        {"name": job.workflow, "service": service, "tasks": [{"name": job.job}]}
    )
    stored, _ = catalog.put("pipeline", request, RUN_ACTOR, expect_new=None)
    return stored


def _table(
    catalog: Catalog, address: str, columns: Sequence[tuple[str, str]]
) -> StoredEntity | None:
    """The table of ``address`` with ``columns`` added or typed (None when its depot is not
    in the catalog or the address names no dataset)."""
    try:
        udl = Udl.parse(address)
    except ValueError:
        return None
    if not udl.collection or not udl.dataset:
        return None
    database = catalog_database(catalog, udl.depot)
    if database is None:
        return None
    table_fqn = poros_catalog.table_fqn(udl.depot, database, udl.collection, udl.dataset)
    existing = catalog.get("table", fqn=table_fqn, include_deleted=True)
    if existing is None:
        catalog.put(
            "databaseSchema",
            poros_catalog.schema_request(udl.depot, database, udl.collection),
            RUN_ACTOR,
            expect_new=None,
        )
        request = poros_catalog.dataset_table(udl, database, {}, None)
        existing, _ = catalog.put("table", request, RUN_ACTOR, expect_new=True)
    body = _with_columns(existing.body, columns)
    if body == existing.body:
        return existing
    return catalog.replace(existing, body, RUN_ACTOR)


def _with_columns(body: dict[str, Any], columns: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``body`` whose columns include ``columns`` (a type given replaces ``UNKNOWN``);
    existing columns, their tags and descriptions are kept."""
    known = [dict(c) for c in body.get("columns") or []]
    by_name = {str(c.get("name", "")).lower(): c for c in known}
    for name, kind in columns:
        found = by_name.get(name.lower())
        if found is None:
            found = {"name": name, "dataType": "UNKNOWN", "tags": []}
            known.append(found)
            by_name[name.lower()] = found
        if kind:
            found.update(dataType=data_type(kind), dataTypeDisplay=kind.lower())
    return {**body, "columns": known}


def _column_fqn(table: StoredEntity, column: str) -> str | None:
    for item in table.body.get("columns") or []:
        if str(item.get("name", "")).lower() == column.lower():
            return str(item.get("fullyQualifiedName") or fqn.child(table.fqn, item["name"]))
    return None


def _canonical(address: str) -> str:
    try:
        return Udl.parse(address).address
    except ValueError:
        return address


def record_from_store(
    store: Store, job: Job, reads: Sequence[str], written: Sequence[WrittenDataset]
) -> int:
    """:func:`record_run` in ``store``'s catalog; nothing (0) until Metis' schema exists."""
    catalog = Catalog(store.engine, store.vault)
    if not written or not catalog_ready(catalog):
        return 0
    return record_run(catalog, job, reads, written)
