"""Storage, database, secrets and workload identities of the Azure cluster stack.

- One storage account (ADLS Gen2: hierarchical namespace, which Iceberg's ``abfss://`` wants;
  Entra ID access only, no shared keys) with the ``warehouse`` and ``history`` containers.
  Blob versioning does not exist with a hierarchical namespace: deleted blobs and containers
  are kept 7 days instead.
- PostgreSQL Flexible Server in a delegated subnet, no public access, Entra ID authentication
  beside the password login, zone-redundant when the model asks for high availability.
  Storage sizes are Azure's fixed steps: the model's size rounded up to the next one.
- The password: see :mod:`dataos_kernel.cloud_common` — an ephemeral ``random_password``
  written only to ``administrator_password_wo`` and to the Key Vault secret's ``value_wo``:
  neither the synthesized JSON nor the state holds it. The Key Vault uses Azure RBAC; whoever
  applies the stack gets "Key Vault Secrets Officer" to write the secrets.
- The store's Fernet key (``DATAOS_SECRET_KEY``): an ephemeral key written only to the Key
  Vault secret ``model.secret_key_secret`` (``value_wo`` at ``SECRET_KEY_VERSION``, which is
  never bumped: see :mod:`dataos_kernel.cloud_common`).
- Workload identities: a user-assigned identity per Kubernetes service account (run launcher,
  External Secrets), federated with the cluster's OIDC issuer.
- Globally unique names (storage account, Key Vault, PostgreSQL server) are the cluster's name
  plus 6 hex digits of a hash of resource group and cluster name: stable across
  syntheses, distinct across deployments.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cdktn import TerraformStack
from cdktn_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktn_provider_azurerm.federated_identity_credential import FederatedIdentityCredential
from cdktn_provider_azurerm.key_vault import KeyVault
from cdktn_provider_azurerm.key_vault_secret import KeyVaultSecret
from cdktn_provider_azurerm.postgresql_flexible_server import (
    PostgresqlFlexibleServer,
    PostgresqlFlexibleServerAuthentication,
    PostgresqlFlexibleServerHighAvailability,
)
from cdktn_provider_azurerm.postgresql_flexible_server_database import (
    PostgresqlFlexibleServerDatabase,
)
from cdktn_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktn_provider_azurerm.private_dns_zone_virtual_network_link import (
    PrivateDnsZoneVirtualNetworkLink,
)
from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.storage_account import (
    StorageAccount,
    StorageAccountBlobProperties,
    StorageAccountBlobPropertiesContainerDeleteRetentionPolicy,
    StorageAccountBlobPropertiesDeleteRetentionPolicy,
)
from cdktn_provider_azurerm.storage_container import StorageContainer
from cdktn_provider_azurerm.user_assigned_identity import UserAssignedIdentity

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.azure_cluster import AksCluster
from dataos_kernel.azure_network import AzureNetwork, resource_group_name
from dataos_kernel.cloud_common import (
    DATABASE_USER,
    PASSWORD_VERSION,
    StoredSecret,
    ephemeral_password,
    secret_entry_name,
    stored_secrets,
)
from dataos_kernel.naming import (
    LAUNCHER_SERVICE_ACCOUNT,
    SECRETS_OPERATOR_SERVICE_ACCOUNT,
    cloud_name,
    construct_id,
)

TOKEN_AUDIENCE = "api://AzureADTokenExchange"
# PostgreSQL Flexible Server's storage sizes, in MiB.
POSTGRES_STORAGE_MB = (32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304)
RETENTION_DAYS = 7


@dataclass(frozen=True)
class AzureData:
    storage: StorageAccount
    warehouse: StorageContainer
    history: StorageContainer
    database: PostgresqlFlexibleServer
    vault: KeyVault
    secret: KeyVaultSecret
    secret_key: KeyVaultSecret
    launcher: UserAssignedIdentity
    secrets_operator: UserAssignedIdentity


def data(
    stack: TerraformStack,
    model: KernelModel,
    net: AzureNetwork,
    cluster: AksCluster,
    client: DataAzurermClientConfig,
) -> AzureData:
    """Storage, the database and its password secret, and the two workload identities."""
    storage = _storage(stack, model, net)
    warehouse, history = (
        StorageContainer(
            stack,
            construct_id("container", role),
            name=name,
            storage_account_id=storage.id,
            container_access_type="private",
        )
        for role, name in (
            ("warehouse", model.buckets.warehouse),
            ("history", model.buckets.history),
        )
    )
    launcher = _workload_identity(stack, model, net, cluster, "launcher", LAUNCHER_SERVICE_ACCOUNT)
    _grant(stack, "launcher-storage", storage.id, "Storage Blob Data Contributor", launcher)
    password = ephemeral_password(stack)
    database = _database(stack, model, net, client, password)
    vault, writer = _vault(stack, model, net, client)
    secret, key = (
        _vault_secret(stack, entry, (vault, writer))
        for entry in stored_secrets(stack, model, password)
    )
    operator = _workload_identity(
        stack, model, net, cluster, "secrets", SECRETS_OPERATOR_SERVICE_ACCOUNT
    )
    _grant(stack, "secrets-vault", vault.id, "Key Vault Secrets User", operator)
    return AzureData(storage, warehouse, history, database, vault, secret, key, launcher, operator)


def global_name(model: KernelModel, role: str, limit: int, *, hyphens: bool) -> str:
    """A name unique across Azure tenants for the cluster's ``role`` (module docstring)."""
    suffix = hashlib.sha256(f"{resource_group_name(model)}/{model.cluster_name}".encode())
    digits = suffix.hexdigest()[:6]
    keep = r"[^a-z0-9-]+" if hyphens else r"[^a-z0-9]+"
    head = re.sub(keep, "", model.cluster_name.lower()).strip("-")
    room = limit - len(role) - len(digits) - (2 if hyphens else 0)
    parts = (head[:room].rstrip("-"), role, digits)
    return "-".join(parts) if hyphens else "".join(parts)


def postgres_storage_mb(storage_gb: int) -> int:
    """The smallest Flexible Server storage size holding ``storage_gb``."""
    wanted = storage_gb * 1024
    return next((size for size in POSTGRES_STORAGE_MB if size >= wanted), POSTGRES_STORAGE_MB[-1])


def _grant(
    stack: TerraformStack, name: str, scope: str, role: str, identity: UserAssignedIdentity
) -> None:
    RoleAssignment(
        stack,
        construct_id("role", name),
        scope=scope,
        role_definition_name=role,
        principal_id=identity.principal_id,
        principal_type="ServicePrincipal",
    )


def _storage(stack: TerraformStack, model: KernelModel, net: AzureNetwork) -> StorageAccount:
    return StorageAccount(
        stack,
        "storage",
        name=global_name(model, "st", 24, hyphens=False),
        resource_group_name=net.resource_group.name,
        location=net.resource_group.location,
        account_kind="StorageV2",
        account_tier="Standard",
        account_replication_type="ZRS",
        is_hns_enabled=True,
        min_tls_version="TLS1_2",
        allow_nested_items_to_be_public=False,
        shared_access_key_enabled=False,
        default_to_oauth_authentication=True,
        blob_properties=StorageAccountBlobProperties(
            delete_retention_policy=StorageAccountBlobPropertiesDeleteRetentionPolicy(
                days=RETENTION_DAYS
            ),
            container_delete_retention_policy=(
                StorageAccountBlobPropertiesContainerDeleteRetentionPolicy(days=RETENTION_DAYS)
            ),
        ),
        tags=model.tags,
    )


def _workload_identity(
    stack: TerraformStack,
    model: KernelModel,
    net: AzureNetwork,
    cluster: AksCluster,
    role: str,
    kubernetes_account: tuple[str, str],
) -> UserAssignedIdentity:
    """An identity that ``namespace/name`` in the cluster gets through workload identity."""
    namespace, name = kubernetes_account
    identity = UserAssignedIdentity(
        stack,
        construct_id("identity", role),
        name=cloud_name(model, role),
        resource_group_name=net.resource_group.name,
        location=net.resource_group.location,
        tags=model.tags,
    )
    FederatedIdentityCredential(
        stack,
        construct_id("federated-credential", role),
        name=cloud_name(model, role, "k8s"),
        user_assigned_identity_id=identity.id,
        issuer=cluster.cluster.oidc_issuer_url,
        subject=f"system:serviceaccount:{namespace}:{name}",
        audience=[TOKEN_AUDIENCE],
    )
    return identity


def _database(
    stack: TerraformStack,
    model: KernelModel,
    net: AzureNetwork,
    client: DataAzurermClientConfig,
    password: str,
) -> PostgresqlFlexibleServer:
    spec = model.database
    zone = PrivateDnsZone(
        stack,
        "database-dns",
        name=f"{model.cluster_name}.private.postgres.database.azure.com",
        resource_group_name=net.resource_group.name,
        tags=model.tags,
    )
    link = PrivateDnsZoneVirtualNetworkLink(
        stack,
        "database-dns-link",
        name=cloud_name(model, "postgres"),
        private_dns_zone_id=zone.id,
        virtual_network_id=net.vnet.id,
    )
    zones = model.network.zones
    server = PostgresqlFlexibleServer(
        stack,
        "database",
        name=global_name(model, "pg", 63, hyphens=True),
        resource_group_name=net.resource_group.name,
        location=net.resource_group.location,
        version=spec.engine_version.split(".", 1)[0],
        sku_name=spec.instance_class,
        storage_mb=postgres_storage_mb(spec.storage_gb),
        auto_grow_enabled=True,
        backup_retention_days=RETENTION_DAYS,
        delegated_subnet_id=net.database.id,
        private_dns_zone_id=zone.id,
        public_network_access_enabled=False,
        administrator_login=DATABASE_USER,
        administrator_password_wo=password,
        administrator_password_wo_version=PASSWORD_VERSION,
        authentication=PostgresqlFlexibleServerAuthentication(
            active_directory_auth_enabled=True,
            password_auth_enabled=True,
            tenant_id=client.tenant_id,
        ),
        zone=zones[0] if zones else None,
        high_availability=PostgresqlFlexibleServerHighAvailability(
            mode="ZoneRedundant", standby_availability_zone=zones[1] if len(zones) > 1 else None
        )
        if spec.high_availability
        else None,
        tags=model.tags,
        depends_on=[link],
    )
    for name in spec.databases:
        PostgresqlFlexibleServerDatabase(
            stack, construct_id("database", name), name=name, server_id=server.id
        )
    return server


def _vault(
    stack: TerraformStack, model: KernelModel, net: AzureNetwork, client: DataAzurermClientConfig
) -> tuple[KeyVault, RoleAssignment]:
    """The Key Vault (RBAC) and the deployer's right to write its secrets."""
    vault = KeyVault(
        stack,
        "vault",
        name=global_name(model, "kv", 24, hyphens=True),
        resource_group_name=net.resource_group.name,
        location=net.resource_group.location,
        tenant_id=client.tenant_id,
        sku_name="standard",
        rbac_authorization_enabled=True,
        purge_protection_enabled=False,
        soft_delete_retention_days=RETENTION_DAYS,
        tags=model.tags,
    )
    writer = RoleAssignment(
        stack,
        "role-deployer-vault",
        scope=vault.id,
        role_definition_name="Key Vault Secrets Officer",
        principal_id=client.object_id,
    )
    return vault, writer


def _vault_secret(
    stack: TerraformStack, entry: StoredSecret, vault: tuple[KeyVault, RoleAssignment]
) -> KeyVaultSecret:
    """A secret External Secrets reads; its value is written write-only, again only when its
    version changes."""
    key_vault, writer = vault
    return KeyVaultSecret(
        stack,
        entry.construct,
        name=secret_entry_name(entry.name),
        key_vault_id=key_vault.id,
        value_wo=entry.value,
        value_wo_version=entry.version,
        content_type=entry.content_type,
        depends_on=[writer],
    )
