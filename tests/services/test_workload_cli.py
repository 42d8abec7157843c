"""Services and Workers through a real API server and the real ``dataos-ctl``: apply, get,
get runtime, log, a killed replica, a server restart, delete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from workload_support import wait_for

from tests.interfaces.conftest import (
    CLI,
    ROOT,
    Server,
    free_port,
    run_cli,
    start_server,
    stop_server,
    user_key,
)

pytestmark = pytest.mark.slow
KEEP = {"DATAOS_WORKLOADS_ON_SHUTDOWN": "keep"}
"""This module's server keeps its replicas when it stops (the restart test re-adopts them)."""

SERVICE = """
name: greeter
version: v1
type: service
service:
  replicas: 2
  servicePort: 8080
  stack: container
  compute: runnable-default
  envs: {GREETING: howdy}
  dataosSecrets:
    - name: greeter-key
      allKeys: true
  stackSpec:
    image: python:3.11
    command: [python, -m, dataos_defs.demo.services.hello]
---
name: greeter-key
version: v1
type: secret
secret:
  type: key-value
  acl: r
  data: {GREETER_TOKEN: tok-s3cret-991}
"""
WORKER = """
name: sleeper
version: v1beta
type: worker
worker:
  replicas: 1
  stack: container
  compute: runnable-default
  stackSpec:
    image: python:3.11
    command: [python, -c, "import time; print('working', flush=True); time.sleep(600)"]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("dataos-home")
    running = start_server(home, extra_env=KEEP)
    yield running
    stop_server(running)
    _stop_all(home)


def _stop_all(home: Path) -> None:
    from dataos_defs.poros.supervisor import Supervisor

    supervisor = Supervisor(None, home)
    try:
        supervisor.stop_everything(timeout=30)
    finally:
        supervisor.close()


def runtime(server: Server, kind: str, name: str) -> dict[str, Any]:
    """What ``get runtime -o json`` prints (asked over HTTP: polling with the CLI is slow)."""
    found = httpx.get(f"{server.url}/poros/api/v1/runtime/{kind}/{name}", headers=server.headers)
    assert found.status_code == 200, found.text
    return dict(found.json())


def running(server: Server, kind: str, name: str, n: int) -> dict[str, Any]:
    return wait_for(
        f"{kind} {name} running:{n}",
        lambda: (
            (body := runtime(server, kind, name))["runtime"] == f"running:{n}"
            and len(body["replicas"]) == n
            and body
        ),
        timeout=30,
    )


def apply(server: Server, tmp_path: Path, text: str) -> None:
    path = tmp_path / "workloads.yaml"
    path.write_text(text)
    applied = run_cli(server, "apply", "-f", str(path))
    assert applied.returncode == 0, applied.stdout + applied.stderr


def test_a_service_runs_is_listed_and_shows_its_replicas(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, SERVICE)
    body = running(server, "service", "greeter", 2)
    wait_for(
        "the service active",
        lambda: (
            httpx.get(
                f"{server.url}/poros/api/v1/resources/service/greeter", headers=server.headers
            ).json()["status"]
            == "active"
        ),
    )
    listed = run_cli(server, "get", "-t", "service", "-n", "greeter")
    assert "running:2" in listed.stdout and "active" in listed.stdout, listed.stdout
    as_json = run_cli(server, "get", "runtime", "-t", "service", "-n", "greeter", "-o", "json")
    assert json.loads(as_json.stdout)["runtime"] == "running:2"
    table = run_cli(server, "get", "runtime", "-t", "service", "-n", "greeter")
    assert table.returncode == 0, table.stderr
    assert "greeter-0" in table.stdout and "greeter-1" in table.stdout
    assert "http:" in table.stdout and "ago)" in table.stdout
    ports = [r["ports"]["http"] for r in body["replicas"]]
    answers = [httpx.get(f"http://127.0.0.1:{p}/hello", timeout=5).json() for p in ports]
    assert {a["greeting"] for a in answers} == {"howdy"}
    state = (server.home / "workloads/state.json").read_text()
    assert "tok-s3cret-991" not in state
    pid = body["replicas"][0]["pid"]
    environ = psutil.Process(pid).environ()
    assert environ["GREETER_TOKEN"] == "tok-s3cret-991"  # given to the process only
    assert environ["PORT"] == str(ports[0])
    assert "DATAOS_SECRET_KEY" not in environ and "DATAOS_HOME" not in environ
    log = run_cli(server, "log", "-t", "service", "-n", "greeter", "--node", "greeter-1")
    assert log.returncode == 0, log.stderr
    assert "listening on 127.0.0.1" in log.stdout
    assert "tok-s3cret-991" not in log.stdout + server.log()


def test_a_killed_replica_comes_back_and_a_restart_keeps_the_rest(
    server: Server, tmp_path: Path
) -> None:
    apply(server, tmp_path, SERVICE)
    before = running(server, "service", "greeter", 2)
    os.kill(before["replicas"][0]["pid"], signal.SIGKILL)
    after = wait_for(
        "the replica restarted",
        lambda: (
            (b := runtime(server, "service", "greeter"))["runtime"] == "running:2"
            and b["replicas"][0]["restarts"] == 1
            and b
        ),
        timeout=30,
    )
    assert after["replicas"][0]["pid"] != before["replicas"][0]["pid"]
    assert after["replicas"][1]["pid"] == before["replicas"][1]["pid"]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_logs_need_the_right_to_see_as_the_service(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, SERVICE)
    running(server, "service", "greeter", 2)
    key = user_key(server, "nosy", ["roles:id:user"])
    headers = {"Authorization": f"Bearer {key}"}
    logs = httpx.get(f"{server.url}/poros/api/v1/logs/service/greeter", headers=headers)
    assert logs.status_code == 403, logs.text
    missing = run_cli(server, "log", "-t", "service", "-n", "greeter", "--node", "../../x")
    assert missing.returncode == 1
    assert "no replica" in missing.stderr


def test_follow_prints_new_lines(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, SERVICE)
    body = running(server, "service", "greeter", 2)
    port = body["replicas"][0]["ports"]["http"]
    with httpx.stream(
        "GET",
        f"{server.url}/poros/api/v1/logs/service/greeter",
        params={"follow": "true"},
        headers=server.headers,
        timeout=20,
    ) as stream:
        time.sleep(0.5)
        httpx.get(f"http://127.0.0.1:{port}/hello?from-follow", timeout=5)
        for line in stream.iter_lines():
            if "from-follow" in line:
                break


def test_delete_stops_every_process(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, SERVICE)
    pids = [r["pid"] for r in running(server, "service", "greeter", 2)["replicas"]]
    deleted = run_cli(server, "delete", "-t", "service", "-n", "greeter")
    assert deleted.returncode == 0, deleted.stderr
    wait_for("every replica gone", lambda: not any(_alive(p) for p in pids), timeout=30)


def restart(server: Server) -> None:
    """Stop the module's server and start another on the same home, in place; waits longer
    than ``start_server`` (importing the app takes most of a start on a loaded machine)."""
    stop_server(server, keep_workloads=True)
    port = free_port()
    env = {**os.environ, "DATAOS_HOME": str(server.home), **KEEP}
    for name in ("DATAOS_DATABASE_URL", "DATAOS_API_KEY", "DATAOS_API_URL"):
        env.pop(name, None)
    log = (server.home / "api.log").open("ab")
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server.url, server.process = f"http://127.0.0.1:{port}", process

    def healthy() -> bool:
        assert process.poll() is None, server.log()
        try:
            return httpx.get(f"{server.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for("the restarted server", healthy, timeout=120)


def test_replicas_outlive_a_server_restart(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, WORKER)
    before = running(server, "worker", "sleeper", 1)
    pid = before["replicas"][0]["pid"]
    restart(server)
    assert _alive(pid)
    after = running(server, "worker", "sleeper", 1)
    assert after["replicas"][0]["pid"] == pid
    assert after["replicas"][0]["restarts"] == 0
    deleted = run_cli(server, "delete", "-t", "worker", "-n", "sleeper")
    assert deleted.returncode == 0, deleted.stderr
    wait_for("the worker's process gone", lambda: not _alive(pid), timeout=30)
    wait_for(
        "the runtime forgotten",
        lambda: not (server.home / "workloads/worker/public/sleeper").exists(),
        timeout=10,
    )


TICKER = """
name: ticker
version: v1beta
type: worker
worker:
  replicas: 1
  stack: container
  compute: runnable-default
  stackSpec:
    image: python:3.11
    command: [python, -u, -c, "import time\\nwhile True:\\n print('tick', flush=True)\\n time.sleep(0.2)"]
"""


def test_log_follow_prints_until_the_worker_is_deleted(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, TICKER)
    running(server, "worker", "ticker", 1)
    follower = subprocess.Popen(
        [*CLI, "log", "-t", "worker", "-n", "ticker", "-f", "-l", "1"],
        cwd=ROOT,
        env=server.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        seen = [follower.stdout.readline() for _ in range(5)]
        assert sum("tick" in line for line in seen) >= 4, seen
        deleted = run_cli(server, "delete", "-t", "worker", "-n", "ticker")
        assert deleted.returncode == 0, deleted.stderr
        follower.stdout.read()  # the stream ends once the replica is stopped
        assert follower.wait(timeout=30) == 0, follower.stderr.read() if follower.stderr else ""
    finally:
        if follower.poll() is None:
            follower.kill()
