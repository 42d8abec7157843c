"""Runtime of workflows, as ``dataos-ctl get runtime``, ``runtime ...`` and ``log`` show it.

The store says what a workflow should be; Dagster knows what it is doing. These routes
read (and act on) Dagster through its GraphQL API: the workflow's job, its schedule and
next tick, its runs, the state of each DataOS job (one Dagster op) in the latest run, and
the latest run's logs per job. A workflow whose ``schedule.endOn`` has passed shows the
runtime ``ended`` once no run of it is in flight (reconciliation terminates those).

Logs carry what a run saw: row counts, and engine errors that can quote data values
("could not convert 'ada@example.com' to INT"), read as the identity the run acts as
(``run_as``) with that identity's rights and masks. So reading a workflow's logs needs
``read`` on its ``/logs`` and, for anyone but that identity, ``run-as`` on it
(``heimdall://user/<id>``): whoever may act as an identity may see what it sees, nobody
else. A ``run_id`` asked for must be a run of that workflow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from dataos_defs.adapters.dagster_graphql import (
    ACTIVE_RUN_STATUSES,
    RUNS,
    DagsterGraphQL,
    DagsterGraphQLError,
)
from dataos_defs.api import cluster_runtime
from dataos_defs.api.admission.runas import RUN_AS
from dataos_defs.api.authz import authorize, decide
from dataos_defs.api.deps import get_store
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.reconcile import (
    DAGSTER_LOCATION_ENV,
    DAGSTER_URL_ENV,
    DEFAULT_LOCATION,
    end_on,
    has_ended,
)
from dataos_defs.api.run_logs import first_failure, log_lines
from dataos_defs.heimdall.objects import resource_object, user_object
from dataos_defs.location import naming
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.store import Store

router = APIRouter(prefix="/poros/api/v1", tags=["runtime"])
StoreDep = Annotated[Store, Depends(get_store)]
IdentityDep = Annotated[Identity, Depends(current_identity)]
ACTIVE = set(ACTIVE_RUN_STATUSES)


@contextmanager
def _dagster() -> Iterator[DagsterGraphQL]:
    url = os.environ.get(DAGSTER_URL_ENV)
    if not url:
        raise ApiError(
            503,
            "no_orchestrator",
            "no Dagster webserver is configured, so runtimes are unknown",
            f"start the platform with 'make up', or set {DAGSTER_URL_ENV}",
        )
    location = os.environ.get(DAGSTER_LOCATION_ENV) or DEFAULT_LOCATION
    try:
        with DagsterGraphQL(url, location=location) as client:
            yield client
    except DagsterGraphQLError as exc:
        raise ApiError(502, "orchestrator_error", f"Dagster answered: {exc}") from exc


def _workflow(
    request: Request,
    store: Store,
    identity: Identity,
    name: str,
    workspace: str | None,
    predicate: str,
    part: str | None = None,
) -> StoredResource:
    ws = workspace or "public"
    authorize(request, identity, predicate, resource_object("workflow", name, ws, part))
    found = store.get("workflow", name, ws)
    if found is None:
        raise ApiError(404, "not_found", f"workflow '{name}' not found in workspace '{ws}'")
    return found


def _jobs(workflow: StoredResource) -> list[dict[str, Any]]:
    return list((workflow.manifest.get("workflow") or {}).get("dag") or [])


def _time(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch else None


def _schedule(client: DagsterGraphQL, job: str) -> tuple[str | None, str | None, str | None]:
    """The job's schedule: (name, RUNNING|STOPPED, next tick) or Nones."""
    for schedule in client.location_state().schedules.values():
        if schedule.job == job:
            tick = client.next_tick(schedule.name) if schedule.status == "RUNNING" else None
            return schedule.name, schedule.status, _time(tick)
    return None, None, None


@router.get("/runtime/workflow/{name}", summary="A workflow's runtime")
def get_runtime(
    request: Request,
    name: str,
    store: StoreDep,
    identity: IdentityDep,
    workspace: str | None = None,
) -> dict[str, Any]:
    """Jobs with stacks, dependencies and their state in the latest run, progress ``k/n``,
    start and finish, recent runs and the next tick."""
    workflow = _workflow(request, store, identity, name, workspace, "read")
    ws = workflow.workspace or "public"
    job = naming.job_name(ws, name)
    with _dagster() as client:
        runs = client.runs(job, limit=10)
        schedule, schedule_status, next_tick = _schedule(client, job)
        steps = {s.step_key: s for s in client.step_stats(runs[0].run_id)} if runs else {}
    nodes = []
    for entry in _jobs(workflow):
        step = steps.get(naming.op_name(ws, name, entry["name"]))
        nodes.append(
            {
                "name": entry["name"],
                "stack": (entry.get("spec") or {}).get("stack"),
                "dependencies": entry.get("dependencies") or [],
                "state": (step.status or "PENDING").lower() if step else "pending",
                "started": _time(step.start_time) if step else None,
                "finished": _time(step.end_time) if step else None,
            }
        )
    done = sum(1 for n in nodes if n["state"] == "success")
    latest = runs[0] if runs else None
    ended = has_ended(workflow.manifest)
    runtime = _runtime(latest.status if latest else None, next_tick, ended)
    until = end_on(workflow.manifest)
    return {
        "name": name,
        "workspace": ws,
        "status": workflow.status,
        "runtime": runtime,
        "job": job,
        "progress": f"{done}/{len(nodes)}",
        "schedule": {
            "name": schedule,
            "state": schedule_status,
            "next_tick": None if ended else next_tick,
            "end_on": until.isoformat() if until else None,
        },
        "started": _time(latest.start_time) if latest else None,
        "finished": _time(latest.end_time) if latest else None,
        "nodes": nodes,
        "runs": [
            {
                "run_id": r.run_id,
                "status": r.status.lower(),
                "started": _time(r.start_time),
                "finished": _time(r.end_time),
            }
            for r in runs
        ],
    }


def runtimes_of(workflows: list[StoredResource]) -> dict[tuple[str, str | None], str]:
    """The runtime word of each workflow (for ``get`` listings): one query for recent runs,
    one for the schedules, one per running schedule; empty when Dagster is not configured or
    does not answer (a listing never fails for want of runtimes)."""
    if not workflows or not os.environ.get(DAGSTER_URL_ENV):
        return {}
    try:
        with _dagster() as client:
            latest: dict[str, str] = {}
            for run in client.runs(None, limit=500):
                latest.setdefault(run.job, run.status)
            schedules = client.location_state().schedules.values()
            ticks = {
                s.job: _time(client.next_tick(s.name)) for s in schedules if s.status == "RUNNING"
            }
    except ApiError:
        return {}
    found = {}
    for workflow in workflows:
        job = naming.job_name(workflow.workspace or "public", workflow.name)
        ended = has_ended(workflow.manifest)
        runtime = _runtime(latest.get(job), ticks.get(job), ended)
        found[(workflow.name, workflow.workspace)] = runtime
    return found


def _runtime(last_status: str | None, next_tick: str | None, ended: bool = False) -> str:
    """DataOS runtime words: running, succeeded, failed, pending, next:<time>, or ended (a
    schedule past its ``endOn``)."""
    if last_status in ACTIVE:
        return "running"
    if ended:
        return "ended"
    if next_tick:
        return f"next:{next_tick}"
    return {"SUCCESS": "succeeded", "FAILURE": "failed", "CANCELED": "failed"}.get(
        last_status or "", "pending"
    )


ACTIONS = ("run", "re-run", "stop", "pause", "resume")
TRIGGERS = {"run": "cli", "re-run": "re-run"}
"""The ``dataos/trigger`` tag of the runs each launching action starts."""


@router.post("/runtime/workflow/{name}/{action}", summary="run, re-run, stop, pause or resume")
def act(
    request: Request,
    name: str,
    action: str,
    store: StoreDep,
    identity: IdentityDep,
    workspace: str | None = None,
) -> dict[str, Any]:
    """``run`` launches a run now; ``re-run`` too (DataOS' ``runtime re-run`` and
    ``apply -r``: a new run of the workflow as deployed, its current revision, tagged
    ``dataos/trigger: re-run``; authorized as ``run``); ``stop`` terminates the active
    runs; ``pause`` and ``resume`` stop and start the schedule (a schedule past its
    ``endOn`` cannot resume)."""
    if action not in ACTIONS:
        raise ApiError(
            400, "bad_action", f"unknown runtime action '{action}'", f"one of: {', '.join(ACTIONS)}"
        )
    workflow = _workflow(request, store, identity, name, workspace, "update")
    job = naming.job_name(workflow.workspace or "public", name)
    if action == "re-run" and workflow.status != "active":
        raise ApiError(
            409,
            "not_deployed",
            f"workflow '{name}' revision {workflow.revision} is {workflow.status}, not deployed: "
            "a run now would not be of its current revision",
            f"see why with dataos-ctl get -t workflow -n {name} -w {workflow.workspace}; "
            "apply --wait deploys it",
        )
    if action == "resume" and has_ended(workflow.manifest):
        raise ApiError(
            409,
            "schedule_ended",
            f"workflow '{name}' ended on {workflow.manifest['workflow']['schedule']['endOn']}",
            "change or remove schedule.endOn and apply the workflow again",
        )
    with _dagster() as client:
        if action in TRIGGERS:
            trigger = {"dataos/trigger": TRIGGERS[action]}
            return {"action": action, "run_id": client.launch_run(job, trigger)}
        if action == "stop":
            active = [r.run_id for r in client.active_runs(job)]
            for run in active:
                client.terminate_run(run)
            return {"action": action, "stopped": active}
        state = client.location_state()
        for schedule in state.schedules.values():
            if schedule.job == job:
                if action == "pause" and schedule.status == "RUNNING":
                    client.stop_schedule(schedule.state_id)
                if action == "resume" and schedule.status != "RUNNING":
                    client.start_schedule(schedule.name)
                return {"action": action, "schedule": schedule.name}
    raise ApiError(409, "no_schedule", f"workflow '{name}' has no schedule to {action}")


@router.get("/logs/workflow/{name}", summary="Logs of a workflow's latest run")
def logs(
    request: Request,
    name: str,
    store: StoreDep,
    identity: IdentityDep,
    workspace: str | None = None,
    node: Annotated[str | None, Query(description="one job of the workflow")] = None,
    run_id: Annotated[str | None, Query()] = None,
    lines: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    """The latest run's (or ``run_id``'s) last ``lines`` events, each failure with its
    cause and each written output with its rows, led by the run's first failure (see
    ``run_logs``). Needs ``read`` on the workflow's ``/logs`` and, unless the caller is the
    identity its runs act as, ``run-as`` on that identity (see the module docstring)."""
    workflow = _workflow(request, store, identity, name, workspace, "read", "logs")
    may_see_as(request, identity, workflow)
    ws = workflow.workspace or "public"
    job = naming.job_name(ws, name)
    step = naming.op_name(ws, name, node) if node else None
    with _dagster() as client:
        if run_id is None:
            runs = client.runs(job, limit=1)
            if not runs:
                raise ApiError(404, "no_run", f"workflow '{name}' has not run yet")
            run_id = runs[0].run_id
        elif not _is_run_of(client, job, run_id):
            raise ApiError(
                404,
                "no_run",
                f"workflow '{name}' has no run '{run_id}'",
                f"its runs are listed by dataos-ctl get runtime -t workflow -n {name}",
            )
        events = client.logs(run_id)
    by_step = {naming.op_name(ws, name, j["name"]): j["name"] for j in _jobs(workflow)}
    selected = [e for e in events if step is None or e.step == step]
    return {
        "run_id": run_id,
        "failure": first_failure(selected, by_step),
        "lines": log_lines(selected, by_step)[-lines:],
    }


def may_see_as(request: Request, identity: Identity, resource: StoredResource) -> None:
    """Whether the caller may see what a runnable Resource sees (its logs): it is the
    identity the Resource runs as, or may act as it (``run-as``)."""
    acting = resource.run_as or resource.owner
    runs, act = ("its runs", "act") if resource.kind == "workflow" else ("it", "runs")
    if acting is None:
        raise ApiError(
            403,
            "forbidden",
            f"{resource.kind} '{resource.name}' records no identity {runs} {act} as, so its "
            "logs are shown to no one",
            f"apply it again: {runs} then {act} as a recorded identity",
        )
    if acting == identity.user_id:
        return
    target = user_object(acting)
    decision = decide(request, identity, RUN_AS, target)
    if not decision.allow:
        raise ApiError(
            403,
            "forbidden",
            f"the logs of {resource.kind} '{resource.name}' show what {runs} saw as {acting}, "
            f"and {identity.user_id} may not act as {acting} ({RUN_AS} on {target}: "
            f"{decision.reason})",
            f"ask {acting} to read them, or an operator for an access policy allowing "
            f"'{RUN_AS}' on {target}",
        )


def _is_run_of(client: DagsterGraphQL, job: str, run_id: str) -> bool:
    """Whether ``run_id`` is a run of ``job`` (a run of another workflow is not shown)."""
    data = client.execute(RUNS, {"filter": {"runIds": [run_id], "pipelineName": job}, "limit": 1})
    found = data.get("runsOrError") or {}
    results = found.get("results") if found.get("__typename") == "Runs" else None
    return any(r.get("runId") == run_id and r.get("jobName") == job for r in results or [])


router.include_router(cluster_runtime.router)
