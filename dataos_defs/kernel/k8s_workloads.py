"""The Kubernetes objects of one Service or Worker Resource (pure: manifest in, dicts out).

:mod:`dataos_defs.adapters.k8s_workloads` server-side applies them in the workload's
workspace namespace (named like the workspace, as
:func:`dataos_defs.kernel.mapping.namespaces_of` names it). They live here, not in
``dataos_defs.compile``, because the API server applies them and may not import the compile
package (which loads Dagster). Per workload:

* a **Deployment** (``apps/v1``) of the ``container`` stack's image (the only stack with an
  image to run; others are refused with a clear error): requests/limits of ``spec.resources``
  (small default requests underneath, so that CPU autoscaling has a base), the Compute's node
  selector and tolerations, ``envs`` and secret *references*
  (:mod:`dataos_defs.kernel.k8s_pods`), TCP startup, readiness and liveness probes on a
  Service's first port, a rolling update that stops an old pod only once its successor is
  ready (``maxUnavailable: 0``, ``maxSurge: 1``), non-root pods with a restricted security
  context and no service account token;
* a Service only: a ClusterIP **Service** on its ports; the API server's ingress proxy reaches
  the replicas through it (kube-proxy balances);
* with ``autoScaling`` enabled: a **HorizontalPodAutoscaler** (``autoscaling/v2``); the
  Deployment then carries no ``replicas``, so that applying it never fights the autoscaler;
* a **NetworkPolicy** selecting the workload's pods: a Service's pods admit the DataOS API
  server's pods (namespace ``dataos``) on the Service's ports and nothing else; a Worker's
  admit nothing;
* with ``ingress.enabled``: an **Ingress** on the Service's public path (``ingress.path``
  inside its workspace's prefix, where the API server serves it: :func:`public_path`) whose
  backend is an ``ExternalName`` Service naming the DataOS API server (``<name>-door``; no TLS
  section: ingress-nginx serves the host's certificate, which the API server's own Ingress
  in ``dataos`` declares). The public path therefore always
  reaches the API server, which authenticates (unless ``noAuthentication``), asks Heimdall and
  only then proxies to the workload's Service: the Ingress never routes to the workload's
  pods, whose NetworkPolicy would refuse ingress-nginx anyway. An Ingress can only name
  Services of its own namespace, hence the ExternalName Service beside it.

Every object carries ``app.kubernetes.io/managed-by: dataos``, ``dataos.io/workspace`` and
``dataos.io/service=<name>`` (Workers: ``dataos.io/worker=<name>``), the labels the applier
selects by and the kernel's NetworkPolicies select Service pods by; the Deployment and its
pods carry the store revision as the ``dataos.io/revision`` annotation.
"""

from __future__ import annotations

from collections.abc import Mapping

from dataos_defs.kernel.errors import KernelError
from dataos_defs.kernel.k8s_deployment import (
    DEFAULT_CPU_TARGET,
    Obj,
    Workload,
    WorkloadSettings,
    autoscaling_of,
    deployment,
    kind_of,
    namespace_of,
    object_name,
    ports_of,
    selector_labels,
    workload_labels,
    workload_object,
)
from dataos_defs.kernel.k8s_network import API_LABELS, policy
from dataos_defs.manifest.compute import NodePool
from dataos_defs.manifest.service import Service


def service(resource: Service, workspace: str) -> Obj:
    ports = [
        {"name": name, "port": number, "targetPort": name, "protocol": "TCP"}
        for name, number in ports_of(resource).ports
    ]
    selector = selector_labels("service", resource.name)
    spec = {"type": "ClusterIP", "selector": selector, "ports": ports}
    return workload_object("v1", "Service", resource, workspace, spec)


def autoscaler(resource: Workload, workspace: str) -> Obj | None:
    scaling = autoscaling_of(resource)
    if scaling is None:
        return None
    kind = kind_of(resource)
    where = f"{kind} {resource.name}: {kind}.autoScaling"
    if scaling.minReplicas < 1:
        raise KernelError(
            "minReplicas 0 needs a cluster feature gate (HPAScaleToZero)",
            f"{where}.minReplicas",
            "use minReplicas: 1, or replicas: 0 without autoScaling to stop the workload",
        )
    if scaling.maxReplicas is None:
        raise KernelError("an autoscaler needs maxReplicas", f"{where}.maxReplicas")
    targets = (
        ("cpu", scaling.targetCPUUtilizationPercentage),
        ("memory", scaling.targetMemoryUtilizationPercentage),
    )
    given = [(name, value) for name, value in targets if value is not None]
    metrics = [
        {
            "type": "Resource",
            "resource": {"name": name, "target": {"type": "Utilization", "averageUtilization": v}},
        }
        for name, v in given or [("cpu", DEFAULT_CPU_TARGET)]
    ]
    target = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": object_name(kind, resource.name),
    }
    spec = {
        "scaleTargetRef": target,
        "minReplicas": scaling.minReplicas,
        "maxReplicas": scaling.maxReplicas,
        "metrics": metrics,
    }
    return workload_object("autoscaling/v2", "HorizontalPodAutoscaler", resource, workspace, spec)


def network_policy(resource: Workload, workspace: str, settings: WorkloadSettings) -> Obj:
    """Only the API server's pods reach a Service's pods, only on its ports; a Worker's pods
    admit nobody. Egress stays the namespace's (the kernel's: DNS and the API server)."""
    kind = kind_of(resource)
    selector = {"matchLabels": selector_labels(kind, resource.name)}
    ports = ports_of(resource).ports
    rules: list[Obj] = []
    if ports:
        api = {
            "podSelector": {"matchLabels": dict(API_LABELS)},
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": settings.api_namespace}
            },
        }
        numbers = [{"protocol": "TCP", "port": number} for _, number in ports]
        rules.append({"from": [api], "ports": numbers})
    name = f"{object_name(kind, resource.name)}-ingress"
    labels = workload_labels(kind, workspace, resource.name)
    return policy(name, namespace_of(workspace), labels, selector, ingress=rules)


def public_path(workspace: str, path: str) -> str:
    """Where the API server serves a Service's ``ingress.path``: inside its workspace's prefix
    (``/<workspace><path>``; a path already under ``/<workspace>/`` is kept), the rule of
    :func:`dataos_defs.api.ingress_routing.public_prefix` (a test holds them equal)."""
    path = path.removesuffix("/")
    if path != f"/{workspace}" and not path.startswith(f"/{workspace}/"):
        path = f"/{workspace}{path}"
    return path


def ingress_objects(resource: Service, workspace: str, settings: WorkloadSettings) -> list[Obj]:
    """The Ingress of ``ingress.path`` and the ExternalName Service naming the API server."""
    ingress = resource.service.ingress
    if ingress is None or not ingress.enabled or not ingress.path:
        return []
    door = f"{resource.name}-door"
    api_host = f"{settings.api_service}.{settings.api_namespace}.svc.cluster.local"
    external = {
        "type": "ExternalName",
        "externalName": api_host,
        "ports": [{"name": "http", "port": settings.api_port, "protocol": "TCP"}],
    }
    backend = {"service": {"name": door, "port": {"number": settings.api_port}}}
    path = {"path": public_path(workspace, ingress.path), "pathType": "Prefix", "backend": backend}
    rule: Obj = {"http": {"paths": [path]}}
    if settings.ingress_host:
        rule = {"host": settings.ingress_host, **rule}
    spec = {"ingressClassName": settings.ingress_class, "rules": [rule]}
    return [
        workload_object("v1", "Service", resource, workspace, external, name=door),
        workload_object("networking.k8s.io/v1", "Ingress", resource, workspace, spec),
    ]


def workload_objects(
    resource: Workload,
    workspace: str,
    revision: int,
    pools: Mapping[str, NodePool],
    settings: WorkloadSettings | None = None,
) -> list[Obj]:
    """Every object of one Service or Worker, in apply order (the Deployment last: what it
    needs — its Service, policy, autoscaler — exists when its pods start)."""
    settings = settings or WorkloadSettings()
    objects: list[Obj] = [network_policy(resource, workspace, settings)]
    if isinstance(resource, Service):
        objects.append(service(resource, workspace))
        objects += ingress_objects(resource, workspace, settings)
    hpa = autoscaler(resource, workspace)
    if hpa is not None:
        objects.append(hpa)
    objects.append(deployment(resource, workspace, revision, pools))
    return objects
