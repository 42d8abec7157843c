"""Routing a query to a cluster: by name, else by the clusters' selectors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataos_defs.manifest.cluster import Cluster, ClusterSelector
from dataos_defs.minerva.routing import THEMIS_REFUSED, RoutingError, route, selects


def cluster(name: str, selector: dict[str, Any] | None = None, kind: str = "minerva") -> Cluster:
    section: dict[str, Any] = {"depots": [{"address": "dataos://lakehouse"}]}
    if selector is not None:
        section["selector"] = selector
    return Cluster.model_validate(
        {
            "name": name,
            "version": "v1",
            "type": "cluster",
            "cluster": {"type": kind, kind: section},
        }
    )


def selector_of(raw: dict[str, Any]) -> ClusterSelector:
    section = cluster("c", raw).cluster.minerva
    assert section is not None and section.selector is not None
    return section.selector


def pick(clusters: list[Cluster], **request: Any) -> str:
    request.setdefault("user_id", "alice")
    request.setdefault("user_tags", ["users:id:alice", "roles:id:user"])
    request.setdefault("source", None)
    request.setdefault("requested", None)
    return route(clusters, **request).name


ANALYSTS = cluster("analysts", {"tags": [["roles:id:analyst"]], "priority": 5})
BATCH = cluster("batch", {"sources": ["flare/**", "scanner/**"], "priority": 3})
EVERYONE = cluster("everyone", {"users": ["**"], "priority": 50})
PLAIN = cluster("plain")
THEMIS = Cluster.model_validate(
    {
        "name": "spark",
        "version": "v1",
        "type": "cluster",
        "cluster": {"type": "themis", "themis": {"depots": [{"address": "dataos://lakehouse"}]}},
    }
)


def test_a_requested_cluster_wins_whatever_the_selectors_say() -> None:
    assert pick([ANALYSTS, EVERYONE, PLAIN], requested="plain") == "plain"
    assert pick([ANALYSTS, EVERYONE], requested="Analysts") == "analysts"


def test_an_unknown_requested_cluster_lists_the_available_ones() -> None:
    with pytest.raises(RoutingError) as caught:
        pick([ANALYSTS, EVERYONE, THEMIS], requested="nope")
    assert caught.value.message == "cluster 'nope' does not exist"
    assert caught.value.hint == "available: analysts, everyone"


def test_themis_clusters_are_never_served() -> None:
    with pytest.raises(RoutingError, match="themis") as caught:
        pick([EVERYONE, THEMIS], requested="spark")
    assert caught.value.message == THEMIS_REFUSED
    assert pick([THEMIS, EVERYONE]) == "everyone"


def test_the_lowest_priority_among_matching_selectors_wins() -> None:
    tags = ["users:id:alice", "roles:id:analyst"]
    assert pick([EVERYONE, ANALYSTS], user_tags=tags) == "analysts"
    assert pick([EVERYONE, ANALYSTS, BATCH], user_tags=tags, source="flare/shop/job") == "batch"
    assert pick([EVERYONE, ANALYSTS]) == "everyone"


def test_ties_go_to_the_first_name() -> None:
    first = cluster("aaa", {"users": ["*"], "priority": 7})
    second = cluster("bbb", {"users": ["*"], "priority": 7})
    assert pick([second, first]) == "aaa"


def test_a_cluster_without_selector_serves_only_when_named_or_the_default() -> None:
    with pytest.raises(RoutingError) as caught:
        pick([PLAIN])
    assert "no cluster's selector matches user 'alice'" in caught.value.message
    assert pick([PLAIN], default="plain") == "plain"
    with pytest.raises(RoutingError) as caught:
        pick([PLAIN, ANALYSTS])
    assert "available: analysts, plain" in caught.value.hint
    assert pick([PLAIN, ANALYSTS], requested="plain") == "plain"


def test_no_minerva_cluster_at_all() -> None:
    with pytest.raises(RoutingError, match="no minerva cluster"):
        pick([THEMIS])


def test_user_globs_match_ids_and_user_tags() -> None:
    selector = selector_of({"users": ["svc-*"]})
    assert selects(selector, user_id="svc-etl", user_tags=frozenset(), source=None)
    assert not selects(selector, user_id="alice", user_tags=frozenset(), source=None)
    by_tag = selector_of({"users": ["users:id:bob"]})
    assert selects(by_tag, user_id="bob", user_tags=frozenset(), source=None)


def test_tag_expressions_are_an_or_of_and_groups() -> None:
    raw = {"tags": [["roles:id:data-dev", "dataos:workspace:sales"], ["roles:id:operator"]]}
    selector = selector_of(raw)

    def match(*tags: str) -> bool:
        return selects(selector, user_id="u", user_tags=frozenset(tags), source=None)

    assert match("roles:id:data-dev", "dataos:workspace:sales")
    assert match("roles:id:operator")
    assert not match("roles:id:data-dev")
    assert not match("dataos:workspace:sales", "roles:id:user")
    globbed = selector_of({"tags": ["roles:id:*", "x"]})
    assert selects(globbed, user_id="u", user_tags=frozenset({"roles:id:a"}), source=None)
    assert not selects(globbed, user_id="u", user_tags=frozenset({"roles:id:a:b"}), source=None)


def test_match_any_or_all_of_the_criteria_written() -> None:
    criteria = {"users": ["alice"], "sources": ["dataos-ctl"]}
    any_of = selector_of(criteria)
    all_of = selector_of({**criteria, "match": "all"})
    none: frozenset[str] = frozenset()
    assert selects(any_of, user_id="alice", user_tags=none, source=None)
    assert selects(any_of, user_id="bob", user_tags=none, source="dataos-ctl")
    assert not selects(all_of, user_id="alice", user_tags=none, source=None)
    assert selects(all_of, user_id="alice", user_tags=none, source="dataos-ctl")
    catch_all = selector_of({"priority": 99})
    assert selects(catch_all, user_id="anyone", user_tags=none, source=None)


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 20)),
        min_size=1,
        max_size=6,
        unique_by=lambda c: c[0],
    ),
    st.sampled_from(["alice", "bob"]),
)
def test_the_winner_is_the_minimum_over_matching_clusters(
    specs: list[tuple[str, int]], user: str
) -> None:
    clusters = [
        cluster(name, {"users": ["alice" if index % 2 else "**"], "priority": priority})
        for index, (name, priority) in enumerate(specs)
    ]
    matching = [
        (priority, name)
        for index, (name, priority) in enumerate(specs)
        if index % 2 == 0 or user == "alice"
    ]
    if not matching:
        with pytest.raises(RoutingError):
            pick(clusters, user_id=user, user_tags=[])
        return
    assert pick(clusters, user_id=user, user_tags=[]) == min(matching)[1]
