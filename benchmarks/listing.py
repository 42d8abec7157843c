"""Issue 10 target: listing 1,000 Resources as a plain user takes <= 50 ms p50 for one client
and serves >= 200 requests/s to 20 concurrent clients.

A store of 1,000 Resources of mixed types (depots, instance-secrets, workflows and secrets
in ``public`` and in two other workspaces) is served by the real API server
(``dataos-ctl serve``: uvicorn on 127.0.0.1, embedded defaults). Clients are real HTTP
clients (httpx, one per thread). The plain user (tag ``roles:id:data-dev``) may read only
part of the store: the instance-level Resources and ``public``. Measured, in one run:

* the untyped listing of everything, what ``dataos-ctl get -a`` asks for, by the plain user
  (the target), and by the operator (who sees everything);
* the typed listing ``dataos-ctl get -t workflow`` asks for (``public`` workflows), by the
  plain user: the baseline the issue compared with.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from generate import DEPOT
from generate import SECRET as INSTANCE_SECRET
from platform_support import free_port

ROOT = Path(__file__).resolve().parents[1]
LIST_PATH = "/poros/api/v1/resources"
CLIENTS = 20
SINGLE_ROUNDS = 40
CONCURRENT_ROUNDS = 15
"""Requests per client with 20 clients (300 in all)."""
COLD_ROUNDS = 10
CLEARED_ENV = ("DATAOS_DATABASE_URL", "DATAOS_API_KEY", "DATAOS_API_URL", "DAGSTER_WEBSERVER_URL")
"""The server runs on embedded defaults: its own SQLite store, no Dagster."""
GOAL_P50_MS = 50.0
GOAL_RPS = 200.0
DEPOTS = 150
TYPED = {"type": "workflow", "workspace": "public"}
"""What ``dataos-ctl get -t workflow`` asks for."""
WORKSPACE_MIX = {"public": (250, 50), "team-a": (150, 50), "team-b": (150, 50)}
"""Workflows and secrets per workspace; with the depots and their instance-secrets, 1,000."""

SECRET = """\
name: {ws}-secret-{i}
version: v1
type: secret
secret:
  type: key-value
  acl: r
  data: {{API_KEY: k{i}}}
"""
WORKFLOW = """\
name: {ws}-flow-{i}
version: v1
type: workflow
workflow:
  schedule: {{cron: "{minute} 3 * * *", timezone: UTC}}
  dag:
    - name: copy
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - {{name: src, dataset: "dataos://pg{depot}:public/orders?acl=r", format: jdbc}}
            steps:
              - sequence:
                  - {{name: out, sql: "SELECT * FROM src"}}
            outputs:
              - {{name: out, dataset: "dataos://pg{depot}:{ws}/copy_{i}?acl=rw", format: jdbc}}
"""


def _instance_manifests() -> str:
    texts = [INSTANCE_SECRET.format(i=i) for i in range(DEPOTS)]
    texts += [DEPOT.format(i=i) for i in range(DEPOTS)]
    return "---\n".join(texts)


def _workspace_manifests(ws: str, workflows: int, secrets: int) -> str:
    texts = [WORKFLOW.format(ws=ws, i=i, minute=i % 60, depot=i % DEPOTS) for i in range(workflows)]
    texts += [SECRET.format(ws=ws, i=i) for i in range(secrets)]
    return "---\n".join(texts)


def populate(home: Path) -> int:
    """Write the 1,000 Resources into ``home``'s store (as ``dataos-ctl apply`` would, without
    the server); returns how many were written."""
    from dataos_defs.manifest.loader import parse_yaml
    from dataos_defs.manifest.validate import parse_documents
    from dataos_defs.poros.apply import apply_resources
    from dataos_defs.poros.settings import Settings
    from dataos_defs.poros.store import Store

    def apply(store: Store, text: str, workspace: str | None) -> int:
        documents, problems = parse_yaml(text, "bench.yaml")
        assert not problems, problems
        return len(apply_resources(store, parse_documents(documents, workspace), workspace, "ops"))

    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(home)})) as store:
        written = apply(store, _instance_manifests(), None)
        for ws, (workflows, secrets) in WORKSPACE_MIX.items():
            if ws != "public":
                store.create_workspace(ws, ws)
            written += apply(store, _workspace_manifests(ws, workflows, secrets), ws)
    return written


@contextmanager
def serving(home: Path) -> Iterator[tuple[str, str]]:
    """``dataos-ctl serve`` on ``home`` (one uvicorn worker): its URL and the operator's key."""
    from dataos_defs.heimdall.credentials import credentials_path, read_credentials

    port = free_port()
    env = {**os.environ, "DATAOS_HOME": str(home)}
    for name in CLEARED_ENV:
        env.pop(name, None)
    command = [sys.executable, "-m", "dataos_defs.cli", "serve", "--port", str(port)]
    with (home / "api.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--log-level", "warning", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "api.log").read_text()[-2000:])
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        credentials = read_credentials(credentials_path(home))
        assert credentials is not None, "the server wrote no credentials"
        yield url, credentials.api_key
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def user_key(url: str, operator_key: str, user_id: str, tags: list[str]) -> str:
    """A new user with ``tags`` (created by the operator) and an API key of theirs."""
    headers = {"Authorization": f"Bearer {operator_key}"}
    with httpx.Client(base_url=url, headers=headers) as operator:
        created = operator.post(
            "/heimdall/api/v1/users", json={"id": user_id, "type": "person", "tags": tags}
        )
        assert created.status_code == 201, created.text
        key = operator.post(f"/heimdall/api/v1/users/{user_id}/apikeys", json={"name": "bench"})
        assert key.status_code == 201, key.text
        return str(key.json()["key"])


@dataclass(frozen=True)
class Case:
    label: str
    key: str
    params: dict[str, str]


@dataclass(frozen=True)
class Figures:
    items: int
    single: list[float]
    concurrent: list[float]
    throughput: float


def _client(url: str, case: Case) -> httpx.Client:
    headers = {"Authorization": f"Bearer {case.key}"}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def _timed_get(client: httpx.Client, case: Case) -> float:
    started = time.perf_counter()
    response = client.get(LIST_PATH, params=case.params)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed


def measure(url: str, case: Case) -> Figures:
    """One client (sequential requests), then 20 clients at once (one thread each)."""
    with _client(url, case) as client:
        items = len(client.get(LIST_PATH, params=case.params).json()["items"])
        for _ in range(3):
            _timed_get(client, case)
        single = [_timed_get(client, case) for _ in range(SINGLE_ROUNDS)]
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def work() -> None:
        with _client(url, case) as client:
            _timed_get(client, case)
            start.wait()
            mine = [_timed_get(client, case) for _ in range(CONCURRENT_ROUNDS)]
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return Figures(items, single, latencies, len(latencies) / elapsed)


def measure_cold(url: str, home: Path, case: Case) -> list[float]:
    """One client, each request after a change of the store made by another process (a
    status change): what a listing costs when nothing of it can be reused."""
    from dataos_defs.poros.settings import Settings
    from dataos_defs.poros.store import Store

    times = []
    with (
        Store.open(settings=Settings.from_env({"DATAOS_HOME": str(home)})) as store,
        _client(url, case) as client,
    ):
        for n in range(COLD_ROUNDS):
            status = "error" if n % 2 == 0 else "active"
            store.set_status("workflow", "public-flow-0", "public", status, f"round {n}")
            times.append(_timed_get(client, case))
    return times


def _ms(times: list[float], quantile: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000


def report(case: Case, figures: Figures) -> str:
    single = f"p50 {_ms(figures.single, 0.5):7.1f} ms  p95 {_ms(figures.single, 0.95):7.1f} ms"
    many = (
        f"{figures.throughput:6.1f} req/s  p50 {_ms(figures.concurrent, 0.5):7.1f} ms"
        f"  p95 {_ms(figures.concurrent, 0.95):7.1f} ms"
    )
    return f"  {case.label:<34} {figures.items:5d} items | 1 client: {single} | 20: {many}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="dataos-bench-listing-") as tmp:
        home = Path(tmp)
        total = populate(home)
        with serving(home) as (url, operator_key):
            plain = user_key(url, operator_key, "dana", ["roles:id:data-dev"])
            cases = [
                Case("plain user, untyped (get -a)", plain, {}),
                Case("plain user, typed (get -t workflow)", plain, TYPED),
                Case("operator, untyped (get -a)", operator_key, {}),
            ]
            results = [(case, measure(url, case)) for case in cases]
            cold = measure_cold(url, home, cases[0])
    print(f"listing (issue 10): {total} Resources, real server, httpx clients")
    for case, figures in results:
        print(report(case, figures))
    print(
        f"  {'plain user, untyped, after a change':<34} {results[0][1].items:5d} items |"
        f" 1 client: p50 {_ms(cold, 0.5):7.1f} ms  p95 {_ms(cold, 0.95):7.1f} ms"
        " (nothing reusable: each request follows a store change)"
    )
    target = results[0][1]
    p50 = _ms(target.single, 0.5)
    verdict = "ok" if p50 <= GOAL_P50_MS and target.throughput >= GOAL_RPS else "MISSED"
    print(
        f"  goal (plain user, untyped): p50 <= {GOAL_P50_MS:.0f} ms -> {p50:.1f} ms"
        f" ({p50 / GOAL_P50_MS:.2f}x the budget); >= {GOAL_RPS:.0f} req/s with {CLIENTS}"
        f" clients -> {target.throughput:.1f} ({target.throughput / GOAL_RPS:.2f}x): {verdict}"
    )


if __name__ == "__main__":
    main()
