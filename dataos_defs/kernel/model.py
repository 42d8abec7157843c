"""The kernel model: what the cloud kernel builds, resolved for one cloud.

It is the contract between the platform's desired state (Compute, Service and Bundle
Resources, workspaces, the kernel settings file) and the CDKTF app in ``terraform/``: the
mapping in :mod:`dataos_defs.kernel.mapping` produces it, the constructs only read it. It is
plain data (pydantic, frozen, JSON round-trip) so that ``dataos-ctl kernel synth`` can hand it
to the app in a separate process, and so that snapshot tests can review it like code.

Lists are sorted by name: the same desired state always gives the same model and therefore the
same synthesized Terraform JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Cloud = Literal["aws", "gcp", "azure"]
CLOUDS: tuple[Cloud, ...] = ("aws", "gcp", "azure")
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
Purpose = Literal["system", "runnable", "query", "gpu"]

# The namespace the platform itself runs in (API server, Dagster, run pods, Trino).
PLATFORM_NAMESPACE = "dataos"
# Every node carries the name of the Compute it was made for under this label.
COMPUTE_LABEL = "dataos.io/compute"
PURPOSE_LABEL = "dataos.io/purpose"
# Namespaces carry the workspace they hold under this label (network policies select on it).
WORKSPACE_LABEL = "dataos.io/workspace"
# Pod and Service ranges by default (GKE secondary ranges, AKS overlay): inside 10/8, away
# from the usual VPC ranges. A /14 holds 1024 nodes at a /24 each; a /20, 4096 Services.
DEFAULT_PODS_CIDR = "10.244.0.0/14"
DEFAULT_SERVICES_CIDR = "10.96.0.0/20"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Taint(Frozen):
    """A node taint; a Compute's toleration becomes the taint its own nodes carry."""

    key: str
    value: str = ""
    effect: TaintEffect


class NodeGroup(Frozen):
    """One managed node group (EKS node group, GKE node pool, AKS node pool) per Compute."""

    name: str = Field(description="cloud-safe name, derived from the Compute's name")
    compute: str = Field(description="the Compute Resource (or 'system' for the platform's own)")
    purpose: Purpose
    machine_type: str
    min_size: int = Field(ge=0)
    max_size: int = Field(ge=1)
    disk_gb: int = Field(ge=20)
    labels: dict[str, str]
    taints: tuple[Taint, ...] = ()
    gpu: bool = False


class Namespace(Frozen):
    """A Kubernetes namespace: the platform's own, and one per workspace."""

    name: str
    workspace: str | None = Field(description="the workspace it holds; None for the platform's")
    labels: dict[str, str]


class IngressRoute(Frozen):
    """A Service Resource that asked for ingress: the API server's door routes to it."""

    workspace: str
    service: str
    path: str
    port: int = Field(ge=1, le=65535)
    strip_path: bool = False
    no_authentication: bool = False


class Network(Frozen):
    cidr: str
    private_subnets: tuple[str, ...]
    public_subnets: tuple[str, ...]
    zones: tuple[str, ...]
    # Pod and Service addresses (GKE secondary ranges, AKS overlay): outside ``cidr``.
    pods_cidr: str = DEFAULT_PODS_CIDR
    services_cidr: str = DEFAULT_SERVICES_CIDR


class Database(Frozen):
    """The managed PostgreSQL holding the Poros store and Dagster's storage."""

    engine_version: str
    instance_class: str
    storage_gb: int = Field(ge=10)
    high_availability: bool = False
    databases: tuple[str, ...] = ("dataos", "dagster")
    # The secret manager entry holding the generated password: a name, never a value.
    password_secret: str


class Buckets(Frozen):
    warehouse: str
    history: str


class Dns(Frozen):
    domain: str | None = None
    api_host: str | None = None
    tls_issuer: Literal["none", "acme", "managed"] = "none"
    acme_email: str | None = None


class StateBackend(Frozen):
    kind: Literal["local", "s3", "gcs", "azurerm"] = "local"
    bucket: str | None = None
    prefix: str = "dataos-kernel"
    region: str | None = None
    # azurerm only
    resource_group: str | None = None
    storage_account: str | None = None


class HelmChart(Frozen):
    release: str
    chart: str
    repository: str
    version: str
    namespace: str = PLATFORM_NAMESPACE


class Images(Frozen):
    api: str = Field(description="image of the DataOS API server (and the code location)")


class Trino(Frozen):
    """Trino with its OPA access-control plugin asking Heimdall (optional)."""

    chart: HelmChart
    workers: int = Field(ge=0)
    catalogs: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="catalog name -> properties from `cluster catalogs`"
    )


class KernelModel(Frozen):
    cloud: Cloud
    region: str
    # GCP project / Azure resource group / AWS account alias: where the resources live.
    project: str | None = None
    cluster_name: str
    kubernetes_version: str
    network: Network
    node_groups: tuple[NodeGroup, ...]
    namespaces: tuple[Namespace, ...]
    ingress_routes: tuple[IngressRoute, ...] = ()
    database: Database
    buckets: Buckets
    dns: Dns
    state: StateBackend
    images: Images
    dagster: HelmChart
    trino: Trino | None = None
    # The secret manager entry holding the store's Fernet key (DATAOS_SECRET_KEY): a name.
    secret_key_secret: str
    api_port: int = 7400
    tags: dict[str, str] = Field(default_factory=dict, description="labels on cloud resources")

    def node_group(self, compute: str) -> NodeGroup:
        for group in self.node_groups:
            if group.compute == compute:
                return group
        raise KeyError(compute)

    def workspaces(self) -> list[str]:
        return [ns.workspace for ns in self.namespaces if ns.workspace is not None]
