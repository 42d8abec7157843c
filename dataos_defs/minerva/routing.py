"""Which cluster runs a query: the one asked for, else the best selector match.

A ``minerva`` cluster's ``selector`` names who and what it serves:

* ``users``: user ids or globs (``"**"``, ``"svc-*"``); ``users:id:<id>`` works too;
* ``tags``: a tag expression over the user's tags, a list of AND-groups any of which
  matches (``[[roles:id:data-dev, dataos:workspace:sales], [roles:id:operator]]``);
* ``sources``: globs over the client's source name, levels split by ``/``
  (``flare/**``, ``scanner/**``, ``dataos-ctl``);
* ``match``: ``any`` (default) — one of the criteria written matches; ``all`` — every
  criterion written matches. A selector that writes no criterion matches every query.

Globs are DataOS globs, compiled by Heimdall's ``compile_glob`` so routing and access
policies read them the same way. Among matching clusters the lowest ``priority`` wins,
then the first name. A cluster without a selector serves only queries that name it, or
every query when it is the only ``minerva`` cluster. ``themis`` (Spark SQL) clusters are
never routed to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from dataos_defs.heimdall.policy_data import TAG_SEPARATORS, Pattern, compile_glob
from dataos_defs.manifest.cluster import Cluster, ClusterSelector

SOURCE_SEPARATORS = "/"
THEMIS_REFUSED = "themis (Spark SQL) clusters are not served by the gateway"


class RoutingError(LookupError):
    """No cluster can run the query; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def route(
    clusters: Sequence[Cluster],
    *,
    user_id: str,
    user_tags: Iterable[str],
    source: str | None,
    requested: str | None,
) -> Cluster:
    minerva = sorted((c for c in clusters if c.cluster.type == "minerva"), key=lambda c: c.name)
    if requested is not None:
        return _requested(clusters, minerva, requested)
    tags = frozenset(user_tags)
    matching = []
    for cluster in minerva:
        selector = _selector(cluster)
        if selector is not None and selects(
            selector, user_id=user_id, user_tags=tags, source=source
        ):
            matching.append(cluster)
    if matching:
        return min(matching, key=lambda c: (_priority(c), c.name))
    if len(minerva) == 1 and _selector(minerva[0]) is None:
        return minerva[0]
    if not minerva:
        raise RoutingError("no minerva cluster exists", "apply a cluster of type minerva")
    raise RoutingError(
        f"no cluster's selector matches user '{user_id}'"
        + (f" from source '{source}'" if source else ""),
        f"name a cluster with the request (available: {_names(minerva)}), or ask an "
        "operator to add you to a cluster's selector",
    )


def selects(
    selector: ClusterSelector, *, user_id: str, user_tags: frozenset[str], source: str | None
) -> bool:
    """Whether ``selector`` picks this query (see the module docstring)."""
    results = []
    if selector.users is not None:
        ids = (user_id, f"users:id:{user_id}")
        results.append(any(_matches(g, TAG_SEPARATORS, i) for g in selector.users for i in ids))
    if selector.tags is not None:
        results.append(any(_group_matches(group, user_tags) for group in selector.tags))
    if selector.sources is not None:
        results.append(
            source is not None
            and any(_matches(g, SOURCE_SEPARATORS, source) for g in selector.sources)
        )
    if not results:
        return True
    return all(results) if selector.match == "all" else any(results)


def _requested(clusters: Sequence[Cluster], minerva: list[Cluster], requested: str) -> Cluster:
    found = next((c for c in clusters if c.name == requested.strip().lower()), None)
    if found is None:
        raise RoutingError(
            f"cluster '{requested}' does not exist",
            f"available: {_names(minerva)}" if minerva else "apply a cluster of type minerva",
        )
    if found.cluster.type != "minerva":
        raise RoutingError(THEMIS_REFUSED, f"use a minerva cluster: {_names(minerva)}")
    return found


def _group_matches(group: Sequence[str], tags: frozenset[str]) -> bool:
    """Every glob of the AND-group matches some tag of the user."""
    return all(any(_matches(glob, TAG_SEPARATORS, tag) for tag in tags) for glob in group)


def _matches(glob: str, separators: str, value: str) -> bool:
    pattern = _compiled(glob, separators)
    if pattern.kind == "exact":
        return value == pattern.value
    if pattern.kind == "prefix":
        return value.startswith(pattern.value)
    return _regex(pattern.value).match(value) is not None


@cache
def _compiled(glob: str, separators: str) -> Pattern:
    return compile_glob(glob, separators)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _selector(cluster: Cluster) -> ClusterSelector | None:
    section = cluster.cluster.minerva
    return section.selector if section is not None else None


def _priority(cluster: Cluster) -> int:
    selector = _selector(cluster)
    return selector.priority if selector is not None else 0


def _names(clusters: Iterable[Cluster]) -> str:
    return ", ".join(c.name for c in clusters) or "none"
