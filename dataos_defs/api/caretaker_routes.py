"""Caretaker on the HTTP API: runs, steps, quality checks, running nodes, Service/Worker
processes, failures and aggregates.

Governed like ``get runtime``: a caller sees the runs of a Resource only if Heimdall lets
them ``read`` it (``poros://workflow:<ws>/<name>``); lists are filtered item by item, fail
closed, and aggregates are made of the visible Resources' runs only. A run id the caller
may not see answers 404 like an unknown one (no way to probe other workspaces' runs).

Errors are what a run saw, and can quote data values (like its logs): a run's or step's
``error`` is shown only to callers who may read the Resource's ``/logs`` and are, or may act
as (``run-as``), the identity the run acted as; otherwise it is ``null`` with
``error_hidden: true``. Every list and window is bounded.

Aggregates of finished runs come from the Parquet history through DuckDB, plus what the
live tables hold that the history does not yet (``caretaker.history_aggregates``); the
Resources in the window are those of both, and the same access rule applies to both.

Caretaker's tables are migrated when the server starts (its own alembic history).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from sqlalchemy import Connection

from dataos_defs.api.admission.runas import RUN_AS
from dataos_defs.api.authz import Target, authorize, may, visible
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.caretaker import db, history_aggregates, live
from dataos_defs.caretaker.aggregates import BY_VALUES, WindowError, window_ms
from dataos_defs.caretaker.checks import checks_of
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.history_schema import HistoryError
from dataos_defs.caretaker.recorder import now_ms
from dataos_defs.caretaker.records import ProcessRecord, RunRecord, StepRecord
from dataos_defs.heimdall.objects import resource_object, user_object


@asynccontextmanager
async def _migrated(app: FastAPI) -> AsyncIterator[None]:
    db.upgrade(app.state.store.engine)
    yield


_log = logging.getLogger(__name__)
router = APIRouter(prefix="/caretaker/api/v1", tags=["caretaker"], lifespan=_migrated)
IdentityDep = Annotated[Identity, Depends(current_identity)]
MAX_LAST = 500
Item = TypeVar("Item", RunRecord, StepRecord, ProcessRecord)


def _connection(request: Request) -> Iterator[Connection]:
    with request.app.state.store.engine.connect() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(_connection)]


def _target(item: RunRecord | StepRecord | ProcessRecord) -> Target:
    return resource_object(item.resource_type, item.resource_name, item.workspace), ()


def _window(text: str, name: str) -> int:
    try:
        return now_ms() - window_ms(text)
    except WindowError as exc:
        raise ApiError(400, "bad_window", f"{name}: {exc}", "for example 30m, 24h or 7d") from None


class _ErrorsShown:
    """Whether the caller may see the errors of a Resource's runs (see the module doc)."""

    def __init__(self, request: Request, identity: Identity) -> None:
        self.request, self.identity = request, identity
        self.decided: dict[tuple[str, str, str, str | None], bool] = {}

    def __call__(self, item: RunRecord | StepRecord, run_as: str | None) -> bool:
        key = (item.workspace, item.resource_type, item.resource_name, run_as)
        if key not in self.decided:
            self.decided[key] = self._decide(item, run_as)
        return self.decided[key]

    def _decide(self, item: RunRecord | StepRecord, run_as: str | None) -> bool:
        logs = resource_object(item.resource_type, item.resource_name, item.workspace, "logs")
        if run_as is None or not may(self.request, self.identity, "read", logs):
            return False
        if run_as == self.identity.user_id:
            return True
        return may(self.request, self.identity, RUN_AS, user_object(run_as))


def _out(item: RunRecord | StepRecord, shown: bool) -> dict[str, Any]:
    row = asdict(item)
    hidden = row.get("error") is not None and not shown
    if hidden:
        row["error"] = None
    return {**row, "error_hidden": hidden}


def _runs_out(runs: Sequence[RunRecord], errors: _ErrorsShown) -> list[dict[str, Any]]:
    return [_out(r, errors(r, r.run_as)) for r in runs]


def _visible(request: Request, identity: Identity, items: Sequence[Item]) -> list[Item]:
    return visible(request, identity, "read", items, _target)


@router.get("/runs", summary="The latest runs of a Resource (or of all visible ones)")
def runs(
    request: Request,
    identity: IdentityDep,
    conn: ConnDep,
    workspace: str | None = None,
    type: Annotated[str, Query(max_length=64)] = "workflow",
    name: Annotated[str | None, Query(max_length=255)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LAST)] = 10,
) -> dict[str, Any]:
    """With ``name``: that Resource's last ``last`` runs (403 without ``read`` on it).
    Without: the last runs of the workspace (or all), only those of readable Resources."""
    errors = _ErrorsShown(request, identity)
    if name is not None:
        ws = workspace or "public"
        authorize(request, identity, "read", resource_object(type, name, ws))
        found = live.latest_runs(conn, last, (ws, type, name))
        return {"runs": _runs_out(found, errors)}
    latest = live.latest_runs(conn, MAX_LAST, workspace=workspace)
    found = _visible(request, identity, [r for r in latest if r.resource_type == type])
    return {"runs": _runs_out(found[:last], errors)}


@router.get("/steps", summary="The steps of a run")
def steps(
    request: Request,
    identity: IdentityDep,
    conn: ConnDep,
    run_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> dict[str, Any]:
    """404 for a run that does not exist or that the caller may not see."""
    found = live.run(conn, run_id)
    if found is None or not _visible(request, identity, [found]):
        raise ApiError(404, "no_run", f"no run '{run_id}' that you may read")
    errors = _ErrorsShown(request, identity)
    shown = errors(found, found.run_as)
    return {
        "run": _out(found, shown),
        "steps": [_out(s, shown) for s in live.steps_of(conn, run_id)],
    }


@router.get("/checks", summary="The quality check results of a run, or of a workflow's last runs")
def checks(
    request: Request,
    identity: IdentityDep,
    conn: ConnDep,
    run_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    workspace: str | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    last: Annotated[int, Query(ge=1, le=MAX_LAST)] = 10,
) -> dict[str, Any]:
    """``run_id``: that run's checks (404 for a run that does not exist or that the caller
    may not see, as ``/steps``). ``name``: the checks of the workflow's last ``last`` runs
    (403 without ``read`` on it). Checks hold figures only, never data values."""
    if run_id is not None:
        found = live.run(conn, run_id)
        if found is None or not _visible(request, identity, [found]):
            raise ApiError(404, "no_run", f"no run '{run_id}' that you may read")
        runs = [found]
    elif name is not None:
        ws = workspace or "public"
        authorize(request, identity, "read", resource_object("workflow", name, ws))
        runs = live.latest_runs(conn, last, (ws, "workflow", name))
    else:
        raise ApiError(400, "no_target", "give run_id, or name (and workspace) of a workflow")
    results = checks_of(conn, [r.run_id for r in runs], limit=live.MAX_ROWS)
    return {"checks": [asdict(c) for c in results]}


@router.get("/nodes", summary="Running nodes: steps running now and live processes")
def nodes(request: Request, identity: IdentityDep, conn: ConnDep) -> dict[str, Any]:
    running = _visible(request, identity, live.running_steps(conn))
    processes = _visible(request, identity, live.running_processes(conn))
    return {
        "steps": [{k: v for k, v in asdict(s).items() if k != "error"} for s in running],
        "processes": [asdict(p) for p in processes],
    }


@router.get("/processes", summary="A Service's or Worker's replicas and the states they entered")
def processes(
    request: Request,
    identity: IdentityDep,
    conn: ConnDep,
    name: Annotated[str, Query(min_length=1, max_length=255)],
    workspace: str | None = None,
    type: Annotated[str, Query(pattern="^(service|worker)$")] = "service",
    last: Annotated[int, Query(ge=1, le=MAX_LAST)] = 10,
) -> dict[str, Any]:
    """Its processes now and the last ``last`` states they entered, newest first (403
    without ``read`` on the Resource). Reasons name exits and probes, never a value."""
    ws = workspace or "public"
    authorize(request, identity, "read", resource_object(type, name, ws))
    resource = (ws, type, name)
    return {
        "processes": [asdict(p) for p in live.processes_of(conn, resource)],
        "events": [asdict(e) for e in live.process_events(conn, resource, last)],
    }


@router.get("/failures", summary="Failed runs since a time, with their failed steps")
def failures(
    request: Request,
    identity: IdentityDep,
    conn: ConnDep,
    since: Annotated[str, Query(max_length=8)] = "1d",
) -> dict[str, Any]:
    found = _visible(request, identity, live.failures_since(conn, _window(since, "since")))
    errors = _ErrorsShown(request, identity)
    failed = live.failed_steps(conn, [r.run_id for r in found])
    return {
        "failures": [
            {
                **_out(r, errors(r, r.run_as)),
                "failed_steps": [_out(s, errors(r, r.run_as)) for s in failed.get(r.run_id, [])],
            }
            for r in found
        ]
    }


@router.get("/aggregates", summary="Runs, success rate, p50/p95 duration, CPU, peak memory")
def aggregates(
    request: Request,
    identity: IdentityDep,
    conn: ConnDep,
    window: Annotated[str, Query(max_length=8)] = "7d",
    by: Annotated[str, Query(max_length=16)] = "workflow",
) -> dict[str, Any]:
    """Over the caller's visible Resources only; ``by`` is workflow, job or compute."""
    if by not in BY_VALUES:
        raise ApiError(400, "bad_by", f"by '{by}' is not one of {', '.join(BY_VALUES)}")
    since = _window(window, "window")
    history = _history(request)
    try:
        archived = history_aggregates.history_resources(history, since)
        present = sorted({*live.resources_since(conn, since), *archived})
        readable = _readable(request, identity, present)
        every = len(readable) == len(present) < live.MAX_RESOURCES
        found = history_aggregates.aggregate(conn, history, by, since, readable, every=every)
    except OSError:
        _log.exception("Caretaker's history could not be read")
        raise ApiError(503, "history_unavailable", "the run history cannot be read now") from None
    return {"window": window, "by": by, "aggregates": [a.as_dict() for a in found]}


def _history(request: Request) -> HistoryStore:
    """The history the server's settings name (made once); a wrong setting answers 503
    rather than aggregates that silently leave the history out."""
    found = getattr(request.app.state, "caretaker_history", None)
    if isinstance(found, HistoryStore):
        return found
    try:
        store = HistoryStore.from_env(request.app.state.home)
    except (HistoryError, ImportError, ValueError) as exc:
        message = f"the run history is misconfigured: {exc}"
        raise ApiError(503, "history_unavailable", message) from None
    request.app.state.caretaker_history = store
    return store


def _resource_target(resource: live.Resource) -> Target:
    workspace, kind, name = resource
    return resource_object(kind, name, workspace), ()


def _readable(
    request: Request, identity: Identity, resources: list[live.Resource]
) -> list[live.Resource]:
    return visible(request, identity, "read", resources, _resource_target)
