"""Stack: the plugin mechanism; a container image that workflows, services or workers run.

``stackSpecValueSchema.jsonSchema`` validates the ``stackSpec`` of every Resource that uses
the stack; ``dataOsAddressJqFilters`` are jq paths into that stackSpec whose ``dataos://``
values are resolved to depots and credentials before the container starts.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import (
    Level,
    Problem,
    ResourceBase,
    ResourceName,
    Scalar,
    StrictModel,
)
from dataos_defs.manifest.lenient import NumberText

ORCHESTRATORS = ("workflowJobConfig", "serviceConfig", "workerConfig")


class ImageAuth(StrictModel):
    imagePullSecret: str


class Image(StrictModel):
    registry: str | None = None
    repository: str | None = None
    image: Annotated[str, Field(min_length=1)]
    tag: NumberText | None = None
    auth: ImageAuth | None = None

    @property
    def reference(self) -> str:
        """``registry/repository/image:tag`` as a container runtime expects it."""
        path = "/".join(p for p in (self.registry, self.repository, self.image) if p)
        return f"{path}:{self.tag}" if self.tag else path


class StackPort(StrictModel):
    name: str
    servicePort: int = Field(ge=1, le=65535)
    targetPort: int = Field(ge=1, le=65535)


class SecretProjection(StrictModel):
    type: Literal["propFile", "envVars"]


class ValueSchema(StrictModel):
    jsonSchema: str | dict[str, Any] = Field(description="JSON Schema of the stackSpec")

    def parsed(self) -> dict[str, Any] | None:
        """The schema as a mapping, or None when the text is not a JSON object."""
        if isinstance(self.jsonSchema, dict):
            return self.jsonSchema
        try:
            value = json.loads(self.jsonSchema)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


class ResourceTemplateConfig(StrictModel):
    resourceTemplate: str
    successCondition: str | None = None
    failureCondition: str | None = None


class OrchestratorConfig(StrictModel):
    """How an orchestrating Resource renders the stack: config files or a whole resource."""

    configFileTemplate: str | None = None
    containerResourceTemplate: str | None = None
    resourceTemplate: str | None = None
    resourceTemplateConfig: ResourceTemplateConfig | None = None


class StackSection(StrictModel):
    name: ResourceName
    flavor: str | None = None
    version: NumberText
    reconciler: str | None = None
    image: Image | None = None
    command: list[str] | None = None
    arguments: list[str] | None = None
    environmentVars: dict[str, Scalar] | None = None
    ports: StackPort | list[StackPort] | None = None
    secretProjection: SecretProjection | None = None
    stackSpecValueSchema: ValueSchema | None = None
    workflowJobConfig: OrchestratorConfig | None = None
    serviceConfig: OrchestratorConfig | None = None
    workerConfig: OrchestratorConfig | None = None
    dataOsAddressJqFilters: list[str] | None = None

    @property
    def ref(self) -> str:
        """``name[+flavor]:version`` as workflows write it in ``spec.stack``."""
        flavor = f"+{self.flavor}" if self.flavor else ""
        return f"{self.name}{flavor}:{self.version}"


class Stack(ResourceBase):
    KIND: ClassVar[str] = "stack"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["stack"]
    version: Literal["v1alpha"]
    stack: StackSection

    def problems(self) -> list[Problem]:
        section = self.stack
        problems = []
        if all(getattr(section, key) is None for key in ORCHESTRATORS):
            problems.append(
                Problem(
                    ("stack",),
                    "a stack needs at least one of " + ", ".join(ORCHESTRATORS),
                    "it says how workflows, services or workers run the image",
                )
            )
        templated = any(
            config.resourceTemplate or config.resourceTemplateConfig
            for config in (getattr(section, key) for key in ORCHESTRATORS)
            if config is not None
        )
        if section.image is None and not templated:
            problems.append(
                Problem(
                    ("stack",),
                    "a stack needs an 'image' unless it renders a resourceTemplate",
                )
            )
        schema = section.stackSpecValueSchema
        if schema is not None and schema.parsed() is None:
            problems.append(
                Problem(
                    ("stack", "stackSpecValueSchema", "jsonSchema"),
                    "jsonSchema is not a JSON object",
                    "write the schema as JSON text (jsonSchema: |) or as a YAML mapping",
                )
            )
        for index, jq in enumerate(section.dataOsAddressJqFilters or []):
            if not jq.startswith("."):
                problems.append(
                    Problem(
                        ("stack", "dataOsAddressJqFilters", index),
                        f"'{jq}' is not a jq path",
                        "e.g. .inputs[].dataset",
                    )
                )
        return problems
