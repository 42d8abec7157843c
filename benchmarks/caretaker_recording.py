"""Caretaker: what recording costs per step (goal <= 5 ms).

A step pays for its resource-use record at its end: one ``getrusage`` call and one engine
event written to the run's event log (``dataos_defs.location.step_usage``). Measured on a
real Dagster instance (SQLite storage, as ``make up`` runs it):

* ``in step``: the measured executor's own cost per step, the difference between a job of
  ``STEPS`` no-op DataOS jobs run with and without the measurement (in-process executor,
  median of ``REPEAT`` runs each), beside the baseline cost of such a step in the same run;
* ``direct``: the measurement alone (two ``getrusage`` calls and the metadata), per step
  (median of 2000), and, for comparison, the engine event a step that reports no output
  (or fails) writes instead (median of 50);
* ``sensor``: the Caretaker sensor turning those runs into records in the store, per step
  (it runs in the code location's process, outside the steps).

Run: ``.venv/bin/python benchmarks/caretaker_recording.py`` (about 30 s).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dagster import DagsterInstance, Definitions, build_sensor_context  # noqa: E402

from dataos_defs.caretaker import usage  # noqa: E402
from dataos_defs.compile import (  # noqa: E402
    CompileInput,
    JobContext,
    StackOutput,
    compile_definitions,
)
from dataos_defs.location.caretaker_sensor import evaluate  # noqa: E402
from dataos_defs.location.step_usage import figures, measured, report  # noqa: E402
from dataos_defs.manifest.workflow import Workflow  # noqa: E402
from dataos_defs.poros.settings import Settings  # noqa: E402

STEPS = 20
REPEAT = 7
GOAL_MS = 5.0
JOB = "public__bench"


def _noop(context: Any, job: JobContext) -> Iterator[Any]:
    """Does nothing but report its output, as every real stack does."""
    yield StackOutput(job.outputs[0])


def _workflow() -> Workflow:
    dag = [
        {"name": f"step-{i}", "spec": {"stack": "python3", "stackSpec": {}}}
        | ({"dependencies": [f"step-{i - 1}"]} if i else {})
        for i in range(STEPS)
    ]
    text = {"name": "bench", "version": "v1", "type": "workflow", "workflow": {"dag": dag}}
    return Workflow.model_validate(yaml.safe_load(yaml.safe_dump(text)))


def _definitions(measure: bool) -> Definitions:
    executors = {"python3": _noop}
    inputs = [CompileInput(_workflow(), "public", "bench", "bench")]
    return compile_definitions(inputs, measured(executors) if measure else executors)


def _run_ms(instance: DagsterInstance, definitions: Definitions) -> float:
    job = definitions.resolve_job_def(JOB)
    started = time.perf_counter()
    job.execute_in_process(instance=instance)
    return (time.perf_counter() - started) * 1000


def _measure_ms(job: JobContext) -> float:
    times = []
    for _ in range(2000):
        started = time.perf_counter()
        figures(job, usage.since(usage.cpu_seconds()), 0)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _event_ms(instance: DagsterInstance, definitions: Definitions) -> float:
    run = definitions.resolve_job_def(JOB).execute_in_process(instance=instance).dagster_run

    class Context:
        def __init__(self) -> None:
            self.instance, self.run = instance, run

    job = JobContext("public", "bench", "step-0", "python3", None, None, ())
    times = []
    for _ in range(50):
        started = time.perf_counter()
        report(Context(), job, usage.since(usage.cpu_seconds()), 0)  # type: ignore[arg-type]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DATAOS_HOME"] = folder
        with DagsterInstance.local_temp(folder) as instance:
            plain, timed = _definitions(False), _definitions(True)
            _run_ms(instance, plain), _run_ms(instance, timed)  # warm up both
            baseline, with_usage = [], []
            for _ in range(REPEAT):
                baseline.append(_run_ms(instance, plain))
                with_usage.append(_run_ms(instance, timed))
            step_ms = statistics.median(baseline) / STEPS
            overhead = (statistics.median(with_usage) - statistics.median(baseline)) / STEPS
            direct = _measure_ms(JobContext("public", "bench", "s", "python3", None, None, ()))
            event = _event_ms(instance, timed)
            started = time.perf_counter()
            context = build_sensor_context(instance=instance, definitions=timed)
            evaluate(context, Settings.from_env({"DATAOS_HOME": folder}))
            runs = 2 * REPEAT + 3
            sensor = (time.perf_counter() - started) * 1000 / (runs * STEPS)
    noise = (max(baseline) - min(baseline)) / STEPS
    verdict = "ok" if direct <= GOAL_MS and overhead <= GOAL_MS + noise else "over goal"
    print(f"Caretaker recording per step ({STEPS}-step job, goal <= {GOAL_MS:.0f} ms)")
    print(f"  baseline: a no-op step, in-process    {step_ms:8.2f} ms (spread {noise:.2f} ms)")
    print(
        f"  in step: measurement, direct          {direct:8.4f} ms  "
        f"({direct / step_ms:.6f}x the baseline step)  {verdict}"
    )
    print(f"  in step: job with minus without       {overhead:8.2f} ms (within the spread)")
    print(f"  a step with no output: engine event   {event:8.2f} ms (the fallback)")
    print(f"  sensor: records written, per step     {sensor:8.2f} ms (code location, not the step)")


if __name__ == "__main__":
    main()
