"""Errors of the Poros store: each says what is wrong and, where it helps, what to do.

The classes group by how an interface should answer: ``NotFound`` (404), ``Conflict``
(409: the request is valid but the current state forbids it), ``InvalidRequest`` (400),
``VaultError`` (the installation is misconfigured).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataos_defs.poros.records import ResourceKey


class PorosError(Exception):
    """Base class; ``hint`` is a short suggestion shown after the message."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class NotFound(PorosError):
    pass


class Conflict(PorosError):
    pass


class InvalidRequest(PorosError):
    pass


class VaultError(PorosError):
    pass


class ResourceNotFound(NotFound):
    def __init__(self, key: ResourceKey) -> None:
        self.key = key
        super().__init__(f"{key} does not exist", "list what exists with `dataos-ctl get`")


class WorkspaceNotFound(NotFound):
    def __init__(self, name: str) -> None:
        self.workspace = name
        super().__init__(
            f"workspace '{name}' does not exist",
            f"create it first with `dataos-ctl workspace create -n {name}`",
        )


class WorkspaceExists(Conflict):
    def __init__(self, name: str) -> None:
        self.workspace = name
        super().__init__(f"workspace '{name}' already exists")


class ProtectedWorkspace(Conflict):
    def __init__(self, name: str) -> None:
        self.workspace = name
        super().__init__(f"workspace '{name}' is built in and cannot be deleted")


class DependentsExist(Conflict):
    """Deleting ``target`` would break the Resources that reference it."""

    def __init__(self, target: ResourceKey, dependents: Sequence[ResourceKey]) -> None:
        self.target = target
        self.dependents = list(dependents)
        names = ", ".join(str(d) for d in self.dependents)
        super().__init__(
            f"{target} is used by {names}", "delete those first, or pass --force to delete anyway"
        )


class WorkspaceNotEmpty(Conflict):
    def __init__(self, name: str, resources: Sequence[ResourceKey]) -> None:
        self.workspace = name
        self.resources = list(resources)
        shown = ", ".join(str(r) for r in self.resources[:10])
        more = f" and {len(self.resources) - 10} more" if len(self.resources) > 10 else ""
        super().__init__(
            f"workspace '{name}' still holds {shown}{more}",
            "delete them first, or pass --force to delete the workspace with everything in it",
        )


class WriterConflict(Conflict):
    """The one-writer rule: each dataset has at most one live writing Resource."""

    def __init__(self, dataset: str, writer: ResourceKey | None) -> None:
        self.dataset = dataset
        self.writer = writer
        by = f" by {writer}" if writer else ""
        super().__init__(
            f"dataset {dataset} is already written{by}", "one workflow owns each output dataset"
        )


class InsecureKeyFile(VaultError):
    def __init__(self, path: str, mode: int) -> None:
        self.path = path
        super().__init__(
            f"secret key file {path} is readable by other users (mode {mode:04o})",
            f"run `chmod 600 {path}`",
        )
