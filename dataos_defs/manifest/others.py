"""The less central Resource types: Lens, Operator, Grant, Database, Volume and Resource.

Each is typed with the attributes its DataOS reference documents; sections whose keys
the user (or an operator's schema) chooses stay open mappings.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import (
    Level,
    Problem,
    Reference,
    ResourceBase,
    ResourceName,
    Scalar,
    StrictModel,
)
from dataos_defs.manifest.common import (
    AutoScaling,
    DataosSecret,
    HighAvailabilityConfig,
    Quantity,
    Resources,
)
from dataos_defs.manifest.lenient import LogLevel
from dataos_defs.manifest.stack import StackPort, ValueSchema

NonEmpty = Annotated[str, Field(min_length=1)]


class LensSource(StrictModel):
    type: Literal["minerva", "themis", "depot", "flash"]
    name: NonEmpty = Field(description="Cluster, depot or flash service name")
    catalog: str | None = None


class LensRepo(StrictModel):
    url: NonEmpty
    lensBaseDir: NonEmpty = Field(description="Folder of the Lens model inside the repository")
    secretId: str | None = None
    syncFlags: list[str] | None = None


class LensComponent(StrictModel):
    replicas: int | None = Field(default=None, ge=0)
    logLevel: LogLevel | None = None
    resources: Resources | None = None
    envs: dict[str, Scalar] | None = None
    autoScaling: AutoScaling | None = None
    highAvailabilityConfig: HighAvailabilityConfig | None = None


class LensSection(StrictModel):
    compute: NonEmpty
    runAsApiKey: str | None = None
    runAsUser: str | None = None
    secrets: list[DataosSecret] | None = None
    source: LensSource
    repo: LensRepo
    api: LensComponent | None = None
    worker: LensComponent | None = None
    router: LensComponent | None = None


class Lens(ResourceBase):
    """A semantic model (tables, views, metrics) served over SQL, REST and GraphQL."""

    KIND: ClassVar[str] = "lens"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["lens"]
    version: Literal["v1alpha"]
    lens: LensSection

    def references(self) -> list[Reference]:
        refs = [Reference("compute", self.lens.compute, None, ("lens", "compute"))]
        refs.extend(
            Reference("instance-secret", secret.name, None, ("lens", "secrets", index, "name"))
            for index, secret in enumerate(self.lens.secrets or [])
        )
        return refs


class OperatorComponent(StrictModel):
    name: ResourceName
    type: Literal["worker", "service"]
    compute: NonEmpty
    runAsApiKey: str | None = None
    runAsUser: str | None = None
    image: NonEmpty
    imagePullSecret: str | None = None
    command: list[str] | None = None
    arguments: list[str] | None = None
    replicas: int = Field(default=1, ge=0)
    environmentVars: dict[str, Scalar] | None = None
    secrets: list[DataosSecret] | None = None
    ports: list[StackPort] | None = None


class NatsSubject(StrictModel):
    stream: str | None = None
    subject: NonEmpty
    replySubject: str | None = None


class NatsApi(StrictModel):
    command: NatsSubject
    query: NatsSubject


class OperatorResource(StrictModel):
    """A Resource type the operator adds, validated by ``specSchema``."""

    name: NonEmpty
    nameJqFilter: str | None = None
    isRunnable: bool = False
    specSchema: ValueSchema | None = None
    natsApi: NatsApi | None = None


class NatsClusterConfig(StrictModel):
    name: ResourceName
    compute: NonEmpty
    runAsUser: str | None = None
    runAsApiKey: str | None = None


class OperatorSection(StrictModel):
    components: list[OperatorComponent] = Field(min_length=1)
    resources: list[OperatorResource] = Field(min_length=1)
    enabledWorkspaces: list[ResourceName] = Field(min_length=1)
    natsClusterConfig: NatsClusterConfig


class Operator(ResourceBase):
    """Brings external systems' resources under DataOS management."""

    KIND: ClassVar[str] = "operator"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["operator"]
    version: Literal["v1alpha"]
    operator: OperatorSection

    def problems(self) -> list[Problem]:
        problems = []
        for kind in ("components", "resources"):
            seen: set[str] = set()
            for index, item in enumerate(getattr(self.operator, kind)):
                if item.name in seen:
                    problems.append(
                        Problem(
                            ("operator", kind, index, "name"),
                            f"duplicate {kind[:-1]} name '{item.name}'",
                        )
                    )
                seen.add(item.name)
        return problems


class GrantSection(StrictModel):
    policy_use_case_id: NonEmpty
    subjects: list[NonEmpty] = Field(min_length=1, description="Subject tags, users:id:...")
    values: dict[str, Any] | None = Field(
        default=None, description="Use-case parameters, e.g. run-as-dataos-resource: [{path}]"
    )
    approve: bool = False
    requester: str | None = None
    notes: str | None = None
    collection: str | None = None
    manageAsUser: str | None = None


class Grant(ResourceBase):
    """Assigns a policy use-case to subjects."""

    KIND: ClassVar[str] = "grant"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["grant"]
    version: Literal["v1alpha"]
    grant: GrantSection


class Migrate(StrictModel):
    includes: list[NonEmpty] | None = Field(default=None, description="Folders of SQL migrations")
    includesInline: str | dict[str, str] | None = None
    command: Literal["up", "down"]
    parameter: str | None = None


class DatabaseSection(StrictModel):
    migrate: Migrate
    compute: NonEmpty = "runnable-default"
    manageAsUser: str | None = None


class Database(ResourceBase):
    """A managed PostgreSQL database, created and migrated by DataOS."""

    KIND: ClassVar[str] = "database"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["database"]
    version: Literal["v1"]
    database: DatabaseSection

    def references(self) -> list[Reference]:
        return [Reference("compute", self.database.compute, None, ("database", "compute"))]

    def problems(self) -> list[Problem]:
        migrate = self.database.migrate
        if not migrate.includes and not migrate.includesInline:
            return [
                Problem(
                    ("database", "migrate"),
                    "migrate needs 'includes' (folders of .sql files) or 'includesInline'",
                )
            ]
        return []


class VolumeSection(StrictModel):
    size: Quantity
    accessMode: Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"]
    type: Literal["temp", "persistent"]


class Volume(ResourceBase):
    """Storage that pods of workflows, services and workers mount (``dataosVolumes``)."""

    KIND: ClassVar[str] = "volume"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["volume"]
    version: Literal["v1beta"]
    volume: VolumeSection


class ResourceSection(StrictModel):
    operator: NonEmpty = Field(description="The Operator that manages this resource")
    type: NonEmpty = Field(description="A resource name the operator declares")
    spec: dict[str, Any] = Field(description="Validated by the operator's specSchema")


class ResourceType(ResourceBase):
    """An instance of a Resource type that an Operator adds (``operator.resources``)."""

    KIND: ClassVar[str] = "resource"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["resource"]
    version: Literal["v1beta"]
    resource: ResourceSection

    def references(self) -> list[Reference]:
        return [Reference("operator", self.resource.operator, None, ("resource", "operator"))]
