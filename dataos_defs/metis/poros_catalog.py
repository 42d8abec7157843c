"""Poros' Resources as catalog entities: what a depot and a workflow are in Metis.

* a depot is a database service named after it (its ``serviceType`` from the depot's type),
  with one database (the source's own, ``depot.postgresql.database``, as the scanner names
  it; :data:`DATABASE` when the depot has none), a schema per collection and a table per
  dataset it
  declares (``depot.datasets``: description, columns and their tags) or a workflow job
  reads or writes (``dataos://depot:collection/dataset``). The table
  ``<depot>.<database>.<collection>.<dataset>`` is the dataset ``dataos://<depot>:
  <collection>/<dataset>`` for Heimdall and Minerva (``access.dataset_object``, ``tag_index``);
* a workflow is a pipeline of the pipeline service :func:`pipeline_service` of its
  workspace (``dataos-<workspace>``: names of workflows are unique per workspace only),
  whose tasks are its jobs (``downstreamTasks`` from the jobs' ``dependencies``).

Everything here is pure: manifests (as stored, secrets redacted) in, create requests out.
Nothing secret is carried: a depot's connection is never written to the catalog.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dataos_defs.manifest.udl import Udl
from dataos_defs.metis import fqn
from dataos_defs.metis.requests import (
    CreateDatabase,
    CreateDatabaseSchema,
    CreateEntity,
    CreatePipeline,
    CreateService,
    CreateTable,
)

DATABASE = "default"
POROS_ACTOR = "poros"
"""Who the catalog records as the writer of what Poros declares (``appliedBy`` of tags)."""
UNKNOWN_TYPE = "UNKNOWN"
SERVICE_TYPES = {
    "POSTGRESQL": "Postgres",
    "POSTGRES": "Postgres",
    "JDBC": "CustomDatabase",
    "MYSQL": "Mysql",
    "MSSQL": "Mssql",
    "ORACLE": "Oracle",
    "REDSHIFT": "Redshift",
    "SNOWFLAKE": "Snowflake",
    "BIGQUERY": "BigQuery",
    "TRINO": "Trino",
    "LAKEHOUSE": "Iceberg",
    "S3": "Datalake",
    "GCS": "Datalake",
    "ABFSS": "Datalake",
    "WASBS": "Datalake",
    "MONGODB": "MongoDB",
}
OWNER_NAMESPACE = uuid.UUID("6f1c1e0e-5b7a-4d8e-9a51-0d5c2a8f7b31")


@dataclass(frozen=True)
class Planned:
    """One entity to write: its type and create request."""

    entity_type: str
    request: CreateEntity


def pipeline_service(workspace: str | None) -> str:
    return f"dataos-{workspace or 'public'}"


def table_fqn(depot: str, database: str, collection: str, dataset: str) -> str:
    return fqn.join([depot, database, collection, dataset])


def database_name(section: dict[str, Any]) -> str:
    """The database a depot's connection names (``depot.<type>.database``, or
    ``depot.spec.database``), else :data:`DATABASE`."""
    for block in section.values():
        if isinstance(block, dict) and isinstance(block.get("database"), str):
            name = str(block["database"]).strip()
            if name and "$" not in name and '"' not in name:
                return name
    return DATABASE


def owners(owner: str | None) -> list[dict[str, Any]] | None:
    """The Resource's owner as an entity reference (Metis keeps no user entities: the id
    is derived from the user id, the same for every entity the user owns)."""
    if not owner:
        return None
    return [{"id": str(uuid.uuid5(OWNER_NAMESPACE, owner)), "type": "user", "name": owner}]


def label(tag: str) -> dict[str, Any]:
    """A tag declared on a manifest, marked as Poros' (so a later apply can drop it)."""
    return {"tagFQN": tag, "labelType": "Automated", "appliedBy": POROS_ACTOR}


def depot_plan(manifest: dict[str, Any], owner: str | None) -> list[Planned]:
    """The service, database, schemas and declared tables of a depot."""
    name = str(manifest["name"])
    section = manifest.get("depot") or {}
    kind = str(section.get("type") or "").upper()
    service = CreateService.model_validate(
        {
            "name": name,
            "serviceType": SERVICE_TYPES.get(kind, "CustomDatabase"),
            "description": section.get("description") or manifest.get("description"),
            "owners": owners(owner),
        }
    )
    database = database_name(section)
    plan = [
        Planned("databaseService", service),
        Planned("database", CreateDatabase(name=database, service=name)),
    ]
    datasets = [d for d in section.get("datasets") or [] if isinstance(d, dict)]
    for collection in dict.fromkeys(str(d["collection"]) for d in datasets):
        plan.append(Planned("databaseSchema", schema_request(name, database, collection)))
    for dataset in datasets:
        columns = [
            {
                "name": str(c["name"]),
                "dataType": UNKNOWN_TYPE,
                "description": c.get("description"),
                "tags": [label(t) for t in c.get("tags") or []],
            }
            for c in dataset.get("columns") or []
            if isinstance(c, dict)
        ]
        table = {
            "name": str(dataset["dataset"]),
            "databaseSchema": fqn.join([name, database, str(dataset["collection"])]),
            "description": dataset.get("description"),
            "tags": [label(t) for t in dataset.get("tags") or []],
            "columns": columns,
            "owners": owners(owner),
        }
        plan.append(Planned("table", CreateTable.model_validate(table)))
    return plan


def schema_request(depot: str, database: str, collection: str) -> CreateDatabaseSchema:
    return CreateDatabaseSchema(name=collection, database=fqn.join([depot, database]))


def workflow_plan(manifest: dict[str, Any], workspace: str | None, owner: str | None) -> Planned:
    """The pipeline of a workflow (its service is :func:`pipeline_service`)."""
    section = manifest.get("workflow") or {}
    jobs = [job for job in section.get("dag") or [] if isinstance(job, dict)]
    downstream: dict[str, list[str]] = {str(job["name"]): [] for job in jobs}
    for job in jobs:
        for upstream in _dependencies(job):
            if upstream in downstream:
                downstream[upstream].append(str(job["name"]))
    tasks = [
        {
            "name": str(job["name"]),
            "displayName": job.get("title"),
            "description": job.get("description"),
            "taskType": str((job.get("spec") or {}).get("stack") or "") or None,
            "downstreamTasks": downstream[str(job["name"])] or None,
        }
        for job in jobs
    ]
    schedule = section.get("schedule") or {}
    pipeline = {
        "name": str(manifest["name"]),
        "displayName": section.get("title"),
        "description": manifest.get("description"),
        "service": pipeline_service(workspace),
        "scheduleInterval": schedule.get("cron") if isinstance(schedule, dict) else None,
        "tasks": tasks,
        "owners": owners(owner),
    }
    return Planned("pipeline", CreatePipeline.model_validate(pipeline))


def workflow_datasets(manifest: dict[str, Any]) -> Iterator[tuple[Udl, dict[str, Any]]]:
    """The datasets a workflow's flare jobs read and write, with the output's declaration
    (``description``, ``tags``; empty for inputs)."""
    for job in (manifest.get("workflow") or {}).get("dag") or []:
        stack_spec = ((job or {}).get("spec") or {}).get("stackSpec") or {}
        flare_job = stack_spec.get("job") if isinstance(stack_spec, dict) else None
        if not isinstance(flare_job, dict):
            continue
        for key in ("inputs", "outputs"):
            for item in flare_job.get(key) or []:
                udl = _udl(item.get("dataset") if isinstance(item, dict) else None)
                if udl is not None:
                    yield udl, (item if key == "outputs" else {})


def dataset_table(
    udl: Udl, database: str, declared: dict[str, Any], owner: str | None
) -> CreateTable:
    """A table for a dataset a workflow names (columns come from its runs)."""
    assert udl.collection is not None and udl.dataset is not None
    return CreateTable.model_validate(
        {
            "name": udl.dataset,
            "databaseSchema": fqn.join([udl.depot, database, udl.collection]),
            "description": declared.get("description"),
            "tags": [label(str(t)) for t in declared.get("tags") or []],
            "columns": [],
            "owners": owners(owner),
        }
    )


def _udl(text: Any) -> Udl | None:
    if not isinstance(text, str):
        return None
    try:
        udl = Udl.parse(text)
    except ValueError:
        return None
    if not udl.collection or not udl.dataset:
        return None
    return udl


def _dependencies(job: dict[str, Any]) -> Iterable[str]:
    found = job.get("dependencies")
    if isinstance(found, str):
        return [found]
    return [str(d) for d in found or []]
