"""The AWS network of the cluster stack: a VPC, a public and a private subnet per zone.

Nodes, the database and the cluster's network interfaces live in the private subnets; the
public ones hold one NAT gateway per zone (a zone's outage does not cut the others off) and the
load balancers the ingress controller asks for. The subnet tags are the ones the AWS load
balancer integration looks for (``kubernetes.io/role/elb`` / ``internal-elb``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformStack
from cdktn_provider_aws.eip import Eip
from cdktn_provider_aws.internet_gateway import InternetGateway
from cdktn_provider_aws.nat_gateway import NatGateway
from cdktn_provider_aws.route import Route
from cdktn_provider_aws.route_table import RouteTable
from cdktn_provider_aws.route_table_association import RouteTableAssociation
from cdktn_provider_aws.subnet import Subnet
from cdktn_provider_aws.vpc import Vpc

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.naming import construct_id, name_tags

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class AwsNetwork:
    vpc_id: str
    private_subnet_ids: list[str]
    public_subnet_ids: list[str]


def network(stack: TerraformStack, model: KernelModel) -> AwsNetwork:
    """VPC, internet gateway, and per zone: public subnet + NAT, private subnet + routes."""
    net = model.network
    _check_zones(model)
    vpc = Vpc(
        stack,
        "vpc",
        cidr_block=net.cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags=name_tags(model, "vpc"),
    )
    gateway = InternetGateway(stack, "internet-gateway", vpc_id=vpc.id, tags=name_tags(model))
    public_table = RouteTable(
        stack, "route-table-public", vpc_id=vpc.id, tags=name_tags(model, "public")
    )
    Route(
        stack,
        "route-public-internet",
        route_table_id=public_table.id,
        destination_cidr_block=ANYWHERE,
        gateway_id=gateway.id,
    )
    public_ids: list[str] = []
    private_ids: list[str] = []
    for zone, public_cidr, private_cidr in zip(
        net.zones, net.public_subnets, net.private_subnets, strict=True
    ):
        public = _subnet(stack, model, vpc, zone, public_cidr, public=True)
        RouteTableAssociation(
            stack,
            construct_id("route-table-association-public", zone),
            subnet_id=public.id,
            route_table_id=public_table.id,
        )
        private = _subnet(stack, model, vpc, zone, private_cidr, public=False)
        _private_route(stack, model, vpc, zone, public, private)
        public_ids.append(public.id)
        private_ids.append(private.id)
    return AwsNetwork(vpc_id=vpc.id, private_subnet_ids=private_ids, public_subnet_ids=public_ids)


def _check_zones(model: KernelModel) -> None:
    """EKS needs subnets in two zones at least; every zone needs one subnet of each kind."""
    net = model.network
    if len(net.zones) < 2:
        raise ValueError(f"EKS needs at least two zones, the model has {list(net.zones)}")
    if not len(net.zones) == len(net.public_subnets) == len(net.private_subnets):
        raise ValueError("the model needs one public and one private subnet per zone")


def _subnet(
    stack: TerraformStack, model: KernelModel, vpc: Vpc, zone: str, cidr: str, *, public: bool
) -> Subnet:
    kind = "public" if public else "private"
    role = "kubernetes.io/role/elb" if public else "kubernetes.io/role/internal-elb"
    return Subnet(
        stack,
        construct_id("subnet", kind, zone),
        vpc_id=vpc.id,
        availability_zone=zone,
        cidr_block=cidr,
        map_public_ip_on_launch=False,
        tags=name_tags(model, kind, zone, **{role: "1"}),
    )


def _private_route(
    stack: TerraformStack, model: KernelModel, vpc: Vpc, zone: str, public: Subnet, private: Subnet
) -> None:
    """The zone's NAT gateway (in its public subnet) as the private subnet's way out."""
    address = Eip(
        stack, construct_id("nat-address", zone), domain="vpc", tags=name_tags(model, "nat", zone)
    )
    nat = NatGateway(
        stack,
        construct_id("nat-gateway", zone),
        allocation_id=address.id,
        subnet_id=public.id,
        tags=name_tags(model, "nat", zone),
    )
    table = RouteTable(
        stack,
        construct_id("route-table-private", zone),
        vpc_id=vpc.id,
        tags=name_tags(model, "private", zone),
    )
    Route(
        stack,
        construct_id("route-private-nat", zone),
        route_table_id=table.id,
        destination_cidr_block=ANYWHERE,
        nat_gateway_id=nat.id,
    )
    RouteTableAssociation(
        stack,
        construct_id("route-table-association-private", zone),
        subnet_id=private.id,
        route_table_id=table.id,
    )
