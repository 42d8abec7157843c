"""Workflow lifecycle decisions of reconciliation, against a GraphQL stand-in over HTTP.

Run once on apply (created or changed, never unchanged), ``endOn`` ending a workflow (its
schedule stopped, its runs in flight terminated, on apply and by the periodic watch), and
deleted workflows stopped before the reload hides them. The store is a real SQLite store
written through the apply service; Dagster is the stand-in of ``graphql_stand_in``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from graphql_stand_in import DagsterStandIn, compiled_from, serve
from lifecycle_manifests import ONCE

from dataos_defs.api.reconcile import (
    APPLY_TRIGGER,
    DAGSTER_URL_ENV,
    end_finished_workflows,
    end_on,
    reconcile,
)
from dataos_defs.api.reconciler import start_end_on_watch
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

NIGHTLY = """\
name: nightly
version: v1
type: workflow
workflow:
  schedule:
    cron: "0 3 * * *"
    timezone: Europe/Paris
{end_on}  dag:
    - name: hello
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {{}}
"""
ONCE_JOB, NIGHTLY_JOB = "public__once", "public__nightly"
NIGHTLY_SCHEDULE = "public__nightly__schedule"
ONCE_KEY = ResourceKey("workflow", "once", "public")
NIGHTLY_KEY = ResourceKey("workflow", "nightly", "public")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(tmp_path)})) as opened:
        yield opened


@pytest.fixture
def dagster(store: Store) -> Iterator[tuple[DagsterStandIn, str]]:
    stand_in = DagsterStandIn(compiled_from(store))
    with serve(stand_in) as url:
        yield stand_in, url


def apply(store: Store, text: str) -> list[ResourceKey]:
    """Apply one manifest as the API does; the keys it created or changed."""
    documents, problems = parse_yaml(text, "workflow.yaml")
    assert not problems
    results = apply_resources(store, parse_documents(documents), None, "tester")
    return [ResourceKey(r.kind, r.name, r.workspace) for r in results if r.action != "unchanged"]


def nightly(end: str | None = None) -> str:
    return NIGHTLY.format(end_on=f"    endOn: {end}\n" if end else "")


def test_an_unscheduled_workflow_runs_once_when_created_or_changed_not_when_unchanged(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    created = apply(store, ONCE.format(description="first"))
    outcome = reconcile(store, url, changed=created)
    assert outcome is not None
    assert outcome.statuses[ONCE_KEY] == ("active", None)
    (run,) = stand_in.launched()
    assert (run.job, run.tags) == (ONCE_JOB, APPLY_TRIGGER)
    assert outcome.launched == {ONCE_KEY: run.run_id}

    unchanged = apply(store, ONCE.format(description="first"))
    assert unchanged == []
    again = reconcile(store, url, changed=unchanged)
    assert again is not None and again.launched == {}
    assert len(stand_in.launched()) == 1

    changed = apply(store, ONCE.format(description="second"))
    assert reconcile(store, url, changed=changed) is not None
    assert [r.job for r in stand_in.launched()] == [ONCE_JOB, ONCE_JOB]


def test_a_scheduled_workflow_is_not_started_on_apply_its_schedule_runs(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    stand_in.schedules[NIGHTLY_SCHEDULE] = "STOPPED"
    outcome = reconcile(store, url, changed=apply(store, nightly()))
    assert outcome is not None and outcome.launched == {}
    assert outcome.statuses[NIGHTLY_KEY] == ("active", None)
    assert stand_in.launched() == []
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "RUNNING"


def test_a_run_that_cannot_be_launched_makes_the_workflow_error_with_the_reason(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    stand_in.launch_error = "run launcher refused"
    reconcile(store, url, changed=apply(store, ONCE.format(description="first")))
    found = store.get("workflow", "once", "public")
    assert found is not None and found.status == "error"
    assert found.status_reason is not None
    assert "could not be launched" in found.status_reason
    assert "run launcher refused" in found.status_reason


def test_the_run_asked_by_an_apply_is_launched_by_whichever_reconciliation_comes_next(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    """The outbox, not the caller's ``changed`` keys, says what runs: once, and only once."""
    stand_in, url = dagster
    apply(store, ONCE.format(description="first"))
    outcome = reconcile(store, url)
    assert outcome is not None and outcome.statuses[ONCE_KEY] == ("active", None)
    assert [r.job for r in stand_in.launched()] == [ONCE_JOB]
    assert store.outbox() == []
    assert reconcile(store, url, changed=[ONCE_KEY]) is not None
    assert len(stand_in.launched()) == 1


def test_end_on_is_read_like_the_compiled_schedule() -> None:
    cron = "0 * * * *"
    naive = {
        "workflow": {
            "schedule": {"cron": cron, "endOn": "2030-01-01T00:00:00", "timezone": "Asia/Tokyo"}
        }
    }
    assert end_on(naive) == datetime(2029, 12, 31, 15, 0, tzinfo=UTC)
    zulu = {"workflow": {"schedule": {"cron": cron, "endOn": "2030-01-01T00:00:00Z"}}}
    assert end_on(zulu) == datetime(2030, 1, 1, tzinfo=UTC)
    assert end_on({"workflow": {"schedule": {"cron": "* * * * *"}}}) is None
    assert end_on({"workflow": {"dag": []}}) is None


def test_applying_a_workflow_past_its_end_on_stops_its_schedule_and_runs(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    reconcile(store, url, changed=apply(store, nightly("2030-01-01T00:00:00Z")))
    in_flight = stand_in.add_run(NIGHTLY_JOB, "STARTED")
    queued = stand_in.add_run(NIGHTLY_JOB, "QUEUED")
    finished = stand_in.add_run(NIGHTLY_JOB, "SUCCESS")
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "RUNNING"

    outcome = reconcile(store, url, changed=apply(store, nightly("2020-01-01T00:00:00Z")))
    assert outcome is not None
    assert outcome.statuses[NIGHTLY_KEY] == ("active", None)
    assert set(outcome.terminated[NIGHTLY_KEY]) == {in_flight, queued}
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "STOPPED"
    assert [stand_in.run(r).status for r in (in_flight, queued, finished)] == [
        "CANCELED",
        "CANCELED",
        "SUCCESS",
    ]
    assert stand_in.launched() == []

    later = reconcile(store, url)
    assert later is not None and later.terminated == {}
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "STOPPED"


def test_a_run_finishing_while_being_terminated_is_not_an_error(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    reconcile(store, url, changed=apply(store, nightly("2999-01-01T00:00:00Z")))
    racing = stand_in.add_run(NIGHTLY_JOB, "STARTED")
    stand_in.finishing.add(racing)
    outcome = reconcile(store, url, changed=apply(store, nightly("2020-01-01T00:00:00Z")))
    assert outcome is not None
    assert outcome.statuses[NIGHTLY_KEY] == ("active", None)
    assert stand_in.run(racing).status == "SUCCESS"
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "STOPPED"


def test_moving_end_on_later_starts_the_schedule_again(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    reconcile(store, url, changed=apply(store, nightly("2020-01-01T00:00:00Z")))
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "STOPPED"
    reconcile(store, url, changed=apply(store, nightly("2999-01-01T00:00:00Z")))
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "RUNNING"


def test_the_sweep_ends_a_workflow_once_its_end_on_passes_without_reloading(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    reconcile(store, url, changed=apply(store, nightly("2030-06-01T12:00:00")))
    run = stand_in.add_run(NIGHTLY_JOB, "STARTED")
    stand_in.calls.clear()

    before = datetime(2030, 6, 1, 9, 59, tzinfo=UTC)  # noon in Paris is 10:00 UTC in June
    assert end_finished_workflows(store, url, now=before) == {}
    assert stand_in.calls == [], "nothing has ended: Dagster is not asked"
    assert stand_in.run(run).status == "STARTED"

    after = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
    assert end_finished_workflows(store, url, now=after) == {NIGHTLY_KEY: (run,)}
    assert stand_in.run(run).status == "CANCELED"
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "STOPPED"
    assert "Reload" not in stand_in.calls


def test_the_watch_thread_ends_workflows_in_the_background(
    store: Store, dagster: tuple[DagsterStandIn, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in, url = dagster
    reconcile(store, url, changed=apply(store, nightly("2999-01-01T00:00:00Z")))
    apply(store, nightly("2020-01-01T00:00:00Z"))
    run = stand_in.add_run(NIGHTLY_JOB, "STARTED")

    monkeypatch.delenv(DAGSTER_URL_ENV, raising=False)
    assert start_end_on_watch(store, interval=0.05) is None
    monkeypatch.setenv(DAGSTER_URL_ENV, url)
    watch = start_end_on_watch(store, interval=0.05)
    assert watch is not None
    try:
        deadline = time.monotonic() + 5
        while stand_in.run(run).status != "CANCELED" and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watch.stop()
    assert stand_in.run(run).status == "CANCELED"
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "STOPPED"


def test_a_deleted_workflow_is_stopped_before_the_reload_removes_it(
    store: Store, dagster: tuple[DagsterStandIn, str]
) -> None:
    stand_in, url = dagster
    reconcile(
        store, url, changed=[*apply(store, nightly()), *apply(store, ONCE.format(description="x"))]
    )
    run = stand_in.add_run(NIGHTLY_JOB, "STARTED")
    once_run = stand_in.launched()[0].run_id
    stand_in.run(once_run).status = "SUCCESS"

    store.delete("workflow", "nightly", "public", "tester")
    outcome = reconcile(store, url)
    assert outcome is not None and set(outcome.statuses) == {ONCE_KEY}
    assert stand_in.run(run).status == "CANCELED"
    assert stand_in.schedules[NIGHTLY_SCHEDULE] == "STOPPED"
    assert stand_in.loaded == [("public", "once", False)]
    assert stand_in.run(once_run).status == "SUCCESS"
