"""Test-connection definitions: the steps the ingestion runs against a source before it
scans it, by service type (``GET /services/testConnectionDefinitions/name/{Type}...``).

OpenMetadata's server seeds these from its own resources; the ingestion refuses to start
when the one for its source is missing, and calls a check per step name (an unknown name
fails the older Trino runner), so each list names exactly the checks the installed
ingestion implements for that source. Static, platform-wide facts: no catalog data.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from dataos_defs.metis.entities import Strict

SUFFIX = ".testConnectionDefinition"
NAMESPACE = uuid.UUID("6f1d3c52-8a8e-4c55-9a3c-4c1f0d6e7a11")
"""Ids are derived from the name, so they stay the same across restarts and stores."""


class TestConnectionStep(Strict):
    __test__ = False
    name: str
    description: str
    errorMessage: str | None = None
    mandatory: bool
    shortCircuit: bool | None = None
    category: Literal["ConnectionGate", "Capability"] | None = None


class TestConnectionDefinition(Strict):
    __test__ = False
    id: str
    name: str
    fullyQualifiedName: str
    displayName: str | None = None
    description: str | None = None
    steps: list[TestConnectionStep] = Field(default_factory=list)
    version: float = 0.1
    updatedAt: int = 0
    updatedBy: str = "metis"
    deleted: bool = False


def _gate(description: str) -> TestConnectionStep:
    return TestConnectionStep(
        name="CheckAccess",
        description=description,
        mandatory=True,
        shortCircuit=True,
        category="ConnectionGate",
        errorMessage="Failed to connect: check the host, port and credentials",
    )


def _step(name: str, description: str, *, mandatory: bool = False) -> TestConnectionStep:
    return TestConnectionStep(
        name=name,
        description=description,
        mandatory=mandatory,
        category="Capability",
        errorMessage=f"The step {name} failed: check the scanner user's grants",
    )


STEPS: dict[str, list[TestConnectionStep]] = {
    "Postgres": [
        _gate("Validate that the database accepts the connection and credentials"),
        _step("GetDatabases", "List the databases the user may connect to"),
        _step("GetSchemas", "List the schemas of the database"),
        _step("GetTables", "List the tables of a schema", mandatory=True),
        _step("GetViews", "List the views of a schema"),
        _step("GetTags", "Read the row-level security policies (source tags)"),
        _step("GetQueries", "Read the query log (pg_stat_statements) for lineage and usage"),
    ],
    "Trino": [
        _gate("Validate that the coordinator accepts the connection and credentials"),
        _step("GetDatabases", "List the catalogs"),
        _step("GetSchemas", "List the schemas of a catalog"),
        _step("GetTables", "List the tables of a schema", mandatory=True),
        _step("GetViews", "List the views of a schema"),
    ],
}


def definition(fqn: str) -> TestConnectionDefinition | None:
    """The definition named ``<ServiceType>.testConnectionDefinition``, if Metis has one."""
    if not fqn.endswith(SUFFIX):
        return None
    service_type = fqn[: -len(SUFFIX)]
    steps = STEPS.get(service_type)
    if steps is None:
        return None
    return TestConnectionDefinition(
        id=str(uuid.uuid5(NAMESPACE, fqn)),
        name=service_type,
        fullyQualifiedName=fqn,
        displayName=f"{service_type} test connection",
        steps=steps,
    )


def by_id(id: str) -> TestConnectionDefinition | None:
    for service_type in STEPS:
        found = definition(service_type + SUFFIX)
        if found is not None and found.id == id:
            return found
    return None


def all_definitions() -> list[TestConnectionDefinition]:
    found = (definition(service_type + SUFFIX) for service_type in sorted(STEPS))
    return [item for item in found if item is not None]
