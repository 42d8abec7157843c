"""The Kubernetes objects of the platform stack: valid, reviewed, secret-free, deterministic.

There is no kubernetes provider binary here, so what the platform stack hands to its
``Manifest`` resources is validated as plain manifests with ``kubernetes-validate --strict``
(offline schemas) and reviewed as golden YAML (``UPDATE_SNAPSHOTS=1`` rewrites them).
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Iterator
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from dataos_defs.kernel.k8s_objects import (
    ACME_ISSUER,
    LAUNCHER_SERVICE_ACCOUNT,
    RUNTIME_SECRET,
    render_platform_objects,
)
from dataos_defs.kernel.model import PLATFORM_NAMESPACE, WORKSPACE_LABEL, Dns, IngressRoute, Taint
from tests.kernel.netpol_support import GOLDEN, ROOT, example_model, routed_model

K8S_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
IRSA = {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/dataos-runs"}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL")


def _models() -> list[Any]:
    return [
        pytest.param(build(cloud), id=f"{kind}-{cloud}")
        for cloud in ("aws", "gcp", "azure")
        for kind, build in (("example", example_model), ("routed", routed_model))
    ]


def _find(
    objects: list[dict[str, Any]], kind: str, name: str, namespace: str | None = None
) -> dict[str, Any]:
    for obj in objects:
        meta = obj["metadata"]
        same_namespace = namespace is None or meta.get("namespace") == namespace
        if obj["kind"] == kind and meta["name"] == name and same_namespace:
            return obj
    raise AssertionError(f"no {kind} {namespace}/{name}")


@pytest.mark.parametrize("model", _models())
def test_every_object_passes_strict_validation(model: Any) -> None:
    for obj in render_platform_objects(model, IRSA):
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize(
    ("name", "model", "annotations"),
    [
        ("platform_objects_aws", example_model("aws"), IRSA),
        ("platform_objects_routed_gcp", routed_model("gcp"), {}),
    ],
)
def test_golden(name: str, model: Any, annotations: dict[str, str]) -> None:
    rendered = yaml.safe_dump_all(render_platform_objects(model, annotations), sort_keys=False)
    path = GOLDEN / f"{name}.yaml"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} is missing: run with UPDATE_SNAPSHOTS=1 and review it"
    assert rendered == path.read_text(), f"{path} differs: UPDATE_SNAPSHOTS=1 and review the diff"


def test_rendering_is_deterministic_and_independent() -> None:
    model = routed_model("aws")
    first = render_platform_objects(model)
    again = render_platform_objects(type(model).model_validate_json(model.model_dump_json()))
    assert first == again
    first[0]["metadata"]["labels"]["tampered"] = "yes"
    assert "tampered" not in render_platform_objects(model)[0]["metadata"]["labels"]


def test_order_is_namespaces_then_workloads_then_policies() -> None:
    kinds = [obj["kind"] for obj in render_platform_objects(routed_model("aws"))]
    assert kinds[:4] == ["Namespace"] * 4
    first_policy = kinds.index("NetworkPolicy")
    assert set(kinds[first_policy:]) == {"NetworkPolicy"}
    assert "Namespace" not in kinds[4:]


def _strings(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("model", _models())
def test_no_secret_value_in_any_object(model: Any) -> None:
    objects = render_platform_objects(model, IRSA)
    assert "Secret" not in {obj["kind"] for obj in objects}
    for obj in objects:
        for key, value in _strings(obj):
            assert key != "env", f"{obj['kind']} sets env values; use envFrom references"
            if key == "envFrom":
                refs = [next(iter(ref.values()))["name"] for ref in value]
                assert refs == [RUNTIME_SECRET, "dataos-api"]
            if key == "data":
                assert not [k for k in value if any(w in k.upper() for w in SECRET_WORDS)]
                assert not [v for v in value.values() if "@" in v]


def test_api_server_deployment_is_locked_down() -> None:
    model = example_model("aws")
    objects = render_platform_objects(model)
    deployment = _find(objects, "Deployment", "dataos-api", PLATFORM_NAMESPACE)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == model.images.api
    assert container["ports"] == [
        {"name": "http", "containerPort": model.api_port, "protocol": "TCP"}
    ]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"]
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert pod["serviceAccountName"] == "dataos-api"
    assert pod["nodeSelector"] == {"dataos.io/compute": model.node_group("system").compute}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "dataos-api"
    service = _find(objects, "Service", "dataos-api", PLATFORM_NAMESPACE)
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"][0]["port"] == model.api_port


@pytest.mark.parametrize(
    ("tls", "cert_manager", "has_tls"),
    [("acme", True, True), ("managed", False, True), ("none", False, False)],
)
def test_ingress_is_the_one_door(tls: str, cert_manager: bool, has_tls: bool) -> None:
    base = example_model("aws")
    model = base.model_copy(update={"dns": Dns(api_host="api.example.org", tls_issuer=tls)})
    objects = render_platform_objects(model)
    (ingress,) = [obj for obj in objects if obj["kind"] == "Ingress"]
    assert ingress["spec"]["rules"][0]["host"] == "api.example.org"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "dataos-api", "port": {"name": "http"}}}
    annotations = ingress["metadata"]["annotations"]
    assert (annotations.get("cert-manager.io/cluster-issuer") == ACME_ISSUER) is cert_manager
    assert ("tls" in ingress["spec"]) is has_tls
    if has_tls:
        assert ingress["spec"]["tls"][0]["hosts"] == ["api.example.org"]


def test_launcher_service_account_carries_the_cloud_identity() -> None:
    with_identity = render_platform_objects(example_model("aws"), IRSA)
    account = _find(with_identity, "ServiceAccount", LAUNCHER_SERVICE_ACCOUNT, PLATFORM_NAMESPACE)
    assert account["metadata"]["annotations"] == IRSA
    plain = _find(render_platform_objects(example_model("aws")), "ServiceAccount", "dagster")
    assert "annotations" not in plain["metadata"]


def test_labels_carry_the_workspace() -> None:
    model = routed_model("aws")
    objects = render_platform_objects(model)
    workspace_of = {ns.name: ns.workspace for ns in model.namespaces}
    for obj in objects:
        meta = obj["metadata"]
        name = meta["name"] if obj["kind"] == "Namespace" else meta["namespace"]
        expected = workspace_of[name]
        assert meta["labels"].get(WORKSPACE_LABEL) == expected, (obj["kind"], name)
        assert meta["labels"]["app.kubernetes.io/part-of"] == "dataos"


def test_every_namespace_denies_by_default() -> None:
    model = routed_model("aws")
    objects = render_platform_objects(model)
    for ns in model.namespaces:
        deny = _find(objects, "NetworkPolicy", "default-deny", ns.name)
        assert deny["spec"] == {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [],
        }


def test_dagster_webserver_policies_are_deploy_networkpolicy_yaml() -> None:
    """deploy/dagster/networkpolicy.yaml (kubectl apply by hand) and the kernel agree."""
    deployed = list(yaml.safe_load_all((ROOT / "deploy/dagster/networkpolicy.yaml").read_text()))
    objects = render_platform_objects(example_model("aws"))
    rendered = [_find(objects, "NetworkPolicy", doc["metadata"]["name"]) for doc in deployed]
    assert rendered == deployed


def test_platform_namespace_and_route_namespaces_must_exist() -> None:
    model = routed_model("aws")
    no_platform = tuple(ns for ns in model.namespaces if ns.name != PLATFORM_NAMESPACE)
    with pytest.raises(ValueError, match="'dataos' namespace"):
        render_platform_objects(model.model_copy(update={"namespaces": no_platform}))
    stray = IngressRoute(workspace="gamma", service="x", path="/x", port=80)
    with pytest.raises(ValueError, match="gamma"):
        render_platform_objects(model.model_copy(update={"ingress_routes": (stray,)}))


def test_dagster_chart_matches_the_installed_dagster() -> None:
    """The Helm chart and the code location's image must run the same Dagster version."""
    settings = yaml.safe_load((ROOT / "terraform/kernel.yaml").read_text())
    assert settings["dagsterChart"]["version"] == importlib.metadata.version("dagster")


def test_api_server_tolerates_the_system_pool_taints() -> None:
    model = example_model("aws")
    tainted = model.node_group("system").model_copy(
        update={"taints": (Taint(key="dataos.io/system", effect="NoSchedule"),)}
    )
    others = tuple(g for g in model.node_groups if g.purpose != "system")
    objects = render_platform_objects(model.model_copy(update={"node_groups": (*others, tainted)}))
    pod = _find(objects, "Deployment", "dataos-api")["spec"]["template"]["spec"]
    assert pod["tolerations"] == [
        {"key": "dataos.io/system", "operator": "Exists", "effect": "NoSchedule"}
    ]
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(
            _find(objects, "Deployment", "dataos-api"), version, strict=True
        )
