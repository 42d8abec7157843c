"""Stack 1 on Azure: VNet, AKS, node pools, storage, PostgreSQL, Key Vault, identities.

:func:`cluster_stack` builds it from the kernel model and returns the
:class:`~dataos_kernel.contract.ClusterHandle` the platform stack reads. The parts live in
``azure_network``, ``azure_cluster`` and ``azure_data`` (same anatomy as the AWS stack); this
module wires them, chooses the state backend and declares the outputs.

The bindings (``cdktn-provider-azurerm`` 18.x) are generated for hashicorp/azurerm 5.x. No
azurerm provider binary is on the build machine, so this stack is synthesized and
snapshot-tested but not ``terraform validate``-d here.

Database password: generated at apply time by an ephemeral ``random_password`` and written
only to write-only arguments (the server's ``administrator_password_wo``, the Key Vault
secret's ``value_wo``): it is neither in the synthesized JSON nor in the state (see
:mod:`dataos_kernel.cloud_common`). Entra ID authentication is enabled beside it, for people.
The store's Fernet key (``DATAOS_SECRET_KEY``) is generated the same way into its own secret.

The cluster's CA certificate comes from ``kube_config``, which the provider marks sensitive
as a whole; a CA certificate is public, so it is passed through ``nonsensitive`` to reach the
outputs and the platform stack.
"""

from __future__ import annotations

from cdktn import App, Fn, TerraformStack
from cdktn_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktn_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.azure_cluster import AksCluster, aks
from dataos_kernel.azure_data import AzureData, data
from dataos_kernel.azure_network import network
from dataos_kernel.backends import state_backend
from dataos_kernel.cloud_common import (
    DATABASE_PORT,
    DATABASE_USER,
    cluster_outputs,
)
from dataos_kernel.contract import EXEC_API_VERSION, ClusterHandle, ExecAuth, SecretStore

AZURERM_PROVIDER = {"source": "hashicorp/azurerm", "version": "~> 5.0"}
# The AKS Entra ID server application, the audience of every AKS user token.
AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id"


def cluster_stack(app: App, model: KernelModel) -> tuple[TerraformStack, ClusterHandle]:
    """The network + cluster stack ``<cluster>-cluster`` and the handle to its values."""
    if model.cloud != "azure":
        raise ValueError(f"the Azure cluster stack needs an azure model, not {model.cloud}")
    stack = TerraformStack(app, f"{model.cluster_name}-cluster")
    state_backend(stack, model)
    # Shared keys are disabled on the storage account: containers are managed with Entra ID.
    AzurermProvider(
        stack, "azurerm", features=[AzurermProviderFeatures()], storage_use_azuread=True
    )
    stack.add_override("terraform.required_providers.azurerm", AZURERM_PROVIDER)
    client = DataAzurermClientConfig(stack, "client")
    net = network(stack, model)
    cluster = aks(stack, model, net, client)
    stored = data(stack, model, net, cluster, client)
    handle = _handle(cluster, stored, client)
    cluster_outputs(stack, model, handle)
    return stack, handle


def exec_auth() -> ExecAuth:
    """``kubelogin get-token`` with the caller's Azure CLI login: nothing stored."""
    return ExecAuth(
        api_version=EXEC_API_VERSION,
        command="kubelogin",
        args=("get-token", "--login", "azurecli", "--server-id", AKS_SERVER_ID),
    )


def _handle(aks: AksCluster, stored: AzureData, client: DataAzurermClientConfig) -> ClusterHandle:
    cluster = aks.cluster
    account = stored.storage.name
    return ClusterHandle(
        cluster_name=cluster.name,
        host=f"https://{cluster.fqdn}:443",
        ca_certificate_b64=Fn.nonsensitive(cluster.kube_config.get(0).cluster_ca_certificate),
        exec_auth=exec_auth(),
        database_host=stored.database.fqdn,
        database_port=DATABASE_PORT,
        database_user=DATABASE_USER,
        warehouse_bucket_url=f"abfss://{stored.warehouse.name}@{account}.dfs.core.windows.net",
        history_bucket_url=f"abfss://{stored.history.name}@{account}.dfs.core.windows.net",
        secret_store=SecretStore(
            provider={
                "azurekv": {"authType": "WorkloadIdentity", "vaultUrl": stored.vault.vault_uri}
            },
            service_account_annotations={
                CLIENT_ID_ANNOTATION: stored.secrets_operator.client_id,
                TENANT_ID_ANNOTATION: client.tenant_id,
            },
        ),
        secret_names={"database": stored.secret.name, "secret_key": stored.secret_key.name},
        launcher_service_account_annotations={
            CLIENT_ID_ANNOTATION: stored.launcher.client_id,
            TENANT_ID_ANNOTATION: client.tenant_id,
        },
    )
