"""A reconciliation's progress, shown where users look: the status reason of the workflows it
is deploying.

The workflows ``pending`` when a reconciliation starts (just created or changed, or waiting
since an earlier attempt) stay ``pending`` until it decides them; meanwhile their reason says
what it is doing and for how long, e.g. ``waiting for Dagster to load the code location
(10,000 jobs, 34 s)``, so ``dataos-ctl get`` (and ``apply --wait``) can follow a long reload.

A thread of its own writes the reason, because the reconciliation itself is blocked in the
reload request for most of that time. It writes nothing for a reconciliation shorter than
:data:`FIRST_WRITE_S`, and then at most once per :data:`INTERVAL_S` (longer when writing
takes long: many workflows), so a phase change or a new second costs one write per workflow,
never more. Every write is a status update of the store (no new revision).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from types import TracebackType

from dataos_defs.poros.errors import PorosError
from dataos_defs.poros.records import ResourceKey, Status, StoredResource
from dataos_defs.poros.store import Store

FIRST_WRITE_S = 0.5
"""A reconciliation that ends sooner shows no progress (its result is written at once)."""
INTERVAL_S = 1.0
"""At most one write of the progress per this many seconds."""
WRITE_SHARE = 0.05
"""The share of the time the progress writer may spend writing (it waits longer if needed)."""

LOADING = "waiting for Dagster to load the code location"
RETIRING = "stopping the schedules and runs of deleted workflows"
STARTING = "starting schedules and runs"
CHECKING = "reading the Dagster code location"

log = logging.getLogger(__name__)


def count_jobs(workflows: Iterable[StoredResource]) -> int:
    """The DataOS jobs (Dagster ops) of ``workflows``: what the code location loads."""
    total = 0
    for workflow in workflows:
        dag = (workflow.manifest.get("workflow") or {}).get("dag")
        total += len(dag) if isinstance(dag, list) else 0
    return total


def _jobs(count: int) -> str:
    return f"{count:,} job{'s' if count != 1 else ''}"


class Progress:
    """Writes the current phase of a reconciliation to the workflows it is deploying.

    Use as a context manager around the work; :meth:`phase` names what comes next. On exit
    the writer has stopped: :attr:`written` holds what it wrote last for each workflow, for
    the reconciliation to compare with when it records the result.
    """

    def __init__(self, store: Store, workflows: Iterable[StoredResource]) -> None:
        listed = list(workflows)
        self.store = store
        self.deploying = [w for w in listed if w.status == "pending"]
        self.jobs = count_jobs(listed)
        self.written: dict[ResourceKey, tuple[Status, str | None]] = {}
        self._phase: tuple[str, bool] | None = None
        self._since = time.monotonic()
        self._shown: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.deploying:
            self._thread = threading.Thread(
                target=self._loop, name="dataos-reconcile-progress", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def phase(self, text: str, *, with_jobs: bool = False) -> None:
        """What the reconciliation does from now on; ``with_jobs``: say how many jobs."""
        self._phase = (text, with_jobs)
        self._since = time.monotonic()

    def reason(self) -> str | None:
        """The reason to show now: the phase, the jobs if relevant, and its duration."""
        if self._phase is None:
            return None
        text, with_jobs = self._phase
        seconds = f"{int(time.monotonic() - self._since)} s"
        return f"{text} ({_jobs(self.jobs)}, {seconds})" if with_jobs else f"{text} ({seconds})"

    def _loop(self) -> None:
        if self._stopping.wait(FIRST_WRITE_S):
            return
        while not self._stopping.is_set():
            reason = self.reason()
            started = time.monotonic()
            if reason is not None and reason != self._shown:
                self._write(reason)
                self._shown = reason
            # Never sooner than the interval, longer when writing is slow (many workflows).
            self._stopping.wait(max(INTERVAL_S, (time.monotonic() - started) / WRITE_SHARE))

    def _write(self, reason: str) -> None:
        for workflow in list(self.deploying):
            if self._stopping.is_set():
                return
            try:
                self.store.set_status(
                    workflow.kind, workflow.name, workflow.workspace, "pending", reason
                )
            except PorosError:
                self.deploying.remove(workflow)  # deleted meanwhile
                continue
            except Exception:
                log.exception("could not show the progress of reconciliation")
                return
            self.written[workflow.key] = ("pending", reason)
