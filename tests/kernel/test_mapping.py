"""The mapping desired state + settings -> kernel model: snapshots of the example on the three
clouds, each rule of :mod:`dataos_defs.kernel.mapping` and :mod:`dataos_defs.kernel.node_groups`,
its errors, and its determinism."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.kernel.desired import desired_from_files
from dataos_defs.kernel.errors import KernelError
from dataos_defs.kernel.load import load_settings
from dataos_defs.kernel.mapping import build_model
from dataos_defs.kernel.model import (
    CLOUDS,
    COMPUTE_LABEL,
    PLATFORM_NAMESPACE,
    PURPOSE_LABEL,
    WORKSPACE_LABEL,
    Cloud,
    KernelModel,
)
from dataos_defs.manifest.service import Service

from .mapping_support import EXAMPLE_SETTINGS, RESOURCES, compute, desired, service, settings

SNAPSHOTS = Path(__file__).parent / "snapshots"


def render(model: KernelModel) -> str:
    return json.dumps(model.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_example_matches_its_reviewed_snapshot(cloud: Cloud) -> None:
    """Rewrite with ``UPDATE_SNAPSHOTS=1`` after a deliberate change, then review the diff."""
    model = build_model(
        load_settings(EXAMPLE_SETTINGS), cloud, desired_from_files([RESOURCES], recursive=True)
    )
    snapshot = SNAPSHOTS / f"model-{cloud}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(render(model))
    assert render(model) == snapshot.read_text()
    assert KernelModel.model_validate_json(snapshot.read_text()) == model


def test_each_compute_and_the_builtins_get_a_node_group_beside_the_system_one() -> None:
    model = build_model(settings(), "aws", desired([compute("spark", selector={"a": "b"})]))
    assert [(g.name, g.compute, g.purpose) for g in model.node_groups] == [
        ("query-default", "query-default", "query"),
        ("runnable-default", "runnable-default", "runnable"),
        ("spark", "spark", "runnable"),
        ("system", "system", "system"),
    ]
    assert model.node_group("system").labels == {COMPUTE_LABEL: "system", PURPOSE_LABEL: "system"}


def test_a_manifest_named_like_a_builtin_replaces_it() -> None:
    own = compute("runnable-default", selector={"pool": "mine"})
    model = build_model(settings(), "aws", desired([own]))
    assert [g.compute for g in model.node_groups].count("runnable-default") == 1
    assert model.node_group("runnable-default").labels["pool"] == "mine"


def test_sizes_come_from_the_purpose_pool_and_the_overrides_by_compute_name() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodePools"]["computes"]["big"] = {
            "machineType": {"aws": "m7i.8xlarge", "gcp": "n2-standard-32", "azure": "D32"},
            "max": 30,
            "diskGb": 500,
        }

    model = build_model(settings(change), "gcp", desired([compute("big"), compute("small")]))
    big, small = model.node_group("big"), model.node_group("small")
    assert (big.machine_type, big.min_size, big.max_size, big.disk_gb) == (
        "n2-standard-32",
        1,
        30,
        500,
    )
    assert (small.machine_type, small.min_size, small.max_size, small.disk_gb) == (
        "e2-standard-4",
        1,
        10,
        100,
    )
    assert model.node_group("query-default").min_size == 2  # the example's override


def test_an_override_for_a_compute_that_does_not_exist_names_the_key() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodePools"]["computes"]["gpu-trainign"] = {"max": 4}

    with pytest.raises(KernelError) as caught:
        build_model(settings(change), "aws", desired([compute("gpu-training", "gpu")]))
    assert caught.value.where == "nodePools.computes.gpu-trainign"
    assert "no Compute is named 'gpu-trainign'" in caught.value.message
    assert "gpu-training" in str(caught.value.hint)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"runnable": {"min": 5, "max": 3}}, "nodePools.runnable"),
        ({"computes": {"spark": {"min": 20}}}, "nodePools.computes.spark"),
        ({"system": {"min": 4, "max": 3}}, "nodePools.system"),
    ],
)
def test_min_above_max_is_an_error_at_the_key_that_set_it(
    change: dict[str, dict[str, Any]], where: str
) -> None:
    def apply(data: dict[str, Any]) -> None:
        for pool, values in change.items():
            data["nodePools"][pool].update(values)

    with pytest.raises(KernelError, match="is larger than max") as caught:
        build_model(settings(apply), "aws", desired([compute("spark")]))
    assert caught.value.where == where


def test_labels_are_the_node_selector_plus_compute_and_purpose_without_kubernetes_own() -> None:
    selector = {"team": "ml", "kubernetes.io/os": "linux", PURPOSE_LABEL: "gpu"}
    group = build_model(settings(), "aws", desired([compute("train", "gpu", selector)]))
    assert group.node_group("train").labels == {
        COMPUTE_LABEL: "train",
        PURPOSE_LABEL: "gpu",
        "team": "ml",
    }
    assert group.node_group("train").gpu is True
    assert group.node_group("runnable-default").gpu is False


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ({COMPUTE_LABEL: "other"}, "is set by the kernel to 'train'"),
        ({"bad key!": "x"}, "not a valid Kubernetes label or taint key"),
        ({"team": "-no-"}, "not a valid Kubernetes label or taint value"),
    ],
)
def test_a_node_selector_the_nodes_cannot_carry_is_an_error(
    selector: dict[str, str], message: str
) -> None:
    with pytest.raises(KernelError, match=message) as caught:
        build_model(settings(), "aws", desired([compute("train", selector=selector)]))
    assert caught.value.where.startswith("compute train: compute.nodePool.nodeSelector.")


def taints_of(*tolerations: dict[str, Any]) -> list[tuple[str, str, str]]:
    model = build_model(settings(), "aws", desired([compute("c", tolerations=tolerations)]))
    return [(t.key, t.value, t.effect) for t in model.node_group("c").taints]


def test_tolerations_become_the_taints_of_the_compute_nodes() -> None:
    assert taints_of(
        {"key": "a", "operator": "Equal", "value": "x", "effect": "NoExecute"},
        {"key": "b", "operator": "Exists", "effect": "PreferNoSchedule"},
        {"key": "c", "operator": "Equal", "value": "y"},  # every effect: NoSchedule
        {"operator": "Exists"},  # every taint: cannot be one
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    ) == [("a", "x", "NoExecute"), ("b", "", "PreferNoSchedule"), ("c", "y", "NoSchedule")]


def test_an_exists_beside_an_equal_takes_its_value_and_two_values_are_an_error() -> None:
    exists = {"key": "k", "operator": "Exists", "effect": "NoSchedule"}
    equal = {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}
    assert taints_of(exists, equal) == taints_of(equal, exists) == [("k", "v", "NoSchedule")]
    other = {**equal, "value": "w"}
    with pytest.raises(KernelError, match="values v, w") as caught:
        taints_of(equal, other)
    assert caught.value.where == "compute c: compute.nodePool.tolerations[1]"


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        ("aws", "runnable-default"),
        ("gcp", "runnable-default"),
        ("azure", "runnab22d039"),
    ],
)
def test_node_group_names_are_safe_for_each_cloud(cloud: Cloud, expected: str) -> None:
    model = build_model(settings(), cloud, desired())
    assert model.node_group("runnable-default").name == expected
    assert model.node_group("system").name == "system"


def test_long_names_cut_to_one_prefix_still_get_their_own_groups() -> None:
    stem = "a-very-long-compute-name-for-the-analytics-tea"
    computes = [compute(f"{stem}m1"), compute(f"{stem}m2")]
    for cloud in CLOUDS:
        names = [g.name for g in build_model(settings(), cloud, desired(computes)).node_groups]
        assert len(set(names)) == len(names) == 5
        assert all(len(name) <= (12 if cloud == "azure" else 40) for name in names)


def test_system_is_not_a_compute_name() -> None:
    with pytest.raises(KernelError, match="reserved for the platform") as caught:
        build_model(settings(), "aws", desired([compute("system")]))
    assert caught.value.where == "compute system"


def test_a_namespace_per_workspace_public_always_and_the_platform_own() -> None:
    def change(data: dict[str, Any]) -> None:
        data["workspaces"] = ["sandbox"]

    model = build_model(settings(change), "aws", desired(workspaces=["shop"]))
    assert [(ns.name, ns.workspace) for ns in model.namespaces] == [
        (PLATFORM_NAMESPACE, None),
        ("public", "public"),
        ("sandbox", "sandbox"),
        ("shop", "shop"),
    ]
    shop = model.namespaces[-1]
    assert shop.labels == {WORKSPACE_LABEL: "shop", "app.kubernetes.io/part-of": "dataos"}
    assert model.namespaces[0].labels == {"app.kubernetes.io/part-of": "dataos"}
    assert model.workspaces() == ["public", "sandbox", "shop"]


@pytest.mark.parametrize("workspace", ["default", "dataos", "kube-system", "kube-anything"])
def test_a_workspace_named_like_a_reserved_namespace_is_an_error(workspace: str) -> None:
    with pytest.raises(KernelError, match=f"namespace '{workspace}', which is reserved") as caught:
        build_model(settings(), "aws", desired(workspaces=[workspace]))
    assert caught.value.where == f"workspace {workspace}"
    assert "move these Resources to another workspace" in str(caught.value)


def test_a_settings_workspace_is_checked_like_a_workspace_name() -> None:
    def change(data: dict[str, Any]) -> None:
        data["workspaces"] = ["ok", "Not_OK"]

    with pytest.raises(KernelError, match="'Not_OK' is not a workspace name") as caught:
        build_model(settings(change), "aws", desired())
    assert caught.value.where == "workspaces[1]"


def test_services_with_an_enabled_ingress_get_routes_to_their_port() -> None:
    services = [
        ("shop", service("orders", "/orders/api/v1", port=8080)),
        ("shop", service("metrics", "/metrics", port=None, ports=(9090, 9091))),
        ("shop", service("hidden", "/hidden", enabled=False)),
        ("public", service("plain")),
    ]
    routes = build_model(settings(), "aws", desired(services=services)).ingress_routes
    assert [(r.workspace, r.service, r.path, r.port, r.strip_path) for r in routes] == [
        ("shop", "metrics", "/metrics", 9090, True),
        ("shop", "orders", "/orders/api/v1", 8080, True),
    ]


def test_an_ingress_without_a_port_is_an_error() -> None:
    services = [("shop", service("orders", "/orders", port=None))]
    with pytest.raises(KernelError, match="listens on no port") as caught:
        build_model(settings(), "aws", desired(services=services))
    assert caught.value.where == "service shop/orders: service.ingress"


def test_each_workspace_may_have_its_own_ingress_path() -> None:
    """The API server serves ``ingress.path`` inside its workspace: ``/a/orders`` and
    ``/b/orders`` are two public paths, as admission and the ingress see them."""
    services = [("b", service("two", "/orders/")), ("a", service("one", "/orders"))]
    routes = build_model(settings(), "aws", desired(services=services)).ingress_routes
    assert [(r.workspace, r.service, r.path) for r in routes] == [
        ("a", "one", "/orders"),
        ("b", "two", "/orders/"),
    ]


@pytest.mark.parametrize(
    ("first", "second", "where"),
    [
        (service("one", "/orders"), service("two", "/orders/"), "/shop/orders"),
        (service("one", "/shop/orders"), service("two", "/orders"), "/shop/orders"),
        (service("one", "/orders"), service("two", "/orders/v1"), "/shop/orders/v1"),
        (service("orders"), service("two", "/orders"), "/shop/orders"),
    ],
    ids=["same-path", "prefixed-and-not", "nested", "a-default-path"],
)
def test_two_services_of_one_workspace_sharing_a_public_path_is_an_error_naming_both(
    first: Service, second: Service, where: str
) -> None:
    services = [("shop", first), ("shop", second)]
    with pytest.raises(KernelError) as caught:
        build_model(settings(), "aws", desired(services=services))
    message = caught.value.message
    assert f"service shop/{first.name}" in message and f"service shop/{second.name}" in message
    assert where in message and "share a public path" in message
    assert "public path of its own" in str(caught.value.hint)


def test_subnets_are_carved_from_the_range_a_private_and_a_public_one_per_zone() -> None:
    network = build_model(settings(), "gcp", desired()).network
    assert network.zones == ("europe-west1-b", "europe-west1-c", "europe-west1-d")
    assert network.private_subnets == ("10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19")
    assert network.public_subnets == ("10.40.96.0/19", "10.40.128.0/19", "10.40.160.0/19")


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.40.0.0/22", "too small for 6 subnets"),
        ("10.40.0.0/33", "not a network range"),
        ("10.40.0.1/16", "has host bits set"),
        ("fd00::/48", "is not IPv4"),
    ],
)
def test_a_range_that_cannot_hold_the_subnets_is_an_error(cidr: str, message: str) -> None:
    def change(data: dict[str, Any]) -> None:
        data["network"]["cidr"] = cidr

    with pytest.raises(KernelError, match=message) as caught:
        build_model(settings(change), "aws", desired())
    assert caught.value.where == "network.cidr"


def test_region_and_project_come_from_the_chosen_cloud_section() -> None:
    where = {c: build_model(settings(), c, desired()) for c in CLOUDS}
    assert (where["aws"].region, where["aws"].project) == ("eu-west-1", None)
    assert (where["gcp"].region, where["gcp"].project) == ("europe-west1", "dataos-example")
    assert (where["azure"].region, where["azure"].project) == ("westeurope", "dataos")
    assert where["azure"].network.zones == ("1", "2", "3")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_missing_cloud_section_names_the_key_to_add(cloud: Cloud) -> None:
    with pytest.raises(KernelError, match=f"no '{cloud}' section") as caught:
        build_model(settings(lambda data: data.pop(cloud)), cloud, desired())
    assert caught.value.where == cloud
    assert f"e.g. {cloud}: {{" in str(caught.value.hint)


def test_duplicate_zones_are_an_error() -> None:
    def change(data: dict[str, Any]) -> None:
        data["aws"]["zones"] = ["eu-west-1a", "eu-west-1a"]

    with pytest.raises(KernelError, match="listed twice"):
        build_model(settings(change), "aws", desired())


def test_storage_database_and_charts_follow_the_cluster_name() -> None:
    example = settings()
    model = build_model(example, "aws", desired())
    assert (model.buckets.warehouse, model.buckets.history) == (
        "dataos-warehouse",
        "dataos-history",
    )
    assert model.database.password_secret == "dataos-database"
    assert model.database.instance_class == "db.t4g.medium"
    assert (model.dagster.release, model.dagster.chart, model.dagster.version) == (
        "dagster",
        "dagster",
        example.dagsterChart.version,
    )
    assert model.trino is not None and (model.trino.chart.release, model.trino.workers) == (
        "trino",
        2,
    )
    assert build_model(settings(lambda d: d.pop("trino")), "aws", desired()).trino is None
    assert model.tags == {"app": "dataos"}


def test_bucket_names_and_tags_from_the_settings_win() -> None:
    def change(data: dict[str, Any]) -> None:
        data["buckets"] = {"warehouse": "acme-lake"}
        data["tags"] = {"team": "data", "cost-center": "42"}

    model = build_model(settings(change), "gcp", desired())
    assert (model.buckets.warehouse, model.buckets.history) == ("acme-lake", "dataos-history")
    assert list(model.tags.items()) == [("cost-center", "42"), ("team", "data")]


def test_the_api_host_defaults_to_dataos_dot_domain_and_tls_needs_what_it_needs() -> None:
    assert build_model(settings(), "aws", desired()).dns.api_host == "dataos.dataos.example.com"

    def without_domain(data: dict[str, Any]) -> None:
        data["dns"].pop("domain")

    with pytest.raises(KernelError, match="needs a host name") as caught:
        build_model(settings(without_domain), "aws", desired())
    assert caught.value.where == "dns.domain"

    def without_email(data: dict[str, Any]) -> None:
        data["dns"].pop("acmeEmail")

    with pytest.raises(KernelError, match="contact address") as caught:
        build_model(settings(without_email), "aws", desired())
    assert caught.value.where == "dns.acmeEmail"


def test_a_remote_state_backend_needs_its_bucket_and_s3_defaults_to_the_aws_region() -> None:
    def s3(data: dict[str, Any]) -> None:
        data["state"] = {"backend": "s3", "bucket": "tf-state"}

    state = build_model(settings(s3), "aws", desired()).state
    assert (state.kind, state.bucket, state.region) == ("s3", "tf-state", "eu-west-1")

    def azurerm(data: dict[str, Any]) -> None:
        data["state"] = {"backend": "azurerm", "bucket": "tfstate", "resourceGroup": "rg"}

    with pytest.raises(KernelError, match="needs 'storageAccount'") as caught:
        build_model(settings(azurerm), "azure", desired())
    assert caught.value.where == "state.storageAccount"


def test_shuffled_desired_state_gives_the_same_model() -> None:
    computes = [compute(f"c{n}", selector={f"k{n}": "v", "a": "b"}) for n in range(12)]
    services = [(f"w{n % 3}", service(f"s{n}", f"/s{n}")) for n in range(12)]
    spaces = [f"w{n}" for n in range(6)]
    first = build_model(settings(), "aws", desired(computes, services, spaces))
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(computes)
        rng.shuffle(services)
        rng.shuffle(spaces)
        again = build_model(settings(), "aws", desired(computes, services, spaces))
        assert render(again) == render(first)
    assert [g.name for g in first.node_groups] == sorted(g.name for g in first.node_groups)


def test_pod_and_service_ranges_default_outside_the_vpc_and_can_be_set() -> None:
    network = build_model(settings(), "gcp", desired()).network
    assert (network.pods_cidr, network.services_cidr) == ("10.244.0.0/14", "10.96.0.0/20")

    def own_ranges(data: dict[str, Any]) -> None:
        data["network"].update(podsCidr="100.64.0.0/14", servicesCidr="100.68.0.0/20")

    network = build_model(settings(own_ranges), "azure", desired()).network
    assert (network.pods_cidr, network.services_cidr) == ("100.64.0.0/14", "100.68.0.0/20")


@pytest.mark.parametrize(
    ("network", "where", "message"),
    [
        ({"cidr": "10.0.0.0/8"}, "network.podsCidr", "overlaps network.cidr"),
        ({"servicesCidr": "10.40.128.0/20"}, "network.servicesCidr", "overlaps network.cidr"),
        (
            {"podsCidr": "100.64.0.0/14", "servicesCidr": "100.65.0.0/20"},
            "network.servicesCidr",
            "overlaps network.podsCidr",
        ),
        ({"podsCidr": "100.64.0.0/22"}, "network.podsCidr", "too small"),
        ({"servicesCidr": "100.64.0.0/25"}, "network.servicesCidr", "too small"),
        ({"podsCidr": "fd00::/48"}, "network.podsCidr", "not IPv4"),
        ({"servicesCidr": "10.96.0.1/20"}, "network.servicesCidr", "not a network range"),
    ],
)
def test_overlapping_or_small_cluster_ranges_are_refused(
    network: dict[str, str], where: str, message: str
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["network"].update(network)

    with pytest.raises(KernelError, match=message) as caught:
        build_model(settings(change), "gcp", desired())
    assert caught.value.where == where
    assert caught.value.hint


def test_managed_tls_is_refused_with_the_alternatives() -> None:
    def managed(data: dict[str, Any]) -> None:
        data["dns"]["tls"] = "managed"

    with pytest.raises(KernelError, match="managed certificate") as caught:
        build_model(settings(managed), "aws", desired())
    assert caught.value.where == "dns.tls"
    assert "acme" in (caught.value.hint or "")
    assert "none" in (caught.value.hint or "")
