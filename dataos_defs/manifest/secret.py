"""Secret (workspace-level) and Instance-secret (instance-level): credentials by name.

Values live in ``data`` (key -> value) or ``files`` (key -> path of a file whose content
is the value). Every one of them is a secret: never shown unless explicitly asked.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from dataos_defs.manifest.base import Level, Problem, ResourceBase, StrictModel
from dataos_defs.manifest.source import KeyPath

SecretType = Literal[
    "key-value-properties", "key-value", "certificate", "cloud-kernel", "cloud-kernel-image-pull"
]


def _secret_text(value: Any) -> Any:
    """Secret values are text; YAML turns ``1234`` or ``true`` into numbers and booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


SecretValue = Annotated[
    str, BeforeValidator(_secret_text, json_schema_input_type=str | int | float | bool)
]


class SecretSection(StrictModel):
    type: SecretType
    acl: Literal["r", "rw"]
    data: dict[str, SecretValue] | None = None
    files: dict[str, str] | None = Field(default=None, description="key -> path of a file")

    def paths(self, section: str) -> list[KeyPath]:
        found: list[KeyPath] = [(section, "data", key) for key in self.data or {}]
        found.extend((section, "files", key) for key in self.files or {})
        return found

    def problems(self, section: str) -> list[Problem]:
        if not self.data and not self.files:
            return [Problem((section,), "a secret needs 'data' or 'files'")]
        return []


class Secret(ResourceBase):
    KIND: ClassVar[str] = "secret"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["secret"]
    version: Literal["v1"]
    secret: SecretSection

    def secret_paths(self) -> list[KeyPath]:
        return self.secret.paths("secret")

    def problems(self) -> list[Problem]:
        return self.secret.problems("secret")


class InstanceSecret(ResourceBase):
    KIND: ClassVar[str] = "instance-secret"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["instance-secret"]
    version: Literal["v1"]
    instance_secret: SecretSection = Field(alias="instance-secret")

    def secret_paths(self) -> list[KeyPath]:
        return self.instance_secret.paths("instance-secret")

    def problems(self) -> list[Problem]:
        return self.instance_secret.problems("instance-secret")
