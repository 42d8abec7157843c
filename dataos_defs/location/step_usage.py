"""Each stack executor, measured: its step's CPU, peak memory and exit code, at its end.

The figures (:mod:`dataos_defs.caretaker.usage`) ride on an event Dagster writes anyway:
the metadata of the step's last output (its materialization or asset check result, so
the Dagster UI shows them too). The executor's last item is held back until it returns,
then reported with the figures added. A step that reports nothing, or fails, gets one
engine event of its own with the figures instead. Writing an event costs a store commit
(about 20 ms on a slow disk), so a step that ends well adds none:
``benchmarks/caretaker_recording.py`` measures it. Measuring never fails a step; a failure
is measured, then raised unchanged. The Caretaker sensor reads the figures back
(``dataos_defs.location.caretaker_events``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from dagster import AssetExecutionContext
from dagster._core.events import EngineEventData

from dataos_defs.caretaker import usage
from dataos_defs.compile import CheckOutput, JobContext, StackExecutor, StackOutput
from dataos_defs.location import naming

Figures = dict[str, float | int | str]


def measured(registry: Mapping[str, StackExecutor]) -> dict[str, StackExecutor]:
    """The same executors, each reporting its step's resource use when it ends."""
    return {stack: partial(run_measured, executor) for stack, executor in registry.items()}


def run_measured(
    executor: StackExecutor, context: AssetExecutionContext, job: JobContext
) -> Iterator[Any]:
    started = usage.cpu_seconds()
    held: Any = None
    try:
        for item in executor(context, job):
            if held is not None:
                yield held
            held = item
    except GeneratorExit:
        raise
    except BaseException as exc:
        if held is not None:
            yield held
        report(context, job, usage.since(started), usage.exit_code_of(exc))
        raise
    if isinstance(held, StackOutput | CheckOutput):
        yield dataclasses.replace(
            held, metadata={**held.metadata, **figures(job, usage.since(started), 0)}
        )
    else:
        report(context, job, usage.since(started), 0)


def figures(job: JobContext, used: usage.Usage, exit_code: int) -> Figures:
    return {
        usage.CPU_KEY: used.cpu_seconds,
        usage.PEAK_MEMORY_KEY: used.peak_memory_bytes,
        usage.EXIT_CODE_KEY: exit_code,
        usage.JOB_KEY: job.job,
        usage.COMPUTE_KEY: job.spec.compute if job.spec is not None else "",
    }


def report(
    context: AssetExecutionContext, job: JobContext, used: usage.Usage, exit_code: int
) -> None:
    """The figures as an engine event of the step (when no output carries them)."""
    with contextlib.suppress(Exception):
        context.instance.report_engine_event(
            usage.USAGE_MESSAGE,
            context.run,
            EngineEventData(metadata=figures(job, used, exit_code)),
            step_key=naming.op_name(job.workspace, job.workflow, job.job),
        )
