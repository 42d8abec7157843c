"""Stack executors of the Caretaker tests (``DATAOS_EXECUTORS=tests.caretaker.stacks:EXECUTORS``).

``python3`` jobs do real work the recorder can measure: a job whose name starts with
``fail`` burns a little CPU and raises; any other job holds ``HOLD_BYTES`` of memory and
burns CPU, so its step's peak memory and CPU time are known to be at least that much.
``load`` reports its output (the step's figures then ride on its materialization), other
jobs report nothing (the figures then come as an engine event of their own).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from dagster import AssetExecutionContext

from dataos_defs.compile import JobContext, StackOutput

HOLD_BYTES = 64 * 1024 * 1024
BURN_SECONDS = 0.2
FAILURE = "the input had 3 rows with a NULL id"


def _burn(seconds: float) -> None:
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        sum(range(1000))


def run_python3(context: AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
    if job.job.startswith("fail"):
        _burn(BURN_SECONDS / 4)
        raise RuntimeError(FAILURE)
    held = bytearray(HOLD_BYTES)
    held[::4096] = b"x" * len(held[::4096])
    _burn(BURN_SECONDS)
    context.log.info(f"held {len(held)} bytes")
    if job.job == "load":  # reports its output (the figures ride on it); others report none
        yield StackOutput(job.outputs[0])


EXECUTORS = {"python3": run_python3}
