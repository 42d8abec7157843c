"""The Kubernetes applier of Services and Workers against the documented API contract.

No Kubernetes API server can run here: the real ``kubernetes`` client talks to
:class:`services_support.WorkloadApiStandIn` on 127.0.0.1, which answers as the Kubernetes API
reference documents server-side apply, get, list, delete and pod logs, and records every
request. The tests check the wire form of each call (method, path, ``fieldManager``,
``force``, content type, body), that every applied body passes ``kubernetes-validate
--strict``, that the kernel's Role grants exactly the verbs used, and how the runtime reads
the documented Deployment and Pod status shapes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from k8s_support import validate_strict, write_kubeconfig
from services_support import (
    INTERNAL,
    SERVICE,
    WORKER,
    Request,
    WorkloadApiStandIn,
    api_client,
    pools,
    rbac_resource,
    rbac_verb,
    serve,
    stored,
)

from dataos_defs.adapters.k8s_workloads import (
    KubernetesError,
    KubernetesWorkloads,
    settings_from_env,
)
from dataos_defs.kernel.k8s_rbac import ROLE_NAME, WORKLOAD_RULES
from dataos_defs.kernel.k8s_workloads import workload_objects
from dataos_defs.manifest.registry import RESOURCE_TYPES
from dataos_defs.manifest.service import Service
from dataos_defs.manifest.worker import Worker
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.workloads import Endpoint

AUTOSCALING = "autoScaling: {minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70}"
FIXED = SERVICE.replace(AUTOSCALING, "")
"""The Service with two fixed replicas (no autoscaler)."""
GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
PLURALS = {
    "Deployment": "deployments",
    "Service": "services",
    "Ingress": "ingresses",
    "NetworkPolicy": "networkpolicies",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
}
PREFIXES = {
    "Deployment": "/apis/apps/v1",
    "Service": "/api/v1",
    "Ingress": "/apis/networking.k8s.io/v1",
    "NetworkPolicy": "/apis/networking.k8s.io/v1",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2",
}


@pytest.fixture
def stand_in() -> Iterator[WorkloadApiStandIn]:
    yield from serve(WorkloadApiStandIn())


@pytest.fixture
def workloads(stand_in: WorkloadApiStandIn) -> Iterator[KubernetesWorkloads]:
    runtime = KubernetesWorkloads(
        api_client(stand_in.url), pools=pools, workspaces=lambda: ["shop", "public"]
    )
    yield runtime
    runtime.close()


def _path(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    plural = PLURALS[obj["kind"]]
    return f"{PREFIXES[obj['kind']]}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"


def _expected(text: str, revision: int = 1) -> list[dict[str, Any]]:
    resource = stored(text, revision=revision)
    model = RESOURCE_TYPES[resource.kind].model_validate(resource.manifest)
    assert isinstance(model, Service | Worker)
    return workload_objects(model, "shop", revision, pools(), settings_from_env({}))


def _patches(requests: list[Request]) -> list[Request]:
    return [r for r in requests if r.method == "PATCH"]


def test_every_object_is_server_side_applied(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    errors = workloads.sync([stored(SERVICE), stored(WORKER)])
    assert errors == {}
    patches = _patches(stand_in.take())
    expected = [*_expected(SERVICE), *_expected(WORKER)]
    assert [p.path for p in patches] == [_path(o) for o in expected]
    for patch, obj in zip(patches, expected, strict=True):
        assert patch.content_type == "application/apply-patch+yaml"
        assert patch.query["fieldManager"] == "dataos"
        assert patch.query["force"] in GO_TRUE, "the API server parses it with strconv.ParseBool"
        assert set(patch.query) == {"fieldManager", "force"}
        assert patch.body == obj
        validate_strict(patch.body)


def test_a_second_pass_applies_again_and_deletes_nothing(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    workloads.sync([stored(SERVICE)])
    stand_in.take()
    workloads.sync([stored(SERVICE)])
    requests = stand_in.take()
    assert not [r for r in requests if r.method == "DELETE"]
    assert len(_patches(requests)) == len(_expected(SERVICE))


def test_what_is_no_longer_desired_is_deleted(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    kernel_policy = ("shop", "networkpolicies", "default-deny")
    stand_in.objects[kernel_policy] = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "labels": {"app.kubernetes.io/part-of": "dataos"}},
    }
    workloads.sync([stored(SERVICE), stored(WORKER)])
    without_ingress = FIXED.replace("enabled: true", "enabled: false")
    stand_in.take()
    workloads.sync([stored(without_ingress, revision=2)])
    deleted = sorted(r.path for r in stand_in.take() if r.method == "DELETE")
    assert deleted == [
        "/api/v1/namespaces/shop/services/orders-api-door",
        "/apis/apps/v1/namespaces/shop/deployments/order-events-worker",
        "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/orders-api",
        "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/orders-api",
        "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/order-events-worker-ingress",
    ]
    assert kernel_policy in stand_in.objects, "objects the applier does not manage stay"
    applied = stand_in.objects[("shop", "deployments", "orders-api")]
    assert applied["spec"]["replicas"] == 2, "without an autoscaler the Deployment has replicas"


def test_a_manifest_that_cannot_run_is_reported_and_its_objects_kept(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    workloads.sync([stored(INTERNAL)])
    broken = INTERNAL.replace("stack: container", "stack: beacon+rest:1.0").replace(
        "image: registry.example.com/shop/stock:2.0", "source: stock"
    )
    errors = workloads.sync([stored(broken, revision=2)])
    assert "stack 'beacon+rest:1.0' has no image" in errors[("service", "shop", "stock-lookup")]
    assert ("shop", "deployments", "stock-lookup") in stand_in.objects
    runtime = workloads.runtime("service", "shop", "stock-lookup")
    assert runtime is not None and runtime.reason is not None and "no image" in runtime.reason


def test_a_refusal_names_the_missing_permission(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    stand_in.forbidden.add(("patch", "horizontalpodautoscalers.autoscaling"))
    errors = workloads.sync([stored(SERVICE)])
    message = errors[("service", "shop", "orders-api")]
    assert "may not patch horizontalpodautoscalers.autoscaling in namespace shop" in message
    assert ROLE_NAME in message
    runtime = workloads.runtime("service", "shop", "orders-api")
    assert runtime is not None and runtime.reason == message
    assert runtime.summary == "pending"


def test_a_missing_namespace_says_so(workloads: KubernetesWorkloads) -> None:
    errors = workloads.sync([stored(INTERNAL, workspace="sales")])
    assert "namespace sales does not exist" in errors[("service", "sales", "stock-lookup")]


def test_the_kernel_role_grants_exactly_what_the_applier_uses(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    workloads.sync([stored(SERVICE), stored(WORKER)])
    _ready_deployment(stand_in)
    workloads.runtime("service", "shop", "orders-api")
    workloads.endpoints("shop", "orders-api")
    workloads.logs("service", "shop", "orders-api", None, 10)
    workloads.sync([stored(WORKER)])
    used = {(rbac_verb(r), _resource(r)) for r in stand_in.take()}
    granted = {
        (verb, f"{res}.{group}" if group and "/" not in res else res)
        for rule in WORKLOAD_RULES
        for group in rule["apiGroups"]
        for res in rule["resources"]
        for verb in rule["verbs"]
    }
    assert used <= granted, used - granted
    kinds_used = {resource for _, resource in used}
    kinds_granted = {resource for _, resource in granted} - {"pods.metrics.k8s.io"}
    assert kinds_granted == kinds_used, "PodMetrics are read by Caretaker, the rest here"


def _resource(request: Request) -> str:
    parts = request.path.strip("/").split("/")
    at = parts.index("namespaces")
    sub = parts[at + 4] if len(parts) > at + 4 else None
    return rbac_resource(parts[at + 2], sub)


def _pod(name: str, state: str, revision: int = 1, **status: Any) -> dict[str, Any]:
    labels = {"app.kubernetes.io/managed-by": "dataos", "dataos.io/service": "orders-api"}
    container = {"name": "service", "ports": [{"name": "http", "containerPort": 8080}]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": labels,
            "annotations": {"dataos.io/revision": str(revision)},
        },
        "spec": {"containers": [container]},
        "status": {"phase": state, "podIP": "10.244.1.7", **status},
    }


def _ready_deployment(stand_in: WorkloadApiStandIn) -> None:
    stand_in.status[("shop", "deployments", "orders-api")] = {
        "replicas": 3,
        "readyReplicas": 1,
        "conditions": [
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
        ],
    }
    ready: dict[str, Any] = {"conditions": [{"type": "Ready", "status": "True"}]}
    stand_in.add_pod("shop", _pod("orders-api-7d9f-a", "Running", **ready))
    stand_in.logs[("shop", "orders-api-7d9f-a")] = ["one", "two", "three"]


def test_runtime_reads_deployment_and_pod_status(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    assert workloads.runtime("service", "shop", "orders-api") is None
    workloads.sync([stored(FIXED, revision=4)])
    _ready_deployment(stand_in)
    crashing = {
        "containerStatuses": [
            {
                "name": "service",
                "restartCount": 5,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}},
            }
        ],
        "startTime": "2026-01-01T10:00:00Z",
    }
    stand_in.add_pod("shop", _pod("orders-api-7d9f-b", "Running", revision=4, **crashing))
    unschedulable = {
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available",
            }
        ]
    }
    stand_in.add_pod("shop", _pod("orders-api-7d9f-c", "Pending", revision=4, **unschedulable))
    pulling = {
        "containerStatuses": [
            {
                "name": "service",
                "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}},
            }
        ]
    }
    stand_in.add_pod("shop", _pod("orders-api-7d9f-d", "Pending", revision=4, **pulling))
    runtime = workloads.runtime("service", "shop", "orders-api")
    assert runtime is not None
    assert (runtime.revision, runtime.desired) == (4, 2)
    states = {r.name: (r.state, r.revision, r.restarts, r.reason) for r in runtime.replicas}
    assert states == {
        "orders-api-7d9f-a": ("ready", 1, 0, None),
        "orders-api-7d9f-b": ("crashloop", 4, 5, "CrashLoopBackOff: exited with code 3 (Error)"),
        "orders-api-7d9f-c": ("pending", 4, 0, "0/3 nodes are available"),
        "orders-api-7d9f-d": ("failed", 4, 0, "ImagePullBackOff: not found"),
    }
    crashed = next(r for r in runtime.replicas if r.name == "orders-api-7d9f-b")
    assert crashed.exit_code == 3 and crashed.started_at is not None
    assert crashed.ports == {"http": 8080} and crashed.host == "10.244.1.7"
    assert runtime.summary == "failed", "no replica of revision 4 is ready, one crash-loops"


def test_endpoints_are_the_cluster_service_once_a_replica_is_ready(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    workloads.sync([stored(SERVICE)])
    assert workloads.endpoints("shop", "orders-api") == []
    _ready_deployment(stand_in)
    host = "orders-api.shop.svc.cluster.local"
    assert workloads.endpoints("shop", "orders-api") == [Endpoint("orders-api", host, 8080)]
    assert workloads.endpoints("shop", "orders-api", "metrics") == [
        Endpoint("orders-api", host, 9090)
    ]
    assert workloads.endpoints("shop", "orders-api", "admin") == []
    assert workloads.endpoints("shop", "nothing-here") == []


def test_logs_tail_and_follow_a_replica(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    workloads.sync([stored(SERVICE)])
    _ready_deployment(stand_in)
    stand_in.take()
    assert workloads.logs("service", "shop", "orders-api", None, 2) == ["two", "three"]
    (log_request,) = [r for r in stand_in.take() if r.path.endswith("/log")]
    assert log_request.path == "/api/v1/namespaces/shop/pods/orders-api-7d9f-a/log"
    assert log_request.query == {"container": "service", "tailLines": "2"}
    assert workloads.logs("service", "shop", "orders-api", "orders-api-7d9f-a", -1) == [
        "one",
        "two",
        "three",
    ]
    stand_in.followed[("shop", "orders-api-7d9f-a")] = ["four", "five"]
    assert list(workloads.follow("service", "shop", "orders-api", None)) == ["four", "five"]
    (follow_request,) = [r for r in stand_in.take() if r.path.endswith("/log")][-1:]
    assert follow_request.query["follow"] in GO_TRUE and follow_request.query["tailLines"] == "0"
    with pytest.raises(LookupError, match="no replica 'elsewhere'"):
        workloads.logs("service", "shop", "orders-api", "elsewhere", 5)


def test_from_env_reconciles_in_the_background(
    stand_in: WorkloadApiStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The factory's path: ``from_env(store)`` with ``$KUBECONFIG`` (not in a cluster)."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", stand_in.url)))

    class Store:
        def list(self, kind: str) -> list[StoredResource]:
            assert kind == "compute"
            return []

        def list_workspaces(self) -> Sequence[StoredResource]:
            return []

    runtime = KubernetesWorkloads.from_env(Store(), {"DATAOS_API_HOST": "dataos.example.com"})
    try:
        runtime.reconcile([stored(INTERNAL)])
        deadline = time.monotonic() + 10
        while ("shop", "deployments", "stock-lookup") not in stand_in.objects:
            assert time.monotonic() < deadline, "the background pass never applied"
            time.sleep(0.05)
    finally:
        runtime.close()
    assert runtime.settings.ingress_host == "dataos.example.com"


def test_reads_the_api_server_refuses_are_explained_not_raised(
    stand_in: WorkloadApiStandIn, workloads: KubernetesWorkloads
) -> None:
    workloads.sync([stored(SERVICE)])
    _ready_deployment(stand_in)
    stand_in.forbidden.add(("get", "deployments.apps"))
    runtime = workloads.runtime("service", "shop", "orders-api")
    assert runtime is not None and runtime.replicas == ()
    assert runtime.reason is not None
    assert "may not get deployments.apps in namespace shop" in runtime.reason
    assert workloads.endpoints("shop", "orders-api") == []


def test_without_a_cluster_configuration_the_error_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(KubernetesError, match="KUBECONFIG"):
        KubernetesWorkloads.from_env(object())
