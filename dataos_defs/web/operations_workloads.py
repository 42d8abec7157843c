"""Operations for Services and Workers: the replica table and each replica's log.

Both read the workload runtime (``app.state.workloads``) as ``get runtime -t service`` and
``log -t service`` do (:mod:`dataos_defs.api.workload_routes`), under the same rules: the
replica table needs ``read`` on the Resource; a replica's log needs ``read`` on its
``/logs`` and, for anyone but the identity the workload runs as, ``run-as`` on that
identity (``runtime.may_see_as``), because a log carries what the process saw. Both are
fragments of the Resource's page; they poll themselves (the table every
:data:`TABLE_POLL_MS`, a followed log every :data:`LOG_POLL_MS`), so a page left open
follows the workload without a stream held per viewer. Bounded: the last :data:`LOG_LINES`
lines, each cut at :data:`LINE_CHARS` characters.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dataos_defs.api.authz import authorize
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity
from dataos_defs.api.runtime import may_see_as
from dataos_defs.api.workload_routes import running_workloads, runtime_body
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.store import Store
from dataos_defs.poros.workloads import WORKLOAD_KINDS
from dataos_defs.web import operations_views as views
from dataos_defs.web.render import render
from dataos_defs.web.route import WebRoute
from dataos_defs.web.session import PageIdentity

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Name = Annotated[str, Query(max_length=255)]
LOG_LINES = 500
LINE_CHARS = 2000
TABLE_POLL_MS = 5000
LOG_POLL_MS = 2000


def _workload(
    request: Request,
    identity: Identity,
    kind: str,
    name: str,
    workspace: str | None,
    part: str | None = None,
) -> StoredResource:
    """The Service or Worker, once Heimdall allowed ``read`` on it (or on its ``part``)."""
    if kind not in WORKLOAD_KINDS:
        raise ApiError(404, "not_found", f"'{kind[:64]}' has no replicas: only {WORKLOAD_KINDS}")
    ws = workspace or "public"
    authorize(request, identity, "read", resource_object(kind, name, ws, part))
    store: Store = request.app.state.store
    found = store.get(kind, name, ws)
    if found is None:
        raise ApiError(404, "not_found", f"{kind} '{name}' not found in workspace '{ws}'")
    return found


@router.get("/operations/resources/{kind}/{name}/replicas")
def replicas(
    request: Request, kind: str, name: str, identity: PageIdentity, workspace: Name | None = None
) -> Response:
    """Fragment: the replica table (what ``get runtime -t <kind>`` shows)."""
    resource = _workload(request, identity, kind, name, workspace)
    ws = resource.workspace or "public"
    runtime = running_workloads(request).runtime(kind, ws, name)
    context: dict[str, Any] = {"runtime": runtime_body(resource, runtime), "kind": kind}
    context.update({"name": name, "ws": ws, "delay": TABLE_POLL_MS})
    context["status_class"] = views.status_class
    return render(request, "operations/replicas.html", context)


@router.get("/operations/resources/{kind}/{name}/replica-logs")
def replica_logs(
    request: Request,
    kind: str,
    name: str,
    identity: PageIdentity,
    workspace: Name | None = None,
    replica: Name | None = None,
    follow: bool = False,
) -> Response:
    """Fragment: the last lines of one replica's output (the first replica by default);
    with ``follow`` it polls itself while the workload has replicas."""
    resource = _workload(request, identity, kind, name, workspace, "logs")
    may_see_as(request, identity, resource)
    ws = resource.workspace or "public"
    workloads = running_workloads(request)
    runtime = workloads.runtime(kind, ws, name)
    names = [r.name for r in runtime.replicas] if runtime is not None else []
    if replica is not None and replica not in names:
        raise ApiError(404, "no_replica", f"{kind} '{name}' has no replica '{replica}'")
    chosen = replica or (names[0] if names else None)
    lines: list[str] = []
    if chosen is not None:
        try:
            lines = workloads.logs(kind, ws, name, chosen, LOG_LINES)
        except LookupError:
            lines = []
    context: dict[str, Any] = {"kind": kind, "name": name, "ws": ws, "replicas": names}
    context.update({"replica": chosen, "follow": follow and bool(names), "delay": LOG_POLL_MS})
    context["lines"] = [line[:LINE_CHARS] for line in lines[-LOG_LINES:]]
    return render(request, "operations/replica_logs.html", context)
