"""A Service end to end through the real platform: ``dataos-ctl serve`` (with its embedded
supervisor), ``dataos-ctl apply``, real replica processes (the demo hello server), and the
ingress in front of them.

Applied with 2 replicas, the Service is reachable through the ingress with an API key
(200), not without one (401), not for a data developer Heimdall denies (403); a killed
replica comes back; a manifest change rolls the replicas while a client loops through the
ingress without seeing a single error; delete stops every process.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from workload_support import wait_for

from tests.interfaces.conftest import Server, run_cli, start_server, stop_server, user_key

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SERVICE = """\
name: greeter
version: v1
type: service
service:
  replicas: 2
  servicePort: 8080
  stack: container
  compute: runnable-default
  envs: {{GREETING: {greeting}}}
  stackSpec:
    image: python:3.11
    command: [{python}, -m, dataos_defs.demo.services.hello]
"""
PATH = "/public/greeter/hello"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("dataos-home")
    running = start_server(home)
    try:
        yield running
    finally:
        stop_server(running)
        from dataos_defs.poros.supervisor import Supervisor

        supervisor = Supervisor(None, home)
        try:
            supervisor.stop_everything(timeout=30)
        finally:
            supervisor.close()


def apply(server: Server, tmp_path: Path, greeting: str) -> None:
    path = tmp_path / "greeter.yaml"
    path.write_text(SERVICE.format(greeting=greeting, python=sys.executable))
    applied = run_cli(server, "apply", "-f", str(path))
    assert applied.returncode == 0, applied.stdout + applied.stderr


def runtime(server: Server) -> dict[str, Any]:
    found = httpx.get(f"{server.url}/poros/api/v1/runtime/service/greeter", headers=server.headers)
    assert found.status_code == 200, found.text
    return dict(found.json())


def running(server: Server, n: int = 2, timeout: float = 60) -> dict[str, Any]:
    return wait_for(
        f"greeter running:{n}",
        lambda: (
            (body := runtime(server))["runtime"] == f"running:{n}"
            and len(body["replicas"]) == n
            and body
        ),
        timeout=timeout,
    )


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Looper:
    """A client calling the Service through the ingress as fast as it can, recording every
    answer that is not a 200 (and every transport error)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.failures: list[str] = []
        self.greetings: list[str] = []
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Looper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.server.url, headers=self.server.headers) as client:
            while not self._stop.is_set():
                try:
                    answer = client.get(PATH, timeout=10)
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                self.count += 1
                if answer.status_code != 200:
                    self.failures.append(f"{answer.status_code}: {answer.text}")
                else:
                    self.greetings.append(answer.json()["greeting"])


def test_a_service_behind_the_ingress(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, "howdy")
    running(server)

    # reachable with an API key, on both replicas, as the caller
    with httpx.Client(base_url=server.url, headers=server.headers) as client:
        answers = [client.get(PATH) for _ in range(6)]
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert {b["replica"] for b in bodies} == {"greeter-0", "greeter-1"}
    assert {b["greeting"] for b in bodies} == {"howdy"}
    assert bodies[0]["hello"] != "anonymous"

    # 401 without a key, 403 for a data developer no policy lets in
    anonymous = httpx.get(server.url + PATH)
    assert anonymous.status_code == 401
    dev = user_key(server, "dev", ["roles:id:data-dev"])
    denied = httpx.get(server.url + PATH, headers={"apikey": dev})
    assert denied.status_code == 403
    assert "no policy allows get on poros://service:public/greeter" in denied.text


def test_a_killed_replica_comes_back_and_callers_see_no_error(
    server: Server, tmp_path: Path
) -> None:
    apply(server, tmp_path, "howdy")
    before = running(server)
    with Looper(server) as looper:
        time.sleep(0.5)
        os.kill(before["replicas"][0]["pid"], signal.SIGKILL)
        after = wait_for(
            "the replica restarted",
            lambda: (
                (b := runtime(server))["runtime"] == "running:2"
                and b["replicas"][0]["restarts"] >= 1
                and b
            ),
            timeout=60,
        )
        time.sleep(0.5)
    assert after["replicas"][0]["pid"] != before["replicas"][0]["pid"]
    assert looper.count > 10
    assert looper.failures == [], looper.failures[:5]


def test_a_manifest_change_rolls_without_dropping_requests(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, "howdy")
    before = running(server)
    with Looper(server) as looper:
        time.sleep(0.5)
        apply(server, tmp_path, "bonjour")
        wait_for(
            "both replicas on the new revision",
            lambda: (
                (b := runtime(server))["runtime"] == "running:2"
                and all(r["revision"] > before["revision"] for r in b["replicas"])
                and b
            ),
            timeout=90,
        )
        time.sleep(1)
    assert looper.count > 20
    assert looper.failures == [], looper.failures[:5]
    assert looper.greetings[0] == "howdy" and looper.greetings[-1] == "bonjour"


def test_delete_stops_every_process_and_the_path(server: Server, tmp_path: Path) -> None:
    apply(server, tmp_path, "howdy")
    pids = [r["pid"] for r in running(server)["replicas"]]
    deleted = run_cli(server, "delete", "-t", "service", "-n", "greeter")
    assert deleted.returncode == 0, deleted.stderr
    wait_for("every replica gone", lambda: not any(alive(p) for p in pids), timeout=60)
    gone = wait_for(
        "the path unrouted",
        lambda: (
            (a := httpx.get(server.url + PATH, headers=server.headers)).status_code == 404 and a
        ),
        timeout=10,
    )
    assert "no service is served" in gone.text
