"""Reconciliation on a real ``dagster dev``, driven through the real ``dataos-ctl``.

The decisions of ``dataos_defs.api.reconcile`` are tested against a GraphQL stand-in in
``test_reconcile_lifecycle.py``; here the same cases run against Dagster itself: a launch
Dagster refuses (its run coordinator is ``refusing_run_coordinator``), a deleted workflow,
a workspace deleted with ``--force``, the periodic ``endOn`` sweep of the API server and a
run that completes while it is being terminated. Scheduled jobs run a local command (the
``container`` stack); unscheduled ones the stub executor of ``stub_stack``.

Whether the API answers an apply or a delete before or after reconciling it, every test
waits for what it expects to observe, with a deadline (:func:`dagster_support.poll`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster_support import HERE, Dagster, interfaces, poll, running_platform, schedule_status
from lifecycle_manifests import SCHEDULED, UNSCHEDULED
from refusing_run_coordinator import INSTANCE_CONFIG, REFUSAL, REFUSED_WORKFLOW

from dataos_defs.adapters.dagster_graphql import DagsterGraphQL, ScheduleState
from dataos_defs.api.reconciler import WATCH_INTERVAL_ENV
from dataos_defs.location.naming import job_name

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FAST_WATCH_S = "2"
"""How often the API server's watch runs in these tests (DATAOS_WATCH_INTERVAL_S)."""
DEADLINE_S = 60.0
"""How long a test waits for an outcome of an apply or a delete."""
MIN_LEAD_S = 10.0
"""The least time between the apply that sets the swept workflow's ``endOn`` and ``endOn``."""
SLEEP = [sys.executable, "-c", "import time; time.sleep(120)"]
FOREVER = "2999-01-01T00:00:00Z"
PAST = "2020-01-01T00:00:00Z"
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
OUTSPOKEN = ("Traceback", "ERROR", "reconciliation with Dagster failed")
"""What the API server's log must not say while it ends a workflow."""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Dagster]]:
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    home = tmp_path_factory.mktemp("dataos-home")
    with running_platform(
        home,
        prepare=refuse_runs_of_one_workflow,
        server_env={WATCH_INTERVAL_ENV: FAST_WATCH_S},
        start_timeout=180,
        DATAOS_EXECUTORS="stub_stack:EXECUTORS",
        PYTHONPATH=path,
    ) as running:
        yield running


def refuse_runs_of_one_workflow(env: dict[str, str]) -> None:
    instance = Path(env["DAGSTER_HOME"]) / "dagster.yaml"
    instance.write_text(instance.read_text() + INSTANCE_CONFIG)


def cli(server: Any, *args: str) -> str:
    done = interfaces().run_cli(server, *args)
    assert done.returncode == 0, f"dataos-ctl {' '.join(args)}: {done.stderr}"
    return str(done.stdout)


def apply(server: Any, tmp_path: Path, text: str, *options: str) -> str:
    path = tmp_path / "workflow.yaml"
    path.write_text(text)
    return cli(server, "apply", "-f", str(path), *options)


def scheduled(name: str, end_on: str, command: list[str]) -> str:
    return SCHEDULED.format(name=name, end_on=end_on, command=json.dumps(command))


def workflow(server: Any, name: str, workspace: str = "public") -> dict[str, Any] | None:
    """The workflow as ``dataos-ctl get -o json`` shows it; ``None`` once it is gone."""
    done = interfaces().run_cli(
        server, "get", "-t", "workflow", "-n", name, "-w", workspace, "-o", "json"
    )
    assert done.returncode == 0, done.stderr
    if not done.stdout.strip():
        assert "no resources found" in done.stderr.lower(), done.stderr
        return None
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def deployed(client: DagsterGraphQL, server: Any, name: str, workspace: str) -> ScheduleState:
    """The running schedule of a workflow once it is ``active``: it has been reconciled."""
    poll(
        lambda: (workflow(server, name, workspace) or {}).get("status"),
        lambda status: status == "active",
        f"workflow {workspace}/{name} active",
    )
    job = job_name(workspace, name)
    schedule = poll(
        lambda: next((s for s in client.location_state().schedules.values() if s.job == job), None),
        lambda found: found is not None and found.status == "RUNNING",
        f"the schedule of {job} running in Dagster",
    )
    assert schedule is not None
    return schedule


def started_run(client: DagsterGraphQL, job: str) -> str:
    run_id = client.launch_run(job)
    poll(lambda: client.run_status(run_id), lambda s: s == "STARTED", f"run {run_id} started")
    return run_id


def wait_until_canceled(client: DagsterGraphQL, run_id: str, timeout: float = DEADLINE_S) -> None:
    status = poll(
        lambda: client.run_status(run_id), lambda s: s in DONE, f"run {run_id} ended", timeout
    )
    assert status == "CANCELED", f"run {run_id} ended {status}, it was not terminated"


def wait_until_stopped(client: DagsterGraphQL, schedule: ScheduleState) -> None:
    poll(
        lambda: schedule_status(client, schedule.name, schedule.state_id),
        lambda status: status == "STOPPED",
        f"schedule {schedule.name} stopped",
    )


def test_a_run_dagster_refuses_to_launch_makes_the_workflow_error_with_the_reason(
    platform: tuple[Any, Dagster], tmp_path: Path
) -> None:
    """An unscheduled workflow runs once when applied; when Dagster's run coordinator turns
    that run down, ``dataos-ctl get`` shows the workflow ``error`` with Dagster's reason."""
    server, _ = platform
    apply(server, tmp_path, UNSCHEDULED.format(name=REFUSED_WORKFLOW))
    found = poll(
        lambda: workflow(server, REFUSED_WORKFLOW) or {},
        lambda item: item.get("status") == "error",
        f"workflow {REFUSED_WORKFLOW} in error",
    )
    assert "could not be launched" in found["status_reason"]
    assert REFUSAL in found["status_reason"]

    cli(server, "delete", "-t", "workflow", "-n", REFUSED_WORKFLOW)
    poll(lambda: workflow(server, REFUSED_WORKFLOW), lambda item: item is None, "workflow gone")


def test_deleting_a_workflow_terminates_its_run_in_flight_and_stops_its_schedule(
    platform: tuple[Any, Dagster], tmp_path: Path
) -> None:
    """``dataos-ctl delete`` of a scheduled workflow whose run is in flight: Dagster cancels
    the run and keeps the schedule stopped, and the job leaves the code location."""
    server, dagster = platform
    apply(server, tmp_path, scheduled("doomed", FOREVER, SLEEP))
    with dagster.client() as client:
        schedule = deployed(client, server, "doomed", "public")
        run_id = started_run(client, schedule.job)

        cli(server, "delete", "-t", "workflow", "-n", "doomed")
        wait_until_canceled(client, run_id)
        wait_until_stopped(client, schedule)
        poll(
            lambda: client.location_state().jobs,
            lambda jobs: schedule.job not in jobs,
            f"job {schedule.job} gone from the code location",
        )


def test_deleting_a_workspace_with_force_stops_its_workflows(
    platform: tuple[Any, Dagster], tmp_path: Path
) -> None:
    """``dataos-ctl workspace delete --force`` of a workspace holding a scheduled workflow
    with a run in flight: the run is canceled, the schedule stopped, the Resources gone."""
    server, dagster = platform
    cli(server, "workspace", "create", "-n", "evicted")
    apply(server, tmp_path, scheduled("nightly", FOREVER, SLEEP), "-w", "evicted")
    with dagster.client() as client:
        schedule = deployed(client, server, "nightly", "evicted")
        run_id = started_run(client, schedule.job)

        cli(server, "workspace", "delete", "-n", "evicted", "--force")
        wait_until_canceled(client, run_id)
        wait_until_stopped(client, schedule)
    assert workflow(server, "nightly", "evicted") is None
    assert interfaces().run_cli(server, "workspace", "get", "-n", "evicted").returncode != 0


def test_the_watch_ends_a_workflow_whose_end_on_passes_while_nothing_is_applied(
    platform: tuple[Any, Dagster], tmp_path: Path
) -> None:
    """No apply after ``endOn``: the API server's periodic watch alone stops the schedule
    and cancels the run in flight, after ``endOn`` (the run ends no sooner).

    ``endOn`` is set a few times the time an apply takes to be reconciled into the future,
    with the run already in flight, so that the apply itself leaves the workflow running."""
    server, dagster = platform
    began = time.monotonic()
    apply(server, tmp_path, scheduled("sunset", FOREVER, SLEEP))
    with dagster.client() as client:
        schedule = deployed(client, server, "sunset", "public")
        lead = max(MIN_LEAD_S, 3 * (time.monotonic() - began))
        run_id = started_run(client, schedule.job)

        ends = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
        apply(server, tmp_path, scheduled("sunset", ends.strftime("%Y-%m-%dT%H:%M:%SZ"), SLEEP))
        deployed(client, server, "sunset", "public")
        assert datetime.now(UTC) < ends, "the apply was reconciled after endOn: no watch needed"

        remaining = (ends - datetime.now(UTC)).total_seconds()
        wait_until_canceled(client, run_id, remaining + float(FAST_WATCH_S) + DEADLINE_S)
        wait_until_stopped(client, schedule)
        (run,) = [r for r in client.runs(schedule.job) if r.run_id == run_id]
    assert run.end_time is not None and run.end_time >= ends.timestamp()


def test_terminating_a_run_that_completes_meanwhile_leaves_a_consistent_state(
    platform: tuple[Any, Dagster], tmp_path: Path
) -> None:
    """Moving ``endOn`` into the past stops the schedule, then terminates the run; this
    run's command exits as soon as its schedule stops, so it completes while it is being
    terminated. Whichever wins, the run ends SUCCESS or CANCELED, the workflow stays
    ``active`` with runtime ``ended``, and the API server logs no error."""
    server, dagster = platform
    job = job_name("public", "finisher")
    watching = tmp_path / "watching"
    finish = [sys.executable, str(HERE / "finish_when_schedule_stops.py")]
    command = [*finish, dagster.url, f"{job}__schedule", str(watching)]
    apply(server, tmp_path, scheduled("finisher", FOREVER, command))
    with dagster.client() as client:
        schedule = deployed(client, server, "finisher", "public")
        run_id = started_run(client, job)
        poll(watching.exists, bool, "the run's command watching its schedule")
        logged = len(server.log())

        apply(server, tmp_path, scheduled("finisher", PAST, command))
        wait_until_stopped(client, schedule)
        status = poll(lambda: client.run_status(run_id), lambda s: s in DONE, "run ended")
    assert status in ("SUCCESS", "CANCELED")
    found = poll(
        lambda: workflow(server, "finisher") or {},
        lambda item: item.get("status") != "pending",
        "workflow finisher reconciled",
    )
    assert (found["status"], found["status_reason"]) == ("active", None)
    runtime = json.loads(
        cli(server, "get", "runtime", "-t", "workflow", "-n", "finisher", "-o", "json")
    )
    assert runtime["runtime"] == "ended"
    new_lines = server.log()[logged:]
    assert not [word for word in OUTSPOKEN if word in new_lines], new_lines
