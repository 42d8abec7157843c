"""The platform's zero-trust NetworkPolicies, rendered from the kernel model.

Every namespace of the model gets ``default-deny`` (ingress and egress for all its pods) and
``allow-dns``; then exactly these allow rules, each as an ``<component>-ingress`` or
``<component>-egress`` policy of the pods it selects (TCP unless said otherwise):

* every pod -> kube-dns in kube-system (``k8s-app=kube-dns``): UDP and TCP 53;
* ingress-nginx (namespace ``ingress-nginx``) -> API server: ``api_port``;
* API server -> Dagster webservers, writable and read-only: 80; Kubernetes API: 443;
  database: 5432; object storage: 443; Trino coordinator: 8080 (with Trino); each routed
  workspace Service's pods (``dataos.io/service=<name>`` in its workspace's namespace) on
  the route's port;
* Dagster webservers and daemon -> code location: 3030 (gRPC); database: 5432; the daemon
  and the writable webserver (which terminates runs) -> Kubernetes API: 443;
* code location -> database: 5432; object storage: 443;
* run and step pods -> database: 5432; object storage: 443; API server: ``api_port``;
  Kubernetes API: 443 (step Jobs, Pipes pods); Trino coordinator: 8080;
* container-stack pods (user images) -> object storage: 443; API server: ``api_port``;
* Trino coordinator <-> workers: 8080; Trino -> API server (Heimdall's OPA API):
  ``api_port``; database: 5432 (JDBC catalogs); object storage: 443;
* workspace pods -> API server: ``api_port``, and nothing else: not another workspace, not
  Dagster, not the database, not outside the cluster;
* with ACME certificates (``dns.tls_issuer == "acme"``): ingress-nginx -> cert-manager's
  HTTP-01 solver pods (``acme.cert-manager.io/http01-solver=true``, created in ``dataos``
  beside the Ingress they answer for): 8089, while a challenge is pending.

Nothing else is admitted: in particular no pod reaches a workspace's pods but the API
server, and a workspace reaches ``dataos`` only at the API server. "Database" and
"Kubernetes API" are the VPC range (``network.cidr``; ``kube_api_cidrs`` overrides the
latter where the control plane lives elsewhere, as on GKE): the managed PostgreSQL and EKS's
API endpoints sit in it. Since pod IPs may sit in it too (EKS's VPC CNI), these egress rules
rely on every managed namespace's default-deny ingress. The kubelet's probes come from the
node, which network plugins admit to the node's own pods whatever the policies say.

"Object storage" is HTTPS to public addresses: 0.0.0.0/0 minus the private, shared
(100.64/10) and link-local ranges, so the cloud metadata service (169.254.169.254) stays
closed; the VPC, pod and Service ranges are excepted too when they lie outside those (GKE
accepts pod ranges in public space), so that "public" never means another pod. On GCP,
Workload Identity hands tokens out through the GKE metadata server, so there the pods that
hold the cloud identity (API server, code location, run pods, Trino) may reach
169.254.169.254:80 and 169.254.169.252:988 (Dataplane V2), and no other pod.

Pods are selected by the labels their owners give them: the API server's Deployment
(``app.kubernetes.io/name=dataos-api``), the Dagster chart (``app.kubernetes.io/instance`` =
the release, ``component`` = dagster-webserver, dagster-webserver-read-only, dagster-daemon,
user-deployments), dagster-k8s for run and step pods (``app.kubernetes.io/name=dagster``,
``app.kubernetes.io/component`` = run_worker / step_worker) and for PipesK8sClient pods of
the container stack (the launcher's ``dataos.io/platform=dataos`` label and no component),
the Trino chart (``app.kubernetes.io/instance`` = its release, ``app.kubernetes.io/component``
= coordinator / worker). The two webserver policies are the ones of
``deploy/dagster/networkpolicy.yaml`` (a test keeps them equal).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from dataos_defs.kernel.model import PLATFORM_NAMESPACE, WORKSPACE_LABEL, KernelModel

PART_OF = {"app.kubernetes.io/part-of": "dataos"}
API_NAME = "dataos-api"
API_LABELS = {"app.kubernetes.io/name": API_NAME}
API_SELECTOR = {"matchLabels": API_LABELS}
SERVICE_LABEL = "dataos.io/service"
"""Pods of a workspace's Service Resource carry its name under this label."""
INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_CONTROLLER = {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}
WEBSERVER_PORT = 80
GRPC_PORT = 3030
DATABASE_PORT = 5432
HTTPS_PORT = 443
TRINO_PORT = 8080
ACME_SOLVER_PORT = 8089
ACME_SOLVER = {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
NON_PUBLIC = ("10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")
GKE_METADATA = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))

Selector = dict[str, Any]
Rule = dict[str, Any]


def _labels(release: str, component: str) -> Selector:
    return {"matchLabels": {"app.kubernetes.io/instance": release, "component": component}}


def _run_pods() -> Selector:
    return {
        "matchLabels": {"app.kubernetes.io/name": "dagster"},
        "matchExpressions": [
            {
                "key": "app.kubernetes.io/component",
                "operator": "In",
                "values": ["run_worker", "step_worker"],
            }
        ],
    }


def _container_jobs() -> Selector:
    return {
        "matchLabels": {"app.kubernetes.io/name": "dagster", "dataos.io/platform": "dataos"},
        "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "DoesNotExist"}],
    }


def _trino(release: str, component: str | None = None) -> Selector:
    labels = {"app.kubernetes.io/name": "trino", "app.kubernetes.io/instance": release}
    if component:
        labels["app.kubernetes.io/component"] = component
    return {"matchLabels": labels}


def _ports(*ports: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": port} for port in ports]


def _pods(selector: Selector, namespace: str | None = None) -> dict[str, Any]:
    """A peer: pods of the policy's namespace, or of ``namespace`` when given."""
    peer: dict[str, Any] = {"podSelector": selector}
    if namespace is not None:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    return peer


def _cidrs(cidrs: Sequence[str], port: int) -> Rule:
    return {"to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs], "ports": _ports(port)}


def _public(port: int, own_ranges: Sequence[str]) -> Rule:
    """``port`` on public addresses: never the cluster's own ranges (VPC, pods, Services),
    private ranges or link-local."""
    private = [ipaddress.ip_network(cidr) for cidr in NON_PUBLIC]
    excluded = set(NON_PUBLIC)
    for cidr in own_ranges:
        own = ipaddress.ip_network(cidr, strict=False)
        if not any(own.version == net.version and own.subnet_of(net) for net in private):  # type: ignore[arg-type]
            excluded.add(str(own))
    return {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": sorted(excluded)}}],
        "ports": _ports(port),
    }


def _own_ranges(model: KernelModel) -> list[str]:
    network = model.network
    return [network.cidr, network.pods_cidr, network.services_cidr]


def policy(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    selector: Selector,
    *,
    ingress: list[Rule] | None = None,
    egress: list[Rule] | None = None,
) -> dict[str, Any]:
    """A NetworkPolicy; it isolates exactly the directions it is given rules for."""
    spec: dict[str, Any] = {"podSelector": selector, "policyTypes": []}
    if ingress is not None:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = ingress
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }


def namespace_baseline(namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """``default-deny`` (both directions, every pod) and ``allow-dns`` for one namespace."""
    deny = policy("default-deny", namespace, labels, {}, ingress=[], egress=[])
    dns_peer = _pods({"matchLabels": {"k8s-app": "kube-dns"}}, "kube-system")
    dns = {"to": [dns_peer], "ports": _ports(53, protocol="UDP") + _ports(53)}
    return [deny, policy("allow-dns", namespace, labels, {}, egress=[dns])]


def webserver_policies(model: KernelModel) -> list[dict[str, Any]]:
    """Only the API server reaches Dagster's webservers (deploy/dagster/networkpolicy.yaml)."""
    release = model.dagster.release
    from_api = [{"from": [_pods(API_SELECTOR)], "ports": _ports(WEBSERVER_PORT)}]
    return [
        policy(
            f"{component}-from-{API_NAME}",
            PLATFORM_NAMESPACE,
            PART_OF,
            _labels(release, component),
            ingress=from_api,
        )
        for component in ("dagster-webserver", "dagster-webserver-read-only")
    ]


class _Platform:
    """The allow rules of namespace ``dataos``, one method per component."""

    def __init__(self, model: KernelModel, kube_api_cidrs: Sequence[str]) -> None:
        self.model = model
        self.release = model.dagster.release
        self.kube_api = _cidrs(kube_api_cidrs, HTTPS_PORT)
        self.database = _cidrs([model.network.cidr], DATABASE_PORT)
        self.storage = [_public(HTTPS_PORT, _own_ranges(model)), *self._metadata()]
        self.api = {"to": [_pods(API_SELECTOR)], "ports": _ports(model.api_port)}
        self.code = {
            "to": [_pods(_labels(self.release, "user-deployments"))],
            "ports": _ports(GRPC_PORT),
        }
        self.trino_release = model.trino.chart.release if model.trino else None

    def _metadata(self) -> list[Rule]:
        if self.model.cloud != "gcp":
            return []
        return [_cidrs([cidr], port) for cidr, port in GKE_METADATA]

    def _trino_client(self) -> list[Rule]:
        if self.trino_release is None:
            return []
        coordinator = _pods(_trino(self.trino_release, "coordinator"))
        return [{"to": [coordinator], "ports": _ports(TRINO_PORT)}]

    def _route_rules(self) -> list[Rule]:
        """To the pods of any workspace Service, on any TCP port: Services are applied at any
        time by the API server's applier (not by this stack) and may have several ports;
        each one's own NetworkPolicy (``kernel.k8s_workloads``) admits the API server on its
        ports only, so the receiving side stays as narrow as before. A route must still name
        a workspace of the model."""
        for route in self.model.ingress_routes:
            _workspace_namespace(self.model, route.workspace)
        peer = {
            "namespaceSelector": {
                "matchExpressions": [{"key": WORKSPACE_LABEL, "operator": "Exists"}]
            },
            "podSelector": {"matchExpressions": [{"key": SERVICE_LABEL, "operator": "Exists"}]},
        }
        return [{"to": [peer], "ports": [{"protocol": "TCP", "port": 1, "endPort": 65535}]}]

    def _egress(self, name: str, selector: Selector, rules: list[Rule]) -> dict[str, Any]:
        return policy(f"{name}-egress", PLATFORM_NAMESPACE, PART_OF, selector, egress=rules)

    def _ingress(self, name: str, selector: Selector, rules: list[Rule]) -> dict[str, Any]:
        return policy(f"{name}-ingress", PLATFORM_NAMESPACE, PART_OF, selector, ingress=rules)

    def api_server(self) -> list[dict[str, Any]]:
        webservers = {
            "to": [
                _pods(_labels(self.release, c))
                for c in ("dagster-webserver", "dagster-webserver-read-only")
            ],
            "ports": _ports(WEBSERVER_PORT),
        }
        egress = [
            webservers,
            self.kube_api,
            self.database,
            *self.storage,
            *self._trino_client(),
            *self._route_rules(),
        ]
        clients = [
            _pods(INGRESS_CONTROLLER, INGRESS_NAMESPACE),
            _pods(_run_pods()),
            _pods(_container_jobs()),
            {
                "namespaceSelector": {
                    "matchExpressions": [{"key": WORKSPACE_LABEL, "operator": "Exists"}]
                }
            },
        ]
        if self.trino_release:
            clients.append(_pods(_trino(self.trino_release)))
        ingress = [{"from": clients, "ports": _ports(self.model.api_port)}]
        selector = API_SELECTOR
        return [
            self._egress(API_NAME, selector, egress),
            self._ingress(API_NAME, selector, ingress),
        ]

    def dagster(self) -> list[dict[str, Any]]:
        writable = _labels(self.release, "dagster-webserver")
        read_only = _labels(self.release, "dagster-webserver-read-only")
        daemon = _labels(self.release, "dagster-daemon")
        code = _labels(self.release, "user-deployments")
        code_clients = [
            {"from": [_pods(s) for s in (writable, read_only, daemon)], "ports": _ports(GRPC_PORT)}
        ]
        return [
            self._egress("dagster-webserver", writable, [self.code, self.database, self.kube_api]),
            self._egress("dagster-webserver-read-only", read_only, [self.code, self.database]),
            self._egress("dagster-daemon", daemon, [self.code, self.database, self.kube_api]),
            self._egress("dagster-code-location", code, [self.database, *self.storage]),
            self._ingress("dagster-code-location", code, code_clients),
        ]

    def runs(self) -> list[dict[str, Any]]:
        run_rules = [self.database, *self.storage, self.api, self.kube_api, *self._trino_client()]
        container_rules = [_public(HTTPS_PORT, _own_ranges(self.model)), self.api]
        return [
            self._egress("dagster-runs", _run_pods(), run_rules),
            self._egress("dagster-container-jobs", _container_jobs(), container_rules),
        ]

    def trino(self) -> list[dict[str, Any]]:
        if self.trino_release is None:
            return []
        release = self.trino_release
        coordinator, workers = _trino(release, "coordinator"), _trino(release, "worker")
        peers = {"to": [_pods(_trino(release))], "ports": _ports(TRINO_PORT)}
        egress = [peers, self.api, self.database, *self.storage]
        clients = [_pods(API_SELECTOR), _pods(_run_pods()), _pods(workers)]
        return [
            self._egress("trino", _trino(release), egress),
            self._ingress(
                "trino-coordinator", coordinator, [{"from": clients, "ports": _ports(TRINO_PORT)}]
            ),
            self._ingress(
                "trino-worker",
                workers,
                [{"from": [_pods(coordinator)], "ports": _ports(TRINO_PORT)}],
            ),
        ]


def acme_solver_policies(model: KernelModel) -> list[dict[str, Any]]:
    """cert-manager's HTTP-01 solver pods answer Let's Encrypt through ingress-nginx: only
    the controller reaches them, only on the solver's port (none without ACME)."""
    if model.dns.tls_issuer != "acme":
        return []
    from_ingress = [
        {"from": [_pods(INGRESS_CONTROLLER, INGRESS_NAMESPACE)], "ports": _ports(ACME_SOLVER_PORT)}
    ]
    return [
        policy(
            "acme-http01-solver-ingress",
            PLATFORM_NAMESPACE,
            PART_OF,
            ACME_SOLVER,
            ingress=from_ingress,
        )
    ]


def _workspace_namespace(model: KernelModel, workspace: str) -> str:
    for namespace in model.namespaces:
        if namespace.workspace == workspace:
            return namespace.name
    raise ValueError(f"ingress route of workspace {workspace!r}: the model has no namespace for it")


def platform_policies(model: KernelModel, kube_api_cidrs: Sequence[str]) -> list[dict[str, Any]]:
    """The allow rules of namespace ``dataos`` (its baseline: :func:`namespace_baseline`)."""
    platform = _Platform(model, kube_api_cidrs)
    return [
        *webserver_policies(model),
        *platform.api_server(),
        *platform.dagster(),
        *platform.runs(),
        *platform.trino(),
        *acme_solver_policies(model),
    ]


def workspace_policies(model: KernelModel, namespace: str, workspace: str) -> list[dict[str, Any]]:
    """A workspace namespace's allow rules: its pods reach the API server; the API server
    reaches each of its routed Service's pods on the route's port."""
    labels = {**PART_OF, WORKSPACE_LABEL: workspace}
    to_api = {"to": [_pods(API_SELECTOR, PLATFORM_NAMESPACE)], "ports": _ports(model.api_port)}
    result = [policy("allow-api-egress", namespace, labels, {}, egress=[to_api])]
    ports: dict[str, set[int]] = {}
    for route in model.ingress_routes:
        if route.workspace == workspace:
            ports.setdefault(route.service, set()).add(route.port)
    for service, service_ports in sorted(ports.items()):
        selector = {"matchLabels": {SERVICE_LABEL: service}}
        from_api = {
            "from": [_pods(API_SELECTOR, PLATFORM_NAMESPACE)],
            "ports": _ports(*sorted(service_ports)),
        }
        name = f"{service}-from-{API_NAME}"
        result.append(policy(name, namespace, labels, selector, ingress=[from_api]))
    return result
