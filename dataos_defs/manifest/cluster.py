"""Cluster: a query engine over depots, Minerva (Trino) or Themis (Spark SQL).

Each ``depots[].address`` becomes a catalog of the engine; ``catalogs[]`` adds connectors for
sources without a depot. The Gateway routes a query to the cluster whose ``selector`` matches.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import (
    Level,
    Problem,
    Reference,
    ResourceBase,
    Scalar,
    StrictModel,
    StrictName,
)
from dataos_defs.manifest.common import Cron, DataosSecret, Quantity, Resources, TimeZone
from dataos_defs.manifest.lenient import NumberText
from dataos_defs.manifest.policy_parts import TagExpression
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.udl import Udl, UdlStr

EngineLogLevel = Literal["INFO", "DEBUG", "WARN", "ERROR"]
Envs = dict[str, Scalar]


class ClusterDepot(StrictModel):
    address: UdlStr
    properties: dict[str, Scalar] | None = None
    secrets: list[DataosSecret] | None = None


class Catalog(StrictModel):
    """A Trino connector declared directly, for sources without a depot."""

    name: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(min_length=1, description="Trino connector, e.g. memory")]
    properties: dict[str, Scalar] | None = None
    secrets: list[DataosSecret] | None = None


class Debug(StrictModel):
    logLevel: EngineLogLevel = "INFO"
    trinoLogLevel: EngineLogLevel = "INFO"


class ClusterSelector(StrictModel):
    """Which queries the Gateway routes here: by user, user tags and query source."""

    users: list[str] | None = None
    tags: TagExpression | None = None
    sources: list[str] | None = None
    match: Literal["any", "all"] = "any"
    priority: int = Field(default=10, ge=1, le=5000)


class Minerva(StrictModel):
    replicas: int = Field(default=1, ge=1)
    resources: Resources | None = None
    secrets: list[str] | None = None
    depots: list[ClusterDepot] | None = None
    catalogs: list[Catalog] | None = None
    debug: Debug | None = None
    coordinatorEnvs: Envs | None = None
    workerEnvs: Envs | None = None
    overrideDefaultEnvs: bool | None = None
    spillOverVolume: str | None = None
    selector: ClusterSelector | None = None


class SparkRole(StrictModel):
    memory: NumberText | None = None
    cores: int | None = Field(default=None, ge=1)
    resources: Resources | None = None
    instanceCount: int | None = Field(default=None, ge=0)
    maxInstanceCount: int | None = Field(default=None, ge=0)


class Spark(StrictModel):
    driver: SparkRole | None = None
    executor: SparkRole | None = None
    sparkConf: dict[str, Scalar] | None = None


class Themis(StrictModel):
    replicas: int | None = Field(default=None, ge=1)
    resources: Resources | None = None
    envs: Envs | None = None
    themisConf: dict[str, Any] | None = None
    spark: Spark | None = None
    depots: list[ClusterDepot] | None = None


class ScalingCron(StrictModel):
    """While this cron's window is active, these replicas/resources replace the defaults."""

    cron: Cron
    timezone: TimeZone | None = None
    replicas: int | None = Field(default=None, ge=0)
    resources: Resources | None = None


class Maintenance(StrictModel):
    restartCron: Cron | None = None
    timezone: TimeZone | None = None
    scalingCrons: list[ScalingCron] | None = None


class NatsPermissions(StrictModel):
    publish: list[str]
    subscribe: list[str]
    allow_responses: bool | None = None


class NatsRole(StrictModel):
    name: str
    permissions: NatsPermissions | None = None


class Nats(StrictModel):
    replicas: int = Field(ge=1)
    volumeType: str
    volumeSize: Quantity
    maxConnections: int = Field(ge=1)
    roles: list[NatsRole]


class JupyterIngress(StrictModel):
    enabled: bool = False
    path: str | None = None
    stripPath: bool | None = None
    noAuthentication: bool | None = None
    appDetailSpec: str | None = None
    apiDetailSpec: str | None = None


class OidcConfig(StrictModel):
    clientId: str
    clientSecret: str


class SingleUserConfig(StrictModel):
    volumeCapacity: Quantity


class JupyterHub(StrictModel):
    ingress: JupyterIngress | None = None
    oidcConfig: OidcConfig
    storageClass: str
    singleUserConfig: SingleUserConfig


class ClusterSection(StrictModel):
    compute: str = "query-default"
    type: Literal["minerva", "themis"]
    runAsApiKey: str | None = None
    runAsUser: str | None = None
    maintenance: Maintenance | None = None
    minerva: Minerva | None = None
    themis: Themis | None = None
    dataosSecrets: list[DataosSecret] | None = None
    nodeSelector: dict[str, str] | None = None
    toleration: str | None = None
    nats: Nats | None = None
    jupyterHub: JupyterHub | None = None


class Cluster(ResourceBase):
    KIND: ClassVar[str] = "cluster"
    LEVEL: ClassVar[Level] = "workspace"
    name: StrictName
    type: Literal["cluster"]
    version: Literal["v1"]
    cluster: ClusterSection

    def depot_addresses(self) -> list[tuple[Udl, KeyPath]]:
        """Each depot the engine mounts as a catalog, with where it is written."""
        found: list[tuple[Udl, KeyPath]] = []
        for engine in ("minerva", "themis"):
            section = getattr(self.cluster, engine)
            for index, depot in enumerate((section.depots or []) if section else []):
                found.append((Udl.parse(depot.address), ("cluster", engine, "depots", index)))
        return found

    def references(self) -> list[Reference]:
        refs = [Reference("compute", self.cluster.compute, None, ("cluster", "compute"))]
        refs.extend(
            Reference("depot", udl.depot, None, (*path, "address"))
            for udl, path in self.depot_addresses()
        )
        return refs

    def problems(self) -> list[Problem]:
        kind = self.cluster.type
        other = "themis" if kind == "minerva" else "minerva"
        problems = []
        if getattr(self.cluster, kind) is None:
            problems.append(
                Problem(
                    ("cluster", "type"),
                    f"a {kind} cluster needs its 'cluster.{kind}' section",
                    f"add cluster.{kind} with at least replicas and depots",
                )
            )
        if getattr(self.cluster, other) is not None:
            problems.append(
                Problem(
                    ("cluster", other),
                    f"'cluster.{other}' does not apply to a {kind} cluster",
                    f"remove it, or set type: {other}",
                )
            )
        return problems
