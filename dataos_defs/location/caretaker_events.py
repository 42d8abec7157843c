"""A Dagster run and its events, as Caretaker's records (one :class:`RunBatch` per run).

The records are a function of the run and its event log alone, so reading a run again
gives the same records (the recorder's upserts are idempotent, a sensor may re-read).
Runs of jobs the compiler did not make are none of Caretaker's business; whose run it is
comes from the compiled job's tags, not from the run's (see :func:`owner_of`).

Per step (one DataOS job): the first ``STEP_START`` is its start, the last
``STEP_SUCCESS``/``STEP_FAILURE``/``STEP_SKIPPED`` its end and state, ``STEP_RESTARTED``
counts attempts; the step's resource-use engine event (``location.step_usage``) gives its
CPU, peak memory, exit code, DataOS job name and Compute. Each ``ASSET_CHECK_EVALUATION``
is a quality check result (:mod:`dataos_defs.caretaker.checks` keeps its figures only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.dagster_run import RunRecord as DagsterRunRecord

from dataos_defs.caretaker import usage
from dataos_defs.caretaker.checks import CheckRecord, check_record
from dataos_defs.caretaker.recorder import RunBatch, Transition
from dataos_defs.caretaker.records import RunRecord, RunState, StepRecord, StepState
from dataos_defs.caretaker.schema import RUN_LEVEL
from dataos_defs.location import naming

T = DagsterEventType
RUN_STATES: dict[DagsterRunStatus, RunState] = {
    DagsterRunStatus.QUEUED: "queued",
    DagsterRunStatus.NOT_STARTED: "queued",
    DagsterRunStatus.MANAGED: "queued",
    DagsterRunStatus.STARTING: "starting",
    DagsterRunStatus.STARTED: "running",
    DagsterRunStatus.CANCELING: "running",
    DagsterRunStatus.SUCCESS: "succeeded",
    DagsterRunStatus.FAILURE: "failed",
    DagsterRunStatus.CANCELED: "canceled",
}
RUN_EVENT_STATES = {
    T.RUN_ENQUEUED: "queued",
    T.RUN_STARTING: "starting",
    T.RUN_START: "running",
    T.RUN_SUCCESS: "succeeded",
    T.RUN_FAILURE: "failed",
    T.RUN_CANCELED: "canceled",
}
STEP_EVENT_STATES = {
    T.STEP_START: "running",
    T.STEP_UP_FOR_RETRY: "up_for_retry",
    T.STEP_RESTARTED: "running",
    T.STEP_SUCCESS: "succeeded",
    T.STEP_FAILURE: "failed",
    T.STEP_SKIPPED: "skipped",
}
CARRIERS = {T.ENGINE_EVENT, T.ASSET_MATERIALIZATION, T.ASSET_CHECK_EVALUATION}
"""Events that can carry a step's resource use (``location.step_usage``)."""
READ_TYPES = {*RUN_EVENT_STATES, *STEP_EVENT_STATES, *CARRIERS}
ENDS: dict[str, StepState] = {"succeeded": "succeeded", "failed": "failed", "skipped": "skipped"}
JobNames = Mapping[str, tuple[str, str | None]]
"""Step key -> (DataOS job, Compute), from the compiled assets' metadata."""


@dataclass
class _Step:
    job: str
    compute: str | None = None
    state: StepState = "running"
    started_ms: int | None = None
    ended_ms: int | None = None
    restarts: int = 0
    error: str | None = None
    used: dict[str, Any] = field(default_factory=dict)
    checks: list[tuple[tuple[str, str, bool, str | None], dict[str, Any], int]] = field(
        default_factory=list
    )
    """(asset key, check name, passed, severity), plain metadata and time of each check."""


def _ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds is not None else None


@dataclass(frozen=True)
class Compiled:
    """What the code location compiled: each step's DataOS job and Compute, and each
    Dagster job's own tags (which name its workflow and the identity its runs act as)."""

    steps: JobNames = field(default_factory=dict)
    jobs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Owner:
    workspace: str
    workflow: str
    run_as: str | None


def owner_of(run: DagsterRun, compiled: Compiled) -> Owner | None:
    """Whose run this is, from the compiled job's tags, never from the run's alone: whoever
    launches a run can set its tags. A run of a job no longer compiled (a deleted workflow)
    is taken from its tags only if they name that very job; its identity is then unknown."""
    tags = compiled.jobs.get(run.job_name)
    if tags is not None:
        workspace, workflow = tags.get("dataos/workspace"), tags.get("dataos/workflow")
        if workspace and workflow:
            return Owner(workspace, workflow, tags.get("dataos/run-as"))
        return None
    workspace, workflow = run.tags.get("dataos/workspace"), run.tags.get("dataos/workflow")
    if workspace and workflow and naming.job_name(workspace, workflow) == run.job_name:
        return Owner(workspace, workflow, None)
    return None


def run_batch(
    instance: DagsterInstance, record: DagsterRunRecord, compiled: Compiled
) -> RunBatch | None:
    """The run's records, or None when the run is not a DataOS run."""
    run = record.dagster_run
    owner = owner_of(run, compiled)
    if owner is None:
        return None
    names = compiled.steps
    events = instance.all_logs(run.run_id, of_type=READ_TYPES)
    steps: dict[str, _Step] = {}
    transitions: list[Transition] = []
    for entry in events:
        _apply(entry, steps, transitions, names)
    state = RUN_STATES.get(run.status, "queued")
    started, ended = _ms(record.start_time), _ms(record.end_time)
    failed = [s for s in steps.values() if s.state == "failed" and s.error]
    run_record = RunRecord(
        run_id=run.run_id,
        workspace=owner.workspace,
        resource_type="workflow",
        resource_name=owner.workflow,
        state=state,
        started_ms=started,
        ended_ms=ended if state in ("succeeded", "failed", "canceled") else None,
        duration_ms=ended - started if started is not None and ended is not None else None,
        run_as=owner.run_as,
        dagster_job=run.job_name,
        error=f"job '{failed[0].job}' failed: {failed[0].error}" if failed else None,
    )
    step_records = [_step_record(run.run_id, owner, s) for s in steps.values()]
    checks = [c for s in steps.values() for c in _check_records(run.run_id, owner, s)]
    return RunBatch(run_record, step_records, transitions, checks)


def _apply(
    entry: EventLogEntry, steps: dict[str, _Step], transitions: list[Transition], names: JobNames
) -> None:
    event = entry.dagster_event
    if event is None:
        return
    at = int(entry.timestamp * 1000)
    kind = event.event_type
    if kind in RUN_EVENT_STATES:
        transitions.append(Transition(entry.run_id, RUN_LEVEL, RUN_EVENT_STATES[kind], at))
        return
    key = event.step_key
    if key is None:
        return
    if kind in CARRIERS:
        metadata = _carried(event)
        if kind == T.ASSET_CHECK_EVALUATION:
            _step(steps, key, names).checks.append(_evaluation(event, metadata, at))
        if usage.CPU_KEY in metadata:
            _step(steps, key, names).used = _usage(metadata)
        return
    step = _step(steps, key, names)
    state = STEP_EVENT_STATES[kind]
    transitions.append(Transition(entry.run_id, step.job, state, at))
    if kind == T.STEP_START and step.started_ms is None:
        step.started_ms = at
    elif kind == T.STEP_RESTARTED:
        step.restarts += 1
    elif state in ENDS:
        step.state, step.ended_ms = ENDS[state], at
        if kind == T.STEP_FAILURE:
            step.error = _error(event.step_failure_data.error)


def _step(steps: dict[str, _Step], key: str, names: JobNames) -> _Step:
    if key not in steps:
        job, compute = names.get(key, (key, None))
        steps[key] = _Step(job, compute)
    return steps[key]


def _carried(event: Any) -> Mapping[str, Any]:
    """The metadata of a usage engine event, a materialization or an asset check result."""
    if event.event_type == T.ENGINE_EVENT:
        data = event.engine_event_data
        return data.metadata if data is not None and event.message == usage.USAGE_MESSAGE else {}
    if event.event_type == T.ASSET_MATERIALIZATION:
        return dict(event.step_materialization_data.materialization.metadata)
    return dict(event.asset_check_evaluation_data.metadata)


def _evaluation(
    event: Any, metadata: Mapping[str, Any], at: int
) -> tuple[tuple[str, str, bool, str | None], dict[str, Any], int]:
    data = event.asset_check_evaluation_data
    severity = getattr(data.severity, "value", None)
    evaluation = ("/".join(data.asset_key.path), data.check_name, bool(data.passed), severity)
    return evaluation, _usage(metadata), at


def _check_records(run_id: str, owner: Owner, step: _Step) -> list[CheckRecord]:
    """The step's checks, the latest evaluation of each (a retried step evaluates again)."""
    job = str(step.used.get(usage.JOB_KEY) or step.job)
    resource = (owner.workspace, "workflow", owner.workflow)
    latest = {(e[0], e[1]): (e, m, at) for e, m, at in step.checks}
    return [check_record(run_id, resource, job, *seen) for seen in latest.values()]


def _usage(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def _error(error: Any) -> str | None:
    """The innermost cause's message (what the executor raised, not Dagster's wrapper)."""
    if error is None:
        return None
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message).strip() or str(error.cls_name)


def _step_record(run_id: str, owner: Owner, step: _Step) -> StepRecord:
    used = step.used
    job = str(used.get(usage.JOB_KEY) or step.job)
    compute = used.get(usage.COMPUTE_KEY) or step.compute
    duration = (
        step.ended_ms - step.started_ms
        if step.started_ms is not None and step.ended_ms is not None
        else None
    )
    exit_code = used.get(usage.EXIT_CODE_KEY)
    if exit_code is None and step.state in ("succeeded", "failed"):
        exit_code = 0 if step.state == "succeeded" else 1
    return StepRecord(
        run_id=run_id,
        workspace=owner.workspace,
        resource_type="workflow",
        resource_name=owner.workflow,
        job=job,
        state=step.state,
        started_ms=step.started_ms,
        ended_ms=step.ended_ms,
        duration_ms=duration,
        attempts=(1 + step.restarts) if step.started_ms is not None else 0,
        exit_code=exit_code,
        cpu_seconds=used.get(usage.CPU_KEY),
        peak_memory_bytes=used.get(usage.PEAK_MEMORY_KEY),
        error=step.error,
        compute=str(compute) if compute else None,
    )


def compiled_of(repository: Any) -> Compiled:
    """The step names and job tags of a repository (empty without one)."""
    if repository is None:
        return Compiled()
    steps: dict[str, tuple[str, str | None]] = {}
    for assets_def in repository.assets_defs_by_key.values():
        for metadata in assets_def.metadata_by_key.values():
            job = metadata.get("dataos/job")
            if job is not None:
                compute = metadata.get("dataos/compute")
                steps[assets_def.node_def.name] = (str(job), str(compute) if compute else None)
                break
    jobs = {job.name: dict(job.tags) for job in repository.get_all_jobs()}
    return Compiled(steps, jobs)
