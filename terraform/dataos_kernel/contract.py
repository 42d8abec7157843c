"""What a cloud's cluster stack hands to the shared platform stack.

Each cloud (``aws.py``, ``gcp.py``, ``azure.py``) builds stack 1 (network + cluster + storage +
database + secret manager) and returns a :class:`ClusterHandle` whose values are Terraform
tokens of that stack. The platform stack (``platform.py``, the same for every cloud) reads only
this handle; CDKTF turns the cross-stack references into outputs and remote state.

No field holds a secret: the Kubernetes and Helm providers authenticate with the cloud's
``exec`` credential plugin, and the platform's passwords are synced into the cluster from the
cloud's secret manager by reference (``secret_store`` + ``secret_names``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The client-go credential plugin API the three clouds' plugins speak.
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


@dataclass(frozen=True)
class ExecAuth:
    """A client-go credential plugin call (``aws eks get-token``, ``gke-gcloud-auth-plugin``,
    ``kubelogin``): what the kubernetes/helm providers and the kubeconfig output use."""

    api_version: str
    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SecretStore:
    """The External Secrets Operator store that reads the cloud's secret manager.

    ``provider`` is the ``spec.provider`` of a ClusterSecretStore (e.g. ``{"aws":
    {"service": "SecretsManager", "region": ...}}``); the operator's service account gets the
    cloud identity in ``service_account_annotations``.
    """

    provider: dict[str, object]
    service_account_annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterHandle:
    cluster_name: str
    host: str
    ca_certificate_b64: str
    exec_auth: ExecAuth
    database_host: str
    database_port: str
    warehouse_bucket_url: str
    history_bucket_url: str
    secret_store: SecretStore
    # secret-manager entry names (never values): "database" -> the store/Dagster password entry
    secret_names: dict[str, str]
    # annotations binding the run launcher's service account to its cloud identity
    launcher_service_account_annotations: dict[str, str] = field(default_factory=dict)
    # the database's login (a name) and, when its secret-manager entry is a JSON document
    # (RDS-managed: {"username", "password"}), the property holding the password
    database_user: str = "dataos"
    database_password_property: str | None = None
