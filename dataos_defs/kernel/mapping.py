"""The platform's desired state + the kernel settings -> the kernel model of one cloud.

:func:`build_model` is pure and deterministic: no I/O, no clock, every list sorted by name,
every mapping sorted by key, so the same inputs in any order give the same model and hence
the same synthesized Terraform. It either returns a whole model or raises one
:class:`KernelError` naming the settings key or Resource to change; nothing is half-built.

Node groups follow the rules of :mod:`dataos_defs.kernel.node_groups`. The other rules:

- **Where.** AWS: ``aws.region``. GCP: ``gcp.region`` in project ``gcp.project``. Azure:
  ``azure.location`` in resource group ``azure.resourceGroup`` (the model's ``project``).
  The section of the chosen cloud must be there; the others are ignored.
- **Network.** ``network.cidr`` (IPv4) is split into equal subnets, one private then one
  public per zone of the cloud's section, in the zones' order; each must be a /24 or larger.
  ``network.podsCidr`` (a /21 or larger) and ``network.servicesCidr`` (a /24 or larger) hold
  pod and Service addresses on GKE and AKS; no two of the three ranges may overlap.
- **Namespaces.** The platform's own (``dataos``), plus one per workspace, named like it:
  the workspaces of the desired state, ``public`` (which always exists) and the settings'
  ``workspaces``. ``default``, ``dataos`` and ``kube-*`` are Kubernetes' or the platform's.
- **Ingress.** Each Service whose ingress is enabled gets a route at its ``ingress.path`` to
  its ``servicePort`` (or its first ``servicePorts`` entry). The API server serves that path
  in the Service's workspace (``/<workspace><path>``), others at ``/<workspace>/<name>``:
  two public paths that are the same or nested are an error (as at admission), while two
  workspaces may each have their own ``/orders``.
- **Storage and secrets.** Buckets default to ``<cluster>-warehouse`` and
  ``<cluster>-history``; the database password lives in the cloud's secret manager under
  ``<cluster>-database``, the store's Fernet key (``DATAOS_SECRET_KEY``) under
  ``<cluster>-secret-key``: the model names the secrets, never holds a value.
- **DNS.** ``dns.apiHost`` defaults to ``dataos.<dns.domain>``; TLS needs a host, and ACME
  an e-mail address. ``tls: managed`` is refused: no stack provides the certificate yet.
- **Charts.** Dagster always (release and chart ``dagster``), Trino when ``trino.enabled``.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dataos_defs.kernel.desired import DesiredState
from dataos_defs.kernel.errors import KernelError
from dataos_defs.kernel.k8s_workloads import public_path
from dataos_defs.kernel.model import (
    DEFAULT_PODS_CIDR,
    DEFAULT_SERVICES_CIDR,
    PLATFORM_NAMESPACE,
    WORKSPACE_LABEL,
    Buckets,
    Cloud,
    Database,
    Dns,
    HelmChart,
    Images,
    IngressRoute,
    KernelModel,
    Namespace,
    Network,
    StateBackend,
    Trino,
)
from dataos_defs.kernel.node_groups import node_groups
from dataos_defs.kernel.settings import DnsSettings, KernelSettings, NetworkSettings
from dataos_defs.manifest.base import DEFAULT_WORKSPACE, MAX_NAME_LENGTH, RESOURCE_NAME
from dataos_defs.manifest.service import Service

PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF = "dataos"
RESERVED_NAMESPACES = frozenset({"default", PLATFORM_NAMESPACE})
RESERVED_NAMESPACE_PREFIX = "kube-"
SMALLEST_SUBNET_PREFIX = 24
# Pods take a /24 per node (GKE, AKS overlay): a /21 is 8 nodes. Services: 256 addresses.
SMALLEST_PODS_PREFIX = 21
SMALLEST_SERVICES_PREFIX = 24
_SECTION_EXAMPLES: dict[Cloud, str] = {
    "aws": "aws: {region: eu-west-1, zones: [eu-west-1a, eu-west-1b, eu-west-1c]}",
    "gcp": "gcp: {project: my-project, region: europe-west1, zones: [europe-west1-b]}",
    "azure": "azure: {location: westeurope, resourceGroup: dataos}",
}


@dataclass(frozen=True)
class Placement:
    """Where the cluster lives on the chosen cloud."""

    region: str
    project: str | None
    zones: tuple[str, ...]


def build_model(settings: KernelSettings, cloud: Cloud, desired: DesiredState) -> KernelModel:
    """The kernel model of ``desired`` on ``cloud`` (rules in this module's docstring)."""
    placement = placement_of(settings, cloud)
    cluster = settings.cluster.name
    return KernelModel(
        cloud=cloud,
        region=placement.region,
        project=placement.project,
        cluster_name=cluster,
        kubernetes_version=settings.cluster.kubernetesVersion,
        network=network_of(settings.network.cidr, placement.zones).model_copy(
            update=cluster_ranges(settings.network)
        ),
        node_groups=node_groups(settings, cloud, desired.computes),
        namespaces=namespaces_of(desired.workspaces, settings.workspaces),
        ingress_routes=ingress_routes_of(desired.services),
        database=Database(
            engine_version=settings.database.engineVersion,
            instance_class=getattr(settings.database.instanceClass, cloud),
            storage_gb=settings.database.storageGb,
            high_availability=settings.database.highAvailability,
            password_secret=f"{cluster}-database",
        ),
        buckets=Buckets(
            warehouse=settings.buckets.warehouse or f"{cluster}-warehouse",
            history=settings.buckets.history or f"{cluster}-history",
        ),
        dns=dns_of(settings.dns),
        state=state_of(settings),
        images=Images(api=settings.apiImage),
        dagster=HelmChart(
            release="dagster",
            chart="dagster",
            repository=settings.dagsterChart.repository,
            version=settings.dagsterChart.version,
        ),
        trino=trino_of(settings),
        secret_key_secret=f"{cluster}-secret-key",
        tags=dict(sorted(settings.tags.items())),
    )


def placement_of(settings: KernelSettings, cloud: Cloud) -> Placement:
    """Region, project and zones from the settings' section of ``cloud``."""
    if cloud == "aws" and settings.aws is not None:
        aws = settings.aws
        return Placement(aws.region, None, _zones(aws.zones, "aws.zones"))
    if cloud == "gcp" and settings.gcp is not None:
        gcp = settings.gcp
        return Placement(gcp.region, gcp.project, _zones(gcp.zones, "gcp.zones"))
    if cloud == "azure" and settings.azure is not None:
        azure = settings.azure
        zones = _zones(azure.zones, "azure.zones")
        return Placement(azure.location, azure.resourceGroup, zones)
    raise KernelError(
        f"the settings have no '{cloud}' section, which --cloud {cloud} needs",
        cloud,
        f"add it, e.g. {_SECTION_EXAMPLES[cloud]}",
    )


def _zones(zones: Sequence[str], where: str) -> tuple[str, ...]:
    if not zones:
        raise KernelError("no zone given", where, "list at least one availability zone")
    repeated = sorted({zone for zone in zones if zones.count(zone) > 1})
    if repeated:
        raise KernelError(
            f"zone {', '.join(repeated)} is listed twice", where, "list each zone once"
        )
    return tuple(zones)


def _ipv4(cidr: str, where: str, example: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError as exc:
        raise KernelError(
            f"'{cidr}' is not a network range: {exc}", where, f"e.g. {example}"
        ) from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise KernelError(f"'{cidr}' is not IPv4", where, f"e.g. {example}")
    return network


def network_of(cidr: str, zones: Sequence[str]) -> Network:
    """Equal subnets of ``cidr``: first one private per zone, then one public per zone."""
    network = _ipv4(cidr, "network.cidr", "10.40.0.0/16")
    count = 2 * len(zones)
    prefix = network.prefixlen + (count - 1).bit_length()
    if prefix > SMALLEST_SUBNET_PREFIX:
        largest = SMALLEST_SUBNET_PREFIX - (count - 1).bit_length()
        raise KernelError(
            f"{cidr} is too small for {count} subnets (a private and a public one in each of "
            f"{len(zones)} zones): each would be a /{prefix}, the smallest allowed is "
            f"a /{SMALLEST_SUBNET_PREFIX}",
            "network.cidr",
            f"use a /{largest} or a larger range, e.g. a /16",
        )
    subnets = [
        str(subnet) for subnet in itertools.islice(network.subnets(new_prefix=prefix), count)
    ]
    return Network(
        cidr=str(network),
        private_subnets=tuple(subnets[: len(zones)]),
        public_subnets=tuple(subnets[len(zones) :]),
        zones=tuple(zones),
    )


def cluster_ranges(settings: NetworkSettings) -> dict[str, str]:
    """The pod and Service ranges (``Network`` fields), after checking their size and that
    they overlap neither each other nor the VPC: a pod address inside the VPC would route to
    a node instead of a pod, and the network policies tell pods from the VPC by range."""
    ranges = {
        "network.cidr": _ipv4(settings.cidr, "network.cidr", "10.40.0.0/16"),
        "network.podsCidr": _ipv4(settings.podsCidr, "network.podsCidr", DEFAULT_PODS_CIDR),
        "network.servicesCidr": _ipv4(
            settings.servicesCidr, "network.servicesCidr", DEFAULT_SERVICES_CIDR
        ),
    }
    for key, smallest in (
        ("network.podsCidr", SMALLEST_PODS_PREFIX),
        ("network.servicesCidr", SMALLEST_SERVICES_PREFIX),
    ):
        if ranges[key].prefixlen > smallest:
            raise KernelError(
                f"{ranges[key]} is too small", key, f"use a /{smallest} or a larger range"
            )
    for (first, one), (second, other) in itertools.combinations(ranges.items(), 2):
        if one.overlaps(other):
            raise KernelError(
                f"{other} overlaps {first} ({one})",
                second,
                f"set {second} to a range outside {one}, e.g. in 100.64.0.0/10 or another "
                "private range the VPC does not use",
            )
    return {
        "pods_cidr": str(ranges["network.podsCidr"]),
        "services_cidr": str(ranges["network.servicesCidr"]),
    }


def namespaces_of(workspaces: Iterable[str], extra: Sequence[str]) -> tuple[Namespace, ...]:
    """The platform's namespace and one per workspace (``public`` always), sorted by name."""
    where = {name: f"workspace {name}" for name in workspaces}
    where.setdefault(DEFAULT_WORKSPACE, f"workspace {DEFAULT_WORKSPACE}")
    for index, name in enumerate(extra):
        _check_workspace_name(name, f"workspaces[{index}]")
        where.setdefault(name, f"workspaces[{index}]")
    for name in sorted(where):
        _refuse_reserved(name, where[name])
    platform = Namespace(name=PLATFORM_NAMESPACE, workspace=None, labels={PART_OF_LABEL: PART_OF})
    spaces = [
        Namespace(
            name=name,
            workspace=name,
            labels=dict(sorted({PART_OF_LABEL: PART_OF, WORKSPACE_LABEL: name}.items())),
        )
        for name in where
    ]
    return tuple(sorted([platform, *spaces], key=lambda namespace: namespace.name))


def _check_workspace_name(name: str, where: str) -> None:
    if len(name) > MAX_NAME_LENGTH or not RESOURCE_NAME.match(name):
        raise KernelError(
            f"'{name}' is not a workspace name",
            where,
            f"at most {MAX_NAME_LENGTH} lower-case letters, digits and '-', "
            "starting and ending with a letter or digit",
        )


def _refuse_reserved(name: str, where: str) -> None:
    if name in RESERVED_NAMESPACES or name.startswith(RESERVED_NAMESPACE_PREFIX):
        raise KernelError(
            f"workspace '{name}' would be namespace '{name}', which is reserved",
            where,
            f"Kubernetes owns 'default' and 'kube-*', the platform runs in "
            f"'{PLATFORM_NAMESPACE}': move these Resources to another workspace",
        )


def ingress_routes_of(services: Iterable[tuple[str, Service]]) -> tuple[IngressRoute, ...]:
    """A route per Service with an enabled ingress; two Services whose public paths are the
    same or nested (in one workspace: public paths never leave it) is an error."""
    ordered = sorted(services, key=lambda pair: (pair[0], pair[1].name))
    _refuse_shared_public_paths(ordered)
    routes = []
    for workspace, service in ordered:
        ingress = service.service.ingress
        if ingress is None or not ingress.enabled or ingress.path is None:
            continue
        label = f"service {workspace}/{service.name}"
        routes.append(
            IngressRoute(
                workspace=workspace,
                service=service.name,
                path=ingress.path,
                port=_ingress_port(service, label),
                strip_path=ingress.stripPath,
                no_authentication=ingress.noAuthentication,
            )
        )
    return tuple(routes)


def service_public_path(workspace: str, service: Service) -> str:
    """Where the API server serves ``service``: its enabled ``ingress.path`` inside the
    workspace, else ``/<workspace>/<name>``."""
    ingress = service.service.ingress
    if ingress is not None and ingress.enabled and ingress.path:
        return public_path(workspace, ingress.path)
    return f"/{workspace}/{service.name}"


def _refuse_shared_public_paths(services: Sequence[tuple[str, Service]]) -> None:
    claimed: list[tuple[str, str]] = []
    for workspace, service in services:
        label, mine = f"service {workspace}/{service.name}", service_public_path(workspace, service)
        for theirs, other in claimed:
            if mine == theirs or mine.startswith(theirs + "/") or theirs.startswith(mine + "/"):
                raise KernelError(
                    f"{other} (at {theirs}) and {label} (at {mine}) share a public path",
                    label,
                    "give each service a public path of its own (an ingress.path that "
                    "neither contains nor lies inside another Service's of its workspace)",
                )
        claimed.append((mine, label))


def _ingress_port(service: Service, label: str) -> int:
    spec = service.service
    if spec.servicePort is not None:
        return spec.servicePort
    if spec.servicePorts:
        return spec.servicePorts[0].servicePort
    raise KernelError(
        "the ingress is enabled but the service listens on no port",
        f"{label}: service.ingress",
        "set service.servicePort (or servicePorts) to the port the ingress routes to",
    )


def dns_of(dns: DnsSettings) -> Dns:
    """Host names and TLS; ``apiHost`` defaults to ``dataos.<domain>``."""
    host = dns.apiHost or (f"dataos.{dns.domain}" if dns.domain else None)
    if dns.tls != "none" and host is None:
        raise KernelError(
            f"TLS ({dns.tls}) needs a host name", "dns.domain", "set dns.domain or dns.apiHost"
        )
    if dns.tls == "managed":
        raise KernelError(
            "no stack provides a cloud-managed certificate for the API's Ingress yet",
            "dns.tls",
            "use tls: acme (Let's Encrypt through cert-manager, with dns.acmeEmail) or none",
        )
    if dns.tls == "acme" and not dns.acmeEmail:
        raise KernelError(
            "ACME certificates need a contact address",
            "dns.acmeEmail",
            "set dns.acmeEmail, or use tls: none",
        )
    return Dns(domain=dns.domain, api_host=host, tls_issuer=dns.tls, acme_email=dns.acmeEmail)


def state_of(settings: KernelSettings) -> StateBackend:
    """Terraform's state backend; a remote one needs to know where (an S3 backend defaults to
    the AWS region)."""
    state = settings.state
    needed = {
        "local": (),
        "s3": ("bucket",),
        "gcs": ("bucket",),
        "azurerm": ("resourceGroup", "storageAccount", "bucket"),
    }[state.backend]
    for key in needed:
        if not getattr(state, key):
            raise KernelError(
                f"the {state.backend} state backend needs '{key}'",
                f"state.{key}",
                "name the existing bucket/container (and account) that keeps the state",
            )
    region = state.region
    if state.backend == "s3" and region is None and settings.aws is not None:
        region = settings.aws.region
    return StateBackend(
        kind=state.backend,
        bucket=state.bucket,
        prefix=state.prefix,
        region=region,
        resource_group=state.resourceGroup,
        storage_account=state.storageAccount,
    )


def trino_of(settings: KernelSettings) -> Trino | None:
    """Trino's chart when enabled. Its catalogs come from the depots (``dataos-ctl cluster
    catalogs``), which the kernel model does not read: they are left empty here."""
    trino = settings.trino
    if trino is None or not trino.enabled:
        return None
    chart = HelmChart(
        release="trino",
        chart="trino",
        repository=trino.chart.repository,
        version=trino.chart.version,
    )
    return Trino(chart=chart, workers=trino.workers)
