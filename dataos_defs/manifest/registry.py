"""The closed set of Resource types, discriminated on ``type``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from dataos_defs.manifest.base import ResourceBase
from dataos_defs.manifest.bundle import Bundle
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.compute import Compute
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.lakehouse import Lakehouse
from dataos_defs.manifest.monitor import Monitor
from dataos_defs.manifest.others import Database, Grant, Lens, Operator, ResourceType, Volume
from dataos_defs.manifest.pager import Pager
from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.secret import InstanceSecret, Secret
from dataos_defs.manifest.service import Service
from dataos_defs.manifest.stack import Stack
from dataos_defs.manifest.worker import Worker
from dataos_defs.manifest.workflow import Workflow

AnyResource = Annotated[
    Workflow
    | Service
    | Worker
    | Depot
    | Policy
    | Cluster
    | Compute
    | Secret
    | InstanceSecret
    | Bundle
    | Monitor
    | Pager
    | Lakehouse
    | Stack
    | Lens
    | Operator
    | Grant
    | Database
    | Volume
    | ResourceType,
    Field(discriminator="type"),
]

RESOURCE_TYPES: dict[str, type[ResourceBase]] = {
    model.KIND: model
    for model in (
        Workflow,
        Service,
        Worker,
        Depot,
        Policy,
        Cluster,
        Compute,
        Secret,
        InstanceSecret,
        Bundle,
        Monitor,
        Pager,
        Lakehouse,
        Stack,
        Lens,
        Operator,
        Grant,
        Database,
        Volume,
        ResourceType,
    )
}

# Resources every instance has without anyone applying them. A `stack` Resource adds more.
BUILTIN_RESOURCES: Mapping[str, frozenset[str]] = {
    "compute": frozenset({"runnable-default", "query-default"}),
    "stack": frozenset(
        {
            "flare",
            "soda",
            "scanner",
            "container",
            "alpha",
            "dataos-ctl",
            "bento",
            "beacon",
            "python3",
            "dbt",
            "benthos",
            "toolbox",
            "lakesearch",
            "talos",
            "nilus",
            "steampipe",
        }
    ),
}

# Names the platform gives to Resources of its own: applying one is refused. The depot
# `caretaker` names Caretaker's run history (SQL `caretaker.runs.*`); a user's depot by that
# name would shadow it in every catalog listing and invite confusion over what it governs.
RESERVED_NAMES: Mapping[str, frozenset[str]] = {"depot": frozenset({"caretaker"})}

WORKSPACE_TYPES = frozenset(k for k, m in RESOURCE_TYPES.items() if m.LEVEL == "workspace")
INSTANCE_TYPES = frozenset(k for k, m in RESOURCE_TYPES.items() if m.LEVEL == "instance")


@cache
def resource_adapter() -> TypeAdapter[Any]:
    """The validator of the whole union (built once: it is the costly part of start-up)."""
    return TypeAdapter(AnyResource)


def versions_of(kind: str) -> list[str]:
    """The ``version`` values a Resource type accepts, from its model."""
    annotation = RESOURCE_TYPES[kind].model_fields["version"].annotation
    return list(getattr(annotation, "__args__", ()))
