"""The platform's custom resources: the secret-manager store, the synced Secrets, the issuer.

The passwords the platform needs never pass through Terraform: the External Secrets Operator
reads them from the cloud's secret manager (``ClusterHandle.secret_store``) by the entry names
in ``ClusterHandle.secret_names`` and writes the Kubernetes Secrets Dagster and the API server
mount (deploy/dagster/values.yaml names them). What is written here is references and
templates only; ``{{ .password }}`` is filled in by the operator inside the cluster.

These objects are installed through the local ``dataos-resources`` chart (see its
Chart.yaml for why not ``kubernetes_manifest``).
"""

from __future__ import annotations

from typing import Any

from dataos_defs.kernel.k8s_objects import ACME_ISSUER, INGRESS_CLASS, RUNTIME_SECRET
from dataos_defs.kernel.model import PLATFORM_NAMESPACE, KernelModel
from dataos_kernel.contract import ClusterHandle

STORE = "dataos-secret-manager"
ESO_API = "external-secrets.io/v1"
# Secrets the Dagster chart and the API server read (deploy/dagster/values.yaml).
POSTGRES_SECRET = "dagster-postgresql-secret"
POSTGRES_SECRET_KEY = "postgresql-password"
# The ACME issuer the API's Ingress names (k8s_objects.ACME_ISSUER) when TLS is by ACME.
ACME_SERVER = "https://acme-v02.api.letsencrypt.org/directory"
REFRESH = "1h"
STORE_DATABASE = "dataos"
DAGSTER_DATABASE = "dagster"


def cluster_secret_store(cluster: ClusterHandle) -> dict[str, Any]:
    """The store reading the cloud's secret manager; usable from the platform namespace only."""
    return {
        "apiVersion": ESO_API,
        "kind": "ClusterSecretStore",
        "metadata": {"name": STORE},
        "spec": {
            "provider": dict(cluster.secret_store.provider),
            "conditions": [{"namespaces": [PLATFORM_NAMESPACE]}],
        },
    }


def _remote_ref(entry: str, prop: str | None) -> dict[str, str]:
    ref = {"key": entry}
    if prop:
        ref["property"] = prop
    return ref


def _external_secret(
    name: str, data: list[dict[str, Any]], template: dict[str, str] | None
) -> dict[str, Any]:
    target: dict[str, Any] = {"name": name, "creationPolicy": "Owner"}
    if template is not None:
        target["template"] = {"engineVersion": "v2", "data": template}
    return {
        "apiVersion": ESO_API,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": PLATFORM_NAMESPACE},
        "spec": {
            "refreshInterval": REFRESH,
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": STORE},
            "target": target,
            "data": data,
        },
    }


def _password_ref(cluster: ClusterHandle, secret_key: str) -> dict[str, Any]:
    entry = cluster.secret_names["database"]
    return {
        "secretKey": secret_key,
        "remoteRef": _remote_ref(entry, cluster.database_password_property),
    }


def postgres_secret(cluster: ClusterHandle) -> dict[str, Any]:
    """``dagster-postgresql-secret``: the chart's ``postgresql-password`` key."""
    return _external_secret(POSTGRES_SECRET, [_password_ref(cluster, POSTGRES_SECRET_KEY)], None)


def runtime_secret(cluster: ClusterHandle) -> dict[str, Any]:
    """``dataos-runtime``: the store's URL and Dagster's connection settings, the password
    filled in by the operator; the store's secret key when the cluster keeps one."""
    data = [_password_ref(cluster, "password")]
    user, host, port = cluster.database_user, cluster.database_host, cluster.database_port
    template = {
        "DATAOS_DATABASE_URL": (
            f"postgresql://{user}:{{{{ .password | urlquery }}}}@{host}:{port}/"
            f"{STORE_DATABASE}?sslmode=require"
        ),
        "DAGSTER_PG_HOST": host,
        "DAGSTER_PG_PORT": port,
        "DAGSTER_PG_DB": DAGSTER_DATABASE,
        "DAGSTER_PG_USER": user,
    }
    key_entry = cluster.secret_names.get("secret_key")
    if key_entry:
        data.append({"secretKey": "secret_key", "remoteRef": {"key": key_entry}})
        template["DATAOS_SECRET_KEY"] = "{{ .secret_key }}"
    return _external_secret(RUNTIME_SECRET, data, template)


def acme_issuer(model: KernelModel) -> dict[str, Any]:
    """A Let's Encrypt ClusterIssuer answering HTTP-01 through the ingress controller."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": ACME_ISSUER},
        "spec": {
            "acme": {
                "server": ACME_SERVER,
                "email": model.dns.acme_email,
                "privateKeySecretRef": {"name": f"{ACME_ISSUER}-account-key"},
                "solvers": [{"http01": {"ingress": {"ingressClassName": INGRESS_CLASS}}}],
            }
        },
    }


def platform_resources(model: KernelModel, cluster: ClusterHandle) -> list[dict[str, Any]]:
    """Everything the ``dataos-resources`` release installs, in a stable order."""
    resources = [cluster_secret_store(cluster), postgres_secret(cluster), runtime_secret(cluster)]
    if model.dns.tls_issuer == "acme":
        resources.append(acme_issuer(model))
    return resources
