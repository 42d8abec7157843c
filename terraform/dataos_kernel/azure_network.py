"""The Azure network: resource group, VNet, the nodes' and the database's subnets, NAT gateway.

The model's private subnets are used in order: ``private_subnets[0]`` for the AKS nodes and
``[1]`` for PostgreSQL Flexible Server (a subnet delegated to it). Pods do not take VNet
addresses: AKS runs Azure CNI in overlay mode, with the model's ``pods_cidr`` and
``services_cidr`` (outside the VNet: the mapping checks it) for pods and Services. Nodes
have no public address; they leave through the NAT gateway on their subnet. The public
subnets are not used (no public load balancer is created by this stack).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformStack
from cdktn_provider_azurerm.nat_gateway import NatGateway
from cdktn_provider_azurerm.nat_gateway_public_ip_association import (
    NatGatewayPublicIpAssociation,
)
from cdktn_provider_azurerm.public_ip import PublicIp
from cdktn_provider_azurerm.resource_group import ResourceGroup
from cdktn_provider_azurerm.subnet import (
    Subnet,
    SubnetDelegation,
    SubnetDelegationServiceDelegation,
)
from cdktn_provider_azurerm.subnet_nat_gateway_association import SubnetNatGatewayAssociation
from cdktn_provider_azurerm.virtual_network import VirtualNetwork

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.naming import cloud_name

POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"


@dataclass(frozen=True)
class AzureNetwork:
    resource_group: ResourceGroup
    vnet: VirtualNetwork
    nodes: Subnet
    database: Subnet
    nat: SubnetNatGatewayAssociation


def resource_group_name(model: KernelModel) -> str:
    """``model.project`` (the kernel settings' resource group), else the cluster's name."""
    return model.project or cloud_name(model)


def network(stack: TerraformStack, model: KernelModel) -> AzureNetwork:
    """The resource group everything lives in, the VNet, its two subnets and egress."""
    ranges = model.network.private_subnets
    if len(ranges) < 2:
        raise ValueError(
            "AKS needs two private subnets in the kernel model (nodes, database),"
            f" got {len(ranges)}"
        )
    group = ResourceGroup(
        stack,
        "resource-group",
        name=resource_group_name(model),
        location=model.region,
        tags=model.tags,
    )
    vnet = VirtualNetwork(
        stack,
        "vnet",
        name=cloud_name(model),
        resource_group_name=group.name,
        location=group.location,
        address_space=[model.network.cidr],
        tags=model.tags,
    )
    nodes = _subnet(stack, (group, vnet), "nodes", ranges[0])
    postgres = SubnetDelegation(
        name="postgres",
        service_delegation=SubnetDelegationServiceDelegation(
            name=POSTGRES_DELEGATION,
            actions=["Microsoft.Network/virtualNetworks/subnets/join/action"],
        ),
    )
    database = _subnet(stack, (group, vnet), "database", ranges[1], delegation=[postgres])
    return AzureNetwork(group, vnet, nodes, database, _nat(stack, model, group, nodes))


def _subnet(
    stack: TerraformStack,
    where: tuple[ResourceGroup, VirtualNetwork],
    name: str,
    prefix: str,
    delegation: list[SubnetDelegation] | None = None,
) -> Subnet:
    """The VNet's subnet ``name``, without default outbound access: what leaves goes through
    the NAT gateway (the nodes') or nowhere (the database's)."""
    group, vnet = where
    return Subnet(
        stack,
        f"subnet-{name}",
        name=name,
        resource_group_name=group.name,
        virtual_network_name=vnet.name,
        address_prefixes=[prefix],
        default_outbound_access_enabled=False,
        delegation=delegation,
    )


def _nat(
    stack: TerraformStack, model: KernelModel, group: ResourceGroup, nodes: Subnet
) -> SubnetNatGatewayAssociation:
    """Egress for the nodes: AKS's ``userAssignedNATGateway`` outbound type expects it."""
    address = PublicIp(
        stack,
        "nat-address",
        name=cloud_name(model, "nat"),
        resource_group_name=group.name,
        location=group.location,
        allocation_method="Static",
        sku="Standard",
        tags=model.tags,
    )
    gateway = NatGateway(
        stack,
        "nat-gateway",
        name=cloud_name(model, "nat"),
        resource_group_name=group.name,
        location=group.location,
        sku_name="Standard",
        tags=model.tags,
    )
    NatGatewayPublicIpAssociation(
        stack, "nat-address-association", nat_gateway_id=gateway.id, public_ip_address_id=address.id
    )
    return SubnetNatGatewayAssociation(
        stack, "subnet-nodes-nat", subnet_id=nodes.id, nat_gateway_id=gateway.id
    )
