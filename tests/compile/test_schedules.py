"""Schedule ticks against a real Dagster instance: endOn and the three concurrency policies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pytest
from compile_helpers import compile_texts
from dagster import DagsterInstance, DagsterRunStatus, instance_for_test
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

WORKFLOW = """
    name: nightly
    version: v1
    type: workflow
    workflow:
      schedule:
        cron: "0 2 * * *"
        timezone: Europe/Berlin
        concurrencyPolicy: {policy}
        endOn: "2030-01-31T23:59:00"
      dag:
        - name: run
          spec:
            stack: container
            stackSpec: {{image: busybox}}
"""
JOB = "public__nightly"


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as instance:
        yield instance


def _tick(
    policy: str, instance: DagsterInstance, at: datetime
) -> tuple[list[dg.RunRequest], list[str], dg.Definitions]:
    defs = compile_texts(WORKFLOW.format(policy=policy))
    schedule = defs.resolve_schedule_def(f"{JOB}__schedule")
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
    data = schedule.evaluate_tick(context)
    return list(data.run_requests or []), [data.skip_message] if data.skip_message else [], defs


def _run(instance: DagsterInstance, defs: dg.Definitions, status: DagsterRunStatus) -> str:
    """A run of the workflow's job in ``status`` (queued runs are added as the queue does)."""
    job = defs.resolve_job_def(JOB)
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=__file__)),
            "__repository__",
        ),
        JOB,
    )
    return instance.create_run_for_job(job, status=status, remote_job_origin=origin).run_id


BEFORE_END = datetime(2030, 1, 31, 1, 0, tzinfo=UTC)  # 02:00 in Berlin


def test_ticks_after_end_on_are_skipped(instance: DagsterInstance) -> None:
    requests, skips, _ = _tick("Allow", instance, BEFORE_END)
    assert len(requests) == 1 and not skips
    after = datetime(2030, 2, 1, 1, 0, tzinfo=UTC)
    requests, skips, _ = _tick("Allow", instance, after)
    assert requests == [] and "endOn" in skips[0]


def test_end_on_without_zone_is_read_in_the_schedule_zone(instance: DagsterInstance) -> None:
    # 23:30 UTC on the 31st is 00:30 on Feb 1st in Berlin, after endOn (23:59 Berlin time).
    _, skips, _ = _tick("Allow", instance, datetime(2030, 1, 31, 23, 30, tzinfo=UTC))
    assert skips


def test_allow_requests_a_run_while_another_runs(instance: DagsterInstance) -> None:
    _, _, defs = _tick("Allow", instance, BEFORE_END)
    _run(instance, defs, DagsterRunStatus.STARTED)
    requests, skips, _ = _tick("Allow", instance, BEFORE_END)
    assert len(requests) == 1 and not skips


@pytest.mark.parametrize(
    "status", [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTED, DagsterRunStatus.NOT_STARTED]
)
def test_forbid_skips_while_a_run_is_active(
    instance: DagsterInstance, status: DagsterRunStatus
) -> None:
    requests, _, defs = _tick("Forbid", instance, BEFORE_END)
    assert len(requests) == 1
    run_id = _run(instance, defs, status)
    requests, skips, _ = _tick("Forbid", instance, BEFORE_END)
    assert requests == [] and run_id in skips[0] and "Forbid" in skips[0]


def test_forbid_runs_again_once_the_run_finished(instance: DagsterInstance) -> None:
    _, _, defs = _tick("Forbid", instance, BEFORE_END)
    _run(instance, defs, DagsterRunStatus.SUCCESS)
    requests, skips, _ = _tick("Forbid", instance, BEFORE_END)
    assert len(requests) == 1 and not skips


def test_replace_cancels_active_runs_and_requests_a_new_one(instance: DagsterInstance) -> None:
    _, _, defs = _tick("Replace", instance, BEFORE_END)
    queued = _run(instance, defs, DagsterRunStatus.QUEUED)
    started = _run(instance, defs, DagsterRunStatus.STARTED)
    done = _run(instance, defs, DagsterRunStatus.SUCCESS)
    requests, skips, _ = _tick("Replace", instance, BEFORE_END)
    assert len(requests) == 1 and not skips

    def status(run_id: str) -> DagsterRunStatus:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        return run.status

    assert status(queued) == DagsterRunStatus.CANCELED
    # The local launcher has no process to signal for a run it did not launch: the run
    # is marked as canceling, which is what run monitoring acts on.
    assert status(started) == DagsterRunStatus.CANCELING
    assert status(done) == DagsterRunStatus.SUCCESS
