"""Which cluster runs a query: the one asked for, else the best selector match, else the
operator's default cluster.

A ``minerva`` cluster's ``selector`` names who and what it serves:

* ``users``: user ids or globs (``"**"``, ``"svc-*"``); ``users:id:<id>`` works too;
* ``tags``: a tag expression over the user's tags, a list of AND-groups any of which
  matches (``[[roles:id:data-dev, dataos:workspace:sales], [roles:id:operator]]``);
* ``sources``: globs over the client's source name, levels split by ``/``
  (``flare/**``, ``scanner/**``, ``dataos-ctl``);
* ``match``: ``any`` (default) — one of the criteria written matches; ``all`` — every
  criterion written matches. A selector that writes no criterion matches every query.

Globs are DataOS globs, compiled by Heimdall's ``compile_glob`` so routing and access
policies read them the same way. The order of the rules:

1. A query that names a cluster (``-c NAME``, ``X-DataOS-Cluster``) runs there, or is
   refused if no such ``minerva`` cluster exists; ``themis`` (Spark SQL) clusters are never
   routed to.
2. Else the matching selectors decide: the lowest ``priority`` wins; between clusters of the
   same priority, the first name in alphabetical order wins. Ties are therefore
   deterministic and the same on every replica, whatever the order clusters were applied
   in; to take precedence over a cluster one needs a strictly lower priority.
3. Else the default cluster, an operator's setting (``DATAOS_MINERVA_DEFAULT_CLUSTER``,
   settings.py), when it names a live ``minerva`` cluster; otherwise the query is refused,
   saying what to set or to name a cluster.

A cluster without a selector serves only the queries that name it (or, as the default
cluster, those no selector matches), however many clusters there are: applying a cluster
never changes where other users' queries go unless its selector names them. Writing a
selector is a routing privilege checked when the cluster is applied
(``dataos_defs/api/admission/clusters.py``). Routing is not an access boundary: whichever
cluster runs a query, the Gateway authorizes every dataset and applies the caller's masks
and filters; ``sources`` in particular is what the client says it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from dataos_defs.heimdall.policy_data import TAG_SEPARATORS, Pattern, compile_glob
from dataos_defs.manifest.cluster import Cluster, ClusterSelector
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV

SOURCE_SEPARATORS = "/"
DEFAULT_CLUSTER_HINT = f"or ask an operator to set {DEFAULT_CLUSTER_ENV}"
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
    default: str | None = None,
) -> Cluster:
    """The cluster for one query (see the module docstring); ``default`` is the operator's
    default cluster. Raises RoutingError with a hint when none can run it."""
    minerva = sorted((c for c in clusters if c.cluster.type == "minerva"), key=lambda c: c.name)
    if requested is not None and requested.strip():
        return _requested(clusters, minerva, requested)
    if not minerva:
        raise RoutingError("no minerva cluster exists", "apply a cluster of type minerva")
    chosen = best_match(minerva, user_id=user_id, user_tags=frozenset(user_tags), source=source)
    if chosen is not None:
        return chosen
    return _default(minerva, default, user_id, source)


def best_match(
    clusters: Iterable[Cluster], *, user_id: str, user_tags: frozenset[str], source: str | None
) -> Cluster | None:
    """Among the clusters whose selector picks the query, the lowest priority, then the
    first name; None when no selector does (clusters without one never match)."""
    matching = []
    for cluster in clusters:
        selector = _selector(cluster)
        if selector is not None and selects(
            selector, user_id=user_id, user_tags=user_tags, source=source
        ):
            matching.append(cluster)
    if not matching:
        return None
    return min(matching, key=lambda c: (_priority(c), c.name))


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


def _default(
    minerva: list[Cluster], default: str | None, user_id: str, source: str | None
) -> Cluster:
    unmatched = f"no cluster's selector matches user '{user_id}'" + (
        f" from source '{source}'" if source else ""
    )
    name_one = f"name a cluster with -c NAME (available: {_names(minerva)})"
    if default is None:
        raise RoutingError(
            f"{unmatched} and no default cluster is set",
            f"{name_one}, {DEFAULT_CLUSTER_HINT} to the cluster that serves everyone else",
        )
    found = next((c for c in minerva if c.name == default), None)
    if found is None:
        raise RoutingError(
            f"{unmatched}, and the default cluster '{default}' ({DEFAULT_CLUSTER_ENV}) is not "
            "a live minerva cluster",
            f"{name_one}, {DEFAULT_CLUSTER_HINT} to one of them (or apply '{default}')",
        )
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
