"""Routing no tenant can break: the operator's default cluster, clusters without a selector
serve only queries that name them, ties are deterministic, and writing a selector is a
routing privilege checked at admission (both Rego engines, a real store)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dataos_defs.api.admission.clusters import (
    CATCH_ALL_OBJECT,
    ROUTING_OBJECT,
    check_cluster,
    is_catch_all,
)
from dataos_defs.api.admission.context import Admission, Subject
from dataos_defs.heimdall.engine import create_engine
from dataos_defs.heimdall.pdp import PolicyDecisionPoint, PolicyEngineError
from dataos_defs.heimdall.service import Heimdall, rego_modules
from dataos_defs.manifest.cluster import Cluster, ClusterSelector
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import ParsedResource, parse_documents
from dataos_defs.minerva.routing import RoutingError, route, selects
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV, default_cluster
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

OPERATOR = Subject("root", ("users:id:root", "roles:id:operator"))
DEVELOPER = Subject("dana", ("users:id:dana", "roles:id:data-dev"))
ROUTER = Subject("rita", ("users:id:rita", "roles:id:router"))
ANALYSTS = {"tags": [["roles:id:analyst"]], "priority": 5}


def cluster(name: str, selector: dict[str, Any] | None = None, kind: str = "minerva") -> Cluster:
    section: dict[str, Any] = {"depots": [{"address": "dataos://lakehouse"}]}
    if selector is not None:
        section["selector"] = selector
    return Cluster.model_validate(
        {"name": name, "version": "v1", "type": "cluster", "cluster": {"type": kind, kind: section}}
    )


def pick(clusters: list[Cluster], default: str | None = None, **request: Any) -> str:
    request.setdefault("user_id", "alice")
    request.setdefault("user_tags", ["users:id:alice", "roles:id:user"])
    request.setdefault("source", None)
    request.setdefault("requested", None)
    return route(clusters, default=default, **request).name


SHOP = cluster("minervashop")
SPARK = cluster("spark", kind="themis")


# -- the default cluster is the operator's ---------------------------------------------------


def test_the_reproduced_outage_cannot_happen_any_more() -> None:
    """A data developer's second cluster without selector changes nobody's routing."""
    mine = cluster("danasandbox")
    assert pick([SHOP], default="minervashop") == "minervashop"
    assert pick([SHOP, mine], default="minervashop") == "minervashop"
    assert pick([mine, SHOP], default="minervashop", user_id="dana") == "minervashop"
    assert pick([SHOP, mine], default="minervashop", requested="danasandbox") == "danasandbox"


def test_without_a_default_unmatched_queries_are_refused_with_what_to_do() -> None:
    with pytest.raises(RoutingError) as caught:
        pick([SHOP])
    assert caught.value.message == (
        "no cluster's selector matches user 'alice' and no default cluster is set"
    )
    assert "-c NAME (available: minervashop)" in caught.value.hint
    assert DEFAULT_CLUSTER_ENV in caught.value.hint


@pytest.mark.parametrize("default", ["gone", "spark"])
def test_a_default_that_names_no_live_minerva_cluster_is_refused(default: str) -> None:
    with pytest.raises(RoutingError) as caught:
        pick([SHOP, SPARK], default=default, source="dataos-ctl")
    message = caught.value.message
    assert message.startswith("no cluster's selector matches user 'alice' from source")
    assert f"the default cluster '{default}' ({DEFAULT_CLUSTER_ENV}) is not a live" in message
    assert "available: minervashop" in caught.value.hint


def test_selectors_come_before_the_default() -> None:
    analysts = cluster("analysts", ANALYSTS)
    tags = ["users:id:alice", "roles:id:analyst"]
    assert pick([SHOP, analysts], default="minervashop", user_tags=tags) == "analysts"
    assert pick([SHOP, analysts], default="minervashop") == "minervashop"
    assert pick([SHOP, analysts], default="analysts") == "analysts"


def test_a_blank_cluster_name_is_no_request() -> None:
    assert pick([SHOP], default="minervashop", requested=" ") == "minervashop"


def test_the_setting_is_read_from_the_environment() -> None:
    assert default_cluster({}) is None
    assert default_cluster({DEFAULT_CLUSTER_ENV: "  "}) is None
    assert default_cluster({DEFAULT_CLUSTER_ENV: " MinervaShop "}) == "minervashop"


# -- ties ------------------------------------------------------------------------------------


@given(st.permutations(["zeta", "alpha", "mid"]))
def test_ties_go_to_the_first_name_whatever_the_order_applied(order: list[str]) -> None:
    clusters = [cluster(name, {"users": ["alice"], "priority": 7}) for name in order]
    assert pick([SHOP, *clusters], default="minervashop") == "alpha"


def test_only_a_strictly_lower_priority_overtakes_an_existing_cluster() -> None:
    existing = cluster("team", {"users": ["alice"], "priority": 7})
    same = cluster("aaanewcomer", {"users": ["alice"], "priority": 8})
    lower = cluster("zzznewcomer", {"users": ["alice"], "priority": 6})
    assert pick([existing, same], default="team") == "team"
    assert pick([existing, same, lower], default="team") == "zzznewcomer"


# -- the admission check ---------------------------------------------------------------------

ROUTER_POLICY = """\
name: routers-route
version: v1
type: policy
layer: user
policy:
  access:
    subjects:
      tags:
        - [roles:id:router]
    predicates: [route]
    objects:
      paths:
        - minerva://routing
    allow: true
"""
FAULT = """\
package heimdall.access

object_path := "fault" if input.object.path == "minerva://routing"
"""


@pytest.fixture(params=["regorus", "opa"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Heimdall]]:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'poros.db'}")
    store = Store.open(settings=settings)
    documents, issues = parse_yaml(ROUTER_POLICY, "policy.yaml")
    assert not issues
    apply_resources(store, parse_documents(documents), None, "root")
    pdp = PolicyDecisionPoint(create_engine(request.param), modules=rego_modules())
    heimdall = Heimdall(store, tmp_path, pdp=pdp)
    yield store, heimdall
    heimdall.close()
    store.close()


def manifest(selector: dict[str, Any] | None) -> ParsedResource:
    minerva: dict[str, Any] = {"depots": [{"address": "dataos://lakehouse"}]}
    if selector is not None:
        minerva["selector"] = selector
    text = yaml.safe_dump(
        {
            "name": "capture",
            "version": "v1",
            "type": "cluster",
            "cluster": {"type": "minerva", "minerva": minerva},
        },
        sort_keys=False,
    )
    documents, issues = parse_yaml(text, "cluster.yaml")
    assert not issues
    [parsed] = parse_documents(documents)
    return parsed


def admit(world: tuple[Store, Heimdall], who: Subject, resource: ParsedResource) -> list[str]:
    store, heimdall = world
    adm = Admission(heimdall, store, Identities(store), who, Path("unused"), None, [resource])
    return [str(issue) for issue in check_cluster(adm, resource)]


CATCH_ALLS = [
    {"priority": 1},
    {"users": ["*"]},
    {"users": ["**"], "priority": 99},
    {"users": ["users:id:*"]},
    {"tags": [["roles:id:*"]]},
    {"tags": [["**"]]},
    {"sources": ["**"]},
    {"users": ["alice"], "sources": ["*"]},
]
NAMED = [
    ANALYSTS,
    {"users": ["alice", "svc-*"]},
    {"sources": ["flare/**"]},
    {"users": ["**"], "sources": ["dataos-ctl"], "match": "all"},
]


def test_a_cluster_without_selector_needs_no_routing_privilege(world) -> None:
    assert admit(world, DEVELOPER, manifest(None)) == []


@pytest.mark.parametrize("selector", [NAMED[0], CATCH_ALLS[0]])
def test_a_selector_is_refused_to_whoever_may_not_route(world, selector) -> None:
    [issue] = admit(world, DEVELOPER, manifest(selector))
    assert issue.startswith("cluster.yaml:9:5: cluster.minerva.selector: a selector routes ")
    assert f"dana may not route queries (route on {ROUTING_OBJECT}: no policy allows" in issue
    assert "dataos-ctl query -c capture" in issue
    assert f"allowing 'route' on {ROUTING_OBJECT}" in issue


@pytest.mark.parametrize("selector", NAMED)
def test_a_router_may_name_whom_a_cluster_serves(world, selector) -> None:
    assert admit(world, ROUTER, manifest(selector)) == []


@pytest.mark.parametrize("selector", CATCH_ALLS)
def test_a_catch_all_selector_is_for_operators_only(world, selector) -> None:
    [issue] = admit(world, ROUTER, manifest(selector))
    assert "cluster.minerva.selector: this selector picks queries of users it does not" in issue
    assert f"rita may not (route on {CATCH_ALL_OBJECT}: no policy allows" in issue
    assert DEFAULT_CLUSTER_ENV in issue
    assert admit(world, OPERATOR, manifest(selector)) == []


def test_no_decision_refuses_the_apply(world) -> None:
    """The engine error propagates (the caller answers 503), no issue list pretends."""
    _, heimdall = world
    heimdall.set_modules({"fault.rego": FAULT})
    with pytest.raises(PolicyEngineError):
        admit(world, OPERATOR, manifest(ANALYSTS))
    assert admit(world, OPERATOR, manifest(None)) == []


@pytest.mark.parametrize(
    ("selector", "expected"),
    [(raw, True) for raw in CATCH_ALLS] + [(raw, False) for raw in NAMED],
)
def test_catch_all_means_picking_a_stranger(selector: dict[str, Any], expected: bool) -> None:
    assert is_catch_all(ClusterSelector.model_validate(selector)) is expected


def test_a_new_selector_never_moves_a_query_it_does_not_pick() -> None:
    """Whatever a router writes, users its selector does not pick keep their cluster."""
    users = {"alice": ["roles:id:user"], "bob": ["roles:id:analyst"], "svc-etl": []}
    for raw in NAMED:
        newcomer = cluster("aaa", {**raw, "priority": 1})
        for (user, tags), source in itertools.product(users.items(), [None, "flare/x/y"]):
            before = pick([SHOP], "minervashop", user_id=user, user_tags=tags, source=source)
            after = pick(
                [SHOP, newcomer], "minervashop", user_id=user, user_tags=tags, source=source
            )
            picked = selects(
                ClusterSelector.model_validate(raw),
                user_id=user,
                user_tags=frozenset(tags),
                source=source,
            )
            assert after == ("aaa" if picked else before)
