"""The API server's side of Services and Workers: which runtime runs them, and feeding it.

:func:`workloads_from_env` picks the runtime by ``DATAOS_RUN_MODE`` (the switch of the
container stack): ``embedded`` (default) is the local supervisor
(:mod:`dataos_defs.poros.supervisor`), ``k8s`` the Kubernetes applier
(:mod:`dataos_defs.adapters.k8s_workloads`, imported only then). It lives in
``app.state.workloads``; the ingress, Bundles and the runtime routes read it.

:class:`WorkloadSync` hands the runtime every live Service and Worker of the store: at
start, whenever an apply or delete of one asks (:func:`after_change`, without waiting),
whenever the store's listing marker moves (a change made by another API-server process, a
Bundle or a workspace deleted with ``--force``), and every :data:`FULL_SYNC_S` anyway. The
runtime's own loop does the rest (restarts, probes, rolling updates).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from dataos_defs.caretaker.replica_reporter import ReplicaReporter, server_reporter
from dataos_defs.poros.errors import PorosError
from dataos_defs.poros.records import ResourceKey, Status, StoredResource
from dataos_defs.poros.store import Store
from dataos_defs.poros.workloads import WORKLOAD_KINDS, WorkloadRuntime, Workloads

log = logging.getLogger(__name__)

RUN_MODE_ENV = "DATAOS_RUN_MODE"
ON_SHUTDOWN_ENV = "DATAOS_WORKLOADS_ON_SHUTDOWN"
SYNC_INTERVAL_S = 1.0
"""How often the store's listing marker is checked for changes made elsewhere."""
FULL_SYNC_S = 30.0
NOT_STARTED = "pending"
"""The runtime of a workload the runtime has not taken up yet."""
REPORT_S = 10.0
"""How often, in Kubernetes mode, every workload's pods are reported to Caretaker."""


def run_mode(environ: Mapping[str, str] = os.environ) -> str:
    """``embedded`` or ``k8s``: the same rule as the container stack's ``run_mode``."""
    mode = (environ.get(RUN_MODE_ENV) or "embedded").strip().lower()
    if mode not in ("embedded", "k8s"):
        raise ValueError(f"{RUN_MODE_ENV} must be 'embedded' or 'k8s', not '{mode}'")
    return mode


def workloads_from_env(
    store: Store, home: Path, report: ReplicaReporter | None = None
) -> Workloads:
    """The workload runtime this server's environment asks for; ``report`` (embedded only)
    hears of every replica change, for Caretaker."""
    if run_mode() == "k8s":
        from dataos_defs.adapters.k8s_workloads import KubernetesWorkloads

        workloads: Workloads = KubernetesWorkloads.from_env(store)
        return workloads
    from dataos_defs.poros.supervisor import Supervisor

    return Supervisor(store, home, keep_on_close=keep_on_shutdown(), report=report)


def keep_on_shutdown(environ: Mapping[str, str] = os.environ) -> bool:
    """``DATAOS_WORKLOADS_ON_SHUTDOWN``: ``stop`` (default: a clean shutdown of the API
    server stops the embedded replicas, the next start runs them again) or ``keep`` (they
    outlive it and the next server re-adopts them)."""
    value = (environ.get(ON_SHUTDOWN_ENV) or "stop").strip().lower()
    if value not in ("stop", "keep"):
        raise ValueError(f"{ON_SHUTDOWN_ENV} must be 'stop' or 'keep', not '{value}'")
    return value == "keep"


def live_workloads(store: Store) -> list[StoredResource]:
    """Every Service and Worker that is not deleted (manifests redacted)."""
    return [resource for kind in WORKLOAD_KINDS for resource in store.list(kind=kind)]


class WorkloadSync:
    """A daemon thread calling ``workloads.reconcile`` with what the store wants."""

    def __init__(
        self,
        store: Store,
        workloads: Workloads,
        interval: float = SYNC_INTERVAL_S,
        report: ReplicaReporter | None = None,
    ) -> None:
        self.store = store
        self.workloads = workloads
        self.interval = interval
        self.report = report
        self.syncs = 0
        self._reported = 0.0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dataos-workload-sync", daemon=True)

    def start(self) -> WorkloadSync:
        self._thread.start()
        return self

    def request(self) -> None:
        """Reconcile soon (never blocks)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        marker: tuple[Any, ...] | None = None
        last = 0.0
        live: list[StoredResource] = []
        while not self._stopping.is_set():
            asked = self._wake.is_set()
            self._wake.clear()
            try:
                now_marker = self.store.listing_marker()
                due = time.monotonic() - last >= FULL_SYNC_S
                if asked or due or now_marker != marker:
                    live = live_workloads(self.store)
                    self.workloads.reconcile(live)
                    self.syncs += 1
                    marker, last = now_marker, time.monotonic()
                live = self._record_statuses(live)
                if self.report is not None and time.monotonic() - self._reported >= REPORT_S:
                    self._reported = time.monotonic()
                    self._report_pods()
            except Exception:
                log.exception("handing Services and Workers to the workload runtime failed")
            self._wake.wait(self.interval)

    def _report_pods(self) -> None:
        """Kubernetes mode: every live workload's pods to Caretaker (the embedded supervisor
        reports its own replicas as they change). A complete look: a workload left out is
        recorded as stopped, so a runtime that cannot be read skips this pass."""
        assert self.report is not None
        runtimes: dict[tuple[str, str, str], WorkloadRuntime] = {}
        run_as: dict[tuple[str, str, str], str | None] = {}
        for resource in live_workloads(self.store):
            key = (resource.kind, resource.workspace or "public", resource.name)
            found = self.workloads.runtime(*key)
            if found is None:
                return
            runtimes[key] = found
            run_as[key] = resource.run_as or resource.owner
        self.report(runtimes, run_as)

    def _record_statuses(self, live: list[StoredResource]) -> list[StoredResource]:
        """Each workload's lifecycle status once the runtime has taken it up: ``active``, or
        ``error`` with the reason when it cannot run at all. Returns those still to watch
        (a recorded change moves the listing marker, and the next pass reads them again)."""
        waiting = []
        for resource in live:
            runtime = self.workloads.runtime(
                resource.kind, resource.workspace or "public", resource.name
            )
            wanted = lifecycle(runtime)
            if wanted is None:
                waiting.append(resource)
            elif wanted != (resource.status, resource.status_reason):
                try:
                    self.store.set_status(resource.kind, resource.name, resource.workspace, *wanted)
                except PorosError:
                    continue  # deleted meanwhile
        return waiting


def lifecycle(runtime: WorkloadRuntime | None) -> tuple[Status, str | None] | None:
    """The status a workload's runtime implies; ``None`` while the runtime does not know it
    (it stays ``pending``). Crash loops are runtime (``failed``), not lifecycle: a workload
    that cannot run at all (``runtime.reason`` with nothing ready) is ``error``."""
    if runtime is None:
        return None
    if runtime.reason and runtime.ready == 0:
        return "error", runtime.reason
    return "active", None


def start_workloads(app: Any, store: Store, home: Path) -> None:
    """``app.state.workloads`` and its sync thread, running."""
    k8s = run_mode() == "k8s"
    reporter = server_reporter(store.engine, home, prefix="pod" if k8s else "local")
    app.state.replica_reporter = reporter
    workloads = workloads_from_env(store, home, None if k8s else reporter)
    app.state.workloads = workloads
    sync = WorkloadSync(store, workloads, report=reporter if k8s else None)
    app.state.workload_sync = sync.start()


def stop_workloads(app: Any) -> None:
    """Stop feeding the runtime and close it (embedded replicas stop, unless
    ``DATAOS_WORKLOADS_ON_SHUTDOWN=keep``)."""
    sync: WorkloadSync | None = getattr(app.state, "workload_sync", None)
    if sync is not None:
        sync.stop()
    workloads: Workloads | None = getattr(app.state, "workloads", None)
    if workloads is not None:
        workloads.close()
    reporter: ReplicaReporter | None = getattr(app.state, "replica_reporter", None)
    if reporter is not None:
        reporter.close()  # after the runtime, so the replicas' last states are written


def after_change(app: Any, changed: Collection[ResourceKey]) -> None:
    """What the apply and delete routes call once a change is committed: a change of a
    Service or Worker (or of an unknown set) reconciles them soon. Never fails."""
    sync: WorkloadSync | None = getattr(app.state, "workload_sync", None)
    if sync is not None and (not changed or any(k.kind in WORKLOAD_KINDS for k in changed)):
        sync.request()


def runtime_of(app: Any, resource: StoredResource) -> WorkloadRuntime | None:
    workloads: Workloads | None = getattr(app.state, "workloads", None)
    if workloads is None or resource.kind not in WORKLOAD_KINDS:
        return None
    try:
        return workloads.runtime(resource.kind, resource.workspace or "public", resource.name)
    except Exception:
        log.exception("could not read the runtime of %s", resource.key)
        return None


def workload_runtimes(
    app: Any, resources: Iterable[StoredResource]
) -> dict[tuple[str, str | None], str]:
    """The RUNTIME column of each Service and Worker among ``resources`` (``running:N``,
    ``pending``, ``failed``, ``stopped``): what ``dataos-ctl get`` shows."""
    if getattr(app.state, "workloads", None) is None:
        return {}
    found = {}
    for resource in resources:
        if resource.kind in WORKLOAD_KINDS:
            runtime = runtime_of(app, resource)
            word = runtime.summary if runtime is not None else NOT_STARTED
            found[(resource.name, resource.workspace)] = word
    return found
