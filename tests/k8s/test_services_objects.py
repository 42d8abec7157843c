"""The Kubernetes objects of Services and Workers: valid, reviewed, secret-free, fenced.

No Kubernetes API server can run here: the objects are validated offline with
``kubernetes-validate --strict`` (the schemas of the Kubernetes versions of
``k8s_support.K8S_VERSIONS``), reviewed as golden YAML (``UPDATE_GOLDEN=1`` rewrites them), and
their NetworkPolicies evaluated with the kernel's evaluator of the documented semantics
(:mod:`dataos_defs.kernel.netpol`), together with the policies the platform stack renders.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import yaml
from k8s_support import K8S_VERSIONS, validate_strict
from services_support import (
    GOLDEN,
    INTERNAL,
    SECRET_VALUES,
    SERVICE,
    WORKER,
    example_workloads,
    manifest,
    model,
    pools,
)

from dataos_defs.kernel.errors import KernelError
from dataos_defs.kernel.k8s_network import API_LABELS, API_NAME
from dataos_defs.kernel.k8s_objects import render_platform_objects
from dataos_defs.kernel.k8s_workloads import WorkloadSettings, public_path, workload_objects
from dataos_defs.kernel.model import IngressRoute, Namespace
from dataos_defs.kernel.netpol import External, Pod, allowed
from dataos_defs.manifest.registry import RESOURCE_TYPES
from dataos_defs.manifest.service import Service
from dataos_defs.manifest.worker import Worker

SETTINGS = WorkloadSettings(ingress_host="dataos.shop.example.com")
OURS = {"orders-api": SERVICE, "stock-lookup": INTERNAL, "order-events": WORKER}


def _objects(text: str, workspace: str = "shop", revision: int = 7) -> list[dict[str, Any]]:
    return workload_objects(model(text), workspace, revision, pools(), SETTINGS)


def _find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def _check_golden(name: str, objects: list[dict[str, Any]]) -> None:
    path = GOLDEN / f"{name}.yaml"
    text = yaml.safe_dump_all(objects, sort_keys=False, width=100)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path.name} is missing; UPDATE_GOLDEN=1 writes it"
    assert path.read_text() == text, f"{path.name} differs; UPDATE_GOLDEN=1 rewrites it"


@pytest.mark.parametrize("name", sorted(OURS))
def test_objects_are_valid_and_reviewed(name: str) -> None:
    objects = _objects(OURS[name])
    for obj in objects:
        validate_strict(obj)
    _check_golden(f"shop__{name}", objects)


@pytest.mark.parametrize(
    ("name", "document"),
    [pytest.param(name, doc, id=f"{path.name}:{name}") for name, path, doc in example_workloads()],
)
def test_example_workloads_are_valid_and_reviewed(name: str, document: dict[str, Any]) -> None:
    """The Services and Workers of ``resources/`` (the example data product), in ``public``."""
    resource = RESOURCE_TYPES[document["type"]].model_validate(document)
    assert isinstance(resource, Service | Worker)
    objects = workload_objects(resource, "public", 1, pools(), SETTINGS)
    for obj in objects:
        validate_strict(obj)
    _check_golden(f"example__{document['type']}__{name}", objects)


def test_strict_validation_is_in_force() -> None:
    """The validator refuses what the API server refuses (an unknown field)."""
    deployment = _find(_objects(SERVICE), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["probe"] = {}
    with pytest.raises(Exception, match="probe"):
        validate_strict(deployment)
    assert K8S_VERSIONS


def test_a_service_is_a_deployment_service_ingress_autoscaler_and_policy() -> None:
    objects = _objects(SERVICE)
    kinds = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert kinds == [
        ("NetworkPolicy", "orders-api-ingress"),
        ("Service", "orders-api"),
        ("Service", "orders-api-door"),
        ("Ingress", "orders-api"),
        ("HorizontalPodAutoscaler", "orders-api"),
        ("Deployment", "orders-api"),
    ]
    for obj in objects:
        meta = obj["metadata"]
        assert meta["namespace"] == "shop"
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "dataos"
        assert meta["labels"]["dataos.io/workspace"] == "shop"
        assert meta["labels"]["dataos.io/service"] == "orders-api"


def test_the_deployment_rolls_safely_and_runs_restricted() -> None:
    deployment = _find(_objects(SERVICE), "Deployment")
    spec = deployment["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert "replicas" not in spec, "the autoscaler owns replicas"
    assert deployment["metadata"]["annotations"] == {"dataos.io/revision": "7"}
    assert spec["template"]["metadata"]["annotations"] == {"dataos.io/revision": "7"}
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["imagePullSecrets"] == [{"name": "shop-registry"}]
    assert pod["nodeSelector"] == {"dataos.io/workload": "spark"}
    assert pod["tolerations"][0]["key"] == "dataos.io/workload"
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"memory": "512Mi"},
    }
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["tcpSocket"] == {"port": "http"}
    assert [p["containerPort"] for p in container["ports"]] == [8080, 9090]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {
        "/tmp",
        "/var/lib/dataos/workload",
        "/var/cache/orders",
        "/etc/dataos/secrets/orders-tls",
    }


def test_secrets_are_references_only() -> None:
    for text in OURS.values():
        rendered = json.dumps(_objects(text))
        for value in SECRET_VALUES:
            assert value not in rendered
    container = _find(_objects(SERVICE), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert "ORDERS_DB_PASSWORD" not in env, "a secret-named plain env is left out"
    assert env["ORDERS_DB_PASS"]["valueFrom"] == {
        "secretKeyRef": {"name": "orders-db", "key": "ORDERS_DB_PASS"}
    }
    assert container["envFrom"] == [{"secretRef": {"name": "orders-extra"}}]
    assert env["DATAOS_SERVICE"]["value"] == "orders-api"
    assert env["PORT"]["value"] == "8080"
    assert env["DATAOS_PORT_METRICS"]["value"] == "9090"


def test_the_platform_variables_cannot_be_overridden() -> None:
    data = manifest(INTERNAL)
    data["service"]["envs"] = {"DATAOS_WORKSPACE": "someone-else"}
    resource = Service.model_validate(data)
    deployment = _find(workload_objects(resource, "shop", 1, {}, SETTINGS), "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["value"] for e in env if e["name"] == "DATAOS_WORKSPACE"] == ["shop"]


def test_autoscaling_and_fixed_replicas() -> None:
    hpa = _find(_objects(SERVICE), "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "orders-api",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70},
    }
    internal = _objects(INTERNAL)
    assert not [o for o in internal if o["kind"] == "HorizontalPodAutoscaler"]
    assert _find(internal, "Deployment")["spec"]["replicas"] == 1
    requests = _find(internal, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert requests["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}


def test_a_worker_has_no_service_ingress_or_probe() -> None:
    objects = _objects(WORKER)
    assert [o["kind"] for o in objects] == ["NetworkPolicy", "Deployment"]
    deployment = _find(objects, "Deployment")
    assert deployment["metadata"]["name"] == "order-events-worker"
    assert deployment["spec"]["selector"] == {"matchLabels": {"dataos.io/worker": "order-events"}}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "readinessProbe" not in container
    assert "ports" not in container
    policy = _find(objects, "NetworkPolicy")
    assert policy["spec"]["ingress"] == [] and policy["spec"]["policyTypes"] == ["Ingress"]


def test_the_ingress_leads_to_the_api_server_never_to_the_pods() -> None:
    objects = _objects(SERVICE)
    ingress = _find(objects, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "dataos.shop.example.com"
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/shop/orders/api/v1", "served inside the workspace's prefix"
    backend = path["backend"]["service"]
    door = _find(objects, "Service", backend["name"])
    assert door["spec"]["type"] == "ExternalName"
    assert door["spec"]["externalName"] == f"{API_NAME}.dataos.svc.cluster.local"
    assert backend["port"] == {"number": 7400}
    assert "selector" not in door["spec"], "the door selects no pod of the workload"
    assert not [o for o in _objects(INTERNAL) if o["kind"] == "Ingress"]


@pytest.mark.parametrize("path", ["/hello", "/hello/", "/shop/x", "/shop", "/shopping/x"])
def test_the_ingress_path_is_where_the_api_server_serves_it(path: str) -> None:
    from dataos_defs.api.ingress_routing import public_prefix
    from dataos_defs.manifest.service import Ingress

    served, _, _ = public_prefix("shop", "orders-api", Ingress(enabled=True, path=path))
    assert public_path("shop", path) == served


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            {"stack": "beacon+rest:1.0", "stackSpec": {"source": "orders"}},
            "service orders-api: service.stack",
        ),
        ({"servicePorts": [{"name": "Metrics_Port", "servicePort": 9090}]}, "servicePorts[0]"),
        ({"autoScaling": {"minReplicas": 0, "maxReplicas": 2}}, "autoScaling.minReplicas"),
        ({"autoScaling": {"minReplicas": 1}}, "autoScaling.maxReplicas"),
        ({"dataosVolumes": [{"name": "v", "directory": "/data"}]}, "service.dataosVolumes"),
        ({"tempVolume": "scratch"}, "service.tempVolume"),
    ],
)
def test_bad_input_is_a_clear_error(change: dict[str, Any], where: str) -> None:
    data = manifest(SERVICE)
    data["service"].update(change)
    resource = Service.model_validate(data)
    with pytest.raises(KernelError) as raised:
        workload_objects(resource, "shop", 1, pools(), SETTINGS)
    assert where in raised.value.where
    assert raised.value.message


def test_a_reserved_namespace_is_refused() -> None:
    with pytest.raises(KernelError, match="reserved"):
        _objects(INTERNAL, workspace="kube-system")


# --- the fence: only the API server reaches a workload's pods ----------------------------


def _platform_with_shop() -> list[dict[str, Any]]:
    from tests.kernel.netpol_support import example_model

    model = example_model("aws")
    shop = Namespace(
        name="shop",
        workspace="shop",
        labels={"app.kubernetes.io/part-of": "dataos", "dataos.io/workspace": "shop"},
    )
    route = IngressRoute(workspace="shop", service="orders-api", path="/shop/orders", port=8080)
    changed = model.model_copy(
        update={
            "namespaces": tuple(sorted([*model.namespaces, shop], key=lambda ns: ns.name)),
            "ingress_routes": (route,),
        }
    )
    return render_platform_objects(changed)


def _pod_of(obj: dict[str, Any], namespace_labels: dict[str, str]) -> Pod:
    template = obj["spec"]["template"]
    ports = {
        p["name"]: p["containerPort"]
        for c in template["spec"]["containers"]
        for p in c.get("ports", [])
    }
    return Pod(
        obj["metadata"]["namespace"], template["metadata"]["labels"], namespace_labels, None, ports
    )


SHOP_NS = {"app.kubernetes.io/part-of": "dataos", "dataos.io/workspace": "shop"}
API_POD = Pod(
    "dataos",
    {**API_LABELS, "app.kubernetes.io/part-of": "dataos"},
    {"app.kubernetes.io/part-of": "dataos"},
)
INGRESS_POD = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
RUN_POD = Pod(
    "dataos", {"app.kubernetes.io/name": "dagster", "app.kubernetes.io/component": "run_worker"}
)
OTHER_WORKSPACE = Pod("public", {"app": "x"}, {"dataos.io/workspace": "public"})


@pytest.mark.parametrize("with_platform", [True, False], ids=["with-kernel", "alone"])
def test_only_the_api_server_reaches_service_pods(with_platform: bool) -> None:
    service_objects = _objects(SERVICE)
    worker_objects = _objects(WORKER)
    platform = _platform_with_shop() if with_platform else []
    objects = [*platform, *service_objects, *worker_objects]
    service_pod = _pod_of(_find(service_objects, "Deployment"), SHOP_NS)
    worker_pod = _pod_of(_find(worker_objects, "Deployment"), SHOP_NS)
    assert allowed(objects, API_POD, service_pod, 8080)
    for source in (INGRESS_POD, RUN_POD, OTHER_WORKSPACE, worker_pod, External("203.0.113.9")):
        assert not allowed(objects, source, service_pod, 8080), source
    assert not allowed(objects, API_POD, service_pod, 22)
    for source in (API_POD, INGRESS_POD, service_pod, External("203.0.113.9")):
        assert not allowed(objects, source, worker_pod, 8080), source
    if with_platform:
        assert allowed(objects, INGRESS_POD, API_POD, 7400), "the door itself stays open"


def test_the_api_server_reaches_a_service_applied_after_the_platform_stack() -> None:
    objects = [*_platform_with_shop(), *_objects(INTERNAL)]
    service_pod = _pod_of(_find(_objects(INTERNAL), "Deployment"), SHOP_NS)
    assert allowed(objects, API_POD, service_pod, 8000)
