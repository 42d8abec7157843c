"""Queries run in the background and awaited by id, for protocols whose client polls.

Trino's client protocol answers ``POST /v1/statement`` at once with a ``nextUri`` the client
polls, and lets it ``DELETE`` that URI to cancel while the statement executes. The served
protocol does the same: the statement runs (``Gateway.run`` with a query id drawn up front)
on a daemon thread registered here, and each poll waits a little for it. Only the owner
sees a run (another user's id is unknown). Bounded: at most ``capacity`` runs are kept; a
finished run is forgotten once its answer is taken, or after ``keep_seconds`` unclaimed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dataos_defs.gateway.pages import Page

DEFAULT_CAPACITY = 256
KEEP_SECONDS = 300.0


class TooManyBackground(Exception):
    """The most runs this server keeps are running or unclaimed already (429)."""


@dataclass
class BackgroundRun:
    query_id: str
    owner: str
    page: Page | None = None
    error: Exception | None = None
    finished: float | None = None
    done: threading.Event = field(default_factory=threading.Event)


class BackgroundRuns:
    def __init__(self, capacity: int = DEFAULT_CAPACITY, keep_seconds: float = KEEP_SECONDS):
        self.capacity = capacity
        self.keep_seconds = keep_seconds
        self._runs: dict[str, BackgroundRun] = {}
        self._lock = threading.Lock()

    def start(self, owner: str, query_id: str, work: Callable[[], Page]) -> BackgroundRun:
        """Run ``work`` (the Gateway's run of ``query_id``) on a daemon thread."""
        with self._lock:
            self._forget_unclaimed_locked()
            if len(self._runs) >= self.capacity:
                raise TooManyBackground(f"{self.capacity} queries are pending on this server")
            run = self._runs[query_id] = BackgroundRun(query_id, owner)
        thread = threading.Thread(
            target=_execute, args=(run, work), name=f"query-{query_id[:8]}", daemon=True
        )
        thread.start()
        return run

    def wait(self, query_id: str, owner: str, seconds: float) -> BackgroundRun | None:
        """The owner's run after waiting up to ``seconds`` for it to finish (taken: a
        finished run is forgotten); None when there is no such run of the owner's."""
        with self._lock:
            run = self._runs.get(query_id)
        if run is None or run.owner != owner:
            return None
        if run.done.wait(seconds):
            with self._lock:
                self._runs.pop(query_id, None)
        return run

    def _forget_unclaimed_locked(self) -> None:
        deadline = time.monotonic() - self.keep_seconds
        for query_id, run in list(self._runs.items()):
            if run.finished is not None and run.finished < deadline:
                del self._runs[query_id]


def _execute(run: BackgroundRun, work: Callable[[], Page]) -> None:
    try:
        run.page = work()
    except Exception as exc:  # handed to the poller, which answers it as the protocol does
        run.error = exc
    run.finished = time.monotonic()
    run.done.set()
