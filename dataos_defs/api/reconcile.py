"""Reconciliation after an apply or delete: bring Dagster to the state the store describes.

It lives in the API layer because it is the one layer allowed to use both the store
(``poros``, which must not know Dagster) and the Dagster GraphQL adapter; it speaks HTTP
only, so the API server never imports Dagster.

Steps, when ``DAGSTER_WEBSERVER_URL`` names a webserver (``make up`` sets it):

1. reload the code location (``DAGSTER_LOCATION_NAME``, default ``dataos``): it recompiles
   the Definitions from the store;
2. if the location fails to load, every live workflow becomes ``error`` with the load
   error as its reason (none of them can run);
3. otherwise each live workflow must have its job (found by its ``dataos/workspace`` and
   ``dataos/workflow`` tags); a workflow with ``workflow.schedule`` gets its schedule
   ``RUNNING`` (started if it was stopped); then the workflow is ``active``.

Without a URL nothing happens and workflows stay ``pending``: the store is the record of
intent, and nothing has deployed them. When the webserver cannot be reached they stay
``pending`` with the reason, and the next apply or delete reconciles them again.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from dataos_defs.adapters.dagster_graphql import (
    DEFAULT_LOCATION,
    DagsterGraphQL,
    DagsterGraphQLError,
    LocationState,
)
from dataos_defs.poros.errors import PorosError
from dataos_defs.poros.records import ResourceKey, Status, StoredResource
from dataos_defs.poros.store import Store

DAGSTER_URL_ENV = "DAGSTER_WEBSERVER_URL"
DAGSTER_LOCATION_ENV = "DAGSTER_LOCATION_NAME"
LOAD_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 5.0
REASON_LIMIT = 500

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What reconciliation decided for each live workflow: (status, reason)."""

    statuses: Mapping[ResourceKey, tuple[Status, str | None]]
    location_error: str | None = None


def _reason(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def _compiled(state: LocationState) -> set[tuple[str, str]]:
    """(workspace, workflow) of every job of the location that a workflow compiled to."""
    return {
        (tags["dataos/workspace"], tags["dataos/workflow"])
        for tags in state.jobs.values()
        if "dataos/workspace" in tags and "dataos/workflow" in tags
    }


def _settled(dagster: DagsterGraphQL, expected: set[tuple[str, str]]) -> LocationState:
    """The location once reloaded: read again until it is loaded and holds exactly the live
    workflows, or a load error, within bounds.

    Read again because under ``dagster dev`` (a proxy code server) the answer of the reload
    mutation can still describe the previous load; the next query has the new one.
    """
    loading_until = time.monotonic() + LOAD_TIMEOUT_S
    settle_until = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        state = dagster.location_state()
        now = time.monotonic()
        if state.load_status == "LOADING":
            if now > loading_until:
                return state
        elif state.error is not None or _compiled(state) == expected or now > settle_until:
            return state
        time.sleep(0.25)


def _job_of(workflow: StoredResource, state: LocationState) -> str | None:
    for name, tags in state.jobs.items():
        if (
            tags.get("dataos/workflow") == workflow.name
            and tags.get("dataos/workspace") == workflow.workspace
        ):
            return name
    return None


def _reconcile_workflow(
    dagster: DagsterGraphQL, workflow: StoredResource, state: LocationState
) -> tuple[Status, str | None]:
    job = _job_of(workflow, state)
    if job is None:
        return "error", f"the code location '{state.name}' compiled no job for this workflow"
    scheduled = bool((workflow.manifest.get("workflow") or {}).get("schedule"))
    for schedule in state.schedules.values():
        if schedule.job != job:
            continue
        try:
            if scheduled and schedule.status != "RUNNING":
                dagster.start_schedule(schedule.name)
            elif not scheduled and schedule.status == "RUNNING":
                dagster.stop_schedule(schedule.state_id)
        except DagsterGraphQLError as exc:
            return "error", _reason(f"schedule {schedule.name}: {exc}")
    return "active", None


def _decide(
    dagster: DagsterGraphQL, workflows: list[StoredResource]
) -> tuple[dict[ResourceKey, tuple[Status, str | None]], str | None]:
    expected = {(w.workspace or "", w.name) for w in workflows}
    try:
        dagster.reload_location()
        state = _settled(dagster, expected)
    except DagsterGraphQLError as exc:
        reason = _reason(f"not deployed yet: reloading the Dagster code location failed: {exc}")
        return {w.key: ("pending", reason) for w in workflows}, None
    if state.load_status == "LOADING":
        reason = f"not deployed yet: the Dagster code location '{state.name}' is still loading"
        return {w.key: ("pending", reason) for w in workflows}, None
    if state.error is not None:
        reason = _reason(f"the Dagster code location '{state.name}' failed to load: {state.error}")
        return {w.key: ("error", reason) for w in workflows}, state.error
    return {w.key: _reconcile_workflow(dagster, w, state) for w in workflows}, None


def reconcile(store: Store, url: str | None = None, location: str | None = None) -> Outcome | None:
    """Reconcile every live workflow with the webserver at ``url`` (default: the env).

    ``None`` when no webserver is configured (nothing is done). Only statuses that change
    are written, so ``updated_at`` keeps meaning "last changed".
    """
    url = url or os.environ.get(DAGSTER_URL_ENV)
    if not url:
        return None
    location = location or os.environ.get(DAGSTER_LOCATION_ENV) or DEFAULT_LOCATION
    workflows = store.list(kind="workflow")
    with DagsterGraphQL(url, location=location) as dagster:
        statuses, location_error = _decide(dagster, workflows)
    for workflow in workflows:
        status, reason = statuses[workflow.key]
        if (workflow.status, workflow.status_reason) == (status, reason):
            continue
        try:
            store.set_status(workflow.kind, workflow.name, workflow.workspace, status, reason)
        except PorosError as exc:
            log.info("not recording the status of %s: %s", workflow.key, exc)
    return Outcome(statuses, location_error)


def reconcile_after_change(store: Store) -> None:
    """Called by the routes once a change is stored: never fails the request, which has
    already succeeded; a problem is logged and the statuses say what is known."""
    try:
        reconcile(store)
    except Exception:
        log.exception("reconciliation with Dagster failed")
