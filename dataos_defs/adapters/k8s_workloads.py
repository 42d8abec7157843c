"""Services and Workers on Kubernetes (``DATAOS_RUN_MODE=k8s``): the Kubernetes applier.

:class:`KubernetesWorkloads` implements :class:`dataos_defs.poros.workloads.Workloads` with
the official ``kubernetes`` client. Each pass of its loop (on every ``reconcile`` and every
:data:`RESYNC_SECONDS`, so drift is repaired):

1. compiles every desired Service and Worker into its objects
   (:func:`dataos_defs.kernel.k8s_workloads.workload_objects`; a manifest that cannot be
   compiled is reported in its runtime's ``reason`` and its objects are left as they are);
2. server-side applies each object (``PATCH`` with ``application/apply-patch+yaml``, field
   manager ``dataos``, ``force=true``: the store is the one source of truth, so a field changed
   by hand is taken back);
3. deletes, in every workspace namespace, the objects labelled
   ``app.kubernetes.io/managed-by=dataos`` that no desired workload produces any more (a
   deleted Service, a disabled ingress, a removed autoscaler), one by one, by name.

Reads (``runtime``, ``endpoints``, ``logs``) go to the API server directly. Every request has
a timeout (:data:`TIMEOUT_SECONDS`; a followed log ends after :data:`FOLLOW_IDLE_SECONDS`
without output). A refusal becomes a :class:`KubernetesError` whose message says what to do:
a 403 names the verb and resource the API server's ServiceAccount lacks and the kernel's
Role that grants them.

``endpoints`` answers the cluster Service's DNS name (``<svc>.<namespace>.svc.cluster.local``)
and port once the Deployment has a ready replica: kube-proxy balances over the pods, and the
API server's ingress route stays the one authenticated door (the Kubernetes Ingress of a
Service routes to the API server too, see :mod:`dataos_defs.kernel.k8s_workloads`).

The client is imported on first use, so the embedded mode never loads it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from dataos_defs.adapters.k8s_api import TIMEOUT_SECONDS, KubeApi, api_client
from dataos_defs.adapters.k8s_workload_state import KubernetesError, workload_runtime
from dataos_defs.kernel.errors import KernelError
from dataos_defs.kernel.k8s_deployment import (
    MANAGED_SELECTOR,
    WORKER_LABEL,
    WorkloadSettings,
    namespace_of,
    object_name,
    selector_labels,
)
from dataos_defs.kernel.k8s_network import SERVICE_LABEL
from dataos_defs.kernel.k8s_workloads import workload_objects
from dataos_defs.manifest.compute import Compute, NodePool
from dataos_defs.manifest.registry import RESOURCE_TYPES
from dataos_defs.manifest.service import Service
from dataos_defs.manifest.worker import Worker
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.workloads import WORKLOAD_KINDS, Endpoint, WorkloadRuntime

__all__ = ["KubernetesError", "KubernetesWorkloads", "settings_from_env"]

RESYNC_SECONDS = 60.0
FOLLOW_IDLE_SECONDS = 300.0
APPLY_ORDER = ("NetworkPolicy", "Service", "Ingress", "HorizontalPodAutoscaler", "Deployment")
"""The kinds the applier manages (and prunes), in the order a workload's objects come."""

Key = tuple[str, str, str]
"""``(kind, workspace, name)`` of a Service or Worker."""
Placed = tuple[str, str, str]
"""``(namespace, object kind, object name)`` of one Kubernetes object."""

log = logging.getLogger(__name__)


def settings_from_env(environ: Mapping[str, str] | None = None) -> WorkloadSettings:
    """Where the API server is (``DATAOS_API_NAMESPACE``, ``DATAOS_API_SERVICE``,
    ``DATAOS_API_PORT``) and the ingress (``DATAOS_INGRESS_CLASS``, ``DATAOS_API_HOST``); the
    defaults are the kernel's."""
    env = os.environ if environ is None else environ
    base = WorkloadSettings()
    port = env.get("DATAOS_API_PORT")
    return WorkloadSettings(
        api_namespace=env.get("DATAOS_API_NAMESPACE") or base.api_namespace,
        api_service=env.get("DATAOS_API_SERVICE") or base.api_service,
        api_port=int(port) if port else base.api_port,
        ingress_class=env.get("DATAOS_INGRESS_CLASS") or base.ingress_class,
        ingress_host=env.get("DATAOS_API_HOST") or base.ingress_host,
    )


def node_pools(computes: Sequence[StoredResource]) -> dict[str, NodePool]:
    """The node pools of the stored Compute Resources (one that does not validate: none)."""
    pools = {}
    for stored in computes:
        try:
            compute = Compute.model_validate(stored.manifest)
        except ValueError:
            continue
        if compute.compute.nodePool is not None:
            pools[stored.name] = compute.compute.nodePool
    return pools


def _owner(labels: Mapping[str, str], namespace: str) -> Key | None:
    if SERVICE_LABEL in labels:
        return ("service", labels.get("dataos.io/workspace", namespace), labels[SERVICE_LABEL])
    if WORKER_LABEL in labels:
        return ("worker", labels.get("dataos.io/workspace", namespace), labels[WORKER_LABEL])
    return None


class KubernetesWorkloads:
    """The workload runtime of ``DATAOS_RUN_MODE=k8s``."""

    def __init__(
        self,
        api: Any,
        settings: WorkloadSettings | None = None,
        *,
        pools: Callable[[], Mapping[str, NodePool]] = dict,
        workspaces: Callable[[], Sequence[str]] = list,
        resync_seconds: float = RESYNC_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.kube = KubeApi(api, timeout)
        self.settings = settings or WorkloadSettings()
        self._pools = pools
        self._workspaces = workspaces
        self._resync = resync_seconds
        self._guard = threading.Lock()
        self._desired: list[StoredResource] = []
        self._errors: dict[Key, str] = {}
        self._synced: dict[Key, StoredResource] = {}
        """What the last pass applied (or failed to), by workload."""
        self._namespaces: set[str] = set()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_env(cls, store: Any, environ: Mapping[str, str] | None = None) -> KubernetesWorkloads:
        """In the cluster, the API server's ServiceAccount; elsewhere ``$KUBECONFIG``. Node
        pools come from the store's Compute Resources, namespaces from its workspaces."""
        return cls(
            api_client(),
            settings_from_env(environ),
            pools=lambda: node_pools(store.list(kind="compute")),
            workspaces=lambda: [w.name for w in store.list_workspaces()],
        )

    def reconcile(self, desired: Sequence[StoredResource]) -> None:
        with self._guard:
            self._desired = [
                r for r in desired if r.kind in WORKLOAD_KINDS and r.status != "deleted"
            ]
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="dataos-k8s-workloads", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            with self._guard:
                desired = list(self._desired)
            try:
                self.sync(desired)
            except Exception:
                log.exception("applying Services and Workers to Kubernetes failed; retried")
            self._wake.wait(self._resync)
            self._wake.clear()

    def sync(self, desired: Sequence[StoredResource]) -> dict[Key, str]:
        """One pass: apply what is desired, delete what is not; the errors by workload."""
        errors: dict[Key, str] = {}
        kept: set[Key] = set()
        planned: dict[Placed, Key] = {}
        plans: list[tuple[Key, list[dict[str, Any]]]] = []
        pools = self._pools()
        for stored in sorted(desired, key=lambda r: (r.kind, r.workspace or "", r.name)):
            key = (stored.kind, stored.workspace or "", stored.name)
            try:
                objects = self._compile(stored, pools)
            except (ValueError, KernelError) as exc:
                errors[key] = str(exc)
                kept.add(key)
                continue
            places = [_placed(o) for o in objects]
            clash = next((planned[p] for p in places if p in planned), None)
            if clash is not None:
                errors[key] = f"its objects would replace those of {clash[0]} '{clash[2]}'"
                kept.add(key)
                continue
            planned.update(dict.fromkeys(places, key))
            plans.append((key, objects))
        for key, objects in plans:
            try:
                for obj in objects:
                    self.kube.apply(obj)
            except KubernetesError as exc:
                errors[key] = str(exc)
        namespaces = {p[0] for p in planned} | self._namespaces
        for workspace in self._workspaces():
            try:
                namespaces.add(namespace_of(workspace))
            except KernelError:
                continue
        self._prune(sorted(namespaces), planned, kept)
        with self._guard:
            self._errors = errors
            self._namespaces = {p[0] for p in planned}
            self._synced = {(r.kind, r.workspace or "", r.name): r for r in desired}
        return errors

    def _compile(self, stored: StoredResource, pools: Mapping[str, NodePool]) -> list[Any]:
        model = RESOURCE_TYPES[stored.kind].model_validate(stored.manifest)
        workspace = stored.workspace or ""
        if not isinstance(model, Service | Worker):
            raise ValueError(f"{stored.kind} '{stored.name}' is not a Service or Worker")
        return workload_objects(model, workspace, stored.revision, pools, self.settings)

    def _prune(
        self, namespaces: Sequence[str], planned: Mapping[Placed, Key], kept: set[Key]
    ) -> None:
        for namespace in namespaces:
            for kind in APPLY_ORDER:
                try:
                    items = self.kube.list_managed(kind, namespace, MANAGED_SELECTOR)
                except KubernetesError as exc:
                    log.warning("not pruned: %s", exc)
                    continue
                for item in items:
                    meta = item.get("metadata") or {}
                    name = str(meta.get("name"))
                    owner = _owner(meta.get("labels") or {}, namespace)
                    if (namespace, kind, name) in planned or owner in kept:
                        continue
                    try:
                        self.kube.delete(kind, namespace, name)
                    except KubernetesError as exc:
                        log.warning("not deleted: %s", exc)

    def runtime(self, kind: str, workspace: str, name: str) -> WorkloadRuntime | None:
        """From the Deployment and its pods. When the API server cannot be read, a workload
        the last pass applied gets a runtime without replicas saying why (others raise
        :class:`KubernetesError`)."""
        key = (kind, workspace, name)
        with self._guard:
            error = self._errors.get(key)
            stored = self._synced.get(key)
        try:
            namespace = namespace_of(workspace)
        except KernelError:
            return None
        try:
            deployment = self.kube.read("Deployment", namespace, object_name(kind, name))
            pods = [] if deployment is None else self.kube.pods(namespace, _pods_of(kind, name))
        except KubernetesError as exc:
            if stored is None:
                raise
            deployment, error = None, str(exc)
        if deployment is None:
            if stored is None or error is None:
                return None
            section = stored.manifest.get(kind) or {}
            return WorkloadRuntime(
                kind, workspace, name, stored.revision, int(section.get("replicas", 1)), (), error
            )
        found = workload_runtime(kind, workspace, name, deployment, pods)
        return replace(found, reason=error) if error else found

    def endpoints(self, workspace: str, name: str, port: str | None = None) -> list[Endpoint]:
        """The cluster Service's address once a replica is ready (none when the API server
        cannot be read: the ingress then answers that nothing is ready)."""
        try:
            namespace = namespace_of(workspace)
        except KernelError:
            return []
        svc = object_name("service", name)
        try:
            deployment = self.kube.read("Deployment", namespace, svc)
            ready = deployment is not None and (deployment.get("status") or {}).get("readyReplicas")
            service = (self.kube.read("Service", namespace, svc) if ready else None) or {}
        except KubernetesError as exc:
            log.warning("no endpoints of service %s/%s: %s", workspace, name, exc)
            return []
        ports = (service.get("spec") or {}).get("ports") or []
        chosen = next((p for p in ports if port is None or p.get("name") == port), None)
        if chosen is None:
            return []
        host = f"{svc}.{namespace}.svc.cluster.local"
        return [Endpoint(replica=svc, host=host, port=int(chosen["port"]))]

    def _pod(self, kind: str, workspace: str, name: str, replica: str | None) -> tuple[str, str]:
        namespace = namespace_of(workspace)
        found = self.runtime(kind, workspace, name)
        names = [r.name for r in found.replicas] if found else []
        if replica is None and found is not None and found.replicas:
            ready = [r.name for r in found.replicas if r.state == "ready"]
            replica = (ready or names)[0]
        if replica is None or replica not in names:
            known = ", ".join(names) or "none"
            raise LookupError(f"{kind} '{name}' has no replica '{replica}' (replicas: {known})")
        return namespace, replica

    def logs(
        self, kind: str, workspace: str, name: str, replica: str | None, lines: int
    ) -> list[str]:
        namespace, pod = self._pod(kind, workspace, name, replica)
        return self.kube.log_tail(namespace, pod, kind, None if lines < 0 else lines)

    def follow(self, kind: str, workspace: str, name: str, replica: str | None) -> Iterator[str]:
        namespace, pod = self._pod(kind, workspace, name, replica)
        return self.kube.log_follow(namespace, pod, kind, FOLLOW_IDLE_SECONDS)

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=TIMEOUT_SECONDS * 4)
        self.kube.close()


def _pods_of(kind: str, name: str) -> str:
    """The label selector of a workload's pods."""
    labels = selector_labels(kind, name)
    return ",".join([MANAGED_SELECTOR, *(f"{k}={v}" for k, v in labels.items())])


def _placed(obj: Mapping[str, Any]) -> Placed:
    meta = obj["metadata"]
    return (str(meta["namespace"]), str(obj["kind"]), str(meta["name"]))
