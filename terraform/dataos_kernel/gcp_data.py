"""Storage, database, secrets and workload identities of the GCP cluster stack.

- Buckets (warehouse, history): uniform bucket-level access, versioning, public access
  prevention enforced.
- Cloud SQL for PostgreSQL on a private IP only (service networking peering), TLS required,
  backups with point-in-time recovery; REGIONAL when the model asks for high availability.
- The database password: see :mod:`dataos_kernel.cloud_common` — an ephemeral
  ``random_password`` written only to ``google_sql_user.password_wo`` and to the Secret
  Manager entry ``model.database.password_secret`` (``secret_data_wo``). Neither the
  synthesized JSON nor the state holds it; External Secrets copies it into the cluster.
- The store's Fernet key (``DATAOS_SECRET_KEY``): an ephemeral key written only to the
  Secret Manager entry ``model.secret_key_secret`` (``secret_data_wo`` at
  ``SECRET_KEY_VERSION``, which is never bumped: see :mod:`dataos_kernel.cloud_common`).
- Workload Identity: the run launcher's Kubernetes service account acts as a Google service
  account that may write both buckets; the External Secrets operator's as one that may read
  the password and key entries, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformStack
from cdktn_provider_google.secret_manager_secret import (
    SecretManagerSecret,
    SecretManagerSecretReplication,
    SecretManagerSecretReplicationAuto,
)
from cdktn_provider_google.secret_manager_secret_iam_member import SecretManagerSecretIamMember
from cdktn_provider_google.secret_manager_secret_version import SecretManagerSecretVersion
from cdktn_provider_google.service_account import ServiceAccount
from cdktn_provider_google.service_account_iam_member import ServiceAccountIamMember
from cdktn_provider_google.sql_database import SqlDatabase
from cdktn_provider_google.sql_database_instance import (
    SqlDatabaseInstance,
    SqlDatabaseInstanceSettings,
    SqlDatabaseInstanceSettingsBackupConfiguration,
    SqlDatabaseInstanceSettingsIpConfiguration,
)
from cdktn_provider_google.sql_user import SqlUser
from cdktn_provider_google.storage_bucket import StorageBucket, StorageBucketVersioning
from cdktn_provider_google.storage_bucket_iam_member import StorageBucketIamMember

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.cloud_common import (
    DATABASE_USER,
    PASSWORD_VERSION,
    StoredSecret,
    ephemeral_password,
    secret_entry_name,
    stored_secrets,
)
from dataos_kernel.gcp_cluster import GkeCluster, service_account_id, workload_pool
from dataos_kernel.gcp_network import GcpNetwork
from dataos_kernel.naming import (
    LAUNCHER_SERVICE_ACCOUNT,
    SECRETS_OPERATOR_SERVICE_ACCOUNT,
    cloud_name,
    construct_id,
)

# Tiers of the "db-perf-optimized-N-*" kind exist only in the Enterprise Plus edition.
ENTERPRISE_PLUS_TIER = "db-perf-optimized-"


@dataclass(frozen=True)
class GcpData:
    warehouse: StorageBucket
    history: StorageBucket
    database: SqlDatabaseInstance
    secret: SecretManagerSecret
    secret_key: SecretManagerSecret
    launcher: ServiceAccount
    secrets_operator: ServiceAccount


def data(
    stack: TerraformStack, model: KernelModel, project: str, net: GcpNetwork, gke: GkeCluster
) -> GcpData:
    """Buckets, the database and its password entry, and the two workload identities."""
    warehouse = _bucket(stack, model, "warehouse", model.buckets.warehouse)
    history = _bucket(stack, model, "history", model.buckets.history)
    launcher = _workload_identity(stack, model, project, gke, "launcher", LAUNCHER_SERVICE_ACCOUNT)
    for role, bucket in (("warehouse", warehouse), ("history", history)):
        StorageBucketIamMember(
            stack,
            construct_id("bucket", role, "launcher"),
            bucket=bucket.name,
            role="roles/storage.objectAdmin",
            member=launcher.member,
        )
    password = ephemeral_password(stack)
    database = _database(stack, model, net, password)
    secret, key = (_write_only_entry(stack, s) for s in stored_secrets(stack, model, password))
    operator = _workload_identity(
        stack, model, project, gke, "secrets", SECRETS_OPERATOR_SERVICE_ACCOUNT
    )
    for name, entry in (("secret-database", secret), ("secret-key", key)):
        SecretManagerSecretIamMember(
            stack,
            f"{name}-reader",
            secret_id=entry.id,
            role="roles/secretmanager.secretAccessor",
            member=operator.member,
        )
    return GcpData(warehouse, history, database, secret, key, launcher, operator)


def _bucket(stack: TerraformStack, model: KernelModel, role: str, name: str) -> StorageBucket:
    return StorageBucket(
        stack,
        construct_id("bucket", role),
        name=name,
        location=model.region,
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning=StorageBucketVersioning(enabled=True),
    )


def _workload_identity(
    stack: TerraformStack,
    model: KernelModel,
    project: str,
    gke: GkeCluster,
    role: str,
    kubernetes_account: tuple[str, str],
) -> ServiceAccount:
    """A Google service account that ``namespace/name`` in the cluster may act as."""
    namespace, name = kubernetes_account
    account = ServiceAccount(
        stack,
        construct_id("service-account", role),
        account_id=service_account_id(model, role),
        display_name=f"{namespace}/{name} in {model.cluster_name}",
    )
    ServiceAccountIamMember(
        stack,
        construct_id("workload-identity", role),
        service_account_id=account.name,
        role="roles/iam.workloadIdentityUser",
        member=f"serviceAccount:{workload_pool(project)}[{namespace}/{name}]",
        depends_on=[gke.cluster],
    )
    return account


def _database(
    stack: TerraformStack, model: KernelModel, net: GcpNetwork, password: str
) -> SqlDatabaseInstance:
    spec = model.database
    instance = SqlDatabaseInstance(
        stack,
        "database",
        name=cloud_name(model, "postgres"),
        database_version=f"POSTGRES_{spec.engine_version.split('.', 1)[0]}",
        region=model.region,
        deletion_protection=True,
        depends_on=[net.private_services],
        settings=SqlDatabaseInstanceSettings(
            tier=spec.instance_class,
            edition="ENTERPRISE_PLUS"
            if spec.instance_class.startswith(ENTERPRISE_PLUS_TIER)
            else "ENTERPRISE",
            availability_type="REGIONAL" if spec.high_availability else "ZONAL",
            disk_size=spec.storage_gb,
            disk_autoresize=True,
            deletion_protection_enabled=True,
            ip_configuration=SqlDatabaseInstanceSettingsIpConfiguration(
                ipv4_enabled=False,
                private_network=net.network.id,
                ssl_mode="ENCRYPTED_ONLY",
            ),
            backup_configuration=SqlDatabaseInstanceSettingsBackupConfiguration(
                enabled=True, point_in_time_recovery_enabled=True
            ),
            user_labels=dict(model.tags),
        ),
    )
    for name in spec.databases:
        SqlDatabase(stack, construct_id("database", name), instance=instance.name, name=name)
    SqlUser(
        stack,
        "database-user",
        instance=instance.name,
        name=DATABASE_USER,
        password_wo=password,
        password_wo_version=PASSWORD_VERSION,
    )
    return instance


def _write_only_entry(stack: TerraformStack, entry: StoredSecret) -> SecretManagerSecret:
    """A Secret Manager entry External Secrets reads; its value is written write-only, again
    only when its version changes."""
    secret = SecretManagerSecret(
        stack,
        entry.construct,
        secret_id=secret_entry_name(entry.name),
        replication=SecretManagerSecretReplication(auto=SecretManagerSecretReplicationAuto()),
    )
    SecretManagerSecretVersion(
        stack,
        f"{entry.construct}-version",
        secret=secret.id,
        secret_data_wo=entry.value,
        secret_data_wo_version=str(entry.version),
    )
    return secret
