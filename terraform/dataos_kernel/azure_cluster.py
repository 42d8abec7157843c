"""The AKS cluster of the Azure cluster stack: control plane, system pool, one pool per Compute.

- The model's ``system`` node group is the cluster's default (system) node pool; every other
  node group becomes an ``azurerm_kubernetes_cluster_node_pool`` in User mode. AKS cannot
  taint the default pool, so a tainted system group is refused.
- Pool names: AKS allows at most 12 lowercase letters and digits (starting with a letter) for
  Linux pools. A node group's name is kept when it already is such a name; otherwise it is
  lowered, stripped of other characters, cut to 7 characters and suffixed with 5 hex digits of
  the name's hash (``cloud_common.short_name``): deterministic, and distinct names stay
  distinct (a collision is refused).
- Networking: Azure CNI overlay powered by Cilium, whose network policy engine enforces the
  platform's NetworkPolicies; egress through the subnet's NAT gateway.
- Access: Entra ID only (local accounts disabled, Azure RBAC for Kubernetes). Whoever applies
  the stack gets "Azure Kubernetes Service RBAC Cluster Admin", which lets them apply the
  platform stack with ``kubelogin``. OIDC issuer + workload identity for the pods' identities.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cdktn import TerraformStack
from cdktn_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktn_provider_azurerm.kubernetes_cluster import (
    KubernetesCluster,
    KubernetesClusterAzureActiveDirectoryRoleBasedAccessControl,
    KubernetesClusterDefaultNodePool,
    KubernetesClusterIdentity,
    KubernetesClusterNetworkProfile,
    KubernetesClusterNodeProvisioningProfile,
)
from cdktn_provider_azurerm.kubernetes_cluster_node_pool import KubernetesClusterNodePool
from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity

from dataos_defs.kernel.model import KernelModel, NodeGroup
from dataos_kernel.azure_network import AzureNetwork
from dataos_kernel.cloud_common import short_name, unique_names
from dataos_kernel.naming import cloud_name, construct_id

POOL_NAME_LIMIT = 12
# The cluster DNS Service's address: this host of the model's Service range.
DNS_SERVICE_HOST = 10
CLUSTER_ADMIN_ROLE = "Azure Kubernetes Service RBAC Cluster Admin"


@dataclass(frozen=True)
class AksCluster:
    cluster: KubernetesCluster
    node_pools: dict[str, KubernetesClusterNodePool]


def dns_service_ip(model: KernelModel) -> str:
    """The cluster DNS Service's address, which AKS wants inside the Service range."""
    return str(ipaddress.ip_network(model.network.services_cidr)[DNS_SERVICE_HOST])


def aks(
    stack: TerraformStack, model: KernelModel, net: AzureNetwork, client: DataAzurermClientConfig
) -> AksCluster:
    """The control plane with the system pool, and one User pool per other node group."""
    system = system_group(model)
    names = pool_names(model)
    cluster = _control_plane(stack, model, net, client, system, names[system.compute])
    RoleAssignment(
        stack,
        "cluster-admin-deployer",
        scope=cluster.id,
        role_definition_name=CLUSTER_ADMIN_ROLE,
        principal_id=client.object_id,
    )
    pools = {
        group.compute: _node_pool(stack, model, net, cluster, group, names[group.compute])
        for group in model.node_groups
        if group is not system
    }
    return AksCluster(cluster, pools)


def system_group(model: KernelModel) -> NodeGroup:
    """The node group of purpose ``system``: the default node pool."""
    systems = [group for group in model.node_groups if group.purpose == "system"]
    if len(systems) != 1:
        raise ValueError(f"AKS needs exactly one system node group, got {len(systems)}")
    if systems[0].taints:
        raise ValueError("AKS cannot taint the default (system) node pool: remove its taints")
    return systems[0]


def pool_names(model: KernelModel) -> dict[str, str]:
    """AKS pool name per Compute (see the module docstring)."""
    return unique_names(
        {
            group.compute: short_name(group.name, POOL_NAME_LIMIT, hyphens=False)
            for group in model.node_groups
        }
    )


def taint_string(key: str, value: str, effect: str) -> str:
    """A taint as AKS spells it: ``key=value:Effect`` (``key:Effect`` without a value)."""
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def _control_plane(
    stack: TerraformStack,
    model: KernelModel,
    net: AzureNetwork,
    client: DataAzurermClientConfig,
    system: NodeGroup,
    system_pool: str,
) -> KubernetesCluster:
    identity = _control_plane_identity(stack, model, net)
    return KubernetesCluster(
        stack,
        "cluster",
        name=model.cluster_name,
        resource_group_name=net.resource_group.name,
        location=net.resource_group.location,
        dns_prefix=model.cluster_name,
        kubernetes_version=model.kubernetes_version,
        sku_tier="Standard",
        automatic_upgrade_channel="patch",
        node_os_upgrade_channel="NodeImage",
        default_node_pool=KubernetesClusterDefaultNodePool(
            name=system_pool,
            vm_size=system.machine_type,
            auto_scaling_enabled=True,
            min_count=system.min_size,
            max_count=system.max_size,
            node_labels=dict(system.labels),
            os_disk_size_gb=system.disk_gb,
            vnet_subnet_id=net.nodes.id,
            zones=list(model.network.zones),
            temporary_name_for_rotation=f"{system_pool[:9]}tmp",
            tags=model.tags,
        ),
        node_provisioning_profile=KubernetesClusterNodeProvisioningProfile(mode="Manual"),
        identity=KubernetesClusterIdentity(type="UserAssigned", identity_ids=[identity.id]),
        network_profile=KubernetesClusterNetworkProfile(
            network_plugin="azure",
            network_plugin_mode="overlay",
            network_data_plane="cilium",
            network_policy="cilium",
            pod_cidr=model.network.pods_cidr,
            service_cidr=model.network.services_cidr,
            dns_service_ip=dns_service_ip(model),
            outbound_type="userAssignedNATGateway",
            load_balancer_sku="standard",
        ),
        oidc_issuer_enabled=True,
        workload_identity_enabled=True,
        local_account_disabled=True,
        role_based_access_control_enabled=True,
        azure_active_directory_role_based_access_control=(
            KubernetesClusterAzureActiveDirectoryRoleBasedAccessControl(
                azure_rbac_enabled=True, tenant_id=client.tenant_id
            )
        ),
        tags=model.tags,
        depends_on=[net.nat],
    )


def _control_plane_identity(
    stack: TerraformStack, model: KernelModel, net: AzureNetwork
) -> UserAssignedIdentity:
    """The control plane's identity, allowed to join nodes and load balancers to the VNet
    before the cluster exists (a system-assigned one would get the role too late)."""
    identity = UserAssignedIdentity(
        stack,
        "identity-cluster",
        name=cloud_name(model, "cluster"),
        resource_group_name=net.resource_group.name,
        location=net.resource_group.location,
        tags=model.tags,
    )
    RoleAssignment(
        stack,
        "cluster-network-contributor",
        scope=net.vnet.id,
        role_definition_name="Network Contributor",
        principal_id=identity.principal_id,
        principal_type="ServicePrincipal",
    )
    return identity


def _node_pool(
    stack: TerraformStack,
    model: KernelModel,
    net: AzureNetwork,
    cluster: KubernetesCluster,
    group: NodeGroup,
    name: str,
) -> KubernetesClusterNodePool:
    return KubernetesClusterNodePool(
        stack,
        construct_id("node-pool", group.compute),
        name=name,
        kubernetes_cluster_id=cluster.id,
        mode="User",
        vm_size=group.machine_type,
        auto_scaling_enabled=True,
        min_count=group.min_size,
        max_count=group.max_size,
        node_labels=dict(group.labels),
        node_taints=[taint_string(t.key, t.value, t.effect) for t in group.taints] or None,
        os_disk_size_gb=group.disk_gb,
        vnet_subnet_id=net.nodes.id,
        zones=list(model.network.zones),
        gpu_driver="Install" if group.gpu else None,
        tags=model.tags,
    )
