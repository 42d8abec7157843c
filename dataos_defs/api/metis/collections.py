"""The entity collections Metis serves, by OpenMetadata path, and the FQN a create request
names before it is built (needed to decide ``create`` or ``update`` first)."""

from __future__ import annotations

from dataos_defs.metis import fqn
from dataos_defs.metis.requests import CreateEntity

COLLECTIONS: dict[str, str] = {
    "services/databaseServices": "databaseService",
    "services/pipelineServices": "pipelineService",
    "databases": "database",
    "databaseSchemas": "databaseSchema",
    "tables": "table",
    "storedProcedures": "storedProcedure",
    "queries": "query",
    "classifications": "classification",
    "tags": "tag",
    "pipelines": "pipeline",
}
PARENT_FIELDS = ("service", "database", "databaseSchema", "parent", "classification")
LIST_FILTERS: dict[str, tuple[str, ...]] = {
    "database": ("service",),
    "databaseSchema": ("service", "database"),
    "table": ("service", "database", "databaseSchema"),
    "storedProcedure": ("service", "database", "databaseSchema"),
    "query": ("service",),
    "tag": ("parent",),
    "pipeline": ("service",),
}


def target_fqn(request: CreateEntity) -> str:
    """The FQN the entity of ``request`` will have: its parent's FQN, then its name."""
    for field in PARENT_FIELDS:
        parent = getattr(request, field, None)
        if isinstance(parent, str) and parent:
            return fqn.child(parent, request.name)
    return fqn.join([request.name])
