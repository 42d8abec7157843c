"""The NetworkPolicy evaluator on hand-written policies, and its properties.

The network matrix (test_network_matrix.py) trusts this evaluator, so it is pinned here to
the API's documented semantics case by case, and by properties that an evaluator allowing or
denying everything would fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataos_defs.kernel.netpol import External, Pod, allowed, policy_types, selector_matches

A = Pod("shop", {"app": "a"})
B = Pod("shop", {"app": "b"}, named_ports={"http": 8080})
C = Pod("shop", {"app": "c"})
OTHER_A = Pod("other", {"app": "a"}, {"team": "x"})


def netpol(namespace: str, selector: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": namespace},
        "spec": {"podSelector": selector, **spec},
    }


def labels(**values: str) -> dict[str, Any]:
    return {"matchLabels": values}


DENY_ALL = netpol("shop", {}, policyTypes=["Ingress", "Egress"])
B_FROM_A_80 = netpol(
    "shop",
    labels(app="b"),
    ingress=[{"from": [{"podSelector": labels(app="a")}], "ports": [{"port": 80}]}],
)


def test_no_policy_allows_everything() -> None:
    assert allowed([], A, B, 80)
    assert allowed([{"kind": "Service", "metadata": {"name": "x"}}], A, External("1.2.3.4"), 1)


def test_an_ingress_policy_admits_only_its_peers_and_ports() -> None:
    assert allowed([B_FROM_A_80], A, B, 80)
    assert not allowed([B_FROM_A_80], A, B, 81)
    assert not allowed([B_FROM_A_80], C, B, 80)
    assert not allowed([B_FROM_A_80], A, B, 80, "UDP")
    assert allowed([B_FROM_A_80], A, C, 81), "C is selected by no policy"
    assert allowed([B_FROM_A_80], B, C, 9), "an ingress-only policy leaves egress open"


def test_pod_selector_alone_means_the_policy_namespace() -> None:
    assert not allowed([B_FROM_A_80], OTHER_A, B, 80)


def test_namespace_selector_alone_and_with_a_pod_selector() -> None:
    any_pod = netpol(
        "shop", labels(app="b"), ingress=[{"from": [{"namespaceSelector": labels(team="x")}]}]
    )
    assert allowed([any_pod], OTHER_A, B, 80)
    assert allowed([any_pod], Pod("other", {}, {"team": "x"}), B, 1)
    assert not allowed([any_pod], A, B, 80), "namespace shop has no team label"
    both = {"namespaceSelector": labels(team="x"), "podSelector": labels(app="c")}
    narrowed = netpol("shop", labels(app="b"), ingress=[{"from": [both]}])
    assert not allowed([narrowed], OTHER_A, B, 80)
    assert allowed([narrowed], Pod("other", {"app": "c"}, {"team": "x"}), B, 80)
    by_name = {"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "other"})}
    assert allowed([netpol("shop", {}, ingress=[{"from": [by_name]}])], OTHER_A, B, 5)


def test_both_sides_must_allow() -> None:
    a_to_b = netpol(
        "shop",
        labels(app="a"),
        policyTypes=["Egress"],
        egress=[{"to": [{"podSelector": labels(app="b")}]}],
    )
    assert allowed([a_to_b], A, B, 80)
    assert not allowed([a_to_b], A, C, 80)
    assert not allowed([a_to_b, DENY_ALL], A, B, 80), "B's ingress is denied"
    assert allowed([a_to_b, B_FROM_A_80, DENY_ALL], A, B, 80)
    assert not allowed([a_to_b, B_FROM_A_80, DENY_ALL], A, B, 443)


def test_policy_types_default() -> None:
    assert policy_types({"podSelector": {}}) == ["Ingress"]
    assert policy_types({"podSelector": {}, "egress": []}) == ["Ingress", "Egress"]
    implicit = netpol("shop", labels(app="a"), egress=[])
    assert not allowed([implicit], A, C, 80), "an egress section isolates egress"
    assert not allowed([implicit], C, A, 80), "and ingress, by default"


def test_empty_rule_matches_every_peer_and_port() -> None:
    open_b = netpol("shop", labels(app="b"), ingress=[{}])
    assert allowed([DENY_ALL, open_b], External("8.8.8.8"), B, 12345)
    assert not allowed([DENY_ALL, open_b], External("8.8.8.8"), C, 12345)


def test_ip_block_with_except() -> None:
    out = netpol(
        "shop",
        {},
        policyTypes=["Egress"],
        egress=[
            {
                "to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                "ports": [{"port": 5432}],
            }
        ],
    )
    assert allowed([out], A, External("10.2.3.4"), 5432)
    assert not allowed([out], A, External("10.1.3.4"), 5432)
    assert not allowed([out], A, External("11.0.0.1"), 5432)
    assert not allowed([out], A, External("::1"), 5432)
    assert not allowed([out], A, B, 5432), "a pod without an IP is no ipBlock"
    assert allowed([out], A, Pod("x", {}, ip="10.9.9.9"), 5432)


def test_port_ranges_named_ports_and_protocols() -> None:
    ranged = netpol(
        "shop", {}, ingress=[{"ports": [{"port": 8000, "endPort": 8010, "protocol": "TCP"}]}]
    )
    assert allowed([ranged], A, C, 8005) and not allowed([ranged], A, C, 8011)
    named = netpol("shop", {}, ingress=[{"ports": [{"port": "http"}]}])
    assert allowed([named], A, B, 8080)
    assert not allowed([named], A, B, 80)
    assert not allowed([named], A, C, 8080), "C declares no port named http"
    udp = netpol("shop", {}, ingress=[{"ports": [{"port": 53, "protocol": "UDP"}]}])
    assert allowed([udp], A, B, 53, "UDP") and not allowed([udp], A, B, 53, "TCP")


@pytest.mark.parametrize(
    ("expression", "matching", "other"),
    [
        ({"key": "tier", "operator": "In", "values": ["x", "y"]}, {"tier": "y"}, {"tier": "z"}),
        ({"key": "tier", "operator": "NotIn", "values": ["x"]}, {}, {"tier": "x"}),
        ({"key": "tier", "operator": "Exists"}, {"tier": ""}, {"app": "tier"}),
        ({"key": "tier", "operator": "DoesNotExist"}, {"app": "a"}, {"tier": "x"}),
    ],
)
def test_match_expressions(
    expression: dict[str, Any], matching: dict[str, str], other: dict[str, str]
) -> None:
    selector = {"matchExpressions": [expression]}
    assert selector_matches(selector, matching)
    assert not selector_matches(selector, other)


def test_malformed_selectors_are_refused() -> None:
    with pytest.raises(ValueError, match="not a label selector"):
        selector_matches({"app": "a"}, {"app": "a"})
    with pytest.raises(ValueError, match="operator"):
        selector_matches({"matchExpressions": [{"key": "a", "operator": "Gt"}]}, {})


# --- properties --------------------------------------------------------------------------

NAMESPACES = ("n1", "n2")
LABEL_SETS = st.dictionaries(
    st.sampled_from(["app", "tier"]), st.sampled_from(["a", "b"]), max_size=2
)
SELECTORS = LABEL_SETS.map(lambda values: {"matchLabels": values})
NS_LABELS = {"n1": {"team": "a"}, "n2": {"team": "b"}}
PODS = st.builds(
    lambda ns, lbls, ip: Pod(ns, lbls, NS_LABELS[ns], ip=ip),
    st.sampled_from(NAMESPACES),
    LABEL_SETS,
    st.sampled_from([None, "10.0.0.5", "10.1.0.5"]),
)
EXTERNALS = st.sampled_from(["10.0.0.9", "10.1.2.3", "8.8.8.8", "169.254.169.254"]).map(External)
PEERS = st.one_of(
    SELECTORS.map(lambda s: {"podSelector": s}),
    SELECTORS.map(
        lambda s: {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": s}
    ),
    st.just({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}),
    st.just({"ipBlock": {"cidr": "0.0.0.0/0"}}),
)
PORT_LISTS = st.lists(
    st.builds(
        lambda p, pr: {"port": p, "protocol": pr},
        st.sampled_from([80, 443]),
        st.sampled_from(["TCP", "UDP"]),
    ),
    max_size=2,
)
RULES = st.lists(
    st.builds(
        lambda peers, ports: {"peers": peers, "ports": ports},
        st.lists(PEERS, max_size=2),
        PORT_LISTS,
    ),
    max_size=2,
)


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for section, key in (("ingress", "from"), ("egress", "to")):
        if draw(st.booleans()):
            spec[section] = [{key: r["peers"], "ports": r["ports"]} for r in draw(RULES)]
    types = [t for t, s in (("Ingress", "ingress"), ("Egress", "egress")) if s in spec]
    return netpol(
        draw(st.sampled_from(NAMESPACES)), draw(SELECTORS), policyTypes=types or ["Ingress"], **spec
    )


def deny_all() -> list[dict[str, Any]]:
    return [netpol(ns, {}, policyTypes=["Ingress", "Egress"]) for ns in NAMESPACES]


CONNECTION = st.tuples(st.sampled_from([80, 443]), st.sampled_from(["TCP", "UDP"]))


@settings(max_examples=300, deadline=None)
@given(source=st.one_of(PODS, EXTERNALS), destination=st.one_of(PODS, EXTERNALS), conn=CONNECTION)
def test_default_deny_alone_denies_everything(source: Any, destination: Any, conn: Any) -> None:
    if isinstance(source, External) and isinstance(destination, External):
        return
    assert not allowed(deny_all(), source, destination, *conn)


@settings(max_examples=300, deadline=None)
@given(
    extra=st.lists(policies(), max_size=3),
    new=policies(),
    source=PODS,
    destination=st.one_of(PODS, EXTERNALS),
    conn=CONNECTION,
)
def test_adding_a_policy_never_takes_away(
    extra: Any, new: Any, source: Any, destination: Any, conn: Any
) -> None:
    """Once default deny isolates every pod, policies only add (without it, the first
    policy selecting a pod isolates it: that is the one way a policy takes away)."""
    base = [*deny_all(), *extra]
    if allowed(base, source, destination, *conn):
        assert allowed([*base, new], source, destination, *conn)


@settings(max_examples=300, deadline=None)
@given(first=policies(), second=policies(), source=PODS, destination=EXTERNALS, conn=CONNECTION)
def test_one_direction_grants_only_what_a_policy_grants(
    first: Any, second: Any, source: Any, destination: Any, conn: Any
) -> None:
    """Pod -> outside meets the pod's egress only: under default deny, two policies together
    allow exactly what one of them allows alone."""
    both = allowed([*deny_all(), first, second], source, destination, *conn)
    either = allowed([*deny_all(), first], source, destination, *conn) or allowed(
        [*deny_all(), second], source, destination, *conn
    )
    assert both == either
