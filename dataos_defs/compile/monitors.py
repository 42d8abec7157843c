"""Monitors -> one Dagster job and schedule each, visible in the Dagster UI (pure).

A Monitor with ``monitor.schedule`` (cron, in ``monitor.timezone``, UTC by default) becomes
the job ``monitor__<workspace>__<name>`` of one op, run in process, and its schedule
``..._schedule``, running from the start. The op hands the monitor's workspace and name to
``trigger`` (the code location's asks the API server to evaluate it, where the Gateway and
the vault are) and records the outcome; an evaluation in error fails the run with its
reason. A tick is skipped while the previous evaluation of the monitor is still running.
Nothing of the monitor but its identity is compiled: the evaluation reads the monitor from
the store when it runs, as the owner the store recorded.

No ``from __future__ import annotations`` here: Dagster inspects the annotation of the
op's ``context`` parameter.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dagster import (
    DefaultScheduleStatus,
    Definitions,
    Failure,
    JobDefinition,
    OpExecutionContext,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    in_process_executor,
    job,
    op,
)

from dataos_defs.compile import keys
from dataos_defs.compile.context import CompileInput
from dataos_defs.compile.schedules import evaluate as schedule_tick
from dataos_defs.location import naming
from dataos_defs.manifest.monitor import Monitor

MonitorTrigger = Callable[[str, str], Mapping[str, Any]]
"""Evaluates the monitor (workspace, name) now; answers the evaluation (``outcome``,
``reason``, ``action``, ``incident``)."""
PREFIX = "monitor"
DEFAULT_WORKSPACE = "public"


def monitor_job_name(workspace: str, name: str) -> str:
    return naming.SEPARATOR.join((PREFIX, naming.name(workspace), naming.name(name)))


def compile_monitors(resources: Sequence[CompileInput], trigger: MonitorTrigger) -> Definitions:
    """A job and a schedule for every scheduled Monitor of ``resources`` (others are ignored)."""
    jobs: list[JobDefinition] = []
    schedules: list[ScheduleDefinition] = []
    for item in resources:
        model = item.model
        if not isinstance(model, Monitor) or model.monitor.schedule is None:
            continue
        workspace = item.workspace or model.workspace or DEFAULT_WORKSPACE
        monitor_job = _job(workspace, model, trigger)
        jobs.append(monitor_job)
        schedules.append(_schedule(monitor_job, model))
    return Definitions(jobs=jobs, schedules=schedules)


def _tags(workspace: str, model: Monitor) -> dict[str, str]:
    return keys.system_tags(workspace=workspace, monitor=model.name)


def _job(workspace: str, model: Monitor, trigger: MonitorTrigger) -> JobDefinition:
    name = monitor_job_name(workspace, model.name)
    monitor_name = model.name

    @op(name=f"{name}__evaluate", tags=_tags(workspace, model))
    def evaluate_monitor(context: OpExecutionContext) -> None:
        answer = trigger(workspace, monitor_name)
        incident = answer.get("incident") or {}
        context.log.info(
            f"monitor '{monitor_name}' in '{workspace}': {answer.get('outcome')}"
            + (f", incident {incident.get('id')} {answer.get('action')}" if incident else "")
        )
        if answer.get("outcome") == "error":
            raise Failure(f"monitor '{monitor_name}' is in error: {answer.get('reason')}")

    @job(
        name=name,
        tags=_tags(workspace, model),
        executor_def=in_process_executor,
        description=model.description or f"evaluates monitor '{model.name}' in '{workspace}'",
    )
    def monitor_job() -> None:
        evaluate_monitor()

    return monitor_job


def _schedule(monitor_job: JobDefinition, model: Monitor) -> ScheduleDefinition:
    job_name = monitor_job.name
    cron = model.monitor.schedule or ""

    def _tick(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        return schedule_tick(context, job_name, "Forbid", None)

    return ScheduleDefinition(
        name=f"{job_name}__schedule",
        cron_schedule=cron,
        job=monitor_job,
        execution_fn=_tick,
        execution_timezone=model.monitor.timezone or "UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"evaluates monitor '{model.name}' on cron '{cron}'",
    )
