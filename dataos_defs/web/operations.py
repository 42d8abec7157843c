"""Operations: Resources per workspace, a Resource's page, runs, logs and incidents.

Each page calls the API's route functions for the signed-in user, so it shows what
``dataos-ctl get``/``log``/``get runtime`` would show them and refuses what they would
refuse, with the same status: the workspaces the user may read (``list_workspaces``), the
Resources with status and runtime (``list_resources``, the listing cache included), a
Resource (``get_resource``: the store's redacted manifest, never ``unsanitize``) with its
revisions (``history``: ``read`` on the Resource; the diff then reads the same revisions'
redacted payloads), a workflow's runtime nodes (``get_runtime``) and logs (``logs``, with
its run-as rule), the runs Caretaker recorded (``caretaker_routes.runs``) and incidents
(``list_incidents``). Slow parts (Dagster, Caretaker) are fragments loaded after the page.
A Service's or Worker's replicas and their logs: :mod:`dataos_defs.web.operations_workloads`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from dataos_defs.api import caretaker_routes, incident_routes, resources, runtime, workspaces
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity
from dataos_defs.manifest.registry import RESOURCE_TYPES, WORKSPACE_TYPES
from dataos_defs.poros.store import Store
from dataos_defs.web import operations_views as views
from dataos_defs.web import operations_workloads
from dataos_defs.web.render import render
from dataos_defs.web.route import WebRoute
from dataos_defs.web.session import PageIdentity

router = APIRouter(route_class=WebRoute, include_in_schema=False)
router.include_router(operations_workloads.router)
Name = Annotated[str, Query(max_length=255)]
ACTIVE_RUNS = {"queued", "starting", "started", "running", "not_started", "canceling"}
LOG_LINES = 500
RUNS_SHOWN = 20
PAGE_ROWS = 100


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@contextmanager
def _connection(request: Request) -> Iterator[Connection]:
    with _store(request).engine.connect() as conn:
        yield conn


def _globals() -> dict[str, Any]:
    return {
        "resource_url": views.resource_url,
        "status_class": views.status_class,
        "duration": views.duration,
        "moment": views.moment,
    }


@router.get("/operations")
def overview(
    request: Request,
    identity: PageIdentity,
    workspace: Name | None = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str, Query(max_length=255)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The workspaces the user may read and the Resources of one (with instance-level
    ones), :data:`PAGE_ROWS` a page, optionally only those whose name holds ``q``."""
    store = _store(request)
    if workspace is not None:
        workspaces.get_workspace(request, workspace, store, identity)  # 403/404 as the API
    shown = workspaces.list_workspaces(request, store, identity).items
    names = [w.name for w in shown]
    chosen = workspace or ("public" if "public" in names else (names[0] if names else None))
    kind = type or None
    listed = resources.list_resources(request, store, identity, kind, chosen or "public", None)
    items = json.loads(bytes(listed.body))["items"]
    if q:
        items = [r for r in items if q.lower() in r["name"].lower()]
    pages = max(1, -(-len(items) // PAGE_ROWS))
    page = min(page, pages)
    context = {
        "workspaces": names,
        "workspace": chosen,
        "kind": kind,
        "kinds": sorted(RESOURCE_TYPES),
        "q": q,
        "total": len(items),
        "page": page,
        "pages": pages,
        "rows": views.resource_rows(items[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]),
        "first": (page - 1) * PAGE_ROWS + 1,
        "query": views.query_string(workspace=chosen, type=kind, q=q),
    }
    return render(request, "operations/overview.html", context)


def _workspace(kind: str, workspace: str | None) -> str | None:
    return (workspace or "public") if kind in WORKSPACE_TYPES else None


@router.get("/operations/resources/{kind}/{name}")
def resource_page(
    request: Request, kind: str, name: str, identity: PageIdentity, workspace: Name | None = None
) -> Response:
    store = _store(request)
    found = resources.get_resource(request, kind, name, store, identity, workspace, False)
    revisions = resources.history(request, kind, name, store, identity, workspace).revisions
    ws = _workspace(kind, workspace)
    context = {
        "resource": found,
        "ws": ws,
        "manifest": views.manifest_yaml(found.manifest),
        "revisions": list(reversed(revisions)),
        "query": f"workspace={ws}" if ws else "",
        **_globals(),
    }
    return render(request, "operations/resource.html", context)


@router.get("/operations/resources/{kind}/{name}/diff")
def revision_diff(
    request: Request,
    kind: str,
    name: str,
    identity: PageIdentity,
    a: Annotated[int, Query(ge=1)],
    b: Annotated[int, Query(ge=1)],
    workspace: Name | None = None,
) -> Response:
    """The diff of two revisions' redacted manifests (``read`` on the Resource first)."""
    store = _store(request)
    resources.history(request, kind, name, store, identity, workspace)
    by_number = {r.revision: r for r in store.history(kind, name, _workspace(kind, workspace))}
    if a not in by_number or b not in by_number:
        raise ApiError(404, "not_found", f"{kind} '{name}' has no revision {a} or {b}")
    old, new = by_number[a], by_number[b]
    lines = views.diff(old.manifest, new.manifest, f"revision {a}", f"revision {b}")
    context: dict[str, Any] = {"kind": kind, "name": name, "ws": _workspace(kind, workspace)}
    context.update({"a": a, "b": b})
    context.update({"lines": lines, "revisions": sorted(by_number), **_globals()})
    return render(request, "operations/diff.html", context)


@router.get("/operations/resources/workflow/{name}/runtime")
def workflow_runtime(
    request: Request, name: str, identity: PageIdentity, workspace: Name | None = None
) -> Response:
    """Fragment: the workflow's jobs and their state in the latest run (from Dagster)."""
    found = runtime.get_runtime(request, name, _store(request), identity, workspace)
    return render(request, "operations/runtime.html", {"runtime": found, **_globals()})


@router.get("/operations/resources/workflow/{name}/logs")
def workflow_logs(
    request: Request,
    name: str,
    identity: PageIdentity,
    workspace: Name | None = None,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
    node: Name | None = None,
) -> Response:
    """Fragment: the run's log (``logs``: ``read`` on ``/logs`` and the run-as rule); it
    polls itself while the run is active."""
    found = runtime.logs(
        request, name, _store(request), identity, workspace, node, run_id, LOG_LINES
    )
    # Caretaker records a run's end a little after Dagster logs it: a failure ends polling.
    active = found["failure"] is None and _active(
        request, identity, name, workspace, found["run_id"]
    )
    context: dict[str, Any] = {"logs": found, "name": name, "ws": workspace or "public"}
    context["node"] = node
    context.update({"active": active, **_globals()})
    return render(request, "operations/logs.html", context)


def _active(
    request: Request, identity: Identity, name: str, workspace: str | None, run_id: str
) -> bool:
    with _connection(request) as conn:
        found = caretaker_routes.runs(request, identity, conn, workspace, "workflow", name, 5)
    return any(r["run_id"] == run_id and r["state"] in ACTIVE_RUNS for r in found["runs"])


@router.get("/operations/resources/{kind}/{name}/runs")
def resource_runs(
    request: Request, kind: str, name: str, identity: PageIdentity, workspace: Name | None = None
) -> Response:
    """Fragment: the runs Caretaker recorded, with durations and the Dagster UI's link."""
    with _connection(request) as conn:
        found = caretaker_routes.runs(request, identity, conn, workspace, kind, name, RUNS_SHOWN)
    context = {"runs": found["runs"], "kind": kind, "name": name, "ws": workspace, **_globals()}
    return render(request, "operations/runs.html", context)


@router.get("/operations/incidents")
def incidents(
    request: Request,
    identity: PageIdentity,
    state: Literal["open", "resolved"] | None = None,
    workspace: Name | None = None,
) -> Response:
    found = incident_routes.list_incidents(
        request, identity, _store(request), state, workspace, None, 200
    )
    context = {"incidents": found, "state": state or "", "workspace": workspace or ""}
    context.update(_globals())
    return render(request, "operations/incidents.html", context)
