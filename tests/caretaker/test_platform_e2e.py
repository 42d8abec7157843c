"""End to end, as ``make up`` runs it: the API server and ``dagster dev`` (webserver and
daemon), two applied workflows run by Dagster's multiprocess executor (one forked process
per step), and the Caretaker sensor, evaluated by Dagster's daemon, recording them. Then
Dagster is stopped and started again: what was recorded stays as it was, and a new run is
recorded once.

Kept short (about a minute): the sensor runs every second here
(``DATAOS_CARETAKER_SENSOR_SECONDS=1``), both workflows are applied in one call, every wait
polls for what it waits for, and after the restart one run is launched and awaited."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataos_defs.location.caretaker_sensor import INTERVAL_ENV
from tests.caretaker.manifests import BAD, GOOD
from tests.caretaker.stacks import BURN_SECONDS, FAILURE, HOLD_BYTES
from tests.dagster.dagster_support import (
    ROOT,
    dagster_env,
    interfaces,
    poll,
    start_dagster,
    stop_dagster,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
API = "/caretaker/api/v1"
QUICK_QUEUE = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
"""
"""Queued runs launched within a second (Dagster's default waits up to 5 s)."""


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, Path, dict[str, str], int]]:
    helpers = interfaces()
    home = tmp_path_factory.mktemp("caretaker-e2e")
    port = helpers.free_port()
    server = helpers.start_server(
        home, extra_env={"DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}"}
    )
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dagster_env(
        home,
        DATAOS_EXECUTORS="tests.caretaker.stacks:EXECUTORS",
        PYTHONPATH=path,
        **{INTERVAL_ENV: "1"},
    )
    with (home / "dagster" / "dagster.yaml").open("a") as instance_yaml:
        instance_yaml.write(QUICK_QUEUE)
    try:
        yield server, home, env, port
    finally:
        helpers.stop_server(server)


def runs(server: Any, name: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{server.url}{API}/runs",
        params={"name": name, "last": 50},
        headers=server.headers,
        timeout=10,
    )
    answer.raise_for_status()
    return list(answer.json()["runs"])


def steps(server: Any, run_id: str) -> dict[str, dict[str, Any]]:
    answer = httpx.get(
        f"{server.url}{API}/steps", params={"run_id": run_id}, headers=server.headers, timeout=10
    )
    answer.raise_for_status()
    return {s["job"]: s for s in answer.json()["steps"]}


def finished(server: Any, name: str, count: int) -> list[dict[str, Any]]:
    return poll(
        lambda: runs(server, name),
        lambda found: sum(r["state"] in ("succeeded", "failed") for r in found) >= count,
        f"{count} finished run(s) of {name} recorded by the Caretaker sensor",
        timeout=90,
    )


def test_runs_are_recorded_by_the_daemon_and_survive_a_dagster_restart(platform) -> None:
    server, home, env, port = platform
    helpers = interfaces()
    dagster = start_dagster(home, port, env, timeout=90)
    try:
        manifest = home / "workflows.yaml"
        manifest.write_text(f"{GOOD}---\n{BAD}")
        applied = helpers.run_cli(server, "apply", "-f", str(manifest), "--wait")
        assert applied.returncode == 0, applied.stderr
        [good] = finished(server, "good", 1)
        [bad] = finished(server, "bad", 1)
    finally:
        stop_dagster(dagster)

    assert good["state"] == "succeeded" and bad["state"] == "failed"
    assert FAILURE in bad["error"] and good["duration_ms"] > 0
    load = steps(server, good["run_id"])["load"]
    assert load["peak_memory_bytes"] >= HOLD_BYTES and load["cpu_seconds"] >= BURN_SECONDS * 0.9
    assert load["exit_code"] == 0 and load["attempts"] == 1
    failed = steps(server, bad["run_id"])["fail-load"]
    assert failed["state"] == "failed" and failed["exit_code"] == 1

    before = {r["run_id"]: r for r in runs(server, "good") + runs(server, "bad")}
    dagster = start_dagster(home, port, env, timeout=90)
    try:
        launched = helpers.run_cli(server, "runtime", "run", "-t", "workflow", "-n", "good")
        assert launched.returncode == 0, launched.stderr
        found = finished(server, "good", 2)
    finally:
        stop_dagster(dagster)
    after = {r["run_id"]: r for r in found + runs(server, "bad")}
    assert len(found) == 2 and len(after) == 3
    assert {k: after[k] for k in before} == before
    history = helpers.run_cli(
        server, "get", "runtime", "-t", "workflow", "-n", "good", "--last", "5"
    )
    assert history.returncode == 0 and all(
        r in history.stdout for r in (r["run_id"] for r in found)
    )
