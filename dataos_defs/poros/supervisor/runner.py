"""Starting, watching and stopping one replica (the supervising process only).

A replica's environment is, in this order (later wins): the inherited basics
(:data:`~dataos_defs.poros.supervisor.processes.INHERITED_ENV`), ``spec.envs``, the
variables of the Secrets it consumes (read from the store at each start, handed to the
process only), then what the platform sets: ``DATAOS_WORKSPACE``, ``DATAOS_SERVICE`` or
``DATAOS_WORKER`` (its name), ``DATAOS_REPLICA``, ``DATAOS_REVISION``,
``DATAOS_WORKLOAD_DIR`` (a private folder of the workload that outlives its replicas) and,
for a Service, ``PORT`` (its first port) and ``DATAOS_PORT_<NAME>`` for each named port.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from dataos_defs.poros.secret_env import SecretNotFound
from dataos_defs.poros.supervisor import logs, processes
from dataos_defs.poros.supervisor.spec import WorkloadSpec, port_variable
from dataos_defs.poros.supervisor.state import ReplicaRecord

SecretSource = Callable[[WorkloadSpec], Mapping[str, str]]
"""spec -> the variables of the Secrets the workload consumes as environment variables."""

BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0
HEALTHY_RUN_S = 30.0
"""A replica that ran this long before exiting starts its backoff afresh."""
STOP_GRACE_S = 10.0
WORKER_GRACE_S = 2.0
DRAIN_S = 1.0
"""A ready replica being replaced or removed is first published as ``stopping`` (the
ingress stops picking it) and only signalled this long after."""
"""A Worker (no port to probe) is ready once it has stayed up this long."""


def workload_dir(root: Path, kind: str, workspace: str, name: str) -> Path:
    return root / kind / workspace / name


def log_path(root: Path, kind: str, workspace: str, name: str, replica: str) -> Path:
    return workload_dir(root, kind, workspace, name) / "logs" / f"{replica}.log"


class Runner:
    """Acts on replica processes for the supervisor's loop; times are wall-clock seconds."""

    def __init__(
        self,
        root: Path,
        secrets: SecretSource,
        *,
        stop_grace_s: float = STOP_GRACE_S,
        worker_grace_s: float = WORKER_GRACE_S,
        drain_s: float = DRAIN_S,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self.root = root
        self.secrets = secrets
        self.stop_grace_s = stop_grace_s
        self.worker_grace_s = worker_grace_s
        self.drain_s = drain_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        """Processes this supervisor started (their exit codes can be read, they are reaped)."""

    def backoff(self, streak: int) -> float:
        return float(min(self.backoff_max_s, self.backoff_base_s * 2 ** max(streak - 1, 0)))

    def start(self, spec: WorkloadSpec, record: ReplicaRecord, taken: set[int], now: float) -> None:
        """Start the replica; a failure to start leaves it ``failed`` (retried after the
        longest backoff) with the reason."""
        home = workload_dir(self.root, spec.kind, spec.workspace, spec.name)
        log = log_path(self.root, spec.kind, spec.workspace, spec.name, record.name)
        try:
            (home / "data").mkdir(mode=0o700, parents=True, exist_ok=True)
            log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            secrets = self.secrets(spec)
            ports = self._ports(spec, record, taken)
            env = {**spec.env, **secrets, **_platform_env(spec, record, home / "data", ports)}
            logs.note(log, f"starting {record.name} revision {spec.revision} ports {ports}")
            child = processes.spawn(spec.command, env, home / "data", log)
        except (SecretNotFound, OSError) as exc:
            self._cannot_start(record, now, str(exc))
            return
        except Exception as exc:  # reading the store or the vault: name the kind only
            self._cannot_start(record, now, f"its secrets could not be read ({type(exc).__name__})")
            return
        self.children[child.pid] = child
        record.pid, record.ports, record.state = child.pid, ports, "starting"
        record.create_time = processes.create_time(child.pid)
        record.command_digest = processes.command_digest(spec.command)
        record.started_at, record.ready_at = now, None
        record.exit_code, record.reason = None, None
        taken.update(ports.values())

    def _cannot_start(self, record: ReplicaRecord, now: float, why: str) -> None:
        record.state, record.reason = "failed", f"cannot start: {why}"
        record.next_start = now + self.backoff_max_s

    def _ports(self, spec: WorkloadSpec, record: ReplicaRecord, taken: set[int]) -> dict[str, int]:
        """One port per port name: the replica's previous one when still free (a restarted
        replica keeps its address), else a fresh one."""
        ports: dict[str, int] = {}
        others = taken - set(record.ports.values())
        for name in spec.ports:
            previous = record.ports.get(name)
            if previous and previous not in others and processes.port_is_free(previous):
                ports[name] = previous
            else:
                ports[name] = processes.free_port(taken | set(ports.values()))
        return ports

    def observe(self, kind: str, record: ReplicaRecord, now: float) -> bool:
        """Update a started replica from its process: exited, ready, or unchanged (False)."""
        if record.pid is None:
            return False
        exited, code = self._exited(record)
        if exited:
            if record.state == "stopping":
                self.children.pop(record.pid, None)
                record.pid = None
                return True
            self._crashed(record, code, now)
            return True
        if record.state == "starting" and self._ready(kind, record, now):
            record.state, record.ready_at, record.reason = "ready", now, None
            return True
        if record.state == "stopping":
            self._stopping(record, now)
        return False

    def _stopping(self, record: ReplicaRecord, now: float) -> None:
        assert record.pid is not None
        if record.term_at is not None and now >= record.term_at:
            processes.terminate(record.pid)
            record.term_at, record.stop_deadline = None, now + self.stop_grace_s
        elif record.stop_deadline is not None and now >= record.stop_deadline:
            processes.kill(record.pid)
            record.stop_deadline = None

    def _exited(self, record: ReplicaRecord) -> tuple[bool, int | None]:
        assert record.pid is not None
        child = self.children.get(record.pid)
        if child is not None:
            code = child.poll()
            return code is not None, code
        alive = processes.verify(record.pid, record.create_time, record.command_digest)
        return not alive, None

    def _ready(self, kind: str, record: ReplicaRecord, now: float) -> bool:
        if kind == "worker" or not record.ports:
            return now - (record.started_at or now) >= self.worker_grace_s
        return processes.probe(next(iter(record.ports.values())))

    def _crashed(self, record: ReplicaRecord, code: int | None, now: float) -> None:
        assert record.pid is not None
        self.children.pop(record.pid, None)
        ran = now - (record.started_at or now)
        record.streak = 1 if ran >= HEALTHY_RUN_S else record.streak + 1
        record.restarts += 1
        record.exit_code = code
        record.pid, record.create_time = None, None
        delay = self.backoff(record.streak)
        how = "exit code unknown: not started by this supervisor" if code is None else code
        record.reason = f"exited ({how}) after {ran:.1f} s; restarting in {delay:.0f} s"
        record.state, record.next_start = "crashloop", now + delay

    def stop(self, record: ReplicaRecord, now: float) -> None:
        """SIGTERM to the replica's process group (after :data:`DRAIN_S` for a ready one),
        SIGKILL after the grace period; a process that is not verifiably ours is let go."""
        was_ready, record.state = record.state == "ready", "stopping"
        if record.pid is None:
            return
        if record.pid in self.children or processes.verify(
            record.pid, record.create_time, record.command_digest
        ):
            record.term_at = now + (self.drain_s if was_ready else 0.0)
            self._stopping(record, now)
        else:
            record.pid = None

    def forget(self, kind: str, workspace: str, name: str) -> None:
        """Remove a deleted workload's folder (logs and data) once its replicas are gone."""
        shutil.rmtree(workload_dir(self.root, kind, workspace, name), ignore_errors=True)


def _platform_env(
    spec: WorkloadSpec, record: ReplicaRecord, data: Path, ports: dict[str, int]
) -> dict[str, str]:
    env = {
        "DATAOS_WORKSPACE": spec.workspace,
        f"DATAOS_{spec.kind.upper()}": spec.name,
        "DATAOS_REPLICA": record.name,
        "DATAOS_REVISION": str(spec.revision),
        "DATAOS_WORKLOAD_DIR": str(data),
    }
    for index, (name, port) in enumerate(ports.items()):
        if index == 0:
            env["PORT"] = str(port)
        env[port_variable(name)] = str(port)
    return env
