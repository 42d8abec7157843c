"""The kernel settings file (``terraform/kernel.yaml``): what only the cloud kernel needs.

Everything the platform already knows stays in its Resources (Computes, workspaces, Services):
this file holds only cloud facts no Resource carries — region, the Kubernetes version, machine
types and sizes of the node pools (a Compute names a pool, it does not size it: sizing is
per cloud), the database size, DNS/TLS and where Terraform keeps its state. Keys are
camelCase like the manifests.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dataos_defs.kernel.model import DEFAULT_PODS_CIDR, DEFAULT_SERVICES_CIDR
from dataos_defs.manifest.base import StrictModel

NAME = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"


class MachineTypes(StrictModel):
    """A machine type per cloud; only the one for ``--cloud`` is used."""

    aws: str
    gcp: str
    azure: str


class PoolSize(StrictModel):
    machineType: MachineTypes | None = Field(
        default=None, description="defaults to the pool of the Compute's purpose"
    )
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=1)
    diskGb: int | None = Field(default=None, ge=20)


class PurposePool(StrictModel):
    machineType: MachineTypes
    min: int = Field(ge=0)
    max: int = Field(ge=1)
    diskGb: int = Field(default=100, ge=20)


class NodePools(StrictModel):
    """Sizes by purpose, plus overrides for named Computes."""

    system: PurposePool
    runnable: PurposePool
    query: PurposePool
    gpu: PurposePool
    computes: dict[str, PoolSize] = Field(default_factory=dict)


class ClusterSettings(StrictModel):
    name: str = Field(pattern=NAME, max_length=32)
    kubernetesVersion: str = Field(pattern=r"^1\.\d{2}$")


class AwsSettings(StrictModel):
    region: str
    zones: list[str] = Field(min_length=2, max_length=6)


class GcpSettings(StrictModel):
    project: str
    region: str
    zones: list[str] = Field(min_length=1, max_length=6)


class AzureSettings(StrictModel):
    location: str
    resourceGroup: str
    zones: list[str] = Field(default_factory=lambda: ["1", "2", "3"], max_length=3)


class NetworkSettings(StrictModel):
    cidr: str = Field(description="the VPC/VNet range, a /16 is split into subnets")
    # A VPC range overlapping these defaults is refused by the mapping, naming the key to set.
    podsCidr: str = Field(
        default=DEFAULT_PODS_CIDR,
        description="pod addresses on GKE (secondary range) and AKS (overlay); a /24 per node",
    )
    servicesCidr: str = Field(
        default=DEFAULT_SERVICES_CIDR, description="Service (cluster IP) addresses on GKE and AKS"
    )


class DatabaseSettings(StrictModel):
    engineVersion: str = "16"
    instanceClass: MachineTypes
    storageGb: int = Field(default=50, ge=10)
    highAvailability: bool = False


class BucketSettings(StrictModel):
    warehouse: str | None = Field(default=None, description="defaults to <cluster>-warehouse")
    history: str | None = Field(default=None, description="defaults to <cluster>-history")


class DnsSettings(StrictModel):
    domain: str | None = None
    apiHost: str | None = Field(default=None, description="defaults to dataos.<domain>")
    tls: Literal["none", "acme", "managed"] = "none"
    acmeEmail: str | None = None


class StateSettings(StrictModel):
    backend: Literal["local", "s3", "gcs", "azurerm"] = "local"
    bucket: str | None = None
    prefix: str = "dataos-kernel"
    region: str | None = None
    resourceGroup: str | None = None
    storageAccount: str | None = None


class ChartSettings(StrictModel):
    version: str
    repository: str


class TrinoSettings(StrictModel):
    enabled: bool = False
    workers: int = Field(default=2, ge=0)
    chart: ChartSettings


class KernelSettings(StrictModel):
    cluster: ClusterSettings
    aws: AwsSettings | None = None
    gcp: GcpSettings | None = None
    azure: AzureSettings | None = None
    network: NetworkSettings
    nodePools: NodePools
    database: DatabaseSettings
    buckets: BucketSettings = Field(default_factory=BucketSettings)
    dns: DnsSettings = Field(default_factory=DnsSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    apiImage: str
    dagsterChart: ChartSettings
    trino: TrinoSettings | None = None
    workspaces: list[str] = Field(
        default_factory=list, description="workspaces to create besides those Resources use"
    )
    tags: dict[str, str] = Field(default_factory=dict)
