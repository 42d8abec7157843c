"""Reconciliation: bring Dagster to the state the store describes.

It lives in the API layer because it is the one layer allowed to use both the store
(``poros``, which must not know Dagster) and the Dagster GraphQL adapter; it speaks HTTP
only, so the API server never imports Dagster.

After every apply or delete, when ``DAGSTER_WEBSERVER_URL`` names a webserver (``make up``
sets it), in the background of the API server (:mod:`dataos_defs.api.reconciler`: the routes
answer once the change is committed), its phases shown in the reason of the workflows it is
deploying (:mod:`dataos_defs.api.reconcile_progress`):

1. reload the code location (``DAGSTER_LOCATION_NAME``, default ``dataos``): it recompiles
   the Definitions from the store;
2. if the location fails to load, every live workflow becomes ``error`` with the load
   error as its reason (none of them can run);
3. otherwise each live workflow must have its job (found by its ``dataos/workspace`` and
   ``dataos/workflow`` tags); a workflow with ``workflow.schedule`` gets its schedule
   ``RUNNING`` (started if it was stopped); then the workflow is ``active``. Before the
   reload, the jobs of deleted workflows (a Resource, or a workspace deleted with
   ``--force``) have their schedules stopped and their runs terminated;
4. a workflow whose ``schedule.endOn`` has passed is finished (DATAOS_CONTRACT §2): its
   schedule is stopped and its runs still in flight are terminated;
5. a workflow without a schedule runs once when applied: each apply that creates or changes
   one records that in its own transaction (the run outbox, ``poros.outbox``), and every
   reconciliation drains the outbox: a run of the workflow's job, tagged
   ``dataos/trigger=apply``, claimed first (:data:`CLAIM_S`) so that two server processes
   do not both launch it, and the entry is removed once Dagster accepted it. Re-applying
   an unchanged manifest records nothing, so it starts nothing. A run that cannot be
   launched makes the workflow ``error`` with the reason and stays in the outbox (with the
   reason and a retry count), tried again by the next reconciliation. Jobs with ``dryRun``
   run in dry-run mode, as their executors decide.

The reload is skipped when what the code location compiles from has not changed since this
process last loaded it (:func:`compile_fingerprint`: the workflows, depots and computes and
their revisions), so deleting a secret or a policy costs no reload. Reconciliations are
serialized and each one fingerprints the store when it starts, so changes made while a
reload runs are all covered by the next single reload. A status is recorded only if nobody
changed the workflow since the reconciliation read it (a later one decides it then).

``endOn`` must hold when nothing is applied too: a thread of the API server (the reconciler
module's ``EndOnWatch``) checks every :data:`WATCH_INTERVAL_S` seconds. Ending workflows never
reloads the location, and reads Dagster only while some workflow's ``endOn`` has passed; the
watch also reconciles while runs wait in the outbox. Otherwise it costs two store queries. A
run may thus outlive ``endOn`` by up to that interval.

Without a URL nothing happens and workflows stay ``pending``: the store is the record of
intent, and nothing has deployed them. When the webserver cannot be reached they stay
``pending`` with the reason (it begins with :data:`NOT_DEPLOYED`), and the next apply or
delete reconciles them again. Runs waiting in the outbox are launched by the next
reconciliation, by the API server's start (its reconciler) and by the periodic watch, so an
API server killed between an apply and Dagster loses no run.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from dataos_defs.adapters.dagster_graphql import (
    ACTIVE_RUN_STATUSES,
    DEFAULT_LOCATION,
    DagsterGraphQL,
    DagsterGraphQLError,
    LocationState,
)
from dataos_defs.api import reconcile_progress as phases
from dataos_defs.api.reconcile_progress import Progress
from dataos_defs.api.wire import NOT_DEPLOYED
from dataos_defs.manifest.workflow import Schedule
from dataos_defs.poros.errors import PorosError
from dataos_defs.poros.outbox import OutboxEntry
from dataos_defs.poros.records import ResourceKey, Status, StoredResource
from dataos_defs.poros.store import Store

DAGSTER_URL_ENV = "DAGSTER_WEBSERVER_URL"
DAGSTER_LOCATION_ENV = "DAGSTER_LOCATION_NAME"
LOAD_TIMEOUT_S = 600.0
"""How long a reload may take (the request, then the location ``LOADING``): a location of
10,000 jobs takes minutes to load on a small machine, and reconciling runs in the background."""
SETTLE_TIMEOUT_S = 5.0
REASON_LIMIT = 500
WATCH_INTERVAL_S = 30.0
APPLY_TRIGGER = {"dataos/trigger": "apply"}
COMPILED_KINDS = ("workflow", "depot", "compute", "monitor")
"""The Resource types the code location compiles from (``location.definitions`` reads them;
a test keeps the two equal, this module must not import Dagster)."""
CLAIM_S = 120.0
"""How long a run taken from the outbox is left to this process to launch."""
_RECONCILING = threading.Lock()
_LOADED: dict[tuple[str, str, str], str] = {}
"""The fingerprint of the inputs last loaded by each (webserver, location, store)."""
_BACKGROUND: dict[int, Callable[[Collection[ResourceKey]], object]] = {}
"""How to request a reconciliation from the API server's background reconciler, by the
``id`` of the store it serves (:mod:`dataos_defs.api.reconciler` registers itself)."""

log = logging.getLogger(__name__)
Decision = tuple[Status, str | None]


@dataclass(frozen=True)
class Outcome:
    """What reconciliation decided for each live workflow: (status, reason)."""

    statuses: Mapping[ResourceKey, Decision]
    location_error: str | None = None
    launched: Mapping[ResourceKey, str] = field(default_factory=dict)
    """The run started for each workflow that runs once because the apply changed it."""
    terminated: Mapping[ResourceKey, tuple[str, ...]] = field(default_factory=dict)
    """Runs stopped because their workflow's ``endOn`` had passed."""
    failed: Mapping[ResourceKey, str] = field(default_factory=dict)
    """Why each workflow waiting in the run outbox was not launched (it stays there)."""
    reloaded: bool = False
    """Whether the code location was reloaded (its inputs had changed)."""
    loaded: bool = False
    """Whether Dagster had the location loaded without error: its jobs were checked."""


def _schedule(workflow: StoredResource) -> Mapping[str, Any]:
    return (workflow.manifest.get("workflow") or {}).get("schedule") or {}


def end_on(manifest: Mapping[str, Any]) -> datetime | None:
    """A workflow's ``schedule.endOn`` as an aware date-time, read as the compiled schedule
    reads it (:meth:`Schedule.ends_at`)."""
    schedule = (manifest.get("workflow") or {}).get("schedule") or {}
    if not schedule.get("endOn"):
        return None
    try:
        return Schedule.model_validate(schedule).ends_at()
    except (ValidationError, ValueError):
        log.warning("ignoring a schedule that no longer validates: %r", schedule)
        return None


def has_ended(manifest: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether the workflow's ``endOn`` has passed: it is finished for good."""
    until = end_on(manifest)
    return until is not None and until <= (now or datetime.now(UTC))


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


def _settled(
    dagster: DagsterGraphQL, expected: set[tuple[str, str]], started: float
) -> LocationState:
    """The location once reloaded: read again until it is loaded and holds exactly the live
    workflows, or a load error, within bounds.

    Read again because under ``dagster dev`` (a proxy code server) the answer of the reload
    mutation can still describe the previous load; the next query has the new one.
    """
    loading_until = started + LOAD_TIMEOUT_S
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


def _finish(dagster: DagsterGraphQL, job: str, state: LocationState) -> tuple[str, ...]:
    """Stop the job's schedule and terminate its runs in flight: the runs it stopped."""
    for schedule in state.schedules.values():
        if schedule.job == job and schedule.status == "RUNNING":
            dagster.stop_schedule(schedule.state_id)
    active = tuple(run.run_id for run in dagster.active_runs(job))
    for run_id in active:
        try:
            dagster.terminate_run(run_id)
        except DagsterGraphQLError:
            if dagster.run_status(run_id) in ACTIVE_RUN_STATUSES:
                raise
    return active


def _retire(dagster: DagsterGraphQL, live: set[tuple[str, str]]) -> None:
    """Before the reload hides them: stop the schedules and runs of workflows deleted since
    the location last loaded (a deleted workflow stops, as in DataOS)."""
    before = dagster.location_state()
    for job, tags in before.jobs.items():
        owner = (tags.get("dataos/workspace"), tags.get("dataos/workflow"))
        if owner[0] is None or owner[1] is None or owner in live:
            continue
        try:
            stopped = _finish(dagster, job, before)
        except DagsterGraphQLError as exc:
            log.warning("could not stop job %s of a deleted workflow: %s", job, exc)
            continue
        if stopped:
            log.info("job %s of a deleted workflow: terminated %s", job, ", ".join(stopped))


@dataclass
class _Pass:
    """One reconciliation against a loaded location, collecting what it did."""

    dagster: DagsterGraphQL
    state: LocationState
    now: datetime
    claim: Callable[[OutboxEntry], bool]
    """Takes a run from the outbox before it is launched; False: another process has it."""
    launched: dict[ResourceKey, str] = field(default_factory=dict)
    failed: dict[ResourceKey, str] = field(default_factory=dict)
    terminated: dict[ResourceKey, tuple[str, ...]] = field(default_factory=dict)

    def workflow(self, workflow: StoredResource, run: OutboxEntry | None) -> Decision:
        job = _job_of(workflow, self.state)
        if job is None:
            reason = f"the code location '{self.state.name}' compiled no job for this workflow"
            return self._not_launched(workflow, run, reason)
        scheduled = bool(_schedule(workflow))
        try:
            if scheduled and has_ended(workflow.manifest, self.now):
                self._end(workflow, job)
            elif scheduled:
                self._keep_scheduled(job)
            else:
                self._unschedule(job)
        except DagsterGraphQLError as exc:
            return self._not_launched(workflow, run, _reason(f"job {job}: {exc}"))
        if run is not None and not scheduled and self.claim(run):
            try:
                self.launched[workflow.key] = self.dagster.launch_run(job, APPLY_TRIGGER)
            except DagsterGraphQLError as exc:
                reason = _reason(f"the run started on apply could not be launched: {exc}")
                return self._not_launched(workflow, run, reason)
        return "active", None

    def _not_launched(
        self, workflow: StoredResource, run: OutboxEntry | None, reason: str
    ) -> Decision:
        if run is not None:
            self.failed[workflow.key] = reason
        return "error", reason

    def _end(self, workflow: StoredResource, job: str) -> None:
        stopped = _finish(self.dagster, job, self.state)
        if stopped:
            self.terminated[workflow.key] = stopped

    def _keep_scheduled(self, job: str) -> None:
        for schedule in self.state.schedules.values():
            if schedule.job == job and schedule.status != "RUNNING":
                self.dagster.start_schedule(schedule.name)

    def _unschedule(self, job: str) -> None:
        for schedule in self.state.schedules.values():
            if schedule.job == job and schedule.status == "RUNNING":
                self.dagster.stop_schedule(schedule.state_id)


def _undeployed(workflows: list[StoredResource], status: Status, reason: str) -> Outcome:
    statuses = {w.key: (status, reason) for w in workflows}
    return Outcome(statuses, failed={w.key: reason for w in workflows})


def _load(
    dagster: DagsterGraphQL, expected: set[tuple[str, str]], reload: bool, progress: Progress
) -> LocationState:
    if not reload:
        progress.phase(phases.CHECKING)
        return dagster.location_state()
    progress.phase(phases.RETIRING)
    _retire(dagster, expected)
    progress.phase(phases.LOADING, with_jobs=True)
    started = time.monotonic()
    dagster.reload_location()
    return _settled(dagster, expected, started)


def _decide(
    dagster: DagsterGraphQL,
    workflows: list[StoredResource],
    runs: Mapping[ResourceKey, OutboxEntry],
    now: datetime,
    reload: bool,
    claim: Callable[[OutboxEntry], bool],
    progress: Progress,
) -> Outcome:
    expected = {(w.workspace or "", w.name) for w in workflows}
    try:
        state = _load(dagster, expected, reload, progress)
    except DagsterGraphQLError as exc:
        reason = _reason(f"{NOT_DEPLOYED} reloading the Dagster code location failed: {exc}")
        return _undeployed(workflows, "pending", reason)
    if state.load_status == "LOADING":
        reason = f"{NOT_DEPLOYED} the Dagster code location '{state.name}' is still loading"
        return _undeployed(workflows, "pending", reason)
    if state.error is not None:
        reason = _reason(f"the Dagster code location '{state.name}' failed to load: {state.error}")
        outcome = _undeployed(workflows, "error", reason)
        return Outcome(outcome.statuses, state.error, failed=outcome.failed, reloaded=reload)
    progress.phase(phases.STARTING)
    done = _Pass(dagster, state, now, claim)
    statuses = {w.key: done.workflow(w, runs.get(w.key)) for w in workflows}
    return Outcome(
        statuses,
        None,
        done.launched,
        done.terminated,
        failed=done.failed,
        reloaded=reload,
        loaded=True,
    )


def _target(url: str | None, location: str | None) -> tuple[str, str] | None:
    url = url or os.environ.get(DAGSTER_URL_ENV)
    if not url:
        return None
    return url, location or os.environ.get(DAGSTER_LOCATION_ENV) or DEFAULT_LOCATION


def reconcile(
    store: Store,
    url: str | None = None,
    location: str | None = None,
    *,
    changed: Collection[ResourceKey] = (),
    now: datetime | None = None,
    force_reload: bool = False,
) -> Outcome | None:
    """Reconcile every live workflow with the webserver at ``url`` (default: the env).

    What runs once is what the run outbox holds (the applies record it); ``changed``, the
    Resources the triggering change created or updated, decides only whether Dagster may be
    skipped (a change of no workflow, with the location loaded and nothing due). The location is
    reloaded only when its inputs changed since this process last loaded it, or with
    ``force_reload``. ``None`` when no webserver is configured (nothing is done). Only
    statuses that change are written, so ``updated_at`` keeps meaning "last changed".
    """
    target = _target(url, location)
    if target is None:
        return None
    if changed:
        log.debug("reconciling after a change of %s", ", ".join(map(str, changed)))
    # Only a change that touches no workflow may skip Dagster when nothing else is due; an
    # apply that changed nothing (a re-apply) or the periodic watch still converges the
    # schedules' states with the store (e.g. turns a stopped schedule back on).
    may_skip = bool(changed) and not any(key.kind == "workflow" for key in changed)
    with _RECONCILING:
        return _reconcile(store, target, force_reload, now or datetime.now(UTC), may_skip)


def _reconcile(
    store: Store, target: tuple[str, str], force_reload: bool, now: datetime, may_skip: bool
) -> Outcome:
    workflows = store.list(kind="workflow")
    runs = {entry.key: entry for entry in store.outbox()}
    fingerprint = compile_fingerprint(store)
    cache = (*target, store.engine.url.render_as_string(hide_password=True))
    loaded = _LOADED.get(cache) == fingerprint and not force_reload
    if may_skip and loaded and not runs and all(w.status == "active" for w in workflows):
        return Outcome({w.key: (w.status, w.status_reason) for w in workflows}, loaded=True)
    with (
        Progress(store, workflows) as progress,
        DagsterGraphQL(target[0], location=target[1], timeout=LOAD_TIMEOUT_S) as dagster,
    ):
        outcome = _decide(
            dagster,
            workflows,
            runs,
            now,
            reload=not loaded,
            claim=lambda run: store.outbox_claim(run.key, run.revision, CLAIM_S),
            progress=progress,
        )
    _record(store, workflows, runs, outcome, progress.written)
    if outcome.loaded:
        _LOADED[cache] = fingerprint
    else:
        _LOADED.pop(cache, None)
    return outcome


def compile_fingerprint(store: Store) -> str:
    """A digest of what the code location compiles from (:data:`COMPILED_KINDS`)."""
    return store.compile_fingerprint(COMPILED_KINDS)


def _record(
    store: Store,
    workflows: list[StoredResource],
    runs: Mapping[ResourceKey, OutboxEntry],
    outcome: Outcome,
    shown: Mapping[ResourceKey, Decision],
) -> None:
    """Write the statuses decided that changed, except where the workflow changed since it was
    read (re-applied, deleted, or marked by an apply to wait for the next reconciliation):
    the reconciliation that change requested decides it. ``shown``: the progress written."""
    current = {w.key: w for w in store.list(kind="workflow")}
    for workflow in workflows:
        status, reason = outcome.statuses[workflow.key]
        seen = shown.get(workflow.key, (workflow.status, workflow.status_reason))
        latest = current.get(workflow.key)
        if latest is None or (latest.revision, latest.status, latest.status_reason) != (
            workflow.revision,
            *seen,
        ):
            log.debug("%s changed while reconciling: the next reconciliation decides it", workflow)
            continue
        if seen == (status, reason):
            continue
        try:
            store.set_status(workflow.kind, workflow.name, workflow.workspace, status, reason)
        except PorosError as exc:
            log.info("not recording the status of %s: %s", workflow.key, exc)
    for key, run_id in outcome.launched.items():
        if not store.outbox_done(key, runs[key].revision):
            log.info("%s changed again while its run was launched: it runs again", key)
        log.info("started %s once on apply: run %s", key, run_id)
    for key, reason in outcome.failed.items():
        if key in runs:
            store.outbox_failed(key, runs[key].revision, reason)


def reconcile_after_change(store: Store, changed: Collection[ResourceKey] = ()) -> None:
    """Called by the routes once a change is stored: requests a reconciliation from the API
    server's background reconciler, or reconciles now in a process that runs none. Never
    fails the request, which has already succeeded; a problem is logged and the statuses say
    what is known."""
    try:
        background = _BACKGROUND.get(id(store))
        if background is not None:
            background(changed)
        else:
            reconcile(store, changed=changed)
    except Exception:
        log.exception("reconciliation with Dagster failed")


def drain_outbox(store: Store) -> Outcome | None:
    """Reconcile when runs wait in the outbox (an API server start after a crash, the
    watch); ``None`` when none waits or no webserver is configured."""
    if _target(None, None) is None or not store.outbox():
        return None
    return reconcile(store)


def end_finished_workflows(
    store: Store,
    url: str | None = None,
    location: str | None = None,
    *,
    now: datetime | None = None,
) -> dict[ResourceKey, tuple[str, ...]]:
    """Stop the schedule and terminate the runs in flight of every live workflow whose
    ``endOn`` has passed, without reloading the location; the runs terminated, by workflow.
    Asks Dagster nothing when no workflow has ended."""
    target = _target(url, location)
    moment = now or datetime.now(UTC)
    ended = [w for w in store.list(kind="workflow") if has_ended(w.manifest, moment)]
    if target is None or not ended:
        return {}
    terminated: dict[ResourceKey, tuple[str, ...]] = {}
    with DagsterGraphQL(target[0], location=target[1]) as dagster:
        state = dagster.location_state()
        for workflow in ended:
            job = _job_of(workflow, state)
            stopped = _finish(dagster, job, state) if job is not None else ()
            if stopped:
                log.info(
                    "%s ended on %s: terminated %s",
                    workflow.key,
                    end_on(workflow.manifest),
                    ", ".join(stopped),
                )
                terminated[workflow.key] = stopped
    return terminated
