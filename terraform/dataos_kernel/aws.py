"""Stack 1 on AWS: network, EKS cluster, node groups, buckets, database, identities.

:func:`cluster_stack` builds it from the kernel model and returns the
:class:`~dataos_kernel.contract.ClusterHandle` the platform stack reads. The parts live in
``aws_network``, ``aws_cluster`` and ``aws_data``; this module wires them, chooses the state
backend and declares the outputs (named as on the other clouds: ``cloud_common``).

The AWS bindings (``cdktn-provider-aws``) are generated for hashicorp/aws 6.x; the stack
constrains the provider to ``>= 5.100, < 7`` so that the same JSON is validated offline
against the 5.100 provider mirrored on the build machine. It therefore uses only arguments
both majors know (no per-resource ``region``, for one).
"""

from __future__ import annotations

from cdktn import App, TerraformStack, Token
from cdktn_provider_aws.provider import AwsProvider, AwsProviderDefaultTags

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.aws_cluster import AwsCluster, eks
from dataos_kernel.aws_data import DATABASE_USER, AwsData, data
from dataos_kernel.aws_network import network
from dataos_kernel.backends import state_backend
from dataos_kernel.cloud_common import cluster_outputs
from dataos_kernel.contract import EXEC_API_VERSION, ClusterHandle, ExecAuth, SecretStore

AWS_PROVIDER_VERSION = ">= 5.100, < 7"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def cluster_stack(app: App, model: KernelModel) -> tuple[TerraformStack, ClusterHandle]:
    """The network + cluster stack ``<cluster>-cluster`` and the handle to its values."""
    if model.cloud != "aws":
        raise ValueError(f"the AWS cluster stack needs an aws model, not {model.cloud}")
    stack = TerraformStack(app, f"{model.cluster_name}-cluster")
    state_backend(stack, model)
    AwsProvider(
        stack,
        "aws",
        region=model.region,
        default_tags=[AwsProviderDefaultTags(tags=dict(model.tags))] if model.tags else None,
    )
    stack.add_override("terraform.required_providers.aws.version", AWS_PROVIDER_VERSION)
    net = network(stack, model)
    cluster = eks(stack, model, net)
    stored = data(stack, model, net, cluster)
    handle = _handle(model, cluster, stored)
    cluster_outputs(stack, model, handle)
    return stack, handle


def exec_auth(model: KernelModel) -> ExecAuth:
    """``aws eks get-token``: the AWS CLI's short-lived token, nothing stored."""
    return ExecAuth(
        api_version=EXEC_API_VERSION,
        command="aws",
        args=("eks", "get-token", "--cluster-name", model.cluster_name, "--region", model.region),
    )


def _handle(model: KernelModel, cluster: AwsCluster, stored: AwsData) -> ClusterHandle:
    eks_cluster = cluster.cluster
    return ClusterHandle(
        cluster_name=eks_cluster.name,
        host=eks_cluster.endpoint,
        ca_certificate_b64=eks_cluster.certificate_authority.get(0).data,
        exec_auth=exec_auth(model),
        database_host=stored.database.address,
        database_port=Token.as_string(stored.database.port),
        warehouse_bucket_url=f"s3://{stored.warehouse.bucket}",
        history_bucket_url=f"s3://{stored.history.bucket}",
        secret_store=SecretStore(
            provider={"aws": {"service": "SecretsManager", "region": model.region}},
            service_account_annotations={IRSA_ANNOTATION: stored.secrets_operator_role.arn},
        ),
        secret_names={"database": stored.database_secret_arn, "secret_key": stored.secret_key.arn},
        launcher_service_account_annotations={IRSA_ANNOTATION: stored.launcher_role.arn},
        database_user=DATABASE_USER,
        database_password_property="password",
    )
