"""The GCP network: a custom-mode VPC, one regional subnetwork, Cloud NAT, private services.

GKE is VPC-native, so a subnetwork carries three ranges, taken from the model's private
subnets in order: ``private_subnets[0]`` for the nodes (the primary range), ``[1]`` for pods
and ``[2]`` for services (secondary ranges). The model's public subnets are not used: nodes
have no public address and reach out through Cloud NAT. Cloud SQL sits on a peered range that
Google allocates (``private-services``), reached through the service networking connection.
"""

from __future__ import annotations

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
# Size of the range Google allocates for Cloud SQL's private IP (a /20: 4096 addresses).
PRIVATE_SERVICES_PREFIX = 20


@dataclass(frozen=True)
class GcpNetwork:
    network: ComputeNetwork
    subnetwork: ComputeSubnetwork
    private_services: ServiceNetworkingConnection


def network(stack: TerraformStack, model: KernelModel) -> GcpNetwork:
    """The VPC, the nodes' subnetwork, NAT for egress and the Cloud SQL peering."""
    ranges = model.network.private_subnets
    if len(ranges) < 3:
        raise ValueError(
            "GKE needs three private subnets in the kernel model (nodes, pods, services),"
            f" got {len(ranges)}"
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
        ip_cidr_range=ranges[0],
        private_ip_google_access=True,
        secondary_ip_range=[
            ComputeSubnetworkSecondaryIpRange(range_name=PODS_RANGE, ip_cidr_range=ranges[1]),
            ComputeSubnetworkSecondaryIpRange(range_name=SERVICES_RANGE, ip_cidr_range=ranges[2]),
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
    """The peering that gives Cloud SQL a private address inside the VPC."""
    allocated = ComputeGlobalAddress(
        stack,
        "private-services-range",
        name=cloud_name(model, "private-services"),
        purpose="VPC_PEERING",
        address_type="INTERNAL",
        prefix_length=PRIVATE_SERVICES_PREFIX,
        network=vpc.id,
    )
    return ServiceNetworkingConnection(
        stack,
        "private-services",
        network=vpc.id,
        service="servicenetworking.googleapis.com",
        reserved_peering_ranges=[allocated.name],
    )
