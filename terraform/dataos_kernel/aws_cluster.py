"""The EKS cluster of the AWS cluster stack: control plane, one node group per Compute, IRSA.

Access is through EKS access entries (authentication mode ``API``): no ``aws-auth``
ConfigMap, and whoever applies the stack becomes cluster admin, which lets them apply the
platform stack with the ``aws eks get-token`` exec plugin. Node groups are EKS managed ones
without a launch template: their nodes carry the cluster security group, which the database
security group admits (``aws_data``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdktn import Fn, TerraformResourceLifecycle, TerraformStack
from cdktn_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktn_provider_aws.eks_addon import EksAddon
from cdktn_provider_aws.eks_cluster import EksCluster, EksClusterAccessConfig, EksClusterVpcConfig
from cdktn_provider_aws.eks_node_group import (
    EksNodeGroup,
    EksNodeGroupScalingConfig,
    EksNodeGroupTaint,
    EksNodeGroupUpdateConfig,
)
from cdktn_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment

from dataos_defs.kernel.model import KernelModel, NodeGroup
from dataos_kernel.aws_network import AwsNetwork
from dataos_kernel.naming import cloud_name, construct_id, name_tags

MANAGED_POLICY = "arn:aws:iam::aws:policy/"
CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)
# Kubernetes taint effects as the EKS API spells them.
EKS_TAINT_EFFECTS = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}
GPU_AMI = "AL2023_x86_64_NVIDIA"
X86_AMI = "AL2023_x86_64_STANDARD"
ARM_AMI = "AL2023_ARM_64_STANDARD"
# Graviton families carry a "g" right after the generation digit: m7g, c7gn, r6gd, g5g.
_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*\.")
# The cluster autoscaler changes the desired size; Terraform must not reset it on every apply.
_DESIRED_SIZE = "scaling_config[0].desired_size"


@dataclass(frozen=True)
class AwsCluster:
    cluster: EksCluster
    oidc_provider: IamOpenidConnectProvider
    node_groups: dict[str, EksNodeGroup]


def eks(stack: TerraformStack, model: KernelModel, net: AwsNetwork) -> AwsCluster:
    """The control plane, its OIDC provider (for IRSA) and the node groups."""
    cluster = _control_plane(stack, model, net)
    issuer = cluster.identity.get(0).oidc.get(0).issuer
    oidc = IamOpenidConnectProvider(
        stack,
        "oidc-provider",
        url=issuer,
        client_id_list=["sts.amazonaws.com"],
        tags=name_tags(model, "oidc"),
    )
    node_role, attachments = _service_role(
        stack, model, "nodes", "ec2.amazonaws.com", NODE_POLICIES
    )
    groups = {
        group.name: node_group(stack, model, cluster, node_role, net, group, attachments)
        for group in model.node_groups
    }
    _network_policy_enforcement(stack, model, cluster)
    return AwsCluster(cluster=cluster, oidc_provider=oidc, node_groups=groups)


def _network_policy_enforcement(
    stack: TerraformStack, model: KernelModel, cluster: EksCluster
) -> EksAddon:
    """The VPC CNI add-on with its network policy agent switched on.

    EKS ignores NetworkPolicy objects unless the VPC CNI enforces them, and the platform's
    zero-trust rules (default deny in every namespace, ``dataos_defs.kernel.k8s_network``)
    are NetworkPolicies: without this they would be accepted and do nothing.
    """
    return EksAddon(
        stack,
        "addon-vpc-cni",
        cluster_name=cluster.name,
        addon_name="vpc-cni",
        configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        tags=name_tags(model, "vpc-cni"),
    )


def _control_plane(stack: TerraformStack, model: KernelModel, net: AwsNetwork) -> EksCluster:
    role, attachments = _service_role(
        stack, model, "cluster", "eks.amazonaws.com", CLUSTER_POLICIES
    )
    return EksCluster(
        stack,
        "cluster",
        name=model.cluster_name,
        version=model.kubernetes_version,
        role_arn=role.arn,
        vpc_config=EksClusterVpcConfig(
            subnet_ids=net.private_subnet_ids,
            endpoint_private_access=True,
            endpoint_public_access=True,
        ),
        access_config=EksClusterAccessConfig(
            authentication_mode="API",
            bootstrap_cluster_creator_admin_permissions=True,
        ),
        enabled_cluster_log_types=["api", "audit", "authenticator"],
        tags=name_tags(model),
        depends_on=attachments,
    )


def node_group(
    stack: TerraformStack,
    model: KernelModel,
    cluster: EksCluster,
    role: IamRole,
    net: AwsNetwork,
    group: NodeGroup,
    attachments: Sequence[IamRolePolicyAttachment],
) -> EksNodeGroup:
    """One managed node group for one Compute: its machine type, bounds, labels and taints.

    It starts at its minimum size (the autoscaler grows it) and waits for the node role's
    policies, without which its nodes cannot join.
    """
    if group.min_size > group.max_size:
        raise ValueError(f"node group {group.name}: min {group.min_size} > max {group.max_size}")
    return EksNodeGroup(
        stack,
        construct_id("node-group", group.name),
        cluster_name=cluster.name,
        node_group_name=group.name,
        node_role_arn=role.arn,
        subnet_ids=net.private_subnet_ids,
        instance_types=[group.machine_type],
        ami_type=ami_type(group),
        disk_size=group.disk_gb,
        scaling_config=EksNodeGroupScalingConfig(
            min_size=group.min_size, max_size=group.max_size, desired_size=group.min_size
        ),
        update_config=EksNodeGroupUpdateConfig(max_unavailable=1),
        labels=dict(group.labels),
        taint=[
            EksNodeGroupTaint(key=t.key, value=t.value or None, effect=EKS_TAINT_EFFECTS[t.effect])
            for t in group.taints
        ]
        or None,
        tags=name_tags(model, group.name, **{"dataos.io/compute": group.compute}),
        lifecycle=TerraformResourceLifecycle(ignore_changes=[_DESIRED_SIZE]),
        depends_on=list(attachments),
    )


def ami_type(group: NodeGroup) -> str:
    """EKS's Amazon Linux 2023 image: the NVIDIA one for GPU groups, ARM for Graviton."""
    if group.gpu:
        return GPU_AMI
    return ARM_AMI if _GRAVITON.match(group.machine_type) else X86_AMI


def _service_role(
    stack: TerraformStack, model: KernelModel, name: str, service: str, policies: Sequence[str]
) -> tuple[IamRole, list[IamRolePolicyAttachment]]:
    """An IAM role an AWS service assumes, with AWS managed policies attached."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    role = IamRole(
        stack,
        construct_id("role", name),
        name=cloud_name(model, name),
        assume_role_policy=json.dumps(trust, sort_keys=True),
        tags=name_tags(model, name),
    )
    attachments = [
        IamRolePolicyAttachment(
            stack,
            construct_id("role", name, policy),
            role=role.name,
            policy_arn=MANAGED_POLICY + policy,
        )
        for policy in policies
    ]
    return role, attachments


def irsa_role(
    stack: TerraformStack,
    model: KernelModel,
    cluster: AwsCluster,
    name: str,
    service_account: tuple[str, str],
    statements: Sequence[DataAwsIamPolicyDocumentStatement],
) -> IamRole:
    """An IAM role for one Kubernetes service account (IRSA), with an inline policy.

    Only that service account's projected token, issued by this cluster for STS, can assume
    it: the trust policy pins the OIDC ``sub`` and ``aud`` claims.
    """
    namespace, account = service_account
    issuer = Fn.replace(cluster.cluster.identity.get(0).oidc.get(0).issuer, "https://", "")
    trust = DataAwsIamPolicyDocument(
        stack,
        construct_id("trust", name),
        statement=[
            DataAwsIamPolicyDocumentStatement(
                effect="Allow",
                actions=["sts:AssumeRoleWithWebIdentity"],
                principals=[
                    DataAwsIamPolicyDocumentStatementPrincipals(
                        type="Federated", identifiers=[cluster.oidc_provider.arn]
                    )
                ],
                condition=[
                    _claim(issuer, "sub", f"system:serviceaccount:{namespace}:{account}"),
                    _claim(issuer, "aud", "sts.amazonaws.com"),
                ],
            )
        ],
    )
    role = IamRole(
        stack,
        construct_id("role", name),
        name=cloud_name(model, name),
        assume_role_policy=trust.json,
        tags=name_tags(model, name),
    )
    permissions = DataAwsIamPolicyDocument(
        stack, construct_id("policy", name), statement=list(statements)
    )
    IamRolePolicy(
        stack, construct_id("role-policy", name), name=name, role=role.id, policy=permissions.json
    )
    return role


def _claim(issuer: str, claim: str, value: str) -> DataAwsIamPolicyDocumentStatementCondition:
    return DataAwsIamPolicyDocumentStatementCondition(
        test="StringEquals", variable=f"{issuer}:{claim}", values=[value]
    )
