"""What Caretaker records: runs, steps and processes, as plain rows.

One shape for the three places a record lives — the live state in the store, the history
in Parquet partitions, and the governed dataset Minerva serves over that history — so a
column means the same everywhere. Times are epoch milliseconds (UTC); durations milliseconds;
memory bytes; CPU seconds. ``None`` means "not known" (a run still going has no ``ended_ms``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

RunState = Literal["queued", "starting", "running", "succeeded", "failed", "canceled"]
StepState = Literal["running", "succeeded", "failed", "skipped"]
ProcessState = Literal[
    "pending",
    "running",
    "succeeded",
    "failed",
    "restarting",
    "stopped",
    "starting",
    "ready",
    "crashloop",
    "stopping",
]
"""A pod's phase (``pending``, ``running``, ``succeeded``, ``failed``, ``restarting``), or a
Service/Worker replica's state (``pending``, ``starting``, ``ready``, ``crashloop``,
``failed``, ``stopping``, the words of :mod:`dataos_defs.poros.workloads`); ``stopped``: gone."""
LIVE_PROCESS_STATES: tuple[str, ...] = (
    "pending",
    "running",
    "restarting",
    "starting",
    "ready",
    "crashloop",
    "stopping",
)
"""States of a process that is (or will be again) running: what ``operations nodes`` shows."""
FINISHED_RUN_STATES: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})


@dataclass(frozen=True)
class RunRecord:
    """One Dagster run of a Resource (a workflow today; a service's deploy later)."""

    run_id: str
    workspace: str
    resource_type: str
    resource_name: str
    state: RunState
    started_ms: int | None
    ended_ms: int | None
    duration_ms: int | None
    # who the run acts as (the workflow's owner): history readers are governed by it
    run_as: str | None
    dagster_job: str
    error: str | None = None


@dataclass(frozen=True)
class StepRecord:
    """One DataOS job of a run (a Dagster step), with what it cost."""

    run_id: str
    workspace: str
    resource_type: str
    resource_name: str
    job: str
    state: StepState
    started_ms: int | None
    ended_ms: int | None
    duration_ms: int | None
    attempts: int
    exit_code: int | None
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    error: str | None = None
    # the Compute the job asked for (``spec.compute``): aggregates are also made per Compute
    compute: str | None = None


@dataclass(frozen=True)
class ProcessRecord:
    """A pod (Kubernetes) or local process (embedded) that ran a step or a service replica.

    ``node`` identifies it: ``<namespace>/<pod>`` for a pod of a run, ``local:<workspace>/
    <kind>/<replica>`` for a replica the embedded supervisor runs, ``pod:<workspace>/<kind>/
    <pod>`` for a Service's or Worker's pod. ``restarts`` counts exits followed by a start
    (``exit_code`` is the last exit's); ``changed_ms`` is when it entered ``state``;
    ``uptime_ms`` how long its current process had run when recorded; ``run_as`` the identity
    of its Resource (governs who reads it in the history).
    """

    node: str
    workspace: str
    resource_type: str
    resource_name: str
    run_id: str | None
    state: ProcessState
    started_ms: int | None
    ended_ms: int | None
    restarts: int
    exit_code: int | None
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    reason: str | None = None
    job: str | None = None
    replica: str | None = None
    revision: int | None = None
    run_as: str | None = None
    changed_ms: int | None = None
    uptime_ms: int | None = None


def as_row(record: RunRecord | StepRecord | ProcessRecord) -> dict[str, Any]:
    return asdict(record)


def column_names(kind: type[RunRecord] | type[StepRecord] | type[ProcessRecord]) -> list[str]:
    return [f.name for f in fields(kind)]
