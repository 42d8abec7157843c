"""The plain Kubernetes objects the platform stack creates, rendered from the kernel model.

The platform stack in ``terraform/`` hands each of these dicts, unchanged, to the kubernetes
provider's ``Manifest`` resource; there being no provider binary here, tests validate the
same dicts with ``kubernetes-validate --strict`` and evaluate their NetworkPolicies
(:mod:`dataos_defs.kernel.netpol`). Rendering is pure and ordered — namespaces first, then the
API server's objects and Roles, then each namespace's policies — so a diff of the output is a
diff of the platform.

What is rendered:

* the namespaces of the model, with their labels (workspace namespaces carry
  ``dataos.io/workspace``); every namespaced object in a workspace namespace carries it too;
* the DataOS API server, the one authenticated entry point: ServiceAccount, a ConfigMap of
  its non-secret settings, Deployment (non-root, read-only root filesystem, probes on
  ``/health``, secrets only through ``envFrom`` of the ``dataos-runtime`` Secret, which the
  cluster stack syncs from the cloud's secret manager), Service, and an Ingress on
  ``dns.api_host`` (class ``nginx``; TLS unless ``dns.tls_issuer`` is ``none``, issued by
  cert-manager's ClusterIssuer :data:`ACME_ISSUER` for ``acme``; the mapping refuses
  ``managed``, which no stack provides yet);
* the run launcher's ServiceAccount (``dagster``, the name ``deploy/dagster/dagster.yaml``
  launches runs as) with the cloud identity annotations the cluster stack supplies; the Helm
  release must then not create it (``serviceAccount.create: false``);
* in the platform (job) namespace, Caretaker's Role and RoleBinding for the code location's
  ServiceAccount: list pods and their PodMetrics (:mod:`dataos_defs.kernel.k8s_rbac`);
* the NetworkPolicies of :mod:`dataos_defs.kernel.k8s_network`;
* in each workspace namespace, the API server's Role and RoleBinding for applying and reading
  the workspace's Services and Workers (:mod:`dataos_defs.kernel.k8s_rbac`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from dataos_defs.kernel.k8s_network import (
    API_LABELS,
    API_NAME,
    PART_OF,
    namespace_baseline,
    platform_policies,
    workspace_policies,
)
from dataos_defs.kernel.k8s_rbac import caretaker_rbac, workspace_rbac
from dataos_defs.kernel.model import COMPUTE_LABEL, PLATFORM_NAMESPACE, KernelModel, Namespace

RUNTIME_SECRET = "dataos-runtime"
LAUNCHER_SERVICE_ACCOUNT = "dagster"
ACME_ISSUER = "dataos-acme"
INGRESS_CLASS = "nginx"
TLS_SECRET = "dataos-api-tls"
DATAOS_HOME = "/var/lib/dataos"
RUN_AS = 10001
API_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "512Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}

Obj = dict[str, Any]


def render_platform_objects(
    model: KernelModel,
    launcher_annotations: Mapping[str, str] | None = None,
    kube_api_cidrs: Sequence[str] | None = None,
) -> list[Obj]:
    """Every object of the platform stack, in apply order.

    ``launcher_annotations`` bind the run launcher's ServiceAccount to its cloud identity
    (IRSA role, GCP service account, Azure client id). ``kube_api_cidrs`` are the addresses of
    the Kubernetes API as pods reach it after the ``kubernetes`` Service's NAT (the cluster
    stack knows them: EKS's endpoints sit in the VPC, the default; GKE's in the control plane
    range).
    """
    platform = _platform_namespace(model)
    cidrs = list(kube_api_cidrs) if kube_api_cidrs else [model.network.cidr]
    objects: list[Obj] = [namespace(ns) for ns in model.namespaces]
    objects += api_server_objects(model)
    objects.append(launcher_service_account(launcher_annotations or {}))
    objects += caretaker_rbac(PLATFORM_NAMESPACE)
    for ns in model.namespaces:
        if ns.workspace is not None:
            objects += workspace_rbac(ns.name, ns.workspace)
    objects += namespace_baseline(platform.name, PART_OF)
    objects += platform_policies(model, cidrs)
    for ns in model.namespaces:
        if ns.workspace is not None:
            objects += render_workspace_objects(model, ns)
    return copy.deepcopy(objects)


def render_workspace_objects(model: KernelModel, ns: Namespace) -> list[Obj]:
    """A workspace namespace's policies: default deny, DNS, the API server and its routes."""
    if ns.workspace is None:
        raise ValueError(f"namespace {ns.name!r} holds no workspace")
    labels = {**PART_OF, "dataos.io/workspace": ns.workspace}
    return namespace_baseline(ns.name, labels) + workspace_policies(model, ns.name, ns.workspace)


def _platform_namespace(model: KernelModel) -> Namespace:
    for ns in model.namespaces:
        if ns.name == PLATFORM_NAMESPACE:
            return ns
    raise ValueError(f"the kernel model has no {PLATFORM_NAMESPACE!r} namespace")


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": PLATFORM_NAMESPACE,
        "labels": {**PART_OF, **API_LABELS},
        **extra,
    }


def namespace(ns: Namespace) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns.name, "labels": {**PART_OF, **ns.labels}},
    }


def launcher_service_account(annotations: Mapping[str, str]) -> Obj:
    metadata: dict[str, Any] = {
        "name": LAUNCHER_SERVICE_ACCOUNT,
        "namespace": PLATFORM_NAMESPACE,
        "labels": dict(PART_OF),
    }
    if annotations:
        metadata["annotations"] = dict(sorted(annotations.items()))
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}


def api_server_objects(model: KernelModel) -> list[Obj]:
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(API_NAME)}
    return [
        account,
        api_config_map(model),
        api_deployment(model),
        api_service(model),
        api_ingress(model),
    ]


def api_config_map(model: KernelModel) -> Obj:
    """The API server's non-secret settings (secrets come from ``dataos-runtime`` only),
    among them what its Kubernetes applier of Services and Workers needs
    (:func:`dataos_defs.adapters.k8s_workloads.settings_from_env`)."""
    release = model.dagster.release
    base = f"{release}-webserver"
    data = {
        "DATAOS_HOME": DATAOS_HOME,
        "DAGSTER_WEBSERVER_URL": f"http://{base}.{PLATFORM_NAMESPACE}.svc.cluster.local/dagster",
        "DAGSTER_UI_URL": f"http://{base}-read-only.{PLATFORM_NAMESPACE}.svc.cluster.local",
        # Services and Workers run as Deployments applied by this server (the switch of runs)
        "DATAOS_RUN_MODE": "k8s",
        "DATAOS_API_PORT": str(model.api_port),
    }
    if model.dns.api_host:
        data["DATAOS_API_HOST"] = model.dns.api_host
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(API_NAME), "data": data}


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": "/health", "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def _container(model: KernelModel) -> dict[str, Any]:
    return {
        "name": "api",
        "image": model.images.api,
        "imagePullPolicy": "IfNotPresent",
        "command": ["dataos-ctl"],
        "args": ["serve", "--host", "0.0.0.0", "--port", str(model.api_port)],
        "ports": [{"name": "http", "containerPort": model.api_port, "protocol": "TCP"}],
        "envFrom": [{"secretRef": {"name": RUNTIME_SECRET}}, {"configMapRef": {"name": API_NAME}}],
        "startupProbe": _probe(5, 24),
        "readinessProbe": _probe(10, 3),
        "livenessProbe": _probe(20, 3),
        "resources": API_RESOURCES,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "home", "mountPath": DATAOS_HOME},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def _placement(model: KernelModel) -> dict[str, Any]:
    """On the platform's system node group, as the Dagster chart's pods (and only there:
    its nodes carry ``COMPUTE_LABEL``; its taints are tolerated)."""
    group = next((g for g in model.node_groups if g.purpose == "system"), None)
    if group is None:
        return {}
    placed: dict[str, Any] = {"nodeSelector": {COMPUTE_LABEL: group.compute}}
    tolerations = [
        {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
        if t.value
        else {"key": t.key, "operator": "Exists", "effect": t.effect}
        for t in group.taints
    ]
    if tolerations:
        placed["tolerations"] = tolerations
    return placed


def api_deployment(model: KernelModel) -> Obj:
    pod_spec: dict[str, Any] = {
        "serviceAccountName": API_NAME,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(model)],
        "volumes": [{"name": "home", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
    }
    pod_spec.update(_placement(model))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(API_NAME),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": dict(API_LABELS)},
            "template": {"metadata": {"labels": {**PART_OF, **API_LABELS}}, "spec": pod_spec},
        },
    }


def api_service(model: KernelModel) -> Obj:
    port = {"name": "http", "port": model.api_port, "targetPort": "http", "protocol": "TCP"}
    spec = {"type": "ClusterIP", "selector": dict(API_LABELS), "ports": [port]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(API_NAME), "spec": spec}


def api_ingress(model: KernelModel) -> Obj:
    """The one door from outside: everything behind it authenticates at the API server."""
    host, tls = model.dns.api_host, model.dns.tls_issuer
    annotations = {
        # the Dagster UI's websockets and long queries pass through the door
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    }
    if tls == "acme":
        annotations["cert-manager.io/cluster-issuer"] = ACME_ISSUER
    backend = {"service": {"name": API_NAME, "port": {"name": "http"}}}
    rule: dict[str, Any] = {
        "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}
    }
    if host:
        rule = {"host": host, **rule}
    spec: dict[str, Any] = {"ingressClassName": INGRESS_CLASS, "rules": [rule]}
    if tls != "none" and host:
        spec["tls"] = [{"hosts": [host], "secretName": TLS_SECRET}]
    metadata = _meta(API_NAME, annotations=annotations)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }
