"""Run once on apply and ``endOn`` against the real ``dagster dev`` (as `make up` runs it);
each apply waits for the server's background reconciliation (``--wait``).

A workflow without a schedule runs when applied, and not again when re-applied unchanged;
a scheduled workflow whose ``endOn`` is moved into the past has its schedule stopped and
its run in flight (a container job sleeping in a local process) terminated by Dagster.
The ``python3`` stack runs the stub executor of ``stub_stack`` (see test_end_to_end.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster_support import HERE, Dagster, interfaces, running_platform
from lifecycle_manifests import ONCE

from dataos_defs.adapters.dagster_graphql import RUNS, DagsterGraphQL
from dataos_defs.api.reconcile import APPLY_TRIGGER

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SLEEPER = """\
name: sleeper
version: v1
type: workflow
workflow:
  schedule:
    cron: "0 3 * * *"
    endOn: "{end_on}"
  dag:
    - name: nap
      spec:
        stack: container
        compute: runnable-default
        stackSpec:
          image: busybox:1.36
          command: [{python}, -c, "import time; time.sleep(300)"]
"""
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
BARRIER = """\
name: barrier
version: v1
type: workflow
workflow:
  schedule:
    cron: "0 3 * * *"
  dag:
    - name: hello
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {}
"""
"""Scheduled (it runs nothing when applied): once its ``apply --wait`` returns, every
reconciliation requested before it has finished (they run in order)."""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Dagster]]:
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    home = tmp_path_factory.mktemp("dataos-home")
    with running_platform(
        home, DATAOS_EXECUTORS="stub_stack:EXECUTORS", PYTHONPATH=path
    ) as running:
        yield running


def cli(server: Any, *args: str) -> str:
    done = interfaces().run_cli(server, *args)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def apply(server: Any, tmp_path: Path, text: str, name: str = "workflow.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return cli(server, "apply", "-f", str(path), "--wait", "--timeout", "90")


def wait_for(client: DagsterGraphQL, run_id: str, statuses: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = client.run_status(run_id)
    while status not in statuses and time.monotonic() < deadline:
        time.sleep(0.5)
        status = client.run_status(run_id)
    return str(status)


def test_an_unscheduled_workflow_runs_once_when_applied(platform, tmp_path: Path) -> None:
    server, dagster = platform
    apply(server, tmp_path, ONCE.format(description="first"))
    with dagster.client() as client:
        (run,) = client.runs("public__once")
        assert wait_for(client, run.run_id, DONE, 90) == "SUCCESS"
        trigger = [{"key": k, "value": v} for k, v in APPLY_TRIGGER.items()]
        tagged = client.execute(
            RUNS, {"filter": {"pipelineName": "public__once", "tags": trigger}, "limit": 5}
        )
        assert [r["runId"] for r in tagged["runsOrError"]["results"]] == [run.run_id]

        assert "unchanged" in apply(server, tmp_path, ONCE.format(description="first"))
        apply(server, tmp_path, BARRIER, "barrier.yaml")
        assert [r.run_id for r in client.runs("public__once")] == [run.run_id]


def test_end_on_in_the_past_terminates_the_run_in_flight(platform, tmp_path: Path) -> None:
    server, dagster = platform
    python = json.dumps(sys.executable)
    apply(server, tmp_path, SLEEPER.format(python=python, end_on="2999-01-01T00:00:00Z"))
    with dagster.client() as client:
        assert client.location_state().schedules["public__sleeper__schedule"].status == "RUNNING"
        run_id = client.launch_run("public__sleeper")
        assert wait_for(client, run_id, {"STARTED", *DONE}, 60) == "STARTED"
        time.sleep(3)

        apply(server, tmp_path, SLEEPER.format(python=python, end_on="2020-01-01T00:00:00Z"))
        assert wait_for(client, run_id, DONE, 60) == "CANCELED"
        assert client.location_state().schedules["public__sleeper__schedule"].status == "STOPPED"
    runtime = json.loads(
        cli(server, "get", "runtime", "-t", "workflow", "-n", "sleeper", "-o", "json")
    )
    assert runtime["runtime"] == "ended"
