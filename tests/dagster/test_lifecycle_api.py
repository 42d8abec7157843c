"""The lifecycle through the real API server and ``dataos-ctl``, with Dagster stood in.

The server (``dataos-ctl serve`` on 127.0.0.1) reconciles with the GraphQL stand-in of
``graphql_stand_in``, which compiles what the server's store holds on every reload. Covers
what the apply and workspace routes hand to reconciliation: the keys an apply changed (run
once), and ``workspace delete --force`` (its workflows stopped, the location reloaded);
and how ``get runtime`` and ``runtime resume`` treat a workflow past its ``endOn``. The
server reconciles in the background: applies wait with ``--wait``, the rest is polled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagster_support import interfaces, stand_in_platform
from graphql_stand_in import DagsterStandIn
from lifecycle_manifests import ONCE

from dataos_defs.api.reconcile import APPLY_TRIGGER

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

NIGHTLY = """\
name: nightly
version: v1
type: workflow
{workspace}workflow:
  schedule:
    cron: "0 3 * * *"
    endOn: "{end_on}"
  dag:
    - name: hello
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {{}}
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, DagsterStandIn]]:
    stand_in = DagsterStandIn(list)
    home = tmp_path_factory.mktemp("dataos-home")
    with stand_in_platform(home, stand_in) as server:
        yield server, stand_in


def cli(server: Any, *args: str) -> str:
    done = interfaces().run_cli(server, *args)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def apply(server: Any, tmp_path: Path, text: str, name: str = "wf.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return cli(server, "apply", "-f", str(path), "--wait", "--timeout", "60")


def eventually(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_apply_runs_an_unscheduled_workflow_once_per_change(
    platform: tuple[Any, DagsterStandIn], tmp_path: Path
) -> None:
    server, stand_in = platform
    assert "created" in apply(server, tmp_path, ONCE.format(description="first"))
    assert [(r.job, r.tags) for r in stand_in.launched()] == [("public__once", APPLY_TRIGGER)]

    assert "unchanged" in apply(server, tmp_path, ONCE.format(description="first"))
    assert len(stand_in.launched()) == 1

    # The next apply's --wait ends after a reconciliation requested after the unchanged
    # apply's: had that one launched a run, there would be three.
    assert "updated" in apply(server, tmp_path, ONCE.format(description="second"))
    assert len(stand_in.launched()) == 2
    shown = json.loads(cli(server, "get", "-t", "workflow", "-n", "once", "-o", "json"))
    assert shown["status"] == "active"


def test_a_workflow_past_its_end_on_shows_ended_and_cannot_resume(
    platform: tuple[Any, DagsterStandIn], tmp_path: Path
) -> None:
    server, stand_in = platform
    apply(server, tmp_path, NIGHTLY.format(workspace="", end_on="2020-01-01T00:00:00Z"))
    assert stand_in.schedules["public__nightly__schedule"] == "STOPPED"
    runtime = json.loads(
        cli(server, "get", "runtime", "-t", "workflow", "-n", "nightly", "-o", "json")
    )
    assert runtime["runtime"] == "ended"
    assert runtime["schedule"]["end_on"] == "2020-01-01T00:00:00+00:00"
    assert runtime["schedule"]["next_tick"] is None
    listed = json.loads(cli(server, "get", "-t", "workflow", "-n", "nightly", "-o", "json"))
    assert listed["runtime"] == "ended"

    resumed = httpx.post(
        f"{server.url}/poros/api/v1/runtime/workflow/nightly/resume",
        headers=server.headers,
        timeout=30,
    )
    assert resumed.status_code == 409
    assert resumed.json()["error"]["code"] == "schedule_ended"
    assert stand_in.schedules["public__nightly__schedule"] == "STOPPED"


def test_workspace_delete_force_stops_its_workflows_and_reloads(
    platform: tuple[Any, DagsterStandIn], tmp_path: Path
) -> None:
    server, stand_in = platform
    cli(server, "workspace", "create", "-n", "team")
    team = NIGHTLY.format(workspace="workspace: team\n", end_on="2999-01-01T00:00:00Z")
    apply(server, tmp_path, team, "team.yaml")
    assert ("team", "nightly", True) in stand_in.loaded
    assert stand_in.schedules["team__nightly__schedule"] == "RUNNING"
    run = stand_in.add_run("team__nightly", "STARTED")
    stand_in.calls.clear()

    cli(server, "workspace", "delete", "-n", "team", "--force")
    # Reconciled in the background: its reload comes last.
    assert eventually(lambda: all(workspace != "team" for workspace, _, _ in stand_in.loaded))
    assert stand_in.run(run).status == "CANCELED"
    assert stand_in.schedules["team__nightly__schedule"] == "STOPPED"
    assert "Reload" in stand_in.calls
