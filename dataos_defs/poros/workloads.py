"""Services and Workers at run time: the one interface their two runtimes implement.

Poros keeps what a Service or Worker should be (its manifest, in the store); a *workload
runtime* makes it so and says what it is. There are two, chosen like the run launcher by
``DATAOS_RUN_MODE``:

- ``embedded`` (default): the supervisor (:mod:`dataos_defs.poros.supervisor`) runs each
  replica as a local process;
- ``k8s``: the Kubernetes applier (:mod:`dataos_defs.adapters.k8s_workloads`) server-side
  applies a Deployment, Service, Ingress, HorizontalPodAutoscaler and NetworkPolicy per
  workload and reads their status back.

Everything else — ``dataos-ctl get`` and ``get runtime``, ``log``, the ingress
(:mod:`dataos_defs.api.ingress`), Bundles' dependency conditions, Caretaker — reads workloads
through :class:`Workloads` only, so it works the same in both modes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from dataos_defs.poros.records import StoredResource

WORKLOAD_KINDS = ("service", "worker")

ReplicaState = Literal["pending", "starting", "ready", "crashloop", "failed", "stopping"]
"""``pending``: wanted, not started (or waiting for its backoff); ``starting``: started, its
readiness probe has not passed yet; ``ready``: serving (a Worker is ready once it has run
for its probe's grace period); ``crashloop``: exited and restarting with backoff;
``failed``: given up (it cannot start at all, e.g. its command is missing); ``stopping``:
being replaced or removed."""


@dataclass(frozen=True)
class Endpoint:
    """Where one ready replica listens for one of its ports."""

    replica: str
    host: str
    port: int


@dataclass(frozen=True)
class Replica:
    """One process (embedded) or pod (Kubernetes) of a workload."""

    name: str
    """Stable within the workload: ``<name>-<index>`` embedded, the pod name on Kubernetes."""
    state: ReplicaState
    revision: int
    """The Resource revision (of the store) this replica runs."""
    restarts: int = 0
    started_at: datetime | None = None
    ports: dict[str, int] = field(default_factory=dict)
    """Port name -> the port this replica listens on (the manifest's ``servicePort`` is
    named ``http``)."""
    host: str | None = None
    pid: int | None = None
    exit_code: int | None = None
    reason: str | None = None
    """Why it is not ready (the last exit, the probe's failure), never a secret value."""


@dataclass(frozen=True)
class WorkloadRuntime:
    """What a Service or Worker is doing now."""

    kind: str
    workspace: str
    name: str
    revision: int
    desired: int
    replicas: tuple[Replica, ...]
    reason: str | None = None

    @property
    def ready(self) -> int:
        return sum(1 for r in self.replicas if r.state == "ready")

    @property
    def summary(self) -> str:
        """The RUNTIME column of ``dataos-ctl get``: ``running:N`` when every wanted replica
        of the current revision is ready, ``failed`` when one has given up or crash-loops
        with none ready, ``stopped`` for zero replicas, else ``pending``."""
        if self.desired == 0:
            return "stopped"
        current = [r for r in self.replicas if r.revision == self.revision]
        ready = sum(1 for r in current if r.state == "ready")
        if ready >= self.desired:
            return f"running:{ready}"
        if ready == 0 and any(r.state in ("failed", "crashloop") for r in current):
            return "failed"
        return "pending"


class Workloads(Protocol):
    """A workload runtime (embedded supervisor or Kubernetes applier)."""

    def reconcile(self, desired: Sequence[StoredResource]) -> None:
        """Make the running workloads match ``desired`` (every live Service and Worker of the
        store, redacted manifests; secrets are read from the store when a replica starts):
        start what is missing, roll what changed, stop what is no longer wanted. Returns
        quickly; the work goes on in the runtime's own loop."""
        ...

    def runtime(self, kind: str, workspace: str, name: str) -> WorkloadRuntime | None:
        """``None`` for a workload the runtime does not know (not applied, or deleted)."""
        ...

    def endpoints(self, workspace: str, name: str, port: str | None = None) -> list[Endpoint]:
        """The ready replicas of Service ``name`` for ``port`` (a port name; ``None``: the
        first port), in a stable order; the ingress balances over them."""
        ...

    def logs(
        self, kind: str, workspace: str, name: str, replica: str | None, lines: int
    ) -> list[str]:
        """The last ``lines`` lines (``-1``: all that are kept) of one replica's output
        (``None``: the first replica), oldest first."""
        ...

    def follow(self, kind: str, workspace: str, name: str, replica: str | None) -> Iterator[str]:
        """New lines of a replica's output as they come (``log -f``); ends when it stops."""
        ...

    def close(self) -> None:
        """Stop the runtime's own loop. Embedded replicas stop with it by default
        (``DATAOS_WORKLOADS_ON_SHUTDOWN=keep`` leaves them running, and the next supervisor
        re-adopts them, as it does after a crash); nothing on Kubernetes changes."""
        ...
