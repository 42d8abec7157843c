"""The GCP network: a custom-mode VPC, one regional subnetwork, Cloud NAT, private services.

GKE is VPC-native, so a subnetwork carries three ranges: ``private_subnets[0]`` for the nodes
(the primary range), the model's ``pods_cidr`` and ``services_cidr`` for pods and Services
(secondary ranges; the mapping keeps them outside the VPC range and sized for many nodes: a
pod range of a /14 gives 1024 nodes their /24 each). Nodes have no public address and reach
out through Cloud NAT, so the model's public subnets are free: the first one is the range
Cloud SQL's private address is allocated from (``private-services``, peered through the
service networking connection). A range Google picked could lie anywhere in 10/8; inside the
model's VPC range, the network policies' "database" rule (the VPC range) covers Cloud SQL.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cdktn import TerraformStack
from cdktn_provider_google.compute_global_address import ComputeGlobalAddress
from cdktn_provider_google.compute_network import ComputeNetwork
from cdktn_provider_google.compute_router import ComputeRouter
from cdktn_provider_google.compute_router_nat import ComputeRouterNat, ComputeRouterNatLogConfig
from cdktn_provider_google.compute_subnetwork import (
    ComputeSubnetwork,
    ComputeSubnetworkSecondaryIpRange,
)
from cdktn_provider_google.service_networking_connection import ServiceNetworkingConnection

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.naming import cloud_name

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class GcpNetwork:
    network: ComputeNetwork
    subnetwork: ComputeSubnetwork
    private_services: ServiceNetworkingConnection


def network(stack: TerraformStack, model: KernelModel) -> GcpNetwork:
    """The VPC, the nodes' subnetwork, NAT for egress and the Cloud SQL peering."""
    spec = model.network
    if not spec.private_subnets or not spec.public_subnets:
        raise ValueError(
            "GKE needs a private subnet in the kernel model for its nodes and a public one"
            " for Cloud SQL's private services range"
        )
    vpc = ComputeNetwork(
        stack,
        "network",
        name=cloud_name(model),
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
    )
    subnetwork = ComputeSubnetwork(
        stack,
        "subnetwork",
        name=cloud_name(model, "nodes"),
        network=vpc.id,
        region=model.region,
        ip_cidr_range=spec.private_subnets[0],
        private_ip_google_access=True,
        secondary_ip_range=[
            ComputeSubnetworkSecondaryIpRange(range_name=PODS_RANGE, ip_cidr_range=spec.pods_cidr),
            ComputeSubnetworkSecondaryIpRange(
                range_name=SERVICES_RANGE, ip_cidr_range=spec.services_cidr
            ),
        ],
    )
    _nat(stack, model, vpc)
    return GcpNetwork(vpc, subnetwork, _private_services(stack, model, vpc))


def _nat(stack: TerraformStack, model: KernelModel, vpc: ComputeNetwork) -> None:
    """Egress for private nodes (image pulls, the cloud APIs' public endpoints)."""
    router = ComputeRouter(
        stack, "router", name=cloud_name(model, "router"), network=vpc.id, region=model.region
    )
    ComputeRouterNat(
        stack,
        "nat",
        name=cloud_name(model, "nat"),
        router=router.name,
        region=model.region,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        log_config=ComputeRouterNatLogConfig(enable=True, filter="ERRORS_ONLY"),
    )


def _private_services(
    stack: TerraformStack, model: KernelModel, vpc: ComputeNetwork
) -> ServiceNetworkingConnection:
    """The peering that gives Cloud SQL a private address in the model's first public subnet
    (module docstring)."""
    reserved = ipaddress.ip_network(model.network.public_subnets[0])
    allocated = ComputeGlobalAddress(
        stack,
        "private-services-range",
        name=cloud_name(model, "private-services"),
        purpose="VPC_PEERING",
        address_type="INTERNAL",
        address=str(reserved.network_address),
        prefix_length=reserved.prefixlen,
        network=vpc.id,
    )
    return ServiceNetworkingConnection(
        stack,
        "private-services",
        network=vpc.id,
        service="servicenetworking.googleapis.com",
        reserved_peering_ranges=[allocated.name],
    )
