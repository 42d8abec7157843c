"""Who may write a cluster's ``selector``: routing is a privilege, not a tenant's choice.

A selector decides where other users' queries run (minerva/routing.py): a cluster applied
with one could capture every query its selector picks. So, for the applier:

* applying (create or update) a ``minerva`` cluster whose ``selector`` is set needs the
  predicate ``route`` on ``minerva://routing``;
* a *catch-all* selector also needs ``route`` on ``minerva://routing/catch-all``, which no
  policy but the operators' (``**``) grants: a selector is catch-all when it picks a
  stranger, an identity it cannot name (a fresh user id, with only fresh ``users:id:``,
  ``roles:id:`` and ``dataos:workspace:`` tags), asking with no source or with a fresh one.
  A selector that writes no criterion, ``users: ["*"]``, ``tags: [[roles:id:*]]`` or
  ``sources: ["**"]`` are all catch-all; the cluster every otherwise unrouted query should
  reach is the operator's ``DATAOS_MINERVA_DEFAULT_CLUSTER`` instead.

A cluster without a selector needs nothing more than the right to apply it: it serves only
the queries that name it.
"""

from __future__ import annotations

import secrets

from dataos_defs.api.admission.context import Admission
from dataos_defs.manifest.cluster import Cluster, ClusterSelector
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.minerva.routing import selects
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV

ROUTE = "route"
ROUTING_OBJECT = "minerva://routing"
CATCH_ALL_OBJECT = f"{ROUTING_OBJECT}/catch-all"
SELECTOR_PATH = ("cluster", "minerva", "selector")
STRANGER_TAG_FAMILIES = ("users:id:", "roles:id:", "dataos:workspace:")


def check_cluster(adm: Admission, resource: ParsedResource) -> list[Issue]:
    """The issues of one cluster of the set: a selector its applier may not write."""
    selector = _selector(resource)
    if selector is None:
        return []
    user = adm.applier.user_id
    decision = adm.applier_may(ROUTE, ROUTING_OBJECT)
    if not decision.allow:
        return [
            resource.issue(
                SELECTOR_PATH,
                f"a selector routes other users' queries to this cluster, and {user} may not "
                f"route queries ({ROUTE} on {ROUTING_OBJECT}: {decision.reason})",
                f"remove the selector (the cluster then serves only the queries that name it: "
                f"dataos-ctl query -c {resource.name} ...), or ask an operator for an access "
                f"policy allowing '{ROUTE}' on {ROUTING_OBJECT}",
            )
        ]
    if not is_catch_all(selector):
        return []
    decision = adm.applier_may(ROUTE, CATCH_ALL_OBJECT)
    if decision.allow:
        return []
    return [
        resource.issue(
            SELECTOR_PATH,
            "this selector picks queries of users it does not name (it would pick any new "
            f"user), so the cluster would capture everyone's queries; {user} may not "
            f"({ROUTE} on {CATCH_ALL_OBJECT}: {decision.reason})",
            "name the users, tags or sources the cluster serves; the cluster that serves "
            f"everyone else is the operators' setting {DEFAULT_CLUSTER_ENV}",
        )
    ]


def is_catch_all(selector: ClusterSelector) -> bool:
    """Whether ``selector`` picks a stranger (see the module docstring)."""
    fresh = f"stranger-{secrets.token_hex(8)}"
    tags = frozenset(family + fresh for family in STRANGER_TAG_FAMILIES)
    return any(
        selects(selector, user_id=fresh, user_tags=tags, source=source) for source in (None, fresh)
    )


def _selector(resource: ParsedResource) -> ClusterSelector | None:
    model = resource.model
    if not isinstance(model, Cluster) or model.cluster.minerva is None:
        return None
    return model.cluster.minerva.selector
