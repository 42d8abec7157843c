"""A small evaluator of Kubernetes NetworkPolicy semantics (``networking.k8s.io/v1``).

No Kubernetes API server or network plugin runs here, so the zero-trust promise of the
platform stack (default deny, then exactly the allow rules it needs) is checked by evaluating
the rendered policies the way the API documents them:

* A policy *selects* the pods of its own namespace that match ``spec.podSelector``
  (``{}`` selects them all). ``policyTypes`` says which directions it isolates; when absent it
  is ``Ingress``, plus ``Egress`` if the spec has an ``egress`` section.
* A pod selected by no policy of a direction is unrestricted in that direction. A pod
  selected by some is allowed exactly the union of their rules: policies only add.
* Traffic between two pods needs both sides: the source's egress *and* the destination's
  ingress. Traffic to or from an address outside the cluster only meets the pod's side.
* A rule without ``to``/``from`` matches every peer, one without ``ports`` every port. A peer
  is an ``ipBlock`` (``cidr`` minus ``except``), or pod and namespace selectors: a
  ``podSelector`` alone means pods of the policy's namespace, a ``namespaceSelector`` alone all
  pods of the matching namespaces, both together the matching pods of the matching
  namespaces. Namespaces always carry ``kubernetes.io/metadata.name`` (the API server sets it).
* A port is a number (with ``endPort`` a range) or a name resolved against the destination
  pod's named container ports; ``protocol`` defaults to TCP.

Whether an ``ipBlock`` also matches a *pod's* IP is left to the network plugin by the API
(policies "should" use it for cluster-external addresses). This evaluator matches a pod that
declares an IP, the permissive reading: a deny it computes holds on either kind of plugin.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
INGRESS = "Ingress"
EGRESS = "Egress"


@dataclass(frozen=True)
class Pod:
    """A pod as policies see it: its namespace, the namespace's labels and its own labels."""

    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None
    named_ports: Mapping[str, int] = field(default_factory=dict)

    def all_namespace_labels(self) -> dict[str, str]:
        return {**self.namespace_labels, NAMESPACE_NAME_LABEL: self.namespace}


@dataclass(frozen=True)
class External:
    """An address outside the cluster (a database, object storage, the metadata service)."""

    ip: str


Endpoint = Pod | External


def allowed(
    objects: Iterable[Mapping[str, Any]],
    source: Endpoint,
    destination: Endpoint,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether ``source`` may open ``port``/``protocol`` on ``destination`` under the
    NetworkPolicies among ``objects`` (other kinds are ignored)."""
    policies = [obj for obj in objects if obj.get("kind") == "NetworkPolicy"]
    egress_ok = isinstance(source, External) or _direction_allows(
        policies, EGRESS, source, destination, destination, port, protocol
    )
    ingress_ok = isinstance(destination, External) or _direction_allows(
        policies, INGRESS, destination, source, destination, port, protocol
    )
    return egress_ok and ingress_ok


def policy_types(spec: Mapping[str, Any]) -> list[str]:
    """The directions a policy isolates, with the API's default when ``policyTypes`` is absent."""
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return [INGRESS, EGRESS] if "egress" in spec else [INGRESS]


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (``matchLabels`` and ``matchExpressions``) against a label set."""
    selector = selector or {}
    unknown = set(selector) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise ValueError(f"not a label selector: unknown keys {sorted(unknown)}")
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(expr, labels) for expr in selector.get("matchExpressions") or [])


def _expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, operator, values = expr["key"], expr["operator"], expr.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise ValueError(f"unknown label selector operator {operator!r}")


def _selects(policy: Mapping[str, Any], pod: Pod, direction: str) -> bool:
    spec = policy.get("spec") or {}
    return (
        policy["metadata"].get("namespace") == pod.namespace
        and direction in policy_types(spec)
        and selector_matches(spec.get("podSelector"), pod.labels)
    )


def _direction_allows(
    policies: list[Mapping[str, Any]],
    direction: str,
    pod: Pod,
    peer: Endpoint,
    destination: Endpoint,
    port: int,
    protocol: str,
) -> bool:
    """``pod``'s side of the connection: unrestricted unless selected, else any rule allows."""
    selecting = [policy for policy in policies if _selects(policy, pod, direction)]
    if not selecting:
        return True
    section, peers_key = ("ingress", "from") if direction == INGRESS else ("egress", "to")
    for policy in selecting:
        namespace = policy["metadata"]["namespace"]
        for rule in policy["spec"].get(section) or []:
            peers = rule.get(peers_key) or []
            if peers and not any(_peer_matches(p, namespace, peer) for p in peers):
                continue
            if _ports_match(rule.get("ports") or [], destination, port, protocol):
                return True
    return False


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, endpoint: Endpoint) -> bool:
    if "ipBlock" in peer:
        return endpoint.ip is not None and _in_block(peer["ipBlock"], endpoint.ip)
    if isinstance(endpoint, External):
        return False
    if "namespaceSelector" in peer:
        namespace_ok = selector_matches(peer["namespaceSelector"], endpoint.all_namespace_labels())
    else:
        namespace_ok = endpoint.namespace == policy_namespace
    return namespace_ok and selector_matches(peer.get("podSelector"), endpoint.labels)


def _in_block(block: Mapping[str, Any], ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    cidr = ipaddress.ip_network(block["cidr"], strict=False)
    if address.version != cidr.version or address not in cidr:
        return False
    excluded = (ipaddress.ip_network(item, strict=False) for item in block.get("except") or [])
    return not any(address.version == net.version and address in net for net in excluded)


def _ports_match(
    ports: list[Mapping[str, Any]], destination: Endpoint, port: int, protocol: str
) -> bool:
    if not ports:
        return True
    return any(_port_matches(item, destination, port, protocol) for item in ports)


def _port_matches(item: Mapping[str, Any], destination: Endpoint, port: int, protocol: str) -> bool:
    if item.get("protocol", "TCP") != protocol:
        return False
    wanted = item.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        named = destination.named_ports if isinstance(destination, Pod) else {}
        return named.get(wanted) == port
    return int(wanted) <= port <= int(item.get("endPort", wanted))
