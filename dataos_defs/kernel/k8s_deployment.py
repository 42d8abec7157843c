"""The Deployment of a Service or Worker, and the naming every object of a workload shares.

See :mod:`dataos_defs.kernel.k8s_workloads` for the whole set of objects and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dataos_defs.kernel.errors import KernelError
from dataos_defs.kernel.k8s_network import API_NAME, PART_OF, SERVICE_LABEL
from dataos_defs.kernel.k8s_objects import INGRESS_CLASS, RUN_AS
from dataos_defs.kernel.k8s_pods import api_form, container_parts, pod_parts
from dataos_defs.kernel.model import PLATFORM_NAMESPACE, WORKSPACE_LABEL
from dataos_defs.manifest.common import AutoScaling, LongRunningSpec
from dataos_defs.manifest.compute import NodePool
from dataos_defs.manifest.service import Service
from dataos_defs.manifest.stacks.container import ContainerSpec
from dataos_defs.manifest.worker import Worker

WORKER_LABEL = "dataos.io/worker"
REVISION_ANNOTATION = "dataos.io/revision"
MANAGED_BY = {"app.kubernetes.io/managed-by": "dataos"}
MANAGED_SELECTOR = "app.kubernetes.io/managed-by=dataos"
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_CPU_TARGET = 80
WORKLOAD_DIR = "/var/lib/dataos/workload"
RESERVED_NAMESPACES = frozenset({"default", PLATFORM_NAMESPACE})
CONTAINER_STACKS = frozenset({"container", "alpha"})
TOPOLOGY_KEYS = {
    "hostname": "kubernetes.io/hostname",
    "zone": "topology.kubernetes.io/zone",
    "region": "topology.kubernetes.io/region",
}
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

Obj = dict[str, Any]
Workload = Service | Worker


@dataclass(frozen=True)
class WorkloadSettings:
    """Where the platform's own door is: the API server every ingress path leads to."""

    api_namespace: str = PLATFORM_NAMESPACE
    api_service: str = API_NAME
    api_port: int = 7400
    ingress_class: str = INGRESS_CLASS
    ingress_host: str | None = None


@dataclass(frozen=True)
class WorkloadPorts:
    """Port name -> number, in the manifest's order (``servicePort`` is named ``http``)."""

    ports: tuple[tuple[str, int], ...]


def kind_of(resource: Workload) -> str:
    return "service" if isinstance(resource, Service) else "worker"


def spec_of(resource: Workload) -> LongRunningSpec:
    return resource.service if isinstance(resource, Service) else resource.worker


def namespace_of(workspace: str) -> str:
    """The namespace of a workspace: its own name, as the kernel creates it."""
    if workspace in RESERVED_NAMESPACES or workspace.startswith("kube-"):
        raise KernelError(
            f"workspace '{workspace}' would be namespace '{workspace}', which is reserved",
            f"workspace {workspace}",
            "Kubernetes owns 'default' and 'kube-*', the platform runs in 'dataos'",
        )
    return workspace


def object_name(kind: str, name: str) -> str:
    """A Service's objects are named like it; a Worker's ``<name>-worker``."""
    return name if kind == "service" else f"{name}-worker"


def selector_labels(kind: str, name: str) -> dict[str, str]:
    return {SERVICE_LABEL if kind == "service" else WORKER_LABEL: name}


def workload_labels(kind: str, workspace: str, name: str) -> dict[str, str]:
    return {
        **PART_OF,
        **MANAGED_BY,
        "app.kubernetes.io/name": object_name(kind, name),
        WORKSPACE_LABEL: workspace,
        **selector_labels(kind, name),
    }


def ports_of(resource: Workload) -> WorkloadPorts:
    """A Service's ports (none for a Worker); a name Kubernetes refuses is an error here."""
    if not isinstance(resource, Service):
        return WorkloadPorts(())
    spec = resource.service
    found: list[tuple[str, int]] = []
    if spec.servicePort is not None:
        found.append(("http", spec.servicePort))
    for index, port in enumerate(spec.servicePorts or []):
        where = f"service {resource.name}: service.servicePorts[{index}].name"
        if len(port.name) > 15 or not _PORT_NAME.match(port.name):
            raise KernelError(
                f"port name '{port.name}' is not a Kubernetes port name",
                where,
                "at most 15 lower-case letters, digits and '-', with at least one letter",
            )
        if port.name in dict(found) or port.servicePort in {p for _, p in found}:
            raise KernelError(f"port '{port.name}' is given twice", where, "name each port once")
        found.append((port.name, port.servicePort))
    return WorkloadPorts(tuple(found))


def _container_image(resource: Workload) -> tuple[ContainerSpec, str]:
    spec = spec_of(resource)
    kind = kind_of(resource)
    stack = spec.stack_ref.name
    if stack not in CONTAINER_STACKS or not isinstance(spec.stack_spec, ContainerSpec):
        raise KernelError(
            f"stack '{spec.stack}' has no image to run on Kubernetes",
            f"{kind} {resource.name}: {kind}.stack",
            "use stack 'container' with stackSpec.image (and command/arguments)",
        )
    return spec.stack_spec, kind


def _refuse_unsupported(resource: Workload) -> None:
    spec = spec_of(resource)
    kind = kind_of(resource)
    for key in ("dataosVolumes", "persistentVolume"):
        if getattr(spec, key):
            raise KernelError(
                "volumes of a depot are not mounted on Kubernetes yet",
                f"{kind} {resource.name}: {kind}.{key}",
                "read and write datasets through the platform's APIs instead",
            )
    if isinstance(spec.tempVolume, str):
        raise KernelError(
            "a named temp volume is not supported on Kubernetes",
            f"{kind} {resource.name}: {kind}.tempVolume",
            "give tempVolume as {directory, size}",
        )


def _probes(ports: WorkloadPorts) -> dict[str, Any]:
    """TCP probes on the first port: started within 2 minutes, ready while it accepts,
    restarted after a minute of refusing. A Worker (no port) has none: it is ready while it
    runs, and Kubernetes restarts it when it exits."""
    if not ports.ports:
        return {}
    port = ports.ports[0][0]
    timing = {"startupProbe": (2, 60), "readinessProbe": (5, 2), "livenessProbe": (20, 3)}
    return {
        probe: {"tcpSocket": {"port": port}, "periodSeconds": period, "failureThreshold": failures}
        for probe, (period, failures) in timing.items()
    }


def _volumes(resource: Workload) -> tuple[list[Obj], list[Obj]]:
    """``(volumes, mounts)`` of writable space: ``/tmp``, the workload's folder
    (``DATAOS_WORKLOAD_DIR``; per pod, it outlives container restarts, not the pod) and the
    temp volume."""
    volumes: list[Obj] = [{"name": "tmp", "emptyDir": {}}, {"name": "workload", "emptyDir": {}}]
    mounts: list[Obj] = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "workload", "mountPath": WORKLOAD_DIR},
    ]
    temp = spec_of(resource).tempVolume
    if temp is not None and not isinstance(temp, str) and temp.directory:
        empty: Obj = {"sizeLimit": str(temp.size)} if temp.size else {}
        volumes.append({"name": "temp", "emptyDir": empty})
        mount: Obj = {"name": "temp", "mountPath": temp.directory}
        if temp.subPath:
            mount["subPath"] = temp.subPath
        mounts.append(mount)
    return volumes, mounts


def port_variable(name: str) -> str:
    """``DATAOS_PORT_<NAME>``, as the embedded supervisor names it.

    >>> port_variable("http-api")
    'DATAOS_PORT_HTTP_API'
    """
    return "DATAOS_PORT_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _unique(items: list[Obj]) -> list[Obj]:
    """One entry per ``name``, the last one given winning (a secret's key over an ``envs``
    entry of that name, the platform's variables over both): server-side apply refuses a list
    keyed by name with duplicates."""
    by_name = {item["name"]: item for item in items}
    return list(by_name.values())


def _container(resource: Workload, workspace: str, revision: int, ports: WorkloadPorts) -> Obj:
    """The one container: as the embedded supervisor starts a replica, the platform's
    variables (``DATAOS_WORKSPACE``, ``DATAOS_SERVICE``/``DATAOS_WORKER``, ``DATAOS_REPLICA``,
    ``DATAOS_REVISION``, ``DATAOS_WORKLOAD_DIR``, ``PORT``, ``DATAOS_PORT_<NAME>``) beside
    the manifest's."""
    image, kind = _container_image(resource)
    spec = spec_of(resource)
    parts = api_form(container_parts(spec))
    resources = parts.pop("resources", {})
    resources["requests"] = {**DEFAULT_REQUESTS, **resources.get("requests", {})}
    identity: list[Obj] = [
        {"name": "DATAOS_WORKSPACE", "value": workspace},
        {"name": f"DATAOS_{kind.upper()}", "value": resource.name},
        {"name": "DATAOS_REPLICA", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "DATAOS_REVISION", "value": str(revision)},
        {"name": "DATAOS_WORKLOAD_DIR", "value": WORKLOAD_DIR},
    ]
    if ports.ports:
        identity.append({"name": "PORT", "value": str(ports.ports[0][1])})
    identity += [{"name": port_variable(name), "value": str(n)} for name, n in ports.ports]
    _, mounts = _volumes(resource)
    container: Obj = {
        "name": kind,
        "image": image.image,
        "imagePullPolicy": "IfNotPresent",
        **({"command": list(image.command)} if image.command else {}),
        **({"args": list(image.arguments)} if image.arguments else {}),
        "ports": [
            {"name": name, "containerPort": number, "protocol": "TCP"}
            for name, number in ports.ports
        ],
        "env": _unique([*parts.get("env", []), *identity]),
        **({"envFrom": parts["envFrom"]} if parts.get("envFrom") else {}),
        "resources": resources,
        **_probes(ports),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": _unique([*mounts, *parts.get("volumeMounts", [])]),
    }
    if not container["ports"]:
        del container["ports"]
    return container


def _spread(resource: Workload, selector: Mapping[str, str]) -> list[Obj]:
    config = spec_of(resource).highAvailabilityConfig
    if config is None or config.level is None:
        return []
    unsatisfiable = "DoNotSchedule" if config.mode == "required" else "ScheduleAnyway"
    return [
        {
            "maxSkew": 1,
            "topologyKey": TOPOLOGY_KEYS[config.level],
            "whenUnsatisfiable": unsatisfiable,
            "labelSelector": {"matchLabels": dict(selector)},
        }
    ]


def deployment(
    resource: Workload, workspace: str, revision: int, pools: Mapping[str, NodePool]
) -> Obj:
    kind = kind_of(resource)
    _refuse_unsupported(resource)
    ports = ports_of(resource)
    labels = workload_labels(kind, workspace, resource.name)
    selector = selector_labels(kind, resource.name)
    annotations = {REVISION_ANNOTATION: str(revision)}
    image, _ = _container_image(resource)
    placed = api_form(pod_parts(spec_of(resource), pools))
    volumes, _ = _volumes(resource)
    pod: Obj = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(resource, workspace, revision, ports)],
        "volumes": _unique([*volumes, *placed.pop("volumes", [])]),
        **placed,
    }
    if image.imagePullSecret:
        pod["imagePullSecrets"] = [{"name": image.imagePullSecret}]
    spread = _spread(resource, selector)
    if spread:
        pod["topologySpreadConstraints"] = spread
    spec: Obj = {
        "selector": {"matchLabels": selector},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "revisionHistoryLimit": 3,
        "template": {
            "metadata": {"labels": labels, "annotations": dict(annotations)},
            "spec": pod,
        },
    }
    if autoscaling_of(resource) is None:
        spec = {"replicas": spec_of(resource).replicas, **spec}
    return workload_object("apps/v1", "Deployment", resource, workspace, spec, annotations)


def workload_object(
    api_version: str,
    kind: str,
    resource: Workload,
    workspace: str,
    spec: Obj,
    annotations: Mapping[str, str] | None = None,
    name: str | None = None,
) -> Obj:
    workload = kind_of(resource)
    metadata: Obj = {
        "name": name or object_name(workload, resource.name),
        "namespace": namespace_of(workspace),
        "labels": workload_labels(workload, workspace, resource.name),
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def autoscaling_of(resource: Workload) -> AutoScaling | None:
    scaling = spec_of(resource).auto_scaling
    return scaling if scaling is not None and scaling.enabled else None
