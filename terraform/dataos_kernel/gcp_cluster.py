"""The GKE cluster of the GCP cluster stack: a private regional cluster, one pool per Compute.

- Private nodes, public control-plane endpoint: ``terraform`` and the platform stack reach the
  API with ``gke-gcloud-auth-plugin`` from wherever they run; nodes have no public address.
- Dataplane V2 (``ADVANCED_DATAPATH``) enforces NetworkPolicies, which the platform's
  default-deny policies need.
- ``kubernetes_version`` is either a release channel name (``rapid``, ``regular``, ``stable``,
  ``extended``) or a version, which becomes ``min_master_version`` on the REGULAR channel.
- The default node pool is removed; each Compute gets a ``google_container_node_pool`` whose
  name is the node group's name when it fits GKE's 40 characters, else its first 34
  characters, a hyphen and 5 hex digits of its hash (``cloud_common.short_name``).
- Autoscaling bounds are cluster totals (``total_min/max_node_count``), not per zone, so that a
  Compute's ``min``/``max`` mean the same on every cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle, TerraformStack
from cdktn_provider_google.container_cluster import (
    ContainerCluster,
    ContainerClusterIpAllocationPolicy,
    ContainerClusterPrivateClusterConfig,
    ContainerClusterReleaseChannel,
    ContainerClusterWorkloadIdentityConfig,
)
from cdktn_provider_google.container_node_pool import (
    ContainerNodePool,
    ContainerNodePoolAutoscaling,
    ContainerNodePoolManagement,
    ContainerNodePoolNodeConfig,
    ContainerNodePoolNodeConfigGuestAccelerator,
    ContainerNodePoolNodeConfigShieldedInstanceConfig,
    ContainerNodePoolNodeConfigTaint,
    ContainerNodePoolNodeConfigWorkloadMetadataConfig,
)
from cdktn_provider_google.project_iam_member import ProjectIamMember
from cdktn_provider_google.service_account import ServiceAccount

from dataos_defs.kernel.model import KernelModel, NodeGroup
from dataos_kernel.cloud_common import short_name, unique_names
from dataos_kernel.gcp_network import PODS_RANGE, SERVICES_RANGE, GcpNetwork
from dataos_kernel.naming import cloud_name, construct_id

POOL_NAME_LIMIT = 40
SERVICE_ACCOUNT_ID_LIMIT = 30
RELEASE_CHANNELS = ("rapid", "regular", "stable", "extended")
# The control plane's private range (peered into the VPC; must not overlap the model's).
MASTER_CIDR = "172.16.0.0/28"
GKE_TAINT_EFFECTS = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}
# GPU machine families carry a fixed accelerator; N1 machines take a T4 attached to them.
ACCELERATORS = {"a2": "nvidia-tesla-a100", "a3": "nvidia-h100-80gb", "g2": "nvidia-l4"}
DEFAULT_ACCELERATOR = "nvidia-tesla-t4"
# What the nodes' own identity needs (logs, metrics, image pulls): nothing else.
NODE_ROLES = (
    "roles/artifactregistry.reader",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
)
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# The autoscaler moves the node count; a pool's initial count must not replace it afterwards.
_INITIAL_COUNT = "initial_node_count"


@dataclass(frozen=True)
class GkeCluster:
    cluster: ContainerCluster
    node_pools: dict[str, ContainerNodePool]


def gke(stack: TerraformStack, model: KernelModel, project: str, net: GcpNetwork) -> GkeCluster:
    """The control plane and one node pool per node group (keyed by Compute)."""
    cluster = _control_plane(stack, model, project, net)
    nodes = _node_identity(stack, model, project)
    names = pool_names(model)
    pools = {
        group.compute: _node_pool(stack, model, cluster, group, names[group.compute], nodes)
        for group in model.node_groups
    }
    return GkeCluster(cluster, pools)


def pool_names(model: KernelModel) -> dict[str, str]:
    """GKE pool name per Compute (see the module docstring)."""
    return unique_names(
        {group.compute: short_name(group.name, POOL_NAME_LIMIT) for group in model.node_groups}
    )


def service_account_id(model: KernelModel, role: str) -> str:
    """A service account id (6 to 30 characters) for the cluster's ``role``."""
    return short_name(cloud_name(model, role), SERVICE_ACCOUNT_ID_LIMIT)


def _release(version: str) -> tuple[str, str | None]:
    """(release channel, minimum control-plane version) for ``kubernetes_version``."""
    if version.lower() in RELEASE_CHANNELS:
        return version.upper(), None
    return "REGULAR", version


def _control_plane(
    stack: TerraformStack, model: KernelModel, project: str, net: GcpNetwork
) -> ContainerCluster:
    channel, min_version = _release(model.kubernetes_version)
    return ContainerCluster(
        stack,
        "cluster",
        name=model.cluster_name,
        location=model.region,
        node_locations=list(model.network.zones),
        network=net.network.id,
        subnetwork=net.subnetwork.id,
        remove_default_node_pool=True,
        initial_node_count=1,
        deletion_protection=True,
        release_channel=ContainerClusterReleaseChannel(channel=channel),
        min_master_version=min_version,
        networking_mode="VPC_NATIVE",
        datapath_provider="ADVANCED_DATAPATH",
        ip_allocation_policy=ContainerClusterIpAllocationPolicy(
            cluster_secondary_range_name=PODS_RANGE,
            services_secondary_range_name=SERVICES_RANGE,
        ),
        private_cluster_config=ContainerClusterPrivateClusterConfig(
            enable_private_nodes=True,
            enable_private_endpoint=False,
            master_ipv4_cidr_block=MASTER_CIDR,
        ),
        workload_identity_config=ContainerClusterWorkloadIdentityConfig(
            workload_pool=workload_pool(project)
        ),
        enable_shielded_nodes=True,
        resource_labels=dict(model.tags),
    )


def workload_pool(project: str) -> str:
    return f"{project}.svc.id.goog"


def _node_identity(stack: TerraformStack, model: KernelModel, project: str) -> ServiceAccount:
    """The nodes' service account: the default compute one has the Editor role."""
    account = ServiceAccount(
        stack,
        "service-account-nodes",
        account_id=service_account_id(model, "nodes"),
        display_name=f"GKE nodes of {model.cluster_name}",
    )
    for role in NODE_ROLES:
        ProjectIamMember(
            stack,
            construct_id("nodes", role.removeprefix("roles/")),
            project=project,
            role=role,
            member=account.member,
        )
    return account


def _node_pool(
    stack: TerraformStack,
    model: KernelModel,
    cluster: ContainerCluster,
    group: NodeGroup,
    name: str,
    nodes: ServiceAccount,
) -> ContainerNodePool:
    return ContainerNodePool(
        stack,
        construct_id("node-pool", group.compute),
        name=name,
        cluster=cluster.id,
        location=model.region,
        initial_node_count=1 if group.min_size else 0,
        autoscaling=ContainerNodePoolAutoscaling(
            total_min_node_count=group.min_size,
            total_max_node_count=group.max_size,
            location_policy="BALANCED",
        ),
        management=ContainerNodePoolManagement(auto_repair=True, auto_upgrade=True),
        node_config=_node_config(model, group, nodes),
        lifecycle=TerraformResourceLifecycle(ignore_changes=[_INITIAL_COUNT]),
    )


def _node_config(
    model: KernelModel, group: NodeGroup, nodes: ServiceAccount
) -> ContainerNodePoolNodeConfig:
    return ContainerNodePoolNodeConfig(
        machine_type=group.machine_type,
        disk_size_gb=group.disk_gb,
        disk_type="pd-balanced",
        labels=dict(group.labels),
        taint=[
            ContainerNodePoolNodeConfigTaint(
                key=taint.key, value=taint.value, effect=GKE_TAINT_EFFECTS[taint.effect]
            )
            for taint in group.taints
        ]
        or None,
        guest_accelerator=[_accelerator(group.machine_type)] if group.gpu else None,
        service_account=nodes.email,
        oauth_scopes=[CLOUD_PLATFORM_SCOPE],
        workload_metadata_config=ContainerNodePoolNodeConfigWorkloadMetadataConfig(
            mode="GKE_METADATA"
        ),
        shielded_instance_config=ContainerNodePoolNodeConfigShieldedInstanceConfig(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        resource_labels=dict(model.tags),
    )


def _accelerator(machine_type: str) -> ContainerNodePoolNodeConfigGuestAccelerator:
    """One GPU per node, driver installed by GKE (the family decides the GPU model)."""
    family = machine_type.split("-", 1)[0]
    return ContainerNodePoolNodeConfigGuestAccelerator(
        type=ACCELERATORS.get(family, DEFAULT_ACCELERATOR),
        count=1,
        gpu_driver_installation_config={"gpu_driver_version": "DEFAULT"},
    )
