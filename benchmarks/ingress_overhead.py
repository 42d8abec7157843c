"""Ingress overhead: a Service's requests through the platform's ingress vs straight to it.

Target (issue 13): 20 keep-alive clients on 127.0.0.1; through the ingress, p50 latency at
most 1.3x and throughput at least 0.7x of the same requests sent straight to the service.

Parts: the platform is the real API server app (two uvicorn workers, one per core:
``dataos-ctl serve --workers 2``; ``make up`` starts one) with a Service ``public/bench``
applied through the real apply API, whose replica endpoint is the service under test (the
workload runtime is replaced by a static one here, so the figures measure the ingress, not
process supervision). Every ingress request is authenticated by API key and authorized by
Heimdall (and logged in the decision log). Load comes from ``wrk`` (one thread, 20
connections), first straight to the service, then through the ingress. Three services:

* the example's own Service (``resources/service.yaml``: ``dataos_defs.demo.services.hello``,
  a stdlib ``ThreadingHTTPServer`` speaking HTTP/1.0, so every request is a new
  connection, and printing a log line per request): the realistic case;
* a typical service: a plain ASGI app under uvicorn answering after 10 ms of waiting
  (``asyncio.sleep``, a service waiting on its own database);
* the floor: the same app answering at once (a hello-world under uvicorn), where the
  ingress's own cost dominates.

Each case also reports the CPU time per request of the ingress (both workers) and of the
service during the measured ingress run, which is what bounds the floor: on 2 cores, a proxy
that spends more CPU per request than the service it fronts cannot reach 0.7x of that
service's throughput.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]  # (no stubs in the lock)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from heimdall_http import _ensure_wrk  # noqa: E402
from platform_support import CLEARED_ENV, free_port  # noqa: E402

CONNECTIONS = 20
DURATION_S = 8
P50_TARGET = 1.3
THROUGHPUT_TARGET = 0.7
BACKEND_ENV = "BENCH_INGRESS_BACKEND"
WORKERS = ("--workers", "2")
SERVICE = """\
name: bench
version: v1
type: service
service:
  servicePort: 8080
  replicas: 0
  stack: container
  compute: runnable-default
  stackSpec: {image: python:3.11, command: [python, -c, "pass"]}
"""

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    module: str
    """``hello``: the example Service's program; otherwise the ASGI backend's delay in ms."""


CASES = (
    Case("example", "the example Service (hello-api, stdlib HTTP/1.0 server)", "hello"),
    Case("10ms", "typical service (10 ms per request)", "10"),
    Case("0ms", "hello-world floor (0 ms per request)", "0"),
)


async def backend(scope: Scope, receive: Receive, send: Send) -> None:
    """The service: ``{"ok": true, "path": ...}`` after ``SERVICE_MS`` milliseconds."""
    if scope["type"] != "http":
        return
    delay = float(os.environ.get("SERVICE_MS", "0")) / 1000
    if delay:
        await asyncio.sleep(delay)
    body = json.dumps({"ok": True, "path": scope["path"]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def platform_app() -> Any:
    """The API server app, its workload runtime replaced by the static backend (per worker)."""
    from dataos_defs.api.app import create_app
    from dataos_defs.poros.workloads import Endpoint, Replica, WorkloadRuntime

    port = int(os.environ[BACKEND_ENV])

    class Static:
        def reconcile(self, desired: Any) -> None:
            return None

        def runtime(self, kind: str, workspace: str, name: str) -> WorkloadRuntime:
            return WorkloadRuntime(kind, workspace, name, 1, 1, (Replica("bench-0", "ready", 1),))

        def endpoints(self, workspace: str, name: str, port_name: str | None = None) -> list[Any]:
            return [Endpoint("bench-0", "127.0.0.1", port)]

        def logs(self, *args: Any) -> list[str]:
            return []

        def follow(self, *args: Any) -> Any:
            return iter(())

        def close(self) -> None:
            return None

    app = create_app(api_url=os.environ.get("DATAOS_API_URL"))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[None]:
        async with inner(started):
            started.state.workloads = Static()
            yield

    app.router.lifespan_context = lifespan
    return app


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parent,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _uvicorn(*args: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", *args, "--log-level", "warning", "--no-access-log"]


def _start_service(case: Case, port: int, env: dict[str, str], log: Path) -> Any:
    if case.module == "hello":
        command = [sys.executable, "-m", "dataos_defs.demo.services.hello"]
        return _start(command, {**env, "PORT": str(port), "DATAOS_REPLICA": "bench-0"}, log)
    command = _uvicorn("ingress_overhead:backend", "--port", str(port))
    return _start(command, {**env, "SERVICE_MS": case.module}, log)


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(log.read_text())
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start in 180 s: {log.read_text()}")


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its children so far (uvicorn's workers)."""
    from dataos_defs.caretaker.process_usage import usage

    found = usage(pid, psutil.Process(pid).create_time())
    return 0.0 if found is None else found.cpu_seconds


def _wrk(wrk: str, url: str, key: str, watched: dict[str, int]) -> dict[str, float]:
    before = {name: _cpu_seconds(pid) for name, pid in watched.items()}
    auth = f"Authorization: Bearer {key}"
    result = subprocess.run(
        [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "-H", auth, url],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if p50 is None or rps is None or done is None:
        raise SystemExit(f"wrk said: {out}{result.stderr}")
    figures = {
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)],
        "rps": float(rps.group(1)),
        "errors": float(errors.group(1)) if errors else 0.0,
    }
    requests = max(int(done.group(1)), 1)
    for name, pid in watched.items():
        figures[f"{name}_cpu_us"] = (_cpu_seconds(pid) - before[name]) / requests * 1e6
    return figures


def _apply_bench_service(platform_url: str, key: str) -> None:
    from tests.interfaces.conftest import wire

    applied = httpx.post(
        f"{platform_url}/poros/api/v1/apply",
        json={"documents": wire(SERVICE), "workspace": None, "dry_run": False},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    if applied.status_code != 200:
        raise SystemExit(f"apply failed: {applied.text}")


def measure(wrk: str, folder: Path, case: Case) -> tuple[dict[str, float], dict[str, float]]:
    """``(direct, through the ingress)`` figures of one case, on fresh processes."""
    from dataos_defs.heimdall.credentials import credentials_path, read_credentials

    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    home = Path(tempfile.mkdtemp(prefix=f"home-{case.key}-", dir=folder))
    backend_port, platform_port = free_port(), free_port()
    service_log = home / "service.log"
    service = _start_service(case, backend_port, env, service_log)
    platform_url = f"http://127.0.0.1:{platform_port}"
    platform_env = {
        **env,
        "DATAOS_HOME": str(home),
        "DATAOS_API_URL": platform_url,
        BACKEND_ENV: str(backend_port),
    }
    log = home / "platform.log"
    command = _uvicorn(
        "ingress_overhead:platform_app", "--factory", "--port", str(platform_port), *WORKERS
    )
    platform = _start(command, platform_env, log)
    try:
        _wait(f"http://127.0.0.1:{backend_port}/hello", service, service_log)
        _wait(f"{platform_url}/health", platform, log)
        credentials = None
        while credentials is None:
            credentials = read_credentials(credentials_path(home))
            time.sleep(0.1)
        key = credentials.api_key
        _apply_bench_service(platform_url, key)
        through = f"{platform_url}/public/bench/hello"
        deadline = time.monotonic() + 10
        while httpx.get(through, headers={"apikey": key}).status_code != 200:
            if time.monotonic() > deadline:
                raise SystemExit("the ingress did not route to the bench service in 10 s")
            time.sleep(0.1)
        watched = {"ingress": platform.pid, "service": service.pid}
        _wrk(wrk, through, key, watched)  # warm both workers' pools and caches
        direct = _wrk(wrk, f"http://127.0.0.1:{backend_port}/hello", key, watched)
        ingress = _wrk(wrk, through, key, watched)
        return direct, ingress
    finally:
        for process in (platform, service):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def report(case: Case, direct: dict[str, float], ingress: dict[str, float]) -> dict[str, float]:
    """Print one case's figures and ratios; returns them keyed by the case."""
    latency = ingress["p50_ms"] / direct["p50_ms"]
    throughput = ingress["rps"] / direct["rps"]
    ok = latency <= P50_TARGET and throughput >= THROUGHPUT_TARGET
    print(f"  {case.label}:")
    print(
        f"    direct:  p50 {direct['p50_ms']:.2f} ms, {direct['rps']:,.0f} req/s "
        f"(service CPU {direct['service_cpu_us']:.0f} us/req); "
        f"ingress: p50 {ingress['p50_ms']:.2f} ms, {ingress['rps']:,.0f} req/s, "
        f"non-2xx {ingress['errors']:.0f}"
    )
    print(
        f"    CPU per request through the ingress: ingress {ingress['ingress_cpu_us']:.0f} us "
        f"(2 workers), service {ingress['service_cpu_us']:.0f} us"
    )
    print(
        f"    ratios: p50 {latency:.2f}x (target <= {P50_TARGET}x), throughput "
        f"{throughput:.2f}x (target >= {THROUGHPUT_TARGET}x){'' if ok else '  MISSED'}"
    )
    return {
        f"p50_ratio_{case.key}": latency,
        f"throughput_ratio_{case.key}": throughput,
        f"ingress_cpu_us_{case.key}": ingress["ingress_cpu_us"],
        f"service_cpu_us_{case.key}": ingress["service_cpu_us"],
    }


def main() -> dict[str, float]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    wrk = _ensure_wrk()
    figures: dict[str, float] = {}
    print(f"Services ingress overhead ({CONNECTIONS} keep-alive clients, wrk, 127.0.0.1)")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            direct, ingress = measure(wrk, Path(tmp), case)
            figures.update(report(case, direct, ingress))
    return figures


if __name__ == "__main__":
    main()
