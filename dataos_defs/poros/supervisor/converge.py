"""One step of bringing a workload's replicas toward its spec (called at every tick).

- Scale: the missing replicas of the current revision are added, extra ones stopped.
- Roll: while replicas of an older revision remain, one new replica is added at a time,
  and an old one is stopped only once every new one is ready and there are more replicas
  than wanted; old replicas that are not ready serve nobody and stop at once. A new
  revision that crash-loops therefore never takes the old one's place.
- Restart: a replica of the current revision that exited starts again once its backoff
  has passed.
- A workload that cannot run (``spec.problem``) shows one ``failed`` replica with the reason.
Replica names are ``<name>-<index>``, the index being the lowest one not in use, so a
rolled replica may come back under another index.
"""

from __future__ import annotations

from dataos_defs.poros.supervisor.runner import Runner
from dataos_defs.poros.supervisor.spec import WorkloadSpec
from dataos_defs.poros.supervisor.state import ReplicaRecord, WorkloadRecord

MAX_STARTS_PER_TICK = 64
"""Starts per tick of the loop, all workloads together: a big apply cannot stall it."""


class Budget:
    """Starts left in this tick and the ports already given to replicas."""

    def __init__(self, taken: set[int], starts: int = MAX_STARTS_PER_TICK) -> None:
        self.taken = taken
        self.starts = starts


def converge(
    spec: WorkloadSpec, workload: WorkloadRecord, runner: Runner, budget: Budget, now: float
) -> None:
    workload.revision, workload.desired, workload.reason = spec.revision, spec.replicas, None
    _drop_stopped(workload)
    if spec.problem is not None:
        _cannot_run(spec, workload, runner, now)
        return
    _drop_placeholders(spec, workload)
    live = [r for r in workload.replicas if r.state != "stopping"]
    current = [r for r in live if r.revision == spec.revision]
    old = [r for r in live if r.revision != spec.revision]
    for record in old:
        if record.state != "ready":
            runner.stop(record, now)
    old = [r for r in old if r.state == "ready"]
    extra = len(current) - spec.replicas
    if extra > 0:
        for record in sorted(current, key=_stop_order)[:extra]:
            runner.stop(record, now)
        current = [r for r in current if r.state != "stopping"]
    if old:
        _roll(spec, workload, current, old, runner, now)
    else:
        for _ in range(spec.replicas - len(current)):
            _add(spec, workload)
    _start_due(spec, workload, runner, budget, now)


def stop_all(workload: WorkloadRecord, runner: Runner, now: float) -> None:
    """A deleted workload: every replica stops."""
    _drop_stopped(workload)
    workload.replicas = [r for r in workload.replicas if r.pid is not None]
    for record in workload.replicas:
        if record.state != "stopping":
            runner.stop(record, now)
    _drop_stopped(workload)


def _roll(
    spec: WorkloadSpec,
    workload: WorkloadRecord,
    current: list[ReplicaRecord],
    old: list[ReplicaRecord],
    runner: Runner,
    now: float,
) -> None:
    if any(r.state != "ready" for r in current):
        return  # one at a time: the new replica must be ready first
    if len(current) + len(old) > spec.replicas:
        runner.stop(sorted(old, key=lambda r: r.index)[0], now)
    elif len(current) < spec.replicas:
        _add(spec, workload)


def _stop_order(record: ReplicaRecord) -> tuple[bool, int]:
    """Not-ready replicas go first, then the highest indexes."""
    return (record.state == "ready", -record.index)


def _add(spec: WorkloadSpec, workload: WorkloadRecord) -> ReplicaRecord:
    used = {r.index for r in workload.replicas}
    index = next(i for i in range(len(used) + 1) if i not in used)
    record = ReplicaRecord(name=f"{spec.name}-{index}", index=index, revision=spec.revision)
    workload.replicas.append(record)
    return record


def _start_due(
    spec: WorkloadSpec, workload: WorkloadRecord, runner: Runner, budget: Budget, now: float
) -> None:
    for record in workload.replicas:
        if budget.starts <= 0:
            return
        waiting = record.state in ("pending", "crashloop") or (
            record.state == "failed" and record.retry
        )
        due = waiting and now >= record.next_start
        if record.pid is None and due and record.revision == spec.revision:
            runner.start(spec, record, budget.taken, now)
            budget.starts -= 1


def _cannot_run(spec: WorkloadSpec, workload: WorkloadRecord, runner: Runner, now: float) -> None:
    for record in workload.replicas:
        if record.pid is not None and record.state != "stopping":
            runner.stop(record, now)
    placeholders = [r for r in workload.replicas if not r.retry and r.reason == spec.problem]
    workload.replicas = [r for r in workload.replicas if r.pid is not None]
    workload.reason = spec.problem
    if placeholders and spec.replicas > 0:
        placeholders[0].revision = spec.revision
        workload.replicas.append(placeholders[0])
    elif spec.replicas > 0:
        placeholder = ReplicaRecord(
            name=f"{spec.name}-0", index=-1, revision=spec.revision, state="failed"
        )
        placeholder.reason, placeholder.retry = spec.problem, False
        workload.replicas.append(placeholder)


def _drop_placeholders(spec: WorkloadSpec, workload: WorkloadRecord) -> None:
    workload.replicas = [r for r in workload.replicas if r.retry or r.pid is not None]


def _drop_stopped(workload: WorkloadRecord) -> None:
    workload.replicas = [
        r for r in workload.replicas if not (r.state == "stopping" and r.pid is None)
    ]
