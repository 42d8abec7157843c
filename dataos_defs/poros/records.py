"""What the store takes and returns: plain frozen dataclasses, never ORM rows or dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from dataos_defs.manifest.source import KeyPath

Status = Literal["pending", "active", "error", "deleted"]
Action = Literal["created", "updated", "deleted"]
ApplyAction = Literal["created", "updated", "unchanged"]
STATUSES: tuple[Status, ...] = ("pending", "active", "error", "deleted")


@dataclass(frozen=True, order=True)
class ResourceKey:
    """The identity of a Resource: ``workspace`` is ``None`` for instance-level types."""

    kind: str
    name: str
    workspace: str | None = None

    @property
    def workspace_key(self) -> str:
        """The workspace as stored in unique keys ('' for instance level: NULLs never clash)."""
        return self.workspace or ""

    def __str__(self) -> str:
        where = f" in workspace '{self.workspace}'" if self.workspace else ""
        return f"{self.kind} '{self.name}'{where}"


@dataclass(frozen=True)
class ApplyItem:
    """One validated manifest, ready to store; the apply service builds these from models.

    ``manifest`` is the document as written (after interpolation), secret values included:
    the store redacts the values at ``secret_paths`` and keeps them only encrypted.
    """

    key: ResourceKey
    version: str
    manifest: dict[str, Any]
    owner: str | None = None
    run_as: str | None = None
    secret_paths: list[KeyPath] = field(default_factory=list)
    references: list[ResourceKey] = field(default_factory=list)
    produced_datasets: list[str] = field(default_factory=list)
    initial_status: Status = "active"
    source_file: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    kind: str
    name: str
    workspace: str | None
    version: str
    action: ApplyAction
    revision: int


@dataclass(frozen=True)
class StoredResource:
    """The current state of a Resource and its latest manifest (redacted unless asked)."""

    kind: str
    name: str
    workspace: str | None
    version: str
    status: Status
    status_reason: str | None
    owner: str | None
    revision: int
    manifest: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    run_as: str | None = None
    """The user its runs act as (runnable types), as admitted at apply."""

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.kind, self.name, self.workspace)


@dataclass(frozen=True)
class Revision:
    """One entry of a Resource's append-only history."""

    revision: int
    action: Action
    version: str
    manifest: dict[str, Any]
    digest: str
    applied_by: str
    applied_at: datetime
    source_file: str | None
    compacted_at: datetime | None = None
    """When an operator compacted this revision's payload (then ``manifest`` is only the
    Resource's identity)."""


@dataclass(frozen=True)
class Workspace:
    name: str
    description: str | None
    tags: list[str]
    created_at: datetime
    created_by: str
