"""Shared parts of the Service/Worker tests on Kubernetes: manifests and an API stand-in.

No Kubernetes API server can run here, so :class:`WorkloadApiStandIn` answers on 127.0.0.1
the calls the applier makes, as the Kubernetes API reference documents them:

* ``PATCH .../{plural}/{name}`` with ``Content-Type: application/apply-patch+yaml`` (server-side
  apply; ``fieldManager`` required for apply, ``force`` optional): ``201 Created`` with the
  object when it did not exist, else ``200 OK``; an apply in a namespace that does not exist
  answers ``404`` with a Status whose ``details.kind`` is ``namespaces``;
* ``GET`` of one object (``404`` Status when absent) and of a collection (a ``<Kind>List``
  filtered by ``labelSelector`` equality terms, ``metadata.resourceVersion`` set; empty in a
  namespace that does not exist, as the API server answers a list there);
* ``DELETE`` of one object: ``200 OK`` with a Status of ``Success``;
* ``GET /api/v1/namespaces/{ns}/pods`` and ``.../pods/{name}/log`` (``text/plain``;
  ``tailLines``, ``container``, ``follow``);
* a 403 Status for any ``(verb, resource)`` listed in ``forbidden`` (RBAC's answer).

Every request is recorded (method, path, query, content type, JSON body), so tests check the
applier's calls against that contract. Imported as ``from services_support import ...``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from dataos_defs.manifest.compute import Compute, NodePool
from dataos_defs.manifest.registry import RESOURCE_TYPES
from dataos_defs.poros.records import StoredResource

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "services"
RESOURCES = HERE.parents[1] / "resources"

SERVICE = """
name: orders-api
version: v1
type: service
tags: [shop]
description: the orders API of the shop
service:
  stack: container
  compute: runnable-spark
  servicePort: 8080
  servicePorts:
    - {name: metrics, servicePort: 9090}
  ingress: {enabled: true, path: /orders/api/v1, stripPath: true}
  replicas: 2
  autoScaling: {minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70}
  highAvailabilityConfig: {level: zone, mode: preferred}
  envs: {LOG_LEVEL: info, ORDERS_DB_PASSWORD: not-in-any-object}
  dataosSecrets:
    - {name: orders-db, keys: [ORDERS_DB_USER, ORDERS_DB_PASS]}
    - {name: orders-tls, consumptionType: file}
  secrets: [orders-extra]
  resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 512Mi}}
  tempVolume: {directory: /var/cache/orders, size: 1Gi}
  stackSpec:
    image: registry.example.com/shop/orders-api:1.4.2
    imagePullSecret: shop-registry
    command: [python, -m, orders_api]
    arguments: [--port, "8080"]
"""

INTERNAL = """
name: stock-lookup
version: v1
type: service
service:
  stack: container
  servicePort: 8000
  stackSpec:
    image: registry.example.com/shop/stock:2.0
"""

WORKER = """
name: order-events
version: v1beta
type: worker
worker:
  stack: container
  replicas: 1
  envs: {TOPIC: orders}
  stackSpec:
    image: registry.example.com/shop/order-events:0.9
    command: [python, -m, order_events]
"""

COMPUTE = """
name: runnable-spark
version: v1
type: compute
compute:
  dataplane: hub
  purpose: runnable
  nodePool:
    nodeSelector: {dataos.io/workload: spark}
    tolerations:
      - {key: dataos.io/workload, operator: Equal, value: spark, effect: NoSchedule}
"""

SECRET_VALUES = ("not-in-any-object",)


def manifest(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def model(text: str) -> Any:
    data = manifest(text)
    return RESOURCE_TYPES[data["type"]].model_validate(data)


def pools() -> dict[str, NodePool]:
    compute = Compute.model_validate(manifest(COMPUTE))
    assert compute.compute.nodePool is not None
    return {compute.name: compute.compute.nodePool}


def stored(text: str, workspace: str = "shop", revision: int = 1) -> StoredResource:
    from datetime import UTC, datetime

    data = manifest(text)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return StoredResource(
        kind=data["type"],
        name=data["name"],
        workspace=workspace,
        version=data["version"],
        status="active",
        status_reason=None,
        owner="shop-team",
        revision=revision,
        manifest=data,
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )


def example_workloads() -> list[tuple[str, Path, dict[str, Any]]]:
    """The Services and Workers of the example data product (``resources/``), if any."""
    found = []
    for path in sorted(RESOURCES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("type") in ("service", "worker"):
                found.append((document["name"], path, document))
    return found


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    body: Any


_PLURALS = {
    "deployments": ("apps/v1", "Deployment"),
    "services": ("v1", "Service"),
    "ingresses": ("networking.k8s.io/v1", "Ingress"),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicy"),
    "horizontalpodautoscalers": ("autoscaling/v2", "HorizontalPodAutoscaler"),
    "pods": ("v1", "Pod"),
}
_GROUPS = {"deployments": "apps", "ingresses": "networking.k8s.io"}
_GROUPS |= {"networkpolicies": "networking.k8s.io", "horizontalpodautoscalers": "autoscaling"}


def rbac_resource(plural: str, sub: str | None = None) -> str:
    """``deployments.apps``, ``pods/log``: how RBAC (and the applier's errors) name it."""
    group = _GROUPS.get(plural)
    name = f"{plural}.{group}" if group else plural
    return f"{name}/{sub}" if sub else name


def rbac_verb(request: Request) -> str:
    if request.method == "PATCH":
        return "patch"
    if request.method == "DELETE":
        return "delete"
    _, _, name, _ = _split(request.path)
    return "list" if name is None else "get"


def _split(path: str) -> tuple[str, str, str | None, str | None]:
    """``(namespace, plural, name, subresource)`` of a namespaced path."""
    parts = path.strip("/").split("/")
    at = parts.index("namespaces")
    rest = parts[at + 1 :]
    namespace, plural = rest[0], rest[1]
    name = rest[2] if len(rest) > 2 else None
    sub = rest[3] if len(rest) > 3 else None
    return namespace, plural, name, sub


def _matches(labels: Mapping[str, str], selector: str | None) -> bool:
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


@dataclass
class WorkloadApiStandIn:
    namespaces: set[str] = field(default_factory=lambda: {"shop", "public", "dataos"})
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    status: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    logs: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    followed: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """Lines a pod writes after a follower connects (``follow=true``)."""
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _version: int = 0

    def take(self) -> list[Request]:
        taken, self.requests = self.requests, []
        return taken

    def add_pod(self, namespace: str, pod: dict[str, Any]) -> None:
        self.objects[(namespace, "pods", pod["metadata"]["name"])] = pod

    def handle(self, request: Request) -> tuple[int, Any, str]:
        self.requests.append(request)
        namespace, plural, name, sub = _split(request.path)
        verb = rbac_verb(request)
        if (verb, rbac_resource(plural, sub)) in self.forbidden:
            message = (
                f'{plural} is forbidden: User "system:serviceaccount:dataos:dataos-api" '
                f'cannot {verb} resource "{plural}" in the namespace "{namespace}"'
            )
            return 403, _status(403, "Forbidden", message, {"kind": plural}), "application/json"
        if namespace not in self.namespaces and request.method == "PATCH":
            details = {"name": namespace, "kind": "namespaces"}
            return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found', details), ""
        key = (namespace, plural, name or "")
        if sub == "log":
            if request.query.get("follow") in ("1", "t", "T", "TRUE", "true", "True"):
                lines = self.followed.get((namespace, name or ""), [])
                return 200, "".join(f"{line}\n" for line in lines), "text/plain"
            lines = self.logs.get((namespace, name or ""), [])
            tail = request.query.get("tailLines")
            shown = lines[-int(tail) :] if tail not in (None, "0") else ([] if tail else lines)
            return 200, "".join(f"{line}\n" for line in shown), "text/plain"
        if request.method == "PATCH":
            return self._apply(key, request)
        if request.method == "DELETE":
            if self.objects.pop(key, None) is None:
                return 404, _status(404, "NotFound", f"{plural} {name!r} not found", {}), ""
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}, ""
        if name is None:
            selector = request.query.get("labelSelector")
            items = [
                self._answer(k)
                for k in sorted(self.objects)
                if k[:2] == (namespace, plural)
                and _matches(self.objects[k]["metadata"].get("labels") or {}, selector)
            ]
            kind = _PLURALS[plural][1] + "List"
            listed = {"kind": kind, "apiVersion": _PLURALS[plural][0], "items": items}
            return 200, {**listed, "metadata": {"resourceVersion": str(self._version)}}, ""
        if key not in self.objects:
            return 404, _status(404, "NotFound", f'{plural} "{name}" not found', {}), ""
        return 200, self._answer(key), ""

    def _answer(self, key: tuple[str, str, str]) -> dict[str, Any]:
        answer = json.loads(json.dumps(self.objects[key]))
        if key in self.status:
            answer["status"] = self.status[key]
        return answer

    def _apply(self, key: tuple[str, str, str], request: Request) -> tuple[int, Any, str]:
        if request.content_type != "application/apply-patch+yaml":
            return 415, _status(415, "UnsupportedMediaType", "not an apply patch", {}), ""
        if not request.query.get("fieldManager"):
            message = "PatchOptions.meta.k8s.io is invalid: fieldManager: Required value"
            return 422, _status(422, "Invalid", message, {}), ""
        self._version += 1
        created = key not in self.objects
        body = json.loads(json.dumps(request.body))
        body["metadata"]["resourceVersion"] = str(self._version)
        body["metadata"].setdefault("uid", f"uid-{key[1]}-{key[2]}")
        self.objects[key] = body
        return (201 if created else 200), self._answer(key), ""


def _status(code: int, reason: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


def serve(stand_in: WorkloadApiStandIn) -> Iterator[WorkloadApiStandIn]:
    """Serve ``stand_in`` on a free port of 127.0.0.1 until the generator is closed."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = yaml.safe_load(raw) if raw else None
            request = Request(
                self.command, parts.path, query, self.headers.get("Content-Type"), body
            )
            status, payload, content_type = stand_in.handle(request)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type or "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def api_client(url: str) -> Any:
    """The official client, configured for the stand-in (no credentials: it asks none)."""
    from kubernetes import client  # type: ignore[import-untyped]

    configuration = client.Configuration()
    configuration.host = url
    return client.ApiClient(configuration)
