"""Incidents and monitor evaluations over HTTP.

* ``GET /monitor/api/v1/incidents?state=&workspace=&monitor=``: newest first; a caller sees
  the incidents of the monitors they may ``read`` (``poros://monitor:<ws>/<name>``), the
  others are hidden (fail closed), the list logged as one decision. Open incidents of
  deleted monitors are resolved first (nothing evaluates them any more).
* ``GET /monitor/api/v1/incidents/{id}``: one incident, 404 when it does not exist or the
  caller may not read its monitor (the answer does not tell which).
* ``POST /monitor/api/v1/monitors/{workspace}/{name}/evaluate``: evaluate now (the monitor
  jobs of Dagster call it on their schedule). Allowed to the monitor scheduler
  (``dataos_defs.monitor.scheduler``) and to whoever may ``update`` the monitor **and** is its
  owner or may act as its owner (``run-as``): the evaluation always acts as the owner the
  store recorded, so triggering it shows what the owner sees. At most one evaluation of a
  monitor per :data:`MIN_INTERVAL_S` (429 otherwise).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from dataos_defs.api.admission.runas import RUN_AS
from dataos_defs.api.authz import authorize, decide, visible
from dataos_defs.api.deps import get_store
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.monitor_runs import DagsterRuns
from dataos_defs.heimdall.objects import resource_object, user_object
from dataos_defs.monitor.caretaker_runs import CaretakerRuns
from dataos_defs.monitor.equation import GatewayQueries
from dataos_defs.monitor.evaluate import Platform, evaluate_monitor
from dataos_defs.monitor.incidents import MAX_LIST, Incidents, MonitorRef
from dataos_defs.monitor.orphans import resolve_deleted_monitors
from dataos_defs.monitor.pagers import active_pagers, dispatch
from dataos_defs.monitor.scheduler import ensure_scheduler, is_scheduler
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.store import Store

router = APIRouter(prefix="/monitor/api/v1", tags=["monitor"])
StoreDep = Annotated[Store, Depends(get_store)]
IdentityDep = Annotated[Identity, Depends(current_identity)]
MIN_INTERVAL_S = 10
log = logging.getLogger(__name__)


def start_monitors(app: FastAPI, store: Store, home: Path, api_url: str) -> None:
    """At the API server's start: the incidents' tables (migrated), the scheduler's key and
    the runs of workflows (Caretaker's, then Dagster's when configured)."""
    app.state.monitor_incidents = Incidents.open(store.engine)
    try:
        ensure_scheduler(app.state.identities, home, api_url)
    except OSError as exc:
        log.error(
            "no monitor scheduler key could be written (%s): monitors will not run on "
            "schedule from this server",
            exc.strerror,
        )
    app.state.monitor_runs = CaretakerRuns(store.engine, DagsterRuns.from_env())


def _incidents(request: Request) -> Incidents:
    incidents: Incidents = request.app.state.monitor_incidents
    return incidents


def _target(incident: dict[str, Any]) -> tuple[str, list[str]]:
    return resource_object("monitor", incident["monitor"], incident["workspace"]), []


@router.get("/incidents", summary="Incidents of the monitors the caller may read")
def list_incidents(
    request: Request,
    identity: IdentityDep,
    store: StoreDep,
    state: Literal["open", "resolved"] | None = None,
    workspace: Annotated[str | None, Query(max_length=255)] = None,
    monitor: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> list[dict[str, Any]]:
    incidents = _incidents(request)
    resolve_deleted_monitors(store, incidents, dispatch, active_pagers)
    found = incidents.listed(workspace=workspace, monitor=monitor, state=state, limit=limit)
    return visible(request, identity, "read", found, _target)


@router.get("/incidents/{incident_id}", summary="One incident")
def get_incident(request: Request, identity: IdentityDep, incident_id: str) -> dict[str, Any]:
    found = _incidents(request).get(incident_id[:64])
    if found and visible(request, identity, "read", [found], _target):
        return found
    raise ApiError(
        404,
        "not_found",
        f"no incident '{incident_id[:64]}' that you may read",
        "list them with dataos-ctl get incidents",
    )


@router.post("/monitors/{workspace}/{name}/evaluate", summary="Evaluate a monitor now")
def evaluate(
    request: Request, workspace: str, name: str, store: StoreDep, identity: IdentityDep
) -> dict[str, Any]:
    if not is_scheduler(identity.user_id, identity.tags):
        authorize(request, identity, "update", resource_object("monitor", name, workspace))
    stored = store.get("monitor", name, workspace)
    if stored is None:
        raise ApiError(404, "not_found", f"monitor '{name}' not found in workspace '{workspace}'")
    if not is_scheduler(identity.user_id, identity.tags):
        _may_act_as_owner(request, identity, stored)
    incidents = _incidents(request)
    _not_too_soon(incidents, MonitorRef(workspace, name))
    gateway = getattr(request.app.state, "gateway", None)
    platform = Platform(
        store=store,
        incidents=incidents,
        identities=request.app.state.identities,
        heimdall=request.app.state.heimdall,
        queries=GatewayQueries(gateway) if gateway is not None else None,
        runs=request.app.state.monitor_runs,
        dispatcher=dispatch,
        pagers=active_pagers,
    )
    return evaluate_monitor(platform, stored).as_dict()


def _may_act_as_owner(request: Request, identity: Identity, stored: StoredResource) -> None:
    """An evaluation acts as the owner: the caller must be them or may act as them."""
    owner = stored.owner
    if owner == identity.user_id:
        return
    target = user_object(owner or "")
    decision = decide(request, identity, RUN_AS, target)
    if owner is None or not decision.allow:
        raise ApiError(
            403,
            "forbidden",
            f"monitor '{stored.name}' acts as {owner}, and {identity.user_id} may not act as "
            f"them ({RUN_AS} on {target}: {decision.reason})",
            "let its schedule evaluate it, or ask its owner",
        )


def _not_too_soon(incidents: Incidents, ref: MonitorRef) -> None:
    state = incidents.state(ref)
    last = state.get("evaluatedAt") if state else None
    if last is not None and incidents.clock() - last < MIN_INTERVAL_S * 1000:
        raise ApiError(
            429,
            "too_many_requests",
            f"{ref} was evaluated less than {MIN_INTERVAL_S} s ago",
            "wait for its next evaluation",
        )
