"""A Bundle end to end, with the API server and a real ``dagster dev`` (as ``make up`` runs them).

``dataos-ctl apply -f bundle.yaml`` creates the workspace, then the depot, then the workflow
once the depot is ``active``, then the Service once the workflow's first run (launched by
Dagster when the workflow is applied) has ``succeeded``, then a Worker once the Service is
``running:1`` (run by the embedded supervisor), printing each step; ``dataos-ctl delete``
removes them in reverse order, then the workspace. The ``python3`` stack runs the
stub executor of ``tests/dagster/stub_stack.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from dataos_defs.heimdall.credentials import credentials_path, read_credentials

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DAGSTER_TESTS = ROOT / "tests/dagster"

BUNDLE = """\
name: shop
version: v1beta
type: bundle
bundle:
  workspaces:
    - name: shopfloor
      description: the shop's workspace, made by its bundle
  resources:
    - id: db
      spec:
        name: shopfloordb
        version: v2alpha
        type: depot
        depot:
          type: POSTGRESQL
          external: true
          postgresql: {{subprotocol: postgresql, host: db.example, port: 5432, database: shop}}
    - id: load
      workspace: shopfloor
      timeout: 60s
      dependencyConditions:
        - resourceId: db
          status: {{is: [active]}}
      spec:
        name: load
        version: v1
        type: workflow
        workflow:
          dag:
            - name: hello
              spec:
                stack: python3
                compute: runnable-default
                stackSpec: {{}}
    - id: api
      workspace: shopfloor
      timeout: 240s
      dependencyConditions:
        - resourceId: load
          runtime: {{is: [succeeded]}}
      spec:
        name: api
        version: v1
        type: service
        service:
          servicePort: 8080
          replicas: 1
          stack: container
          compute: runnable-default
          stackSpec:
            image: python:3.11
            command: [{python}, -c, "{serve}"]
    - id: tick
      workspace: shopfloor
      timeout: 120s
      dependencyConditions:
        - resourceId: api
          runtime: {{is: ["running:1"]}}
      spec:
        name: tick
        version: v1beta
        type: worker
        worker:
          replicas: 1
          stack: container
          compute: runnable-default
          stackSpec:
            image: python:3.11
            command: [{python}, -c, "import time; time.sleep(300)"]
"""
SERVE = (
    "import http.server, os; http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), "
    "http.server.SimpleHTTPRequestHandler).serve_forever()"
)
"""The Service: an HTTP server on the port the embedded supervisor gives it (``PORT``)."""


def _support() -> ModuleType:
    name = "dagster_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, DAGSTER_TESTS / "dagster_support.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """As ``dagster_support.running_platform``, with start-up deadlines for a busy machine."""
    support = _support()
    helpers = support.interfaces()
    path = os.pathsep.join(p for p in (str(DAGSTER_TESTS), os.environ.get("PYTHONPATH")) if p)
    home = tmp_path_factory.mktemp("dataos-home")
    port = helpers.free_port()
    server = _start_server(helpers, home, {"DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}"})
    try:
        env = support.dagster_env(home, DATAOS_EXECUTORS="stub_stack:EXECUTORS", PYTHONPATH=path)
        dagster = support.start_dagster(home, port, env, 300)
        try:
            yield server
        finally:
            support.stop_dagster(dagster)
    finally:
        helpers.stop_server(server)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)


def _start_server(helpers: ModuleType, home: Path, extra: dict[str, str]) -> Any:
    port = helpers.free_port()
    env = {**os.environ, "DATAOS_HOME": str(home), **extra}
    for name in ("DATAOS_DATABASE_URL", "DATAOS_API_KEY", "DATAOS_API_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "dataos_defs.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=(home / "api.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, (home / "api.log").read_text()
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                credentials = read_credentials(credentials_path(home))
                assert credentials is not None
                return helpers.Server(url, home, process, credentials.api_key)
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the API server did not start in 180 s")


def cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dataos_defs.cli", *args],
        cwd=ROOT,
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )


def test_a_bundle_applies_in_dependency_order_and_deletes_in_reverse(
    platform: Any, tmp_path: Path
) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(BUNDLE.format(python=json.dumps(sys.executable), serve=SERVE))
    done = cli(platform, "apply", "-f", str(path), "--timeout", "400")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "applying shop:v1beta:bundle...created",
        "applying shopfloordb:depot...created (bundle shop: db)",
        "applying(shopfloor) load:workflow...created (bundle shop: load)",
        "applying(shopfloor) api:service...created (bundle shop: api)",
        "applying(shopfloor) tick:worker...created (bundle shop: tick)",
        "bundle shop...active",
    ]
    assert "bundle shop: api waiting on load: runtime is [succeeded]" in done.stderr

    runtime = cli(platform, "get", "runtime", "-t", "workflow", "-n", "load", "-w", "shopfloor")
    assert runtime.returncode == 0, runtime.stderr
    assert "succeeded" in runtime.stdout

    again = cli(platform, "apply", "-f", str(path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "applying shop:v1beta:bundle...unchanged",
        "bundle shop...active",
    ]

    deleted = cli(platform, "delete", "-t", "bundle", "-n", "shop")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.splitlines() == [
        "deleting(shopfloor) tick:worker...deleted",
        "deleting(shopfloor) api:service...deleted",
        "deleting(shopfloor) load:workflow...deleted",
        "deleting shopfloordb:depot...deleted",
        "deleting shop:bundle...deleted",
        "deleting workspace shopfloor...deleted",
    ]
