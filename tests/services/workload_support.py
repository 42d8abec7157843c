"""Building Services and Workers as the store returns them, and waiting on a supervisor."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.supervisor import Supervisor
from dataos_defs.poros.workloads import WorkloadRuntime

T = TypeVar("T")
HELLO = [sys.executable, "-m", "dataos_defs.demo.services.hello"]
QUEUE = [sys.executable, "-m", "dataos_defs.demo.services.queue"]
FAST = {"stop_grace_s": 3.0, "worker_grace_s": 0.5, "drain_s": 0.3, "backoff_base_s": 0.2}


def workload(
    name: str,
    *,
    kind: str = "service",
    replicas: int = 2,
    revision: int = 1,
    command: list[str] | None = None,
    envs: dict[str, Any] | None = None,
    stack: str = "container",
    **extra: Any,
) -> StoredResource:
    section: dict[str, Any] = {
        "stack": stack,
        "compute": "runnable-default",
        "replicas": replicas,
        "stackSpec": {"image": "python:3.11", "command": command or HELLO},
        **extra,
    }
    if envs:
        section["envs"] = envs
    if kind == "service":
        section.setdefault("servicePort", 8080)
    manifest = {"name": name, "version": "v1", "type": kind, kind: section}
    now = datetime.now(UTC)
    version = "v1" if kind == "service" else "v1beta"
    return StoredResource(
        kind, name, "public", version, "active", None, "op", revision, manifest, now, now, None
    )


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def running(sup: Supervisor, name: str, n: int, kind: str = "service") -> WorkloadRuntime:
    def check() -> WorkloadRuntime | None:
        found = sup.runtime(kind, "public", name)
        return found if found is not None and found.summary == f"running:{n}" else None

    return wait_for(f"{kind} {name} running:{n} (now {sup.runtime(kind, 'public', name)})", check)


def cleanup(home: Path) -> None:
    """Stop whatever replicas of ``home`` a failed test left running."""
    supervisor = Supervisor(None, home, tick_s=0.05, **FAST)
    try:
        supervisor.stop_everything(timeout=20)
    finally:
        supervisor.close()
