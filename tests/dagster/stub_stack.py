"""A stack executor for tests, registered with ``DATAOS_EXECUTORS=stub_stack:EXECUTORS``.

The code location under test runs jobs of the ``python3`` stack with it, so that a run can
succeed without any depot; it only logs a line that the test finds in the run's log.
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import AssetExecutionContext

from dataos_defs.compile import JobContext, StackOutput

MESSAGE = "stub executor ran"


def run_stub(context: AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
    context.log.info(f"{MESSAGE} {job.workspace}/{job.workflow}/{job.job}")
    yield from ()


EXECUTORS = {"python3": run_stub}
