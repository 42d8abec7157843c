"""The platform as `make up` runs it: API server + `dagster dev`, reconciled on apply/delete
(in the background: ``apply --wait`` waits for it, the rest is polled).

The workflow uses the ``python3`` stack, whose executor the code location gets from
``DATAOS_EXECUTORS=stub_stack:EXECUTORS`` (this folder is on its ``PYTHONPATH``), so a run
succeeds without any depot or database.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagster_support import HERE, Dagster, interfaces, poll, running_platform
from stub_stack import MESSAGE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

WORKFLOW = """\
name: tick
version: v1
type: workflow
description: a job that only logs
workflow:
  schedule:
    cron: "0 3 * * *"
    concurrencyPolicy: Forbid
  dag:
    - name: hello
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {}
"""
JOB = "public__tick"
SCHEDULE = "public__tick__schedule"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Dagster]]:
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    home = tmp_path_factory.mktemp("dataos-home")
    with running_platform(
        home, DATAOS_EXECUTORS="stub_stack:EXECUTORS", PYTHONPATH=path
    ) as running:
        yield running


def status_of(server: Any, name: str) -> tuple[str, str | None]:
    response = httpx.get(
        f"{server.url}/poros/api/v1/resources/workflow/{name}", headers=server.headers, timeout=10
    )
    response.raise_for_status()
    body = response.json()
    return body["status"], body["status_reason"]


def test_apply_reloads_dagster_and_a_launched_run_succeeds(platform, tmp_path: Path) -> None:
    server, dagster = platform
    helpers = interfaces()
    manifest = tmp_path / "tick.yaml"
    manifest.write_text(WORKFLOW)

    applied = helpers.run_cli(server, "apply", "-f", str(manifest), "--wait", "--timeout", "90")
    assert applied.returncode == 0, applied.stderr
    assert "reconciled(public) tick:v1:workflow...active" in applied.stdout
    assert status_of(server, "tick") == ("active", None)

    with dagster.client() as client:
        state = client.location_state()
        assert state.error is None
        assert state.jobs[JOB]["dataos/workflow"] == "tick"
        assert state.schedules[SCHEDULE].job == JOB
        assert state.schedules[SCHEDULE].status == "RUNNING"

        client.stop_schedule(state.schedules[SCHEDULE].state_id)
        assert client.location_state().schedules[SCHEDULE].status == "STOPPED"
        # Unchanged and active: nothing to wait for, the schedule is converged in the background.
        again = helpers.run_cli(server, "apply", "-f", str(manifest), "--wait")
        assert again.returncode == 0, again.stderr
        poll(
            lambda: client.location_state().schedules[SCHEDULE].status,
            lambda status: status == "RUNNING",
            "the re-apply turned the schedule on again",
        )

        run_id = client.launch_run(JOB, tags={"test": "e2e"})
        deadline = time.monotonic() + 60
        status = client.run_status(run_id)
        while status not in {"SUCCESS", "FAILURE", "CANCELED"} and time.monotonic() < deadline:
            time.sleep(0.5)
            status = client.run_status(run_id)
        messages = [e.message for e in client.logs(run_id)]
        assert status == "SUCCESS", messages
        assert any(MESSAGE in m for m in messages)
        assert [r.status for r in client.runs(JOB)] == ["SUCCESS"]

        shown = helpers.run_cli(
            server, "get", "runtime", "-t", "workflow", "-n", "tick", "-o", "json"
        )
        assert shown.returncode == 0, shown.stderr
        runtime = json.loads(shown.stdout)
        assert runtime["progress"] == "1/1"
        assert runtime["nodes"][0] | {"started": None, "finished": None} == {
            "name": "hello",
            "stack": runtime["nodes"][0]["stack"],
            "dependencies": [],
            "state": "success",
            "started": None,
            "finished": None,
        }
        assert runtime["runtime"].startswith("next:")
        assert runtime["runs"][0]["status"] == "success"
        listed = helpers.run_cli(server, "get", "-t", "workflow", "-n", "tick", "-o", "json")
        assert json.loads(listed.stdout)["runtime"].startswith("next:")
        logged = helpers.run_cli(server, "log", "-t", "workflow", "-n", "tick", "--node", "hello")
        assert logged.returncode == 0, logged.stderr
        assert MESSAGE in logged.stdout
        assert "[hello]" in logged.stdout
        paused = helpers.run_cli(server, "runtime", "pause", "-t", "workflow", "-n", "tick")
        assert paused.returncode == 0, paused.stderr
        assert client.location_state().schedules[SCHEDULE].status == "STOPPED"
        resumed = helpers.run_cli(server, "runtime", "resume", "-t", "workflow", "-n", "tick")
        assert resumed.returncode == 0, resumed.stderr
        assert client.location_state().schedules[SCHEDULE].status == "RUNNING"
        launched = helpers.run_cli(server, "runtime", "run", "-t", "workflow", "-n", "tick")
        assert launched.returncode == 0, launched.stderr
        assert len(client.runs(JOB)) == 2

        queued = client.launch_run(JOB)
        assert client.terminate_run(queued) in {"CANCELING", "CANCELED"}

    deleted = helpers.run_cli(server, "delete", "-t", "workflow", "-n", "tick")
    assert deleted.returncode == 0, deleted.stderr
    with dagster.client() as client:
        poll(
            lambda: client.location_state().jobs,
            lambda jobs: JOB not in jobs,
            "the delete reloaded the location without the workflow's job",
        )
