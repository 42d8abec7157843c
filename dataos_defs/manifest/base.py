"""What every Resource shares: strict models, the meta section, names, references."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from dataos_defs.manifest.source import KeyPath

Level = Literal["workspace", "instance"]
RESOURCE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
STRICT_NAME = re.compile(r"^[a-z][a-z0-9]*$")
MAX_NAME_LENGTH = 48
DEFAULT_WORKSPACE = "public"


if TYPE_CHECKING:
    from dataos_defs.manifest.common import RuntimeSpec


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in a manifest must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=False)


class OpenModel(BaseModel):
    """For sections whose keys are user-defined (options, properties, params)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _resource_name(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"name is {len(value)} characters long; at most {MAX_NAME_LENGTH}")
    if not RESOURCE_NAME.match(value):
        raise ValueError(
            "must be lower-case letters, digits and '-', starting and ending with a letter or digit"
        )
    return value


def _strict_name(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"name is {len(value)} characters long; at most {MAX_NAME_LENGTH}")
    if not STRICT_NAME.match(value):
        raise ValueError("must be a lower-case letter followed by lower-case letters or digits")
    return value


ResourceName = Annotated[str, AfterValidator(_resource_name)]
StrictName = Annotated[str, AfterValidator(_strict_name)]
Tags = list[str]
Scalar = str | int | float | bool


@dataclass(frozen=True)
class Reference:
    """A Resource that another Resource needs to exist (checked at apply)."""

    kind: str
    name: str
    workspace: str | None
    path: KeyPath


@dataclass(frozen=True)
class Problem:
    """A semantic problem found after the shape was validated."""

    path: KeyPath
    message: str
    hint: str | None = None


class ResourceBase(StrictModel):
    """The meta section of DATAOS_CONTRACT §1 and the hooks each Resource type may fill."""

    KIND: ClassVar[str]
    LEVEL: ClassVar[Level] = "workspace"

    name: ResourceName
    version: str
    type: str
    tags: Tags = Field(default_factory=list)
    description: str | None = None
    owner: str | None = None
    layer: Literal["user", "system"] = "user"
    title: str | None = None
    workspace: ResourceName | None = Field(
        default=None,
        description="Workspace of a workspace-level Resource; an explicit -w must agree",
    )

    def references(self) -> list[Reference]:
        """Other Resources this one needs (depots, secrets, computes, clusters, stacks)."""
        return []

    def problems(self) -> list[Problem]:
        """Rules that span several fields (unknown job dependencies, cycles, ...)."""
        return []

    def secret_paths(self) -> list[KeyPath]:
        """Key paths, in the manifest as written, whose values are secrets."""
        return []

    def embedded_manifests(self) -> list[tuple[KeyPath, dict[str, Any]]]:
        """Whole manifests written inside this one (a bundle's resources), validated too."""
        return []

    def produced_datasets(self) -> list[tuple[str, KeyPath]]:
        """Datasets this Resource writes (UDL without ``?acl``), for the one-writer rule."""
        return []

    def runtime_specs(self) -> list[tuple[RuntimeSpec, KeyPath]]:
        """What this Resource runs (a workflow's jobs, a service, a worker), each with the
        key path of its spec: what admission authorizes (identity, datasets, secrets)."""
        return []
