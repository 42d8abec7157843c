"""What the catalog hands out: stored entities and list rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dataos_defs.metis import fqn as fqns


@dataclass(frozen=True)
class StoredEntity:
    """An entity as stored: its body (secrets redacted) and the sealed secrets."""

    entity_type: str
    id: str
    fqn: str
    service: str | None
    body: dict[str, Any]
    secret_token: str | None
    version_tenths: int
    deleted: bool

    @property
    def version(self) -> float:
        return version_number(self.version_tenths)

    @property
    def names(self) -> list[str]:
        return fqns.split(self.fqn)


@dataclass(frozen=True)
class Listed:
    """A row of a list before its body is read: enough to filter, authorize and page."""

    entity_type: str
    id: str
    fqn: str
    service: str | None
    parent_fqn: str | None
    deleted: bool

    @property
    def names(self) -> list[str]:
        return fqns.split(self.fqn)


def version_number(tenths: int) -> float:
    """OpenMetadata's version numbers: 0.1, 0.2, … (tenths kept as integers)."""
    return round(tenths / 10, 1)


def version_tenths(version: float | str) -> int:
    return round(float(version) * 10)


FIRST_VERSION = 1
"""0.1, the version of a new entity."""
