"""``workflow.schedule`` -> a Dagster schedule that honours ``endOn`` and ``concurrencyPolicy``.

- ``Allow``: every tick requests a run.
- ``Forbid``: a tick is skipped while a run of the workflow's job is queued, starting,
  running or being canceled.
- ``Replace``: runs not yet started are canceled, running ones are asked to terminate
  through the instance's run coordinator (as the Dagster UI does), then the new run is
  requested. A run whose launcher cannot terminate it is marked canceling and reported
  in the tick's log; the new run starts anyway, which is what ``Replace`` asks for.
- ``endOn``: ticks scheduled after it are skipped (a naive date-time is read in the
  schedule's time zone). Terminating a run still in flight at ``endOn`` is left to Poros.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    DagsterRunStatus,
    DefaultScheduleStatus,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
)

from dataos_defs.manifest.workflow import Schedule

ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
NOT_LAUNCHED = {DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED}


def evaluate(
    context: ScheduleEvaluationContext, job_name: str, policy: str, until: datetime | None
) -> RunRequest | SkipReason:
    """One tick of a workflow's schedule (a plain function so that it can be tested alone)."""
    tick = context.scheduled_execution_time or datetime.now(UTC)
    if until is not None and tick > until:
        return SkipReason(f"the schedule ended on {until.isoformat()} (endOn)")
    if policy == "Allow":
        return RunRequest()
    active = context.instance.get_runs(RunsFilter(job_name=job_name, statuses=ACTIVE))
    if policy == "Forbid":
        canceling = context.instance.get_runs(
            RunsFilter(job_name=job_name, statuses=[DagsterRunStatus.CANCELING]), limit=1
        )
        if active or canceling:
            ids = ", ".join(run.run_id for run in [*active, *canceling])
            return SkipReason(f"concurrencyPolicy Forbid: a run of {job_name} is active ({ids})")
        return RunRequest()
    for run in active:
        _replace(context, run.run_id)
    return RunRequest()


def _replace(context: ScheduleEvaluationContext, run_id: str) -> None:
    instance = context.instance
    run = instance.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return
    if run.status in NOT_LAUNCHED:
        instance.report_run_canceled(run, message="replaced by a new scheduled run")
        return
    try:
        terminated = instance.run_coordinator.cancel_run(run_id)
    except Exception as exc:
        context.log.warning(f"could not terminate run {run_id}: {exc}")
        terminated = False
    if not terminated:
        current = instance.get_run_by_id(run_id)
        if current is not None and current.status != DagsterRunStatus.CANCELING:
            instance.report_run_canceling(current, message="replaced by a new scheduled run")
        context.log.warning(f"run {run_id} was asked to stop; it may still be running")


def workflow_schedule(
    name: str, job_name: str, schedule: Schedule, tags: dict[str, str]
) -> ScheduleDefinition:
    """The schedule of the job ``job_name`` (which the same Definitions must hold)."""
    until = schedule.ends_at()
    policy = schedule.concurrencyPolicy

    def _tick(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        return evaluate(context, job_name, policy, until)

    return ScheduleDefinition(
        name=name,
        cron_schedule=schedule.cron,
        job_name=job_name,
        execution_fn=_tick,
        execution_timezone=schedule.timezone or "UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        tags=tags,
        description=f"cron '{schedule.cron}', concurrencyPolicy {policy}"
        + (f", until {schedule.endOn}" if schedule.endOn else ""),
    )
