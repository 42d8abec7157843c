"""Queries started from the Workbench: run in the background, so the page can show
progress and cancel them.

A run is the Gateway's ``run`` (the very call of ``POST /gateway/api/v1/query``) on a
daemon thread; the page polls it by its id. Only the user who started a run can see or
cancel it (another user's id answers 404, as an unknown one). Cancelling a run whose first
page has come closes the Gateway's open result at once (``Gateway.cancel``, as ``DELETE``
of the query does); a run still executing is marked cancelled and its result is closed the
moment the engine hands it over, unread, and ``workbench.cancel`` asks ``Gateway.cancel``
to stop the statement on the engine (each run is given its Gateway query id up front).

Bounds: at most :data:`MAX_RUNNING` runs execute at once on this server and
:data:`MAX_PER_USER` per user (429 beyond); finished runs are forgotten after
:data:`KEEP_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from dataos_defs.api.errors import ApiError
from dataos_defs.gateway.pages import Page

MAX_RUNNING = 8
MAX_PER_USER = 3
KEEP_SECONDS = 900.0
log = logging.getLogger(__name__)
State = Literal["running", "done", "failed", "cancelled"]


@dataclass
class WebRun:
    run_id: str
    owner: str
    started: float
    state: State = "running"
    page: Page | None = None
    error: ApiError | None = None
    finished: float | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    """Set when the Gateway has answered (whether or not the run was cancelled)."""

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started


class WebRuns:
    def __init__(self, max_running: int = MAX_RUNNING, per_user: int = MAX_PER_USER) -> None:
        self.max_running = max_running
        self.per_user = per_user
        self._runs: dict[str, WebRun] = {}
        self._lock = threading.Lock()

    def start(
        self,
        owner: str,
        work: Callable[[], Page],
        close: Callable[[str], object],
    ) -> WebRun:
        """Start ``work`` (the Gateway's run) for ``owner``; ``close(query_id)`` closes a
        result that arrives after the run was cancelled."""
        with self._lock:
            self._forget_locked()
            running = [r for r in self._runs.values() if r.state == "running"]
            if len(running) >= self.max_running or (
                sum(r.owner == owner for r in running) >= self.per_user
            ):
                raise ApiError(
                    429,
                    "too_many_queries",
                    "too many queries are running now",
                    "wait for one to finish, or cancel it",
                )
            run = WebRun(uuid.uuid4().hex, owner, time.monotonic())
            self._runs[run.run_id] = run
        thread = threading.Thread(
            target=self._execute, args=(run, work, close), name=f"workbench-{run.run_id[:8]}"
        )
        thread.daemon = True  # a statement in flight never holds the server's shutdown
        thread.start()
        return run

    def _execute(
        self, run: WebRun, work: Callable[[], Page], close: Callable[[str], object]
    ) -> None:
        page: Page | None = None
        error: ApiError | None = None
        try:
            page = work()
        except ApiError as exc:
            error = exc
        except Exception:  # a failure of the run is shown and logged, never lost
            log.exception("a Workbench query failed unexpectedly")
            error = ApiError(500, "internal_error", "the query failed unexpectedly")
        with self._lock:
            run.finished = time.monotonic()
            cancelled = run.state == "cancelled"
            if not cancelled:
                run.page, run.error = page, error
                run.state = "done" if error is None else "failed"
        run.ended.set()
        if cancelled and page is not None and page.next_token is not None:
            close(page.query_id)

    def get(self, run_id: str, owner: str) -> WebRun:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None or run.owner != owner:
            raise ApiError(
                404, "no_such_run", f"no query run '{run_id[:64]}' of yours", "run it again"
            )
        return run

    def cancel(self, run_id: str, owner: str, close: Callable[[str], object]) -> WebRun:
        run = self.get(run_id, owner)
        with self._lock:
            page = run.page
            if run.state in ("running", "done"):
                run.state = "cancelled"
                run.finished = run.finished or time.monotonic()
        if page is not None and page.next_token is not None:
            close(page.query_id)
        return run

    def _forget_locked(self) -> None:
        deadline = time.monotonic() - KEEP_SECONDS
        for run_id in [
            k for k, r in self._runs.items() if r.finished is not None and r.finished < deadline
        ]:
            del self._runs[run_id]
