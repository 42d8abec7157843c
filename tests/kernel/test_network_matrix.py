"""The zero-trust network matrix: who may open which port on whom, from the rendered policies.

Every pod below carries the labels its real owner gives it (the Dagster chart, dagster-k8s,
the Trino chart, ingress-nginx, the API server's Deployment), not the labels the policies
select on; the intended matrix is written out by hand. For every source x destination x port
the evaluator's answer over the rendered NetworkPolicies must equal the table: what is not in
it is denied. The evaluator itself is tested first on hand-written policies, and with
hypothesis properties, so that the matrix cannot pass against an evaluator that allows or
denies everything.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from dataos_defs.kernel.k8s_objects import render_platform_objects
from dataos_defs.kernel.model import Cloud, Dns
from dataos_defs.kernel.netpol import External, Pod, allowed
from tests.kernel.netpol_support import routed_model

API_PORT = 7400
DAGSTER = {"app.kubernetes.io/name": "dagster", "app.kubernetes.io/instance": "dagster"}
K8S_JOB = {**DAGSTER, "app.kubernetes.io/part-of": "dagster", "app.kubernetes.io/version": "1"}


def _ns(name: str, workspace: bool = False) -> dict[str, str]:
    labels = {"app.kubernetes.io/part-of": "dataos"}
    return {**labels, "dataos.io/workspace": name} if workspace else labels


_POD_IPS = (f"10.40.200.{n}" for n in itertools.count(1))
"""Pods get addresses in the VPC range, as on EKS (VPC CNI): the ipBlock rules for the
database and the Kubernetes API then match pods too, and must not open them."""


def _dataos(**labels: str) -> Pod:
    return Pod("dataos", labels, _ns("dataos"), ip=next(_POD_IPS))


def _in(namespace: str, **labels: str) -> Pod:
    return Pod(namespace, labels, _ns(namespace, workspace=True), ip=next(_POD_IPS))


PODS: dict[str, Pod] = {
    "api": _dataos(
        **{"app.kubernetes.io/name": "dataos-api", "app.kubernetes.io/part-of": "dataos"}
    ),
    "webserver": _dataos(**DAGSTER, component="dagster-webserver"),
    "webserver-ro": _dataos(**DAGSTER, component="dagster-webserver-read-only"),
    "daemon": _dataos(**DAGSTER, component="dagster-daemon"),
    "code": _dataos(
        **{**DAGSTER, "app.kubernetes.io/name": "dagster-user-deployments"},
        component="user-deployments",
        deployment="dataos",
    ),
    "run": _dataos(
        **K8S_JOB, **{"app.kubernetes.io/component": "run_worker", "dataos.io/platform": "dataos"}
    ),
    "step": _dataos(
        **K8S_JOB,
        **{
            "app.kubernetes.io/component": "step_worker",
            "dagster/op": "load",
            "dataos.io/platform": "dataos",
        },
    ),
    "container": _dataos(**K8S_JOB, **{"dataos.io/platform": "dataos"}),
    "coordinator": _dataos(
        **{
            "app.kubernetes.io/name": "trino",
            "app.kubernetes.io/instance": "trino",
            "app.kubernetes.io/component": "coordinator",
        }
    ),
    "worker": _dataos(
        **{
            "app.kubernetes.io/name": "trino",
            "app.kubernetes.io/instance": "trino",
            "app.kubernetes.io/component": "worker",
        }
    ),
    "solver": _dataos(
        **{
            "acme.cert-manager.io/http01-solver": "true",
            "acme.cert-manager.io/http-domain": "1234567890",
            "acme.cert-manager.io/http-token": "987654321",
        }
    ),
    "stray": _dataos(app="debug"),
    "public-app": _in("public", app="notebook"),
    "alpha-shop": _in("alpha", **{"dataos.io/service": "shop"}),
    "alpha-app": _in("alpha", app="worker"),
    "beta-maps": _in("beta", **{"dataos.io/service": "maps"}),
    "beta-shop": _in("beta", **{"dataos.io/service": "shop"}),
}
"""Pods of the namespaces the platform manages (each is a source and a destination)."""

OUTSIDE: dict[str, Pod] = {
    "ingress": Pod(
        "ingress-nginx",
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    ),
    "kube-dns": Pod("kube-system", {"k8s-app": "kube-dns"}),
    "outsider": Pod("default", {"app": "anything"}),
}
"""Pods of namespaces the platform does not manage: unrestricted on their own side."""

EXTERNAL: dict[str, External] = {
    "vpc": External("10.40.3.7"),  # the database, the Kubernetes API's endpoints on EKS
    "public": External("52.218.64.10"),  # object storage, cloud APIs
    "peered": External("192.168.10.4"),  # another private network
    "metadata": External("169.254.169.254"),
    "gke-metadata": External("169.254.169.252"),
}

PORTS = [(53, "UDP"), (53, "TCP"), (22, "TCP"), (80, "TCP"), (443, "TCP"), (988, "TCP")]
PORTS += [(p, "TCP") for p in (3030, 5432, API_PORT, 8000, 8001, 8080, 8089, 9000)]

WORKSPACE_PODS = ("public-app", "alpha-shop", "alpha-app", "beta-maps", "beta-shop")
MANAGED = tuple(PODS)
IDENTITY = ("api", "code", "run", "step", "coordinator", "worker")
"""Pods holding the cloud identity: on GKE they fetch tokens from the metadata server."""


def _intended(cloud: str) -> set[tuple[str, str, int, str]]:
    """(source, destination, port, protocol) the platform needs; everything else is denied."""
    tcp: list[tuple[str, str, int]] = [
        ("ingress", "api", API_PORT),
        ("api", "webserver", 80),
        ("api", "webserver-ro", 80),
        ("api", "vpc", 443),
        ("api", "vpc", 5432),
        ("api", "public", 443),
        ("api", "coordinator", 8080),
        ("api", "alpha-shop", 8000),
        ("api", "alpha-shop", 8001),
        ("api", "beta-maps", 9000),
        ("code", "vpc", 5432),
        ("code", "public", 443),
        ("container", "public", 443),
        ("container", "api", API_PORT),
        ("coordinator", "worker", 8080),
        ("worker", "coordinator", 8080),
        ("ingress", "solver", 8089),  # Let's Encrypt's HTTP-01 challenge (TLS by ACME)
    ]
    for source in ("webserver", "webserver-ro", "daemon"):
        tcp += [(source, "code", 3030), (source, "vpc", 5432)]
    tcp += [("webserver", "vpc", 443), ("daemon", "vpc", 443)]
    for source in ("run", "step"):
        tcp += [(source, "vpc", 5432), (source, "public", 443), (source, "api", API_PORT)]
        tcp += [(source, "vpc", 443), (source, "coordinator", 8080)]
    for source in ("coordinator", "worker"):
        tcp += [(source, "api", API_PORT), (source, "vpc", 5432), (source, "public", 443)]
    tcp += [(source, "api", API_PORT) for source in WORKSPACE_PODS]
    if cloud == "gcp":
        tcp += [(s, "metadata", 80) for s in IDENTITY] + [
            (s, "gke-metadata", 988) for s in IDENTITY
        ]
    intended = {(s, d, p, "TCP") for s, d, p in tcp}
    for source, protocol in itertools.product(MANAGED, ("UDP", "TCP")):
        intended.add((source, "kube-dns", 53, protocol))
    return intended


def _cases() -> list[tuple[str, str]]:
    """Managed pods to everything; unmanaged pods to the managed ones (their own egress is
    not the platform's to restrict)."""
    destinations = [*PODS, *OUTSIDE, *EXTERNAL]
    pairs = [(s, d) for s in PODS for d in destinations if s != d]
    pairs += [(s, d) for s in OUTSIDE for d in PODS]
    return pairs


def _endpoint(name: str) -> Pod | External:
    return PODS.get(name) or OUTSIDE.get(name) or EXTERNAL[name]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_the_rendered_policies_allow_exactly_the_intended_matrix(cloud: Cloud) -> None:
    objects = render_platform_objects(routed_model(cloud))
    intended = _intended(cloud)
    wrong = []
    for (source, destination), (port, protocol) in itertools.product(_cases(), PORTS):
        got = allowed(objects, _endpoint(source), _endpoint(destination), port, protocol)
        if got != ((source, destination, port, protocol) in intended):
            wrong.append(
                f"{source} -> {destination}:{port}/{protocol}: {'allowed' if got else 'denied'}"
            )
    assert not wrong, "\n".join(wrong)
    unreachable = {(s, d, p, pr) for s, d, p, pr in intended if (s, d) not in set(_cases())}
    assert not unreachable, "the table names pairs the matrix never checks"


@pytest.mark.parametrize(
    ("source", "destination", "port"),
    [
        ("alpha-app", "beta-maps", 9000),  # workspace A -> a service of workspace B
        ("beta-maps", "alpha-shop", 8000),
        ("alpha-app", "alpha-shop", 8000),  # even inside a workspace: only the API's door
        ("public-app", "vpc", 5432),  # a workspace pod -> the database
        ("public-app", "webserver", 80),  # Dagster's unauthenticated webservers
        ("public-app", "webserver-ro", 80),
        ("public-app", "code", 3030),
        ("run", "alpha-shop", 8000),  # a run pod -> another namespace
        ("run", "webserver", 80),
        ("container", "vpc", 5432),  # user containers never see the store
        ("public-app", "metadata", 80),  # the node's cloud credentials
        ("container", "metadata", 80),
        ("outsider", "api", API_PORT),  # only the ingress controller's namespace comes in
        ("stray", "vpc", 5432),
        ("outsider", "solver", 8089),  # only the ingress controller answers challenges
        ("api", "solver", 8089),
        ("ingress", "solver", 80),
        ("ingress", "stray", 8089),
    ],
)
@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_attacks_are_denied(cloud: Cloud, source: str, destination: str, port: int) -> None:
    objects = render_platform_objects(routed_model(cloud))
    assert not allowed(objects, _endpoint(source), _endpoint(destination), port, "TCP")


def test_without_trino_nobody_reaches_trino_pods() -> None:
    model = routed_model("aws").model_copy(update={"trino": None})
    objects: list[dict[str, Any]] = render_platform_objects(model)
    names = {obj["metadata"]["name"] for obj in objects}
    assert not [name for name in names if name.startswith("trino")]
    assert not allowed(objects, PODS["api"], PODS["coordinator"], 8080)
    assert not allowed(objects, PODS["coordinator"], PODS["api"], API_PORT)


def test_kube_api_addresses_come_from_the_cluster_stack() -> None:
    objects = render_platform_objects(routed_model("gcp"), kube_api_cidrs=["172.16.0.0/28"])
    assert allowed(objects, PODS["daemon"], External("172.16.0.2"), 443)
    assert not allowed(objects, PODS["daemon"], EXTERNAL["vpc"], 443)


def test_without_acme_nobody_reaches_the_solver_pods() -> None:
    model = routed_model("aws")
    assert model.dns.tls_issuer == "acme"
    objects = render_platform_objects(model.model_copy(update={"dns": Dns()}))
    names = {obj["metadata"]["name"] for obj in objects}
    assert "acme-http01-solver-ingress" not in names
    assert not allowed(objects, OUTSIDE["ingress"], PODS["solver"], 8089)


def test_object_storage_never_means_a_pod_or_service_range_in_public_space() -> None:
    """GKE accepts pod ranges outside the private ones: "public" then excepts them."""
    model = routed_model("gcp")
    network = model.network.model_copy(
        update={"pods_cidr": "198.18.0.0/15", "services_cidr": "203.0.113.0/24"}
    )
    objects = render_platform_objects(model.model_copy(update={"network": network}))
    for source in ("run", "code", "container", "api"):
        assert allowed(objects, PODS[source], EXTERNAL["public"], 443)
        assert not allowed(objects, PODS[source], External("198.18.3.4"), 443)
        assert not allowed(objects, PODS[source], External("203.0.113.9"), 443)
