"""The API server's background reconciliation: routes answer once a change is committed.

Reconciling Dagster with the store (:mod:`dataos_defs.api.reconcile`) reloads the code
location, which takes minutes for a location of 10,000 jobs: far longer than a client should
wait for an answer. So each API server process runs one :class:`Reconciler`, a thread to
which the apply and delete routes hand the change (:func:`after_change`) before answering:

- requests coalesce: those made while a reconciliation runs are all covered by exactly one
  reconciliation after it, with the union of the Resources they changed (a request naming
  none, such as a workspace deleted with ``--force``, makes it a full one);
- reconciliations stay serialized with every other one of the process (the watch's, a
  script's) by reconcile's lock, and a failure is logged, never seen by a request;
- while one runs, the workflows it is deploying stay ``pending`` with a reason saying the
  phase and for how long (:mod:`dataos_defs.api.reconcile_progress`), then get their status
  (``active``, or ``error`` with the reason) as before;
- the apply's answer lists the applied workflows whose status the reconciliation will decide
  (``pending`` until then): those it created or changed, and those it re-applied while in
  ``error`` or left ``pending`` by an earlier attempt (they are marked pending again,
  :data:`WAITING`, since the reconciliation retries them). ``dataos-ctl apply --wait`` polls
  them. An unchanged workflow already ``active`` stays ``active`` and is not waited for.

At its start the reconciler reconciles once if runs wait in the outbox or a workflow is
``pending`` (a server stopped or killed mid-reconciliation leaves its progress behind); a
request still queued when the server stops is dropped in the same way, and taken up at the
next start. Without ``DAGSTER_WEBSERVER_URL`` nothing runs: workflows stay ``pending``.

The watch of ``endOn`` (:class:`EndOnWatch`) is the other thread of reconciliation.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from dataos_defs.api import reconcile as reconciliation
from dataos_defs.api.reconcile import (
    DAGSTER_URL_ENV,
    WATCH_INTERVAL_S,
    drain_outbox,
    end_finished_workflows,
    reconcile,
    reconcile_after_change,
)
from dataos_defs.api.wire import NOT_DEPLOYED
from dataos_defs.poros.errors import PorosError
from dataos_defs.poros.records import ResourceKey, StoredResource
from dataos_defs.poros.store import Store

WAITING = "waiting for reconciliation with Dagster"
"""The reason of a workflow re-applied while in ``error`` (or left ``pending``): the
reconciliation this apply requested decides it again."""
STOP_TIMEOUT_S = 5.0
_LOOKUPS = 50
"""Above this many unchanged workflows applied, their statuses are read by one listing."""

log = logging.getLogger(__name__)
Run = Callable[[Store, Collection[ResourceKey]], object]


def configured() -> bool:
    """Whether this process reconciles Dagster at all (a webserver is configured)."""
    return bool(os.environ.get(DAGSTER_URL_ENV))


def _reconcile_now(store: Store, changed: Collection[ResourceKey]) -> object:
    return reconcile(store, changed=changed)


class Reconciler:
    """One thread reconciling ``store`` with Dagster whenever asked (:meth:`request`)."""

    def __init__(self, store: Store, run: Run = _reconcile_now) -> None:
        self.store = store
        self._run = run
        self._lock = threading.Condition()
        self._requested = 0
        """Requests received so far."""
        self._taken = 0
        """Requests covered by the reconciliation running, or by one already finished."""
        self._finished = 0
        """Requests covered by a finished reconciliation."""
        self._changed: set[ResourceKey] = set()
        self._everything = False
        self._stopping = False
        self.reconciliations = 0
        """How many reconciliations this reconciler ran."""
        self._catch_up = True
        self._thread = threading.Thread(target=self._loop, name="dataos-reconciler", daemon=True)

    def start(self, *, catch_up: bool = True) -> Reconciler:
        """Start the thread and take the routes' requests; ``catch_up``: reconcile at once if
        runs wait in the outbox or a workflow is pending."""
        reconciliation._BACKGROUND[id(self.store)] = self.request
        self._catch_up = catch_up
        self._thread.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop taking requests; a reconciliation in progress may finish within ``timeout``."""
        if reconciliation._BACKGROUND.get(id(self.store)) == self.request:
            del reconciliation._BACKGROUND[id(self.store)]
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request(self, changed: Collection[ResourceKey] = ()) -> int:
        """Ask for a reconciliation after a change of ``changed`` (none named: a full one);
        returns the request's number, for :meth:`wait`. Never blocks."""
        with self._lock:
            self._requested += 1
            if changed:
                self._changed.update(changed)
            else:
                self._everything = True
            self._lock.notify_all()
            return self._requested

    def wait(self, ticket: int | None = None, timeout: float | None = None) -> bool:
        """Wait until a reconciliation started after request ``ticket`` (default: the last
        one) has finished; False if the time ran out or the reconciler stopped first."""
        with self._lock:
            wanted = self._requested if ticket is None else ticket
            self._lock.wait_for(lambda: self._finished >= wanted or self._stopping, timeout)
            return self._finished >= wanted

    @property
    def busy(self) -> bool:
        """Whether a reconciliation runs or is requested."""
        with self._lock:
            return self._finished < self._requested

    def _next(self) -> tuple[int, Collection[ResourceKey]] | None:
        with self._lock:
            self._lock.wait_for(lambda: self._taken < self._requested or self._stopping)
            if self._stopping:
                return None
            changed = () if self._everything else tuple(self._changed)
            self._changed, self._everything = set(), False
            self._taken = self._requested
            return self._taken, changed

    def _loop(self) -> None:
        if self._catch_up:
            try:
                if self.store.outbox() or any(
                    w.status == "pending" for w in self.store.list(kind="workflow")
                ):
                    self.request()
            except Exception:
                log.exception("could not read the store at start-up")
        while (taken := self._next()) is not None:
            upto, changed = taken
            try:
                self._run(self.store, changed)
            except Exception:
                log.exception("reconciliation with Dagster failed")
            with self._lock:
                self._finished = upto
                self.reconciliations += 1
                self._lock.notify_all()


@dataclass(frozen=True)
class Requested:
    """What a change's answer tells the client about reconciliation."""

    reconciling: bool
    """A reconciliation will run (in the background); False without a webserver."""
    pending: list[ResourceKey]
    """The applied workflows ``pending`` until it has decided them."""


def after_change(
    store: Store, changed: Collection[ResourceKey], applied: Sequence[ResourceKey] = ()
) -> Requested:
    """What the apply and delete routes call once a change is committed (and Heimdall has
    reloaded): request the reconciliation, and say which of the ``applied`` workflows it will
    decide. ``changed``: what the change created, updated or deleted. Never fails."""
    reconciling = configured()
    try:
        pending = _awaiting(store, changed, applied, reconciling)
    except Exception:
        log.exception("could not read the applied workflows' statuses")
        pending = []
    if reconciling:
        reconcile_after_change(store, changed)
    return Requested(reconciling, pending)


def _awaiting(
    store: Store,
    changed: Collection[ResourceKey],
    applied: Sequence[ResourceKey],
    reconciling: bool,
) -> list[ResourceKey]:
    workflows = [key for key in applied if key.kind == "workflow"]
    fresh = set(changed)
    pending = [key for key in workflows if key in fresh]  # created or changed: pending
    others = [key for key in workflows if key not in fresh]
    for found in _statuses(store, others):
        if found.status == "active":
            continue
        stalled = found.status == "error" or (found.status_reason or "").startswith(NOT_DEPLOYED)
        if reconciling and stalled:
            try:
                store.set_status(found.kind, found.name, found.workspace, "pending", WAITING)
            except PorosError:
                continue  # deleted meanwhile
        if reconciling or found.status == "pending":
            pending.append(found.key)
    return pending


def _statuses(store: Store, keys: Sequence[ResourceKey]) -> list[StoredResource]:
    if len(keys) > _LOOKUPS:
        wanted = set(keys)
        return [w for w in store.list(kind="workflow") if w.key in wanted]
    found = (store.get(key.kind, key.name, key.workspace) for key in keys)
    return [resource for resource in found if resource is not None]


WATCH_INTERVAL_ENV = "DATAOS_WATCH_INTERVAL_S"
WATCH_INTERVAL_MAX_S = 3600.0


def watch_interval(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds between two checks of the watch: ``DATAOS_WATCH_INTERVAL_S`` when it holds a
    number in (0, 3600], else :data:`WATCH_INTERVAL_S` (a bad value is logged)."""
    raw = environ.get(WATCH_INTERVAL_ENV, "").strip()
    if not raw:
        return WATCH_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= WATCH_INTERVAL_MAX_S:
        log.warning(
            "%s=%r is not a number of seconds in (0, %g]: the watch checks every %g s",
            WATCH_INTERVAL_ENV,
            raw,
            WATCH_INTERVAL_MAX_S,
            WATCH_INTERVAL_S,
        )
        return WATCH_INTERVAL_S
    return value


class EndOnWatch:
    """A daemon thread ending workflows whose ``endOn`` passes while nothing is applied, and
    launching runs still waiting in the outbox."""

    def __init__(self, store: Store, interval: float | None = None) -> None:
        self.store = store
        self.interval = watch_interval() if interval is None else interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dataos-endon-watch", daemon=True)

    def start(self) -> EndOnWatch:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                end_finished_workflows(self.store)
            except Exception:
                log.exception("ending workflows past their endOn failed")
            try:
                drain_outbox(self.store)
            except Exception:
                log.exception("draining the run outbox failed")


def start_end_on_watch(store: Store, interval: float | None = None) -> EndOnWatch | None:
    """The running watch, or ``None`` when no webserver is configured (nothing to end)."""
    if not configured():
        return None
    return EndOnWatch(store, interval).start()


@dataclass(frozen=True)
class Background:
    """The reconciliation threads of an API server process."""

    reconciler: Reconciler
    watch: EndOnWatch

    def stop(self) -> None:
        self.reconciler.stop()
        self.watch.stop()


def start_background(store: Store) -> Background | None:
    """The reconciler and the watch of ``store``, running; ``None`` without a webserver."""
    if not configured():
        return None
    return Background(Reconciler(store).start(), EndOnWatch(store).start())
