"""The launch benchmark's stack: an executor that only logs, registered in the DataOS code
location with ``DATAOS_EXECUTORS=spine2_support.trivial_stack:EXECUTORS``.

It does what the hand-written baseline's assets do (one log line), so that the launch
figures compare the platform's overhead, not the work of the job.
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import AssetExecutionContext

from dataos_defs.compile import JobContext, StackOutput


def run_trivial(context: AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
    context.log.info(f"trivial step {job.workflow}/{job.job} ran")
    yield from ()


EXECUTORS = {"python3": run_trivial}
