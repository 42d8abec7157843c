"""The supervisor's records of replicas, and the state file that shares them.

The supervising process keeps one :class:`ReplicaRecord` per replica and writes them all,
with each workload's wanted revision and replica count, to ``<home>/workloads/state.json``
(mode 0600, replaced atomically: written to a temporary file in the same folder, flushed,
then renamed). The file lets two other parties see what the supervisor sees:

- the other API-server processes (``serve --workers N``), which answer ``runtime``,
  ``endpoints`` and ``logs`` from it;
- the next supervisor, after a restart of the API server, which re-adopts the processes it
  names (see :mod:`dataos_defs.poros.supervisor.processes` for how a pid is verified).

It holds pids, ports, revisions, states, exit codes and reasons: never an environment value
or a command line (only the command line's digest, to recognise a process).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dataos_defs.poros.supervisor.spec import Key
from dataos_defs.poros.workloads import Replica, ReplicaState, WorkloadRuntime

STATE_VERSION = 1
STATE_FILE = "state.json"


@dataclass
class ReplicaRecord:
    """What the supervisor knows of one replica (mutable: the loop updates it in place)."""

    name: str
    index: int
    revision: int
    state: ReplicaState = "pending"
    pid: int | None = None
    create_time: float | None = None
    """The process' start time as the kernel reports it: with ``pid``, its identity."""
    command_digest: str | None = None
    ports: dict[str, int] = field(default_factory=dict)
    restarts: int = 0
    streak: int = 0
    """Exits in a row without a long enough run in between: the backoff's exponent."""
    started_at: float | None = None
    ready_at: float | None = None
    next_start: float = 0.0
    term_at: float | None = None
    """When a stopping replica gets SIGTERM (after it has drained)."""
    stop_deadline: float | None = None
    """When a stopping replica that is still alive gets SIGKILL."""
    exit_code: int | None = None
    reason: str | None = None
    retry: bool = True
    """False when starting again cannot help until the workload changes."""

    def replica(self, host: str) -> Replica:
        started = datetime.fromtimestamp(self.started_at, UTC) if self.started_at else None
        return Replica(
            name=self.name,
            state=self.state,
            revision=self.revision,
            restarts=self.restarts,
            started_at=started,
            ports=dict(self.ports),
            host=host if self.pid else None,
            pid=self.pid,
            exit_code=self.exit_code,
            reason=self.reason,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplicaRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class WorkloadRecord:
    """A workload as last reconciled: what is wanted and its replicas."""

    kind: str
    workspace: str
    name: str
    revision: int
    desired: int
    reason: str | None = None
    replicas: list[ReplicaRecord] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.kind, self.workspace, self.name)

    def runtime(self, host: str) -> WorkloadRuntime:
        ordered = sorted(self.replicas, key=lambda r: r.index)
        return WorkloadRuntime(
            kind=self.kind,
            workspace=self.workspace,
            name=self.name,
            revision=self.revision,
            desired=self.desired,
            replicas=tuple(r.replica(host) for r in ordered),
            reason=self.reason,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["replicas"] = [asdict(r) for r in self.replicas]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkloadRecord:
        replicas = [ReplicaRecord.from_json(r) for r in data.get("replicas") or []]
        return cls(
            kind=str(data["kind"]),
            workspace=str(data["workspace"]),
            name=str(data["name"]),
            revision=int(data["revision"]),
            desired=int(data["desired"]),
            reason=data.get("reason"),
            replicas=replicas,
        )


def write_state(root: Path, workloads: list[WorkloadRecord]) -> None:
    """Replace the state file atomically (readers see the old or the new one, whole)."""
    body = json.dumps(
        {"version": STATE_VERSION, "workloads": [w.to_json() for w in workloads]},
        separators=(",", ":"),
    )
    descriptor, temporary = tempfile.mkstemp(prefix=".state-", dir=root)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, root / STATE_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class StateReader:
    """Reads the state file again only when it has changed (followers ask often)."""

    def __init__(self, root: Path) -> None:
        self.path = root / STATE_FILE
        self._stamp: tuple[int, int] | None = None
        self._workloads: dict[Key, WorkloadRecord] = {}

    def read(self) -> dict[Key, WorkloadRecord]:
        """Workloads by key (the same object until the file changes); empty when there is
        no (readable, well-formed) state file."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._workloads = None, {}
            return self._workloads
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._workloads = read_state(self.path)
            self._stamp = stamp
        return self._workloads


def read_state(path: Path) -> dict[Key, WorkloadRecord]:
    """A malformed or foreign-version file counts as empty: nothing in it is adopted."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            return {}
        found = [WorkloadRecord.from_json(w) for w in data.get("workloads") or []]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return {w.key: w for w in found}
