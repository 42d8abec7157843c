"""Issue 13: the embedded supervisor reconciling 200 Services, from apply to all ``running``.

Each Service runs one replica of a trivial command: a stdlib TCP listener on ``$PORT`` (so
the readiness probe is real). The 200 manifests are written to a SQLite store in one
apply; the API server's sync thread notices the change and hands them to the supervisor,
whose loop starts, probes and publishes them. Reported: the wall time from the apply until
every Service is ``running:1``, the CPU seconds of the supervisor's loop (its thread time)
over that span, then its idle cost per second with 200 ready replicas, and the time to stop
them all after a delete.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataos_defs.api.workloads import WorkloadSync  # noqa: E402
from dataos_defs.poros.records import ApplyItem, ResourceKey  # noqa: E402
from dataos_defs.poros.settings import Settings  # noqa: E402
from dataos_defs.poros.store import Store  # noqa: E402
from dataos_defs.poros.supervisor import Supervisor  # noqa: E402

SERVICES = int(os.environ.get("BENCH_SERVICES", "200"))
LISTENER = (
    "import os, socket, time\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(os.environ['PORT'])))\n"
    "s.listen()\n"
    "time.sleep(1e9)\n"
)
IDLE_S = 5.0


def _item(index: int) -> ApplyItem:
    name = f"svc-{index:03d}"
    section = {
        "stack": "container",
        "compute": "runnable-default",
        "replicas": 1,
        "servicePort": 8080,
        "stackSpec": {"image": "python:3.11", "command": ["python", "-c", LISTENER]},
    }
    manifest = {"name": name, "version": "v1", "type": "service", "service": section}
    return ApplyItem(key=ResourceKey("service", name, "public"), version="v1", manifest=manifest)


def _wait(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the services did not all get there in time")
        time.sleep(0.05)


def _all_running(supervisor: Supervisor, names: list[str]) -> bool:
    for name in names:
        found = supervisor.runtime("service", "public", name)
        if found is None or found.summary != "running:1":
            return False
    return True


def _none_left(supervisor: Supervisor, names: list[str]) -> bool:
    return all(supervisor.runtime("service", "public", name) is None for name in names)


def main() -> None:
    print(f"Issue 13: the embedded supervisor, {SERVICES} services from apply to running")
    with tempfile.TemporaryDirectory(prefix="bench-services-") as folder:
        home = Path(folder)
        url = f"sqlite:///{home / 'poros.db'}"
        store = Store.open(url, settings=Settings(home=home, database_url=url, secret_key=None))
        supervisor = Supervisor(store, home)
        sync = WorkloadSync(store, supervisor).start()
        items = [_item(i) for i in range(SERVICES)]
        names = [item.key.name for item in items]
        try:
            _wait(lambda: supervisor.leader, 10)
            cpu_before, started = supervisor.loop_cpu_s, time.perf_counter()
            store.apply(items, "bench")
            sync.request()
            _wait(lambda: _all_running(supervisor, names), 300)
            wall = time.perf_counter() - started
            busy_cpu = supervisor.loop_cpu_s - cpu_before
            print(f"  apply -> all running:1        {wall:8.2f} s wall")
            print(f"  supervisor loop CPU            {busy_cpu:8.2f} s (its thread)")
            idle_before = supervisor.loop_cpu_s
            time.sleep(IDLE_S)
            idle = (supervisor.loop_cpu_s - idle_before) / IDLE_S
            print(f"  idle loop with {SERVICES} ready       {idle * 1000:8.1f} ms CPU per second")
            started = time.perf_counter()
            store.delete_many([item.key for item in items], "bench")
            sync.request()
            _wait(lambda: _none_left(supervisor, names), 300)
            print(f"  delete -> every process gone   {time.perf_counter() - started:8.2f} s wall")
        finally:
            sync.stop()
            supervisor.stop_everything(timeout=60)
            supervisor.close()
            store.close()


if __name__ == "__main__":
    main()
