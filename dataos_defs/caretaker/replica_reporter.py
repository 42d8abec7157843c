"""Caretaker's source for Service and Worker replicas: a bounded queue and its own writer.

The workload runtime calls a :class:`ReplicaReporter` with a snapshot of its workloads each
time what it publishes changes (the supervisor: a replica started, became ready, exited,
restarted, stopped). That call only puts the snapshot on a bounded queue
(``put_nowait``): it never waits, never raises, and a full queue drops the snapshot and
counts it (:attr:`ReplicaReporter.dropped`). Each snapshot is complete, so a dropped one
loses at most the events between two looks, never the current state.

The reporter's thread (not the runtime's) does the rest: diffs snapshots into process
records and events (:mod:`.replicas`), samples the CPU and peak memory of local replicas
every :data:`SAMPLE_S` (:mod:`.process_usage`), writes through Caretaker's writer engine,
and every :data:`HISTORY_S` appends the new events to the history (:mod:`.process_history`).
When the store cannot be written (Caretaker down, its tables not migrated yet), what is
unwritten waits, bounded by :data:`MAX_PENDING` records (then the oldest are dropped and
counted), and is retried at the next pass; the runtime is not affected at all.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import Engine

from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.history_schema import HistoryError
from dataos_defs.caretaker.process_history import historize_processes
from dataos_defs.caretaker.process_usage import usage
from dataos_defs.caretaker.recorder import record_process_changes
from dataos_defs.caretaker.records import ProcessRecord
from dataos_defs.caretaker.replicas import Changes, Key, ReplicaTracker, Snapshot
from dataos_defs.poros.workloads import WorkloadRuntime

log = logging.getLogger(__name__)

MAX_QUEUE = 256
MAX_PENDING = 10_000
SAMPLE_S = 5.0
HISTORY_S = 30.0
WARN_EVERY_S = 60.0


class ReplicaReporter:
    """Call it with ``(runtimes, run_as)``; see the module docstring."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        history: Callable[[], HistoryStore | None] | None = None,
        *,
        prefix: str = "local",
        max_queue: int = MAX_QUEUE,
        sample_s: float = SAMPLE_S,
        history_s: float = HISTORY_S,
        start: bool = True,
    ) -> None:
        self._engine = engine
        self._history = history
        self.tracker = ReplicaTracker(prefix)
        self.sample_s = sample_s
        self.history_s = history_s
        self.dropped = 0
        """Snapshots dropped because the queue was full."""
        self.dropped_records = 0
        """Unwritten records dropped because too many waited (the store was down)."""
        self.write_errors = 0
        self.written = 0
        self._queue: queue.Queue[Snapshot | None] = queue.Queue(maxsize=max_queue)
        self._pending: dict[str, ProcessRecord] = {}
        self._entered: list[ProcessRecord] = []
        self._last_warning = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="caretaker-replicas", daemon=True)
        if start:
            self._thread.start()

    def __call__(
        self, runtimes: Mapping[Key, WorkloadRuntime], run_as: Mapping[Key, str | None]
    ) -> None:
        """Queue a snapshot; never blocks, never raises."""
        try:
            self._queue.put_nowait(Snapshot(dict(runtimes), dict(run_as), _now_ms()))
        except queue.Full:
            self.dropped += 1
        except Exception:  # the runtime must never see Caretaker's trouble
            self.dropped += 1

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (within ``timeout``), then stop the thread."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def pass_once(self, wait_s: float = 0.0) -> None:
        """One pass of the thread's loop (tests drive it with ``start=False``)."""
        self._drain(wait_s)
        self._sample()
        self._flush()

    def _loop(self) -> None:
        last_history = time.monotonic()
        while not self._stopping.is_set():
            try:
                self.pass_once(self.sample_s)
                if self._history and time.monotonic() - last_history >= self.history_s:
                    last_history = time.monotonic()
                    self._historize()
            except Exception:
                self.write_errors += 1
                self._warn("Caretaker could not record Service and Worker replicas")
        self._flush()

    def _drain(self, wait_s: float) -> None:
        """Apply the queued snapshots (waiting up to ``wait_s`` for the first)."""
        try:
            first = self._queue.get(timeout=wait_s) if wait_s > 0 else self._queue.get_nowait()
        except queue.Empty:
            return
        snapshots = [first]
        while True:
            try:
                snapshots.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for snapshot in snapshots:
            if snapshot is not None:
                self._keep(self.tracker.apply(snapshot))

    def _sample(self) -> None:
        at = _now_ms()
        for node, (pid, started_s) in list(self.tracker.pids.items()):
            found = usage(pid, started_s)
            if found is None:
                continue
            self.tracker.with_usage(node, found.cpu_seconds, found.peak_memory_bytes, at)
            self._pending[node] = self.tracker.known[node]

    def _keep(self, changes: Changes) -> None:
        for record in changes.records:
            self._pending[record.node] = record
        self._entered.extend(changes.entered)
        extra = len(self._pending) + len(self._entered) - MAX_PENDING
        if extra > 0:
            cut = min(extra, len(self._entered))
            self._entered = self._entered[cut:]
            self.dropped_records += cut

    def _flush(self) -> None:
        if not self._pending and not self._entered:
            return
        records, entered = list(self._pending.values()), list(self._entered)
        try:
            record_process_changes(self._engine(), records, entered)
        except Exception:
            self.write_errors += 1
            self._warn("Caretaker could not write Service and Worker replicas; retrying")
            return
        self.written += len(records)
        self._pending.clear()
        self._entered = self._entered[len(entered) :]

    def _historize(self) -> None:
        store = self._history() if self._history else None
        if store is not None:
            try:
                historize_processes(self._engine(), store)
            except Exception:
                self.write_errors += 1
                self._warn("Caretaker could not append replica events to the history")

    def _warn(self, message: str) -> None:
        if time.monotonic() - self._last_warning >= WARN_EVERY_S:
            self._last_warning = time.monotonic()
            log.warning("%s (errors so far: %d)", message, self.write_errors, exc_info=True)


def server_reporter(engine: Engine, home: Path, prefix: str = "local") -> ReplicaReporter:
    """The API server's reporter: writes through ``engine`` (the store's; Caretaker's tables
    are migrated at start-up) and appends to the history the environment names
    (``DATAOS_CARETAKER_HISTORY_URL``, else under ``home``). A misconfigured history is a
    warning, once: the live state is recorded regardless."""
    found: list[HistoryStore | None] = []

    def history() -> HistoryStore | None:
        if not found:
            try:
                found.append(HistoryStore.from_env(home))
            except (HistoryError, ImportError, ValueError) as exc:
                log.warning("replica events stay out of Caretaker's history: %s", exc)
                found.append(None)
        return found[0]

    return ReplicaReporter(lambda: engine, history, prefix=prefix)


def _now_ms() -> int:
    return int(time.time() * 1000)
