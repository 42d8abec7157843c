"""Service: a long-running workload with ports and optional ingress (DATAOS_CONTRACT §5)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from dataos_defs.manifest.base import Level, Problem, Reference, ResourceBase, StrictModel
from dataos_defs.manifest.common import LongRunningSpec, RuntimeSpec
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks._fields import error, fail

Port = Annotated[int, Field(ge=1, le=65535)]


class ServicePort(StrictModel):
    name: str
    servicePort: Port


class Ingress(StrictModel):
    """Exposes the service's port at ``path`` behind the DataOS gateway."""

    enabled: bool = False
    path: str | None = None
    stripPath: bool = False
    noAuthentication: bool = False
    appDetailSpec: str | None = None
    apiDetailSpec: str | None = None

    @model_validator(mode="after")
    def _path_when_enabled(self) -> Ingress:
        if self.enabled and not self.path:
            fail(error((), "an enabled ingress needs 'path', e.g. /orders/api/v1"))
        if self.path is not None and not self.path.startswith("/"):
            fail(error(("path",), f"ingress path '{self.path}' must start with '/'", self.path))
        return self


class ServiceSpec(LongRunningSpec):
    """A service's section: a long-running spec that listens on ports."""

    servicePort: Port | None = None
    servicePorts: list[ServicePort] | None = None
    ingress: Ingress | None = None


class Service(ResourceBase):
    KIND: ClassVar[str] = "service"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["service"]
    version: Literal["v1"]
    service: ServiceSpec

    def references(self) -> list[Reference]:
        return self.service.runtime_references(("service",))

    def problems(self) -> list[Problem]:
        return self.service.runtime_problems(("service",))

    def produced_datasets(self) -> list[tuple[str, KeyPath]]:
        return self.service.runtime_produced(("service",))

    def runtime_specs(self) -> list[tuple[RuntimeSpec, KeyPath]]:
        return [(self.service, ("service",))]
