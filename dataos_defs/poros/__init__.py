"""Poros: the store of every applied Resource manifest and the apply service over it.

``Store`` keeps desired state (manifests with every revision, references, dataset
writers, workspaces) in SQLite or PostgreSQL; ``apply_resources`` checks validated
manifests against it and writes them all or nothing.
"""

from dataos_defs.poros.apply import BUILTIN_RESOURCES, RUNNABLE_KINDS, apply_resources
from dataos_defs.poros.errors import (
    Conflict,
    DependentsExist,
    InvalidRequest,
    NotFound,
    PorosError,
    VaultError,
)
from dataos_defs.poros.records import (
    ApplyItem,
    ApplyResult,
    ResourceKey,
    Revision,
    StoredResource,
    Workspace,
)
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

__all__ = [
    "BUILTIN_RESOURCES",
    "RUNNABLE_KINDS",
    "ApplyItem",
    "ApplyResult",
    "Conflict",
    "DependentsExist",
    "InvalidRequest",
    "NotFound",
    "PorosError",
    "ResourceKey",
    "Revision",
    "Settings",
    "Store",
    "StoredResource",
    "VaultError",
    "Workspace",
    "apply_resources",
]
