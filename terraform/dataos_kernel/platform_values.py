"""Values of the platform stack's Helm releases, from the kernel model and the cluster handle.

Pure functions returning plain dicts: the platform stack dumps them as YAML text into
``helm_release.values``, so tests can read them back and review them like code. Values that
come from the cluster stack (database host, identities) are Terraform tokens at synthesis time
and references in the synthesized JSON; no function here sees or writes a secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dataos_defs.kernel.k8s_network import API_NAME, INGRESS_NAMESPACE
from dataos_defs.kernel.k8s_objects import INGRESS_CLASS, LAUNCHER_SERVICE_ACCOUNT
from dataos_defs.kernel.model import (
    COMPUTE_LABEL,
    PLATFORM_NAMESPACE,
    HelmChart,
    KernelModel,
    NodeGroup,
    Trino,
)
from dataos_kernel.contract import ClusterHandle
from dataos_kernel.naming import SECRETS_OPERATOR_SERVICE_ACCOUNT

# The operator's service account, which the cluster stacks bind to a cloud identity.
_ESO_NAMESPACE, _ESO_ACCOUNT = SECRETS_OPERATOR_SERVICE_ACCOUNT

# The Dagster chart's values the platform runs with (kept in step with dagster.yaml by
# tests/k8s/test_deploy_config.py); read at synthesis time, then set from the model.
DAGSTER_VALUES = Path(__file__).resolve().parents[2] / "deploy" / "dagster" / "values.yaml"

# The operators the platform needs besides its own charts: versions pinned here, reviewed
# like code (the model carries only the charts a settings file may change).
EXTERNAL_SECRETS = HelmChart(
    release="external-secrets",
    chart="external-secrets",
    repository="https://charts.external-secrets.io",
    version="0.19.2",
    namespace=_ESO_NAMESPACE,
)
CERT_MANAGER = HelmChart(
    release="cert-manager",
    chart="cert-manager",
    repository="https://charts.jetstack.io",
    version="v1.18.2",
    namespace="cert-manager",
)
INGRESS_NGINX = HelmChart(
    release="ingress-nginx",
    chart="ingress-nginx",
    repository="https://kubernetes.github.io/ingress-nginx",
    version="4.13.1",
    namespace=INGRESS_NAMESPACE,
)
# The Trino OPA plugin's endpoints on Heimdall's OPA-compatible API (policies/trino/*.rego).
OPA_RULES = {
    "opa.policy.uri": "allow",
    "opa.policy.batched-uri": "batch",
    "opa.policy.row-filters-uri": "rowFilters",
    "opa.policy.column-masking-uri": "columnMask",
    "opa.policy.batch-column-masking-uri": "batchColumnMasks",
}
# The node group Trino runs on, by Compute name; any `query` group when it is absent.
TRINO_COMPUTE = "query-default"


class Unquoted(str):
    """A value written as a plain scalar, so that Helm reads a number once Terraform has put
    the referenced value in (a database port coming from the cluster stack)."""


class _ValuesDumper(yaml.SafeDumper):
    """Plain YAML for review: no anchors for repeated blocks, multi-line text as ``|``."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """Multi-line text as a block; a string holding a Terraform reference double-quoted, so
    that it stays a string whatever value Terraform puts in (a port into a map of strings)."""
    style = "|" if "\n" in text else '"' if "${" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _plain(dumper: yaml.SafeDumper, text: Unquoted) -> yaml.ScalarNode:
    if text.isdigit():
        return dumper.represent_scalar("tag:yaml.org,2002:int", text)
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="")


_ValuesDumper.add_representer(str, _text)
_ValuesDumper.add_representer(Unquoted, _plain)


def to_yaml(values: dict[str, Any]) -> str:
    """YAML text for ``helm_release.values``; never folded, so a Terraform token embedded in
    a string stays one piece and becomes a reference in the synthesized JSON."""
    return yaml.dump(
        values, Dumper=_ValuesDumper, sort_keys=True, width=1_000_000, allow_unicode=True
    )


def system_group(model: KernelModel) -> NodeGroup | None:
    """The node group of the platform's own pods (purpose ``system``)."""
    return next((g for g in model.node_groups if g.purpose == "system"), None)


def trino_group(model: KernelModel) -> NodeGroup | None:
    named = [g for g in model.node_groups if g.compute == TRINO_COMPUTE]
    queries = [g for g in model.node_groups if g.purpose == "query"]
    candidates = named or queries
    return candidates[0] if candidates else None


def placement(group: NodeGroup | None) -> dict[str, Any]:
    """``nodeSelector`` and ``tolerations`` that put a pod on ``group``'s nodes (and only
    there: its nodes carry ``COMPUTE_LABEL``; its taints are tolerated)."""
    if group is None:
        return {}
    tolerations = [
        {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
        if t.value
        else {"key": t.key, "operator": "Exists", "effect": t.effect}
        for t in group.taints
    ]
    placed: dict[str, Any] = {"nodeSelector": {COMPUTE_LABEL: group.compute}}
    if tolerations:
        placed["tolerations"] = tolerations
    return placed


def split_image(image: str) -> tuple[str, str]:
    """``registry:5000/org/name:tag`` -> (``registry:5000/org/name``, ``tag``)."""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, "latest"
    return name, tag


def dagster_values(model: KernelModel, cluster: ClusterHandle) -> dict[str, Any]:
    """deploy/dagster/values.yaml with what only the cloud knows: the code location's image,
    the managed PostgreSQL, the run launcher's namespace, and the system nodes."""
    values: dict[str, Any] = yaml.safe_load(DAGSTER_VALUES.read_text(encoding="utf-8"))
    system = placement(system_group(model))
    repository, tag = split_image(model.images.api)
    for deployment in values["dagster-user-deployments"]["deployments"]:
        deployment["image"].update(repository=repository, tag=tag)
        deployment.update(system)
    # The launcher's ServiceAccount is rendered with its cloud identity (k8s_objects).
    values["serviceAccount"].update(create=False, name=LAUNCHER_SERVICE_ACCOUNT)
    values["dagsterWebserver"].update(system)
    values["dagsterDaemon"].update(system)
    values["postgresql"].update(
        postgresqlHost=cluster.database_host, postgresqlUsername=cluster.database_user
    )
    values["postgresql"]["service"]["port"] = Unquoted(cluster.database_port)
    values["runLauncher"]["config"]["k8sRunLauncher"]["jobNamespace"] = PLATFORM_NAMESPACE
    return values


def external_secrets_values(model: KernelModel, cluster: ClusterHandle) -> dict[str, Any]:
    system = placement(system_group(model))
    return {
        "installCRDs": True,
        "serviceAccount": {
            "create": True,
            "name": _ESO_ACCOUNT,
            "annotations": dict(cluster.secret_store.service_account_annotations),
        },
        **system,
        "webhook": dict(system),
        "certController": dict(system),
    }


def cert_manager_values(model: KernelModel) -> dict[str, Any]:
    system = placement(system_group(model))
    return {
        "crds": {"enabled": True},
        **system,
        "webhook": dict(system),
        "cainjector": dict(system),
        "startupapicheck": dict(system),
    }


def ingress_nginx_values(model: KernelModel) -> dict[str, Any]:
    return {
        "controller": {
            "ingressClass": INGRESS_CLASS,
            **placement(system_group(model)),
            "ingressClassResource": {"name": INGRESS_CLASS, "default": True},
            "service": {"type": "LoadBalancer"},
        }
    }


def opa_properties(model: KernelModel) -> str:
    """Trino's ``access-control.properties``: the OPA plugin asking Heimdall, in-cluster.

    Open: the plugin sends no credentials. It posts with only a Content-Type header, and its
    HTTP client (airlift's, configured under ``opa.http-client.*``) has TLS and client
    certificate settings but no header or bearer token setting; Heimdall's OPA API, which
    authenticates every call, must admit it some other way."""
    base = f"http://{API_NAME}.{PLATFORM_NAMESPACE}.svc.cluster.local:{model.api_port}"
    lines = ["access-control.name=opa"]
    lines += [f"{key}={base}/v1/data/trino/{rule}" for key, rule in OPA_RULES.items()]
    return "\n".join(lines) + "\n"


def catalog_files(trino: Trino) -> dict[str, str]:
    """Catalog name -> properties file text (``dataos-ctl cluster catalogs``' output)."""
    return {
        name: "".join(f"{key}={value}\n" for key, value in sorted(props.items()))
        for name, props in sorted(trino.catalogs.items())
    }


def trino_values(model: KernelModel, trino: Trino) -> dict[str, Any]:
    query = placement(trino_group(model))
    return {
        "server": {"workers": trino.workers},
        "coordinator": dict(query),
        "worker": dict(query),
        "catalogs": catalog_files(trino),
        "accessControl": {"type": "properties", "properties": opa_properties(model)},
    }
