"""Stack 1 on GCP: VPC, private GKE, node pools, buckets, Cloud SQL, Secret Manager, identities.

:func:`cluster_stack` builds it from the kernel model and returns the
:class:`~dataos_kernel.contract.ClusterHandle` the platform stack reads. The parts live in
``gcp_network``, ``gcp_cluster`` and ``gcp_data`` (same anatomy as the AWS stack); this module
wires them, chooses the state backend and declares the outputs.

The bindings (``cdktn-provider-google`` 21.x) are generated for hashicorp/google 8.x. No
google provider binary is on the build machine, so this stack is synthesized and
snapshot-tested but not ``terraform validate``-d here.

Database password: generated at apply time by an ephemeral ``random_password`` and written
only to write-only arguments (the SQL user's ``password_wo``, the Secret Manager version's
``secret_data_wo``): it is neither in the synthesized JSON nor in the state (see
:mod:`dataos_kernel.cloud_common`). Terraform >= 1.11 is required for that. The store's
Fernet key (``DATAOS_SECRET_KEY``) is generated the same way into its own entry.
"""

from __future__ import annotations

from cdktn import App, TerraformStack
from cdktn_provider_google.provider import GoogleProvider

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.backends import state_backend
from dataos_kernel.cloud_common import (
    DATABASE_PORT,
    DATABASE_USER,
    cluster_outputs,
)
from dataos_kernel.contract import EXEC_API_VERSION, ClusterHandle, ExecAuth, SecretStore
from dataos_kernel.gcp_cluster import GkeCluster, gke
from dataos_kernel.gcp_data import GcpData, data
from dataos_kernel.gcp_network import network

GOOGLE_PROVIDER_VERSION = "~> 8.0"
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"


def cluster_stack(app: App, model: KernelModel) -> tuple[TerraformStack, ClusterHandle]:
    """The network + cluster stack ``<cluster>-cluster`` and the handle to its values."""
    if model.cloud != "gcp":
        raise ValueError(f"the GCP cluster stack needs a gcp model, not {model.cloud}")
    if not model.project:
        raise ValueError("the GCP cluster stack needs the project (gcp.project in kernel.yaml)")
    project = model.project
    stack = TerraformStack(app, f"{model.cluster_name}-cluster")
    state_backend(stack, model)
    GoogleProvider(
        stack,
        "google",
        project=project,
        region=model.region,
        default_labels=dict(model.tags) or None,
    )
    stack.add_override("terraform.required_providers.google.version", GOOGLE_PROVIDER_VERSION)
    net = network(stack, model)
    cluster = gke(stack, model, project, net)
    stored = data(stack, model, project, net, cluster)
    handle = _handle(model, project, cluster, stored)
    cluster_outputs(stack, model, handle)
    return stack, handle


def exec_auth() -> ExecAuth:
    """``gke-gcloud-auth-plugin``: a token from the caller's gcloud login, nothing stored."""
    return ExecAuth(api_version=EXEC_API_VERSION, command="gke-gcloud-auth-plugin", args=())


def _handle(model: KernelModel, project: str, gke: GkeCluster, stored: GcpData) -> ClusterHandle:
    cluster = gke.cluster
    return ClusterHandle(
        cluster_name=cluster.name,
        host=f"https://{cluster.endpoint}",
        ca_certificate_b64=cluster.master_auth.cluster_ca_certificate,
        exec_auth=exec_auth(),
        database_host=stored.database.private_ip_address,
        database_port=DATABASE_PORT,
        database_user=DATABASE_USER,
        warehouse_bucket_url=f"gs://{stored.warehouse.name}",
        history_bucket_url=f"gs://{stored.history.name}",
        secret_store=SecretStore(
            provider={"gcpsm": {"projectID": project}},
            service_account_annotations={
                WORKLOAD_IDENTITY_ANNOTATION: stored.secrets_operator.email
            },
        ),
        secret_names={
            "database": stored.secret.secret_id,
            "secret_key": stored.secret_key.secret_id,
        },
        launcher_service_account_annotations={WORKLOAD_IDENTITY_ANNOTATION: stored.launcher.email},
    )
