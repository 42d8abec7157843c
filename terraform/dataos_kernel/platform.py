"""Stack 2, the platform: the same for every cloud, read from the cluster stack's handle.

The Kubernetes and Helm providers reach the cluster through the handle (host, CA, the cloud's
``exec`` credential plugin: no token, no key). On it the stack creates:

* the Kubernetes objects of :func:`dataos_defs.kernel.k8s_objects.render_platform_objects`
  (namespaces, zero-trust NetworkPolicies, the API server, the launcher's service account),
  one ``kubernetes_manifest`` each, named after kind, namespace and name;
* the operators (External Secrets, the ingress controller, cert-manager for ACME), then the
  platform's custom resources through the local ``dataos-resources`` chart (the secret store
  and the synced Secrets: references to the secret manager only);
* Dagster (values of deploy/dagster/values.yaml set from the model) and, when enabled, Trino
  with its OPA plugin asking Heimdall.

Its outputs are URLs and bucket names, nothing secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cdktn import (
    App,
    AssetType,
    Fn,
    ITerraformDependable,
    TerraformAsset,
    TerraformOutput,
    TerraformStack,
)
from cdktn_provider_helm.provider import (
    HelmProvider,
    HelmProviderKubernetes,
    HelmProviderKubernetesExec,
)
from cdktn_provider_helm.release import Release
from cdktn_provider_kubernetes.data_kubernetes_service_v1 import (
    DataKubernetesServiceV1,
    DataKubernetesServiceV1Metadata,
)
from cdktn_provider_kubernetes.manifest import Manifest
from cdktn_provider_kubernetes.provider import KubernetesProvider, KubernetesProviderExec

from dataos_defs.kernel.k8s_objects import render_platform_objects
from dataos_defs.kernel.model import PLATFORM_NAMESPACE, HelmChart, KernelModel
from dataos_kernel import platform_values as pv
from dataos_kernel.backends import state_backend
from dataos_kernel.contract import ClusterHandle, ExecAuth
from dataos_kernel.naming import construct_id
from dataos_kernel.platform_secrets import platform_resources

RESOURCES_CHART = Path(__file__).resolve().parent / "charts" / "dataos-resources"
# Kinds that need the ingress controller (its admission webhook) and the issuer first.
_AFTER_INGRESS = {"Ingress"}


def platform_stack(
    app: App, model: KernelModel, cluster: ClusterHandle, cluster_stack: TerraformStack
) -> TerraformStack:
    """The platform stack ``<cluster>-platform``, applied after ``cluster_stack``."""
    stack = TerraformStack(app, f"{model.cluster_name}-platform")
    stack.add_dependency(cluster_stack)
    state_backend(stack, model)
    _providers(stack, cluster)
    objects = render_objects(model, cluster)
    namespaces = [_manifest(stack, o, []) for o in objects if o["kind"] == "Namespace"]
    operators = _operators(stack, model, cluster)
    manifests = [
        _manifest(stack, o, [*namespaces, *(operators if o["kind"] in _AFTER_INGRESS else [])])
        for o in objects
        if o["kind"] != "Namespace"
    ]
    resources = _release(
        stack,
        _resources_chart(stack),
        {"resources": platform_resources(model, cluster)},
        [*namespaces, *operators],
    )
    _release(stack, model.dagster, pv.dagster_values(model, cluster), [*manifests, resources])
    if model.trino is not None:
        _release(stack, model.trino.chart, pv.trino_values(model, model.trino), namespaces)
    _outputs(stack, model, operators)
    return stack


def render_objects(model: KernelModel, cluster: ClusterHandle) -> list[dict[str, Any]]:
    """The platform's plain Kubernetes objects, rendered beside the kernel model (where they
    are validated with kubernetes-validate and their policies evaluated), used unchanged."""
    annotations = dict(cluster.launcher_service_account_annotations)
    return render_platform_objects(model, launcher_annotations=annotations)


def _providers(stack: TerraformStack, cluster: ClusterHandle) -> None:
    """Both providers authenticate by the cloud's exec plugin: nothing to leak or expire."""
    ca = Fn.base64decode(cluster.ca_certificate_b64)
    auth = cluster.exec_auth
    kubernetes = KubernetesProvider(
        stack,
        "kubernetes",
        host=cluster.host,
        cluster_ca_certificate=ca,
        exec=[KubernetesProviderExec(**_exec_args(auth))],
    )
    helm = HelmProvider(
        stack,
        "helm",
        kubernetes=HelmProviderKubernetes(
            host=cluster.host,
            cluster_ca_certificate=ca,
            exec=HelmProviderKubernetesExec(**_exec_args(auth)),
        ),
    )
    if auth.env:
        # Overrides keep the variables' names as written (map keys given to the bindings
        # come out lower-cased).
        kubernetes.add_override("exec.0.env", dict(auth.env))
        helm.add_override("kubernetes.exec.env", dict(auth.env))


def _exec_args(auth: ExecAuth) -> dict[str, Any]:
    return {"api_version": auth.api_version, "command": auth.command, "args": list(auth.args)}


def manifest_id(obj: dict[str, Any]) -> str:
    """``networkpolicy-dataos-default-deny``: stable across syntheses, unique per object."""
    meta = obj["metadata"]
    return construct_id(obj["kind"], meta.get("namespace", ""), meta["name"])


def _manifest(
    stack: TerraformStack, obj: dict[str, Any], after: list[ITerraformDependable]
) -> Manifest:
    return Manifest(stack, manifest_id(obj), manifest=obj, depends_on=after or None)


def _operators(stack: TerraformStack, model: KernelModel, cluster: ClusterHandle) -> list[Release]:
    """External Secrets, the ingress controller and, for ACME certificates, cert-manager."""
    operators = [
        _release(stack, pv.EXTERNAL_SECRETS, pv.external_secrets_values(model, cluster), []),
        _release(stack, pv.INGRESS_NGINX, pv.ingress_nginx_values(model), []),
    ]
    if model.dns.tls_issuer == "acme":
        operators.append(_release(stack, pv.CERT_MANAGER, pv.cert_manager_values(model), []))
    return operators


def _resources_chart(stack: TerraformStack) -> HelmChart:
    """The local chart, copied into the stack's directory (a path relative to it)."""
    asset = TerraformAsset(
        stack, "dataos-resources-chart", path=str(RESOURCES_CHART), type=AssetType.DIRECTORY
    )
    return HelmChart(release="dataos-resources", chart=asset.path, repository="", version="")


def _release(
    stack: TerraformStack,
    chart: HelmChart,
    values: dict[str, Any],
    after: Sequence[ITerraformDependable],
) -> Release:
    """A Helm release with its values as YAML text (one document, references inline)."""
    return Release(
        stack,
        construct_id("release", chart.release),
        name=chart.release,
        chart=chart.chart,
        repository=chart.repository or None,
        version=chart.version or None,
        namespace=chart.namespace,
        create_namespace=chart.namespace != PLATFORM_NAMESPACE or None,
        values=[pv.to_yaml(values)],
        depends_on=after or None,
    )


def api_url(stack: TerraformStack, model: KernelModel, operators: list[Release]) -> str:
    """The API server's public URL: its DNS name (https when a certificate is issued), else
    the ingress controller's load balancer, read once the controller exists."""
    host = model.dns.api_host
    if host is not None:
        scheme = "http" if model.dns.tls_issuer == "none" else "https"
        return f"{scheme}://{host}"
    service = DataKubernetesServiceV1(
        stack,
        "ingress-controller-service",
        metadata=DataKubernetesServiceV1Metadata(
            name=f"{pv.INGRESS_NGINX.release}-controller", namespace=pv.INGRESS_NGINX.namespace
        ),
        depends_on=list(operators),
    )
    address = service.status.get(0).load_balancer.get(0).ingress.get(0)
    return "http://" + Fn.coalesce([address.hostname, address.ip])


def _outputs(stack: TerraformStack, model: KernelModel, operators: list[Release]) -> None:
    """URLs and bucket names: what an operator opens next, nothing secret."""
    url = api_url(stack, model, operators)
    values = {
        "api_url": url,
        "dagster_url": f"{url}/dagster/",
        "warehouse_bucket": model.buckets.warehouse,
        "history_bucket": model.buckets.history,
    }
    for name, value in values.items():
        TerraformOutput(stack, name, value=value, static_id=True)
