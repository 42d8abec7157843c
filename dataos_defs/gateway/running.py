"""The statements executing on an engine right now, and the way to stop each one.

``Gateway.run`` registers a query here before the engine starts it and removes it when the
engine hands the result over (or fails); the engine registers the function that stops the
statement in flight (DuckDB: the cursor's ``interrupt()``; Trino: the client's ``cancel``,
``DELETE`` of the statement's ``nextUri``). Neither stops a statement that has not started
yet (DuckDB clears the flag when a statement starts; Trino's client has no URI to delete
before the coordinator answered), so a cancel is applied again every
:data:`RETRY_SECONDS` until the engine lets go of the statement (at most
:data:`MAX_ATTEMPTS` times): a statement never escapes a cancel by starting late.

Public and stable (other views read it): :meth:`RunningQueries.snapshot` lists what runs
(:class:`RunningQuery`), :meth:`RunningQueries.interrupt` stops one. Bounded: at most
``capacity`` statements execute at once through one Gateway (beyond, a query is refused
with :class:`TooManyRunning` before it reaches the engine).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_CAPACITY = 256
RETRY_SECONDS = 0.1
MAX_ATTEMPTS = 300
log = logging.getLogger(__name__)
Interrupt = Callable[[], None]


class TooManyRunning(Exception):
    """The Gateway executes its maximum of statements already (429)."""


@dataclass(frozen=True)
class RunningQuery:
    """One statement on an engine: whose, where, since when (epoch seconds), whether a
    cancel was asked for (it is stopping)."""

    query_id: str
    user: str
    cluster: str | None
    source: str | None
    started: float
    cancelling: bool


@dataclass
class _Entry:
    query_id: str
    user: str
    source: str | None
    started: float = field(default_factory=time.time)
    cluster: str | None = None
    interrupt: Interrupt | None = None
    cancelling: bool = False

    def view(self) -> RunningQuery:
        return RunningQuery(
            self.query_id, self.user, self.cluster, self.source, self.started, self.cancelling
        )


class RunningQueries:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def begin(self, query_id: str, user: str, source: str | None) -> None:
        """Register a statement about to be routed and run; raises TooManyRunning."""
        with self._lock:
            if query_id in self._entries:
                raise ValueError(f"query {query_id} is running already")
            if len(self._entries) >= self.capacity:
                raise TooManyRunning(
                    f"{self.capacity} statements are executing on this Gateway already"
                )
            self._entries[query_id] = _Entry(query_id, user, source)

    def on_cluster(self, query_id: str, cluster: str) -> None:
        with self._lock:
            entry = self._entries.get(query_id)
            if entry is not None:
                entry.cluster = cluster

    def registrar(self, query_id: str) -> Callable[[Interrupt], None]:
        """What the engine calls with its interrupt (applied at once if already cancelled)."""

        def register(interrupt: Interrupt) -> None:
            with self._lock:
                entry = self._entries.get(query_id)
                if entry is None:
                    return
                entry.interrupt = interrupt
                cancelling = entry.cancelling
            if cancelling:
                _call(interrupt, query_id)

        return register

    def end(self, query_id: str) -> bool:
        """Forget a statement the engine is done with; True when it had been cancelled."""
        with self._lock:
            entry = self._entries.pop(query_id, None)
        return entry is not None and entry.cancelling

    def owner(self, query_id: str) -> str | None:
        with self._lock:
            entry = self._entries.get(query_id)
            return entry.user if entry is not None else None

    def is_cancelled(self, query_id: str) -> bool:
        with self._lock:
            entry = self._entries.get(query_id)
            return entry is not None and entry.cancelling

    def interrupt(self, query_id: str) -> bool:
        """Stop the statement now, and again until the engine lets go of it; False when no
        such statement executes. Who may ask is the caller's decision."""
        with self._lock:
            entry = self._entries.get(query_id)
            if entry is None:
                return False
            first = not entry.cancelling
            entry.cancelling = True
            interrupt = entry.interrupt
        if interrupt is not None:
            _call(interrupt, query_id)
        if first:
            threading.Thread(
                target=self._keep_interrupting,
                args=(query_id,),
                name=f"cancel-{query_id[:8]}",
                daemon=True,
            ).start()
        return True

    def _keep_interrupting(self, query_id: str) -> None:
        for _ in range(MAX_ATTEMPTS):
            time.sleep(RETRY_SECONDS)
            with self._lock:
                entry = self._entries.get(query_id)
                if entry is None:
                    return
                interrupt = entry.interrupt
            if interrupt is not None:
                _call(interrupt, query_id)
        log.warning("query %s did not stop after %d interrupts", query_id, MAX_ATTEMPTS)

    def snapshot(self, user: str | None = None) -> list[RunningQuery]:
        """What executes now, oldest first; only ``user``'s when given."""
        with self._lock:
            entries = [e.view() for e in self._entries.values() if user in (None, e.user)]
        return sorted(entries, key=lambda q: q.started)


def _call(interrupt: Interrupt, query_id: str) -> None:
    """An interrupt that fails leaves the statement to finish; the caller's cancel still
    discards its result, so the failure is logged, not raised."""
    try:
        interrupt()
    except Exception:
        log.exception("could not interrupt query %s on its engine", query_id)
