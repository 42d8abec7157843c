"""Where a Service would be served: a public path that stays in its workspace, and is its own.

The ingress (:mod:`dataos_defs.api.ingress`) serves each Service at one public path
(:func:`dataos_defs.api.ingress_routing.public_prefix`: ``/<workspace>/<name>``, or
``/<workspace><ingress.path>``). Admission refuses, for the whole set:

* an ``ingress.path`` that could resolve outside its workspace or is ambiguous: a dot or
  empty segment, a percent-encoded character, a backslash, characters other than letters,
  digits and ``-._~`` (:func:`~dataos_defs.api.ingress_routing.path_problem`);
* two Services whose public paths are the same or one inside the other (``/ws/a`` and
  ``/ws/a/b``), whether both are in the set or one is already stored — otherwise which one
  a request reaches would depend on the order of a table, and a new Service could capture
  part of an existing one's traffic;
* ``ingress.noAuthentication: true`` (where it takes effect: an enabled ingress with a
  path) unless the applier may ``expose`` the Service (``poros://service:<ws>/<name>``):
  it opens the Service to anyone who can reach the API server, with no API key and no
  Heimdall decision, so it is a right of its own, not part of applying the Service.
  Operators have it (``**``); nobody else does until a policy grants it. Re-applying a
  Service that keeps ``noAuthentication`` needs it again.

Ports (1..65535) and ``replicas`` (>= 0) are bounded by the manifest model itself.
"""

from __future__ import annotations

from dataos_defs.api.admission.context import Admission
from dataos_defs.api.ingress_routing import overlaps, path_problem, public_prefix
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.service import Ingress, Service
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store

PATH = ("service", "ingress", "path")
NO_AUTHENTICATION = ("service", "ingress", "noAuthentication")
EXPOSE = "expose"
"""The predicate that lets a Service be served without authentication."""
PATH_HINT = (
    "write the path as segments of letters, digits and '-._~' (e.g. /orders/api/v1); it is "
    "served inside the workspace, at /<workspace><path>"
)


def check_service(adm: Admission, resource: ParsedResource) -> list[Issue]:
    """The issues of one Service of the set: its ingress path, a public path another
    Service (earlier in the set, or stored) already has, and an unauthenticated ingress
    its applier may not open."""
    model = resource.model
    if not isinstance(model, Service):
        return []
    return [
        *_check_public_path(adm, resource, model.service.ingress),
        *_check_exposure(adm, resource, model.service.ingress),
    ]


def _check_exposure(
    adm: Admission, resource: ParsedResource, ingress: Ingress | None
) -> list[Issue]:
    key = adm.key(resource)
    if key.workspace is None or ingress is None:
        return []
    if not public_prefix(key.workspace, key.name, ingress)[2]:
        return []
    target = resource_object("service", key.name, key.workspace)
    decision = adm.applier_may(EXPOSE, target)
    if decision.allow:
        return []
    return [
        resource.issue(
            NO_AUTHENTICATION,
            f"noAuthentication would open service {key.workspace}/{key.name} to anyone, "
            f"with no API key and no access decision; {adm.applier.user_id} may not "
            f"{EXPOSE} {target} ({decision.reason})",
            "remove noAuthentication (callers then need an API key and a policy allowing "
            f"them), or ask an operator to apply it or for an access policy allowing "
            f"'{EXPOSE}' on {target}",
        )
    ]


def _check_public_path(
    adm: Admission, resource: ParsedResource, ingress: Ingress | None
) -> list[Issue]:
    if ingress is not None and ingress.path is not None:
        problem = path_problem(ingress.path)
        if problem is not None:
            return [
                resource.issue(
                    PATH,
                    f"ingress path '{ingress.path}' could escape its workspace: {problem}",
                    PATH_HINT,
                )
            ]
    key = adm.key(resource)
    mine = _prefix(key, ingress)
    if mine is None:
        return []
    where = PATH if _has_path(ingress) else ("name",)
    for other in _earlier_in_set(adm, resource):
        theirs = _prefix(adm.key(other), _ingress(other))
        if theirs is not None and overlaps(mine, theirs):
            return [_clash(resource, where, mine, theirs, f"{other.name} (in this set)")]
    in_set = {adm.key(r) for r in adm.in_set("service")}
    for name, theirs in _stored(adm.store, key.workspace):
        if ResourceKey("service", name, key.workspace) in in_set:
            continue
        if overlaps(mine, theirs):
            return [_clash(resource, where, mine, theirs, f"{name} (already applied)")]
    return []


def _has_path(ingress: Ingress | None) -> bool:
    return ingress is not None and ingress.enabled and bool(ingress.path)


def _ingress(resource: ParsedResource) -> Ingress | None:
    model = resource.model
    return model.service.ingress if isinstance(model, Service) else None


def _prefix(key: ResourceKey, ingress: Ingress | None) -> str | None:
    if key.workspace is None:
        return None
    return public_prefix(key.workspace, key.name, ingress)[0]


def _earlier_in_set(adm: Admission, resource: ParsedResource) -> list[ParsedResource]:
    earlier: list[ParsedResource] = []
    for other in adm.in_set("service"):
        if other is resource:
            return earlier
        if adm.key(other) != adm.key(resource):
            earlier.append(other)
    return earlier


def _stored(store: Store, workspace: str | None) -> list[tuple[str, str]]:
    """``(name, public path)`` of the live Services of ``workspace``."""
    found: list[tuple[str, str]] = []
    if workspace is None:
        return found
    for stored in store.list(kind="service", workspace=workspace):
        ingress = (stored.manifest.get("service") or {}).get("ingress")
        parsed = Ingress.model_validate(ingress) if isinstance(ingress, dict) else None
        found.append((stored.name, public_prefix(workspace, stored.name, parsed)[0]))
    return found


def _clash(
    resource: ParsedResource, where: tuple[str, ...], mine: str, theirs: str, other: str
) -> Issue:
    relation = "is the same as" if mine == theirs else "overlaps"
    return resource.issue(
        where,
        f"this Service would be served at {mine}, which {relation} {theirs}, the public path "
        f"of service {other}; every Service needs a public path of its own",
        "give it another ingress path (one that neither contains nor lies inside another "
        "Service's), or another name",
    )
