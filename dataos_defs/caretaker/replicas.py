"""Service and Worker replicas as Caretaker's processes: what changed between two looks.

A workload runtime (the embedded supervisor, or the Kubernetes applier) says what each
workload's replicas are doing now (:class:`~dataos_defs.poros.workloads.WorkloadRuntime`).
:class:`ReplicaTracker` turns successive such snapshots into :class:`ProcessRecord` rows:
the replicas whose state, process or restart count changed (each an *event*: it entered its
state at the snapshot's time), and those gone since the last look (``stopped``). A replica's
process figures (CPU seconds, peak memory) are kept across snapshots; the sampler adds them
(:mod:`.process_usage`).

Nodes: ``local:<workspace>/<kind>/<replica>`` for local processes, ``pod:<workspace>/<kind>/
<pod>`` for pods (prefix given by the runtime), distinct from the ``<namespace>/<pod>`` of
run pods (a namespace has no ``:``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from dataos_defs.caretaker.records import ProcessRecord
from dataos_defs.poros.workloads import Replica, WorkloadRuntime

Key = tuple[str, str, str]
"""(kind, workspace, name) of a workload."""
ENDED_STATES = frozenset({"crashloop", "failed", "stopped"})
"""A replica in one of these has no process running (its last one ended)."""
MAX_TRACKED = 20_000
"""Replicas remembered at most (a bound on the tracker's memory)."""


@dataclass(frozen=True)
class Snapshot:
    """One look at the workloads: their runtimes, who each runs as, and when (epoch ms)."""

    runtimes: Mapping[Key, WorkloadRuntime]
    run_as: Mapping[Key, str | None]
    at_ms: int


@dataclass(frozen=True)
class Changes:
    """What to write: every record that changed, and those of them that entered a state."""

    records: list[ProcessRecord]
    entered: list[ProcessRecord]


def node_of(prefix: str, workspace: str, kind: str, replica: str) -> str:
    return f"{prefix}:{workspace}/{kind}/{replica}"


class ReplicaTracker:
    """The last record of every replica seen, and the diff a new snapshot makes."""

    def __init__(self, prefix: str = "local") -> None:
        self.prefix = prefix
        self.known: dict[str, ProcessRecord] = {}
        self.pids: dict[str, tuple[int, float]] = {}
        """Node -> (pid, start time in epoch seconds) of the replicas running locally now."""

    def apply(self, snapshot: Snapshot) -> Changes:
        records: list[ProcessRecord] = []
        entered: list[ProcessRecord] = []
        seen: set[str] = set()
        for key, runtime in snapshot.runtimes.items():
            for replica in runtime.replicas:
                node = node_of(self.prefix, runtime.workspace, runtime.kind, replica.name)
                seen.add(node)
                before = self.known.get(node)
                after = _record(node, runtime, replica, snapshot, before, key)
                self._remember(node, replica)
                if before is None or _moved(before, after):
                    after = replace(after, changed_ms=snapshot.at_ms)
                    entered.append(after)
                    records.append(after)
                elif replace(after, uptime_ms=before.uptime_ms) != before:
                    records.append(after)
                self.known[node] = after
        for node, before in list(self.known.items()):
            if node not in seen:
                del self.known[node]
                self.pids.pop(node, None)
                if before.state != "stopped":
                    gone = _stopped(before, snapshot.at_ms)
                    entered.append(gone)
                    records.append(gone)
        self._bound()
        return Changes(records, entered)

    def with_usage(self, node: str, cpu_seconds: float, peak_bytes: int, at_ms: int) -> None:
        """Keep a sample's figures (the peak never goes down)."""
        before = self.known.get(node)
        if before is None:
            return
        peak = max(peak_bytes, before.peak_memory_bytes or 0)
        uptime = at_ms - before.started_ms if before.started_ms is not None else None
        self.known[node] = replace(
            before, cpu_seconds=round(cpu_seconds, 3), peak_memory_bytes=peak, uptime_ms=uptime
        )

    def _remember(self, node: str, replica: Replica) -> None:
        """Where the sampler finds a running local replica (its pid and start time)."""
        if replica.pid is not None and replica.started_at is not None:
            self.pids[node] = (replica.pid, replica.started_at.timestamp())
        else:
            self.pids.pop(node, None)

    def _bound(self) -> None:
        """Forget the replicas seen first beyond :data:`MAX_TRACKED` (far more than the
        supervisor may run: 20 per workload), so a runaway snapshot cannot grow memory."""
        extra = len(self.known) - MAX_TRACKED
        for node in list(self.known)[: max(extra, 0)]:
            self.known.pop(node, None)
            self.pids.pop(node, None)


def _moved(before: ProcessRecord, after: ProcessRecord) -> bool:
    """A new state, a new process, or an exit in between (restarts grew)."""
    return (
        before.state != after.state
        or before.started_ms != after.started_ms
        or before.restarts != after.restarts
    )


def _record(
    node: str,
    runtime: WorkloadRuntime,
    replica: Replica,
    snapshot: Snapshot,
    before: ProcessRecord | None,
    key: Key,
) -> ProcessRecord:
    started = int(replica.started_at.timestamp() * 1000) if replica.started_at else None
    ended = replica.state in ENDED_STATES or (replica.state == "stopping" and replica.pid is None)
    same_process = before is not None and before.started_ms == started
    ended_ms = None
    if ended:
        kept = before.ended_ms if same_process and before is not None else None
        ended_ms = kept if kept is not None else snapshot.at_ms
    until = ended_ms if ended_ms is not None else snapshot.at_ms
    return ProcessRecord(
        node=node,
        workspace=runtime.workspace,
        resource_type=runtime.kind,
        resource_name=runtime.name,
        run_id=None,
        state=replica.state,
        started_ms=started,
        ended_ms=ended_ms,
        restarts=replica.restarts,
        exit_code=replica.exit_code,
        cpu_seconds=before.cpu_seconds if same_process and before else None,
        peak_memory_bytes=before.peak_memory_bytes if same_process and before else None,
        reason=replica.reason,
        replica=replica.name,
        revision=replica.revision,
        run_as=snapshot.run_as.get(key) or (before.run_as if before else None),
        changed_ms=before.changed_ms if before else snapshot.at_ms,
        uptime_ms=until - started if started is not None else None,
    )


def _stopped(before: ProcessRecord, at_ms: int) -> ProcessRecord:
    ended = before.ended_ms if before.ended_ms is not None else at_ms
    uptime = ended - before.started_ms if before.started_ms is not None else None
    return replace(
        before, state="stopped", ended_ms=ended, changed_ms=at_ms, uptime_ms=uptime, reason=None
    )
