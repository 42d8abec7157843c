"""The :class:`Supervisor`: the embedded :class:`~dataos_defs.poros.workloads.Workloads`."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.secret_env import secret_env
from dataos_defs.poros.store import Store
from dataos_defs.poros.supervisor import logs
from dataos_defs.poros.supervisor.converge import Budget, converge, stop_all
from dataos_defs.poros.supervisor.processes import LOOPBACK, verify
from dataos_defs.poros.supervisor.runner import Runner, log_path
from dataos_defs.poros.supervisor.spec import Key, WorkloadSpec, max_replicas, workload_spec
from dataos_defs.poros.supervisor.state import (
    ReplicaRecord,
    StateReader,
    WorkloadRecord,
    read_state,
    write_state,
)
from dataos_defs.poros.workloads import Endpoint, WorkloadRuntime

log = logging.getLogger(__name__)

TICK_S = 0.25
ROTATE_EVERY_S = 0.5
LOCK_FILE = "supervisor.lock"
LEADERSHIP_WAIT_S = 2.0
ADOPTED_GONE = "exited while no supervisor watched it"

ReplicaReport = Callable[[Mapping[Key, WorkloadRuntime], Mapping[Key, str | None]], None]
"""Called with every workload's runtime and who each runs as, each time the supervising
process publishes a change (a replica started, became ready, exited, restarted, stopped):
Caretaker's source (``dataos_defs.caretaker.replica_reporter``). It must return at once
(queue the snapshot); whatever it raises is logged and ignored."""


class Supervisor:
    """Runs every replica of the embedded Services and Workers as a local process.

    Every API-server process builds one; the one holding the lock file supervises (its
    thread starts, watches and stops processes), the others answer from the state file and
    take over the lock when the holder goes. See the package docstring for the design.
    """

    def __init__(
        self,
        store: Store | None,
        home: Path,
        *,
        tick_s: float = TICK_S,
        start: bool = True,
        keep_on_close: bool = False,
        report: ReplicaReport | None = None,
        **runner_options: float,
    ) -> None:
        self.store = store
        self.keep_on_close = keep_on_close
        self.report = report
        self.report_errors = 0
        self._run_as: dict[Key, str | None] = {}
        self.root = home / "workloads"
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.tick_s = tick_s
        self.runner = Runner(self.root, self._secrets, **runner_options)
        self.limit = max_replicas()
        self.loop_cpu_s = 0.0
        """CPU seconds the supervising loop has used (thread time)."""
        self._desired: dict[Key, WorkloadSpec] | None = None
        self._workloads: dict[Key, WorkloadRecord] = {}
        self._published: dict[Key, WorkloadRuntime] = {}
        self._reader = StateReader(self.root)
        self._followed: tuple[object, dict[Key, WorkloadRuntime]] = (None, {})
        self._lock_file: IO[bytes] | None = None
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._last_rotation = 0.0
        self._thread = threading.Thread(target=self._loop, name="dataos-supervisor", daemon=True)
        if start:
            self._thread.start()

    @property
    def leader(self) -> bool:
        """Whether this process supervises (holds the lock)."""
        return self._lock_file is not None

    def reconcile(self, desired: Sequence[StoredResource]) -> None:
        specs = {}
        for resource in desired:
            spec = workload_spec(resource, self.limit)
            specs[spec.key] = spec
        with self._guard:
            self._desired = specs
            self._run_as.update({key: spec.run_as for key, spec in specs.items()})
        self._wake.set()

    def runtime(self, kind: str, workspace: str, name: str) -> WorkloadRuntime | None:
        return self._view().get((kind, workspace, name))

    def endpoints(self, workspace: str, name: str, port: str | None = None) -> list[Endpoint]:
        found = self.runtime("service", workspace, name)
        if found is None:
            return []
        endpoints = []
        for replica in sorted(found.replicas, key=lambda r: r.name):
            if replica.state != "ready" or not replica.ports:
                continue
            number = replica.ports.get(port) if port else next(iter(replica.ports.values()))
            if number is not None:
                endpoints.append(Endpoint(replica.name, replica.host or LOOPBACK, number))
        return endpoints

    def logs(
        self, kind: str, workspace: str, name: str, replica: str | None, lines: int
    ) -> list[str]:
        return logs.tail(self._log(kind, workspace, name, replica), lines)

    def follow(self, kind: str, workspace: str, name: str, replica: str | None) -> Iterator[str]:
        path = self._log(kind, workspace, name, replica)
        chosen = path.name.removesuffix(".log")

        def alive() -> bool:
            """The replica is still wanted and may still run (a restart continues its log)."""
            found = self.runtime(kind, workspace, name)
            return found is not None and any(
                r.name == chosen and r.state not in ("stopping", "failed") for r in found.replicas
            )

        return logs.follow(path, alive)

    def close(self) -> None:
        """Stop the loop and give up the lock. The supervising process first stops every
        replica (SIGTERM without draining, SIGKILL after the grace period) unless
        ``keep_on_close``: then they keep running for the next supervisor to re-adopt."""
        if self.leader and not self.keep_on_close:
            self.runner.drain_s = 0.0  # nothing routes to them any more
            self.stop_everything(timeout=self.runner.stop_grace_s + 2 * self.tick_s + 1)
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._release()

    def stop_everything(self, timeout: float = 30.0) -> bool:
        """Stop every replica (``make down``, tests); whether all were gone in ``timeout``.
        Only the supervising process can: another returns False once it is clear that
        someone else holds the lock."""
        self.reconcile([])
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.leader and not self._view():
                return True
            if not self.leader and time.monotonic() - began > LEADERSHIP_WAIT_S:
                return False
            time.sleep(self.tick_s)
        return False

    def _log(self, kind: str, workspace: str, name: str, replica: str | None) -> Path:
        """The log of ``replica`` (a name the runtime knows: never a path from outside)."""
        found = self.runtime(kind, workspace, name)
        names = [r.name for r in found.replicas] if found else []
        if replica is None and names:
            replica = names[0]
        if replica is None or replica not in names:
            known = ", ".join(names) or "none"
            raise LookupError(f"{kind} '{name}' has no replica '{replica}' (replicas: {known})")
        return log_path(self.root, kind, workspace, name, replica)

    def _view(self) -> Mapping[Key, WorkloadRuntime]:
        if self.leader:
            return self._published
        records = self._reader.read()
        if records is not self._followed[0]:  # the state file changed: convert it once
            self._followed = (records, {k: w.runtime(LOOPBACK) for k, w in records.items()})
        return self._followed[1]

    def _secrets(self, spec: WorkloadSpec) -> Mapping[str, str]:
        if self.store is None or spec.runtime is None:
            return {}
        return secret_env(self.store, spec.runtime, spec.workspace)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            began = time.thread_time()
            try:
                if self.leader or self._acquire():
                    self._tick(time.time())
            except Exception:
                log.exception("the workload supervisor's tick failed")
            self.loop_cpu_s += time.thread_time() - began
            self._wake.wait(self.tick_s)
            self._wake.clear()

    def _acquire(self) -> bool:
        """Take the lock file if nobody holds it; adopt what the state file records."""
        handle = (self.root / LOCK_FILE).open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        os.chmod(self.root / LOCK_FILE, 0o600)
        self._workloads = read_state(self.root / "state.json")
        for workload in self._workloads.values():
            for record in workload.replicas:
                _adopt(record, self.runner)
        self._lock_file = handle
        self._publish()
        log.info("supervising workloads (pid %s)", os.getpid())
        return True

    def _release(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _tick(self, now: float) -> None:
        before = _fingerprint(self._workloads)
        for workload in self._workloads.values():
            for record in workload.replicas:
                self.runner.observe(workload.kind, record, now)
        with self._guard:
            desired = self._desired
        if desired is not None:
            self._converge(desired, now)
        if now - self._last_rotation >= ROTATE_EVERY_S:
            self._last_rotation = now
            self._rotate_logs()
        if _fingerprint(self._workloads) != before:
            write_state(self.root, list(self._workloads.values()))
            self._publish()

    def _converge(self, desired: Mapping[Key, WorkloadSpec], now: float) -> None:
        taken = {p for w in self._workloads.values() for r in w.replicas for p in r.ports.values()}
        budget = Budget(taken)
        for key, spec in desired.items():
            workload = self._workloads.get(key)
            if workload is None:
                workload = WorkloadRecord(spec.kind, spec.workspace, spec.name, spec.revision, 0)
                self._workloads[key] = workload
            converge(spec, workload, self.runner, budget, now)
        for key in [k for k in self._workloads if k not in desired]:
            workload = self._workloads[key]
            stop_all(workload, self.runner, now)
            if not workload.replicas:
                del self._workloads[key]
                self.runner.forget(*key)

    def _rotate_logs(self) -> None:
        limit = logs.log_max_bytes()
        for (kind, workspace, name), workload in self._workloads.items():
            for record in workload.replicas:
                if record.pid is not None:
                    logs.rotate(log_path(self.root, kind, workspace, name, record.name), limit)

    def _publish(self) -> None:
        self._published = {k: w.runtime(LOOPBACK) for k, w in self._workloads.items()}
        if self.report is not None:
            self._report(self._published)

    def _report(self, published: Mapping[Key, WorkloadRuntime]) -> None:
        """Hand the published runtimes to the report hook; its failure is never ours."""
        assert self.report is not None
        with self._guard:
            run_as = {key: self._run_as.get(key) for key in published}
            for gone in [
                k for k in self._run_as if k not in published and k not in (self._desired or {})
            ]:
                del self._run_as[gone]
        try:
            self.report(published, run_as)
        except Exception:
            self.report_errors += 1
            if self.report_errors == 1:
                log.exception("reporting replicas failed (further failures are counted only)")


def _adopt(record: ReplicaRecord, runner: Runner) -> None:
    """A replica recorded by an earlier supervisor: kept when its process is verifiably the
    same one, otherwise counted as an exit (and restarted with backoff)."""
    if record.pid is None or verify(record.pid, record.create_time, record.command_digest):
        return
    if record.state == "stopping":
        record.pid = None
        return
    record.restarts += 1
    record.streak += 1
    record.pid, record.create_time, record.exit_code = None, None, None
    record.state, record.next_start = "crashloop", time.time() + runner.backoff(record.streak)
    record.reason = ADOPTED_GONE


def _fingerprint(workloads: Mapping[Key, WorkloadRecord]) -> tuple[object, ...]:
    """What readers of the state see; a tick that changes none of it writes nothing."""
    return tuple(
        (
            key,
            w.revision,
            w.desired,
            w.reason,
            tuple(
                (r.name, r.state, r.pid, r.revision, r.restarts, r.reason, tuple(r.ports.items()))
                for r in w.replicas
            ),
        )
        for key, w in workloads.items()
    )
