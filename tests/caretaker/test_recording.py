"""A real Dagster instance ran a good and a failing workflow; the sensor recorded them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dataos_defs.caretaker import schema
from tests.caretaker.conftest import Ran
from tests.caretaker.stacks import BURN_SECONDS, FAILURE, HOLD_BYTES


def rows(ran: Ran, table: Any) -> list[dict[str, Any]]:
    with ran.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table))]


def test_the_good_run_is_recorded_with_its_steps(ran: Ran) -> None:
    runs = {r["run_id"]: r for r in rows(ran, schema.runs)}
    good = runs[ran.good_run]
    assert good["state"] == "succeeded"
    assert (good["workspace"], good["resource_type"], good["resource_name"]) == (
        "public",
        "workflow",
        "good",
    )
    assert good["run_as"] == "data-owner" and good["dagster_job"] == "public__good"
    assert good["duration_ms"] == good["ended_ms"] - good["started_ms"] > 0
    steps = {s["job"]: s for s in rows(ran, schema.steps) if s["run_id"] == ran.good_run}
    assert set(steps) == {"load", "report"}
    load = steps["load"]
    assert load["state"] == "succeeded" and load["exit_code"] == 0 and load["attempts"] == 1
    assert load["compute"] == "runnable-default" and steps["report"]["compute"] == "query-default"
    assert load["cpu_seconds"] >= BURN_SECONDS * 0.9
    assert load["peak_memory_bytes"] >= HOLD_BYTES
    assert load["duration_ms"] >= BURN_SECONDS * 1000 * 0.9
    assert steps["report"]["started_ms"] >= load["ended_ms"]
    assert steps["report"]["cpu_seconds"] >= BURN_SECONDS * 0.9


def test_the_figures_ride_on_the_materialization_the_step_writes_anyway(ran: Ran) -> None:
    from dagster import AssetKey

    event = ran.instance.get_latest_materialization_event(
        AssetKey(["dataos", "public", "good", "load"])
    )
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    assert metadata["dataos/cpu_seconds"].value >= BURN_SECONDS * 0.9
    assert metadata["dataos/peak_memory_bytes"].value >= HOLD_BYTES


def test_the_failing_run_is_recorded_with_its_error_and_exit_code(ran: Ran) -> None:
    bad = {r["run_id"]: r for r in rows(ran, schema.runs)}[ran.bad_run]
    assert bad["state"] == "failed"
    assert bad["error"] is not None and FAILURE in bad["error"] and "fail-load" in bad["error"]
    steps = {s["job"]: s for s in rows(ran, schema.steps) if s["run_id"] == ran.bad_run}
    failed = steps["fail-load"]
    assert failed["state"] == "failed" and failed["exit_code"] == 1
    assert FAILURE in failed["error"] and failed["cpu_seconds"] > 0
    assert "after" not in steps or steps["after"]["state"] == "skipped"


def test_transitions_are_recorded_with_their_times(ran: Ran) -> None:
    seen = [
        (t["job"], t["state"]) for t in rows(ran, schema.transitions) if t["run_id"] == ran.good_run
    ]
    assert ("", "running") in seen and ("", "succeeded") in seen
    assert ("load", "running") in seen and ("load", "succeeded") in seen


def test_a_restarted_sensor_records_nothing_twice_and_loses_nothing(ran: Ran) -> None:
    before = {t.name: rows(ran, t) for t in schema.metadata.sorted_tables}
    assert ran.tick(ran.cursor) == ran.cursor
    ran.tick(None)
    after = {t.name: rows(ran, t) for t in schema.metadata.sorted_tables}
    assert after == before
    third = ran.definitions.resolve_job_def("public__good").execute_in_process(
        instance=ran.instance
    )
    cursor = ran.tick(ran.cursor)
    assert cursor != ran.cursor
    runs = {r["run_id"] for r in rows(ran, schema.runs)}
    assert runs == {ran.good_run, ran.bad_run, third.run_id}
    ran.cursor = cursor


def test_forged_run_tags_attribute_nothing_to_another_workflow(ran: Ran) -> None:
    from dagster import job, op

    @op
    def nothing() -> None:
        return None

    @job(name="finance__payroll_lookalike")
    def lookalike() -> None:
        nothing()

    forged = {"dataos/workspace": "finance", "dataos/workflow": "payroll", "dataos/run-as": "dev"}
    stray = lookalike.execute_in_process(instance=ran.instance, tags=forged)
    relabelled = ran.definitions.resolve_job_def("public__good").execute_in_process(
        instance=ran.instance, tags=forged
    )
    ran.cursor = ran.tick(ran.cursor)
    recorded = {r["run_id"]: r for r in rows(ran, schema.runs)}
    assert stray.run_id not in recorded
    mine = recorded[relabelled.run_id]
    assert (mine["workspace"], mine["resource_name"], mine["run_as"]) == (
        "public",
        "good",
        "data-owner",
    )
    assert not any(r["workspace"] == "finance" for r in recorded.values())
