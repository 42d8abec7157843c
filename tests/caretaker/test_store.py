"""Caretaker's tables: migrations equal the schema (SQLite and PostgreSQL), upserts are
idempotent, and the live tables stay within their bounds."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.db import upgrade
from dataos_defs.caretaker.recorder import RunBatch, Transition, record
from dataos_defs.caretaker.records import RunRecord, StepRecord
from dataos_defs.caretaker.retention import DAY_MS, Retention, RetentionError
from dataos_defs.poros.store import Store

NOW = 1_800_000_000_000


def run(run_id: str, started: int, name: str = "daily", state: str = "succeeded") -> RunRecord:
    return RunRecord(
        run_id,
        "public",
        "workflow",
        name,
        state,
        started,
        started + 10,
        10,
        "u",
        "j",  # type: ignore[arg-type]
    )


def step(run_id: str, job: str = "load") -> StepRecord:
    return StepRecord(
        run_id, "public", "workflow", "daily", job, "succeeded", 1, 2, 1, 1, 0, 0.5, 1024
    )


def test_migrations_create_exactly_the_schema_beside_poros(store_url: str) -> None:
    with Store.open(store_url) as store:
        upgrade(store.engine)
        upgrade(store.engine)
        with store.engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": schema.VERSION_TABLE,
                    "include_name": lambda name, kind, _p: (
                        kind != "table" or name.startswith(schema.TABLE_PREFIX)
                    ),
                },
            )
            assert compare_metadata(context, schema.metadata) == []
            head = conn.execute(text(f"select version_num from {schema.VERSION_TABLE}")).scalar()
        assert head == "c0004"
        assert {"resources", "revisions"} <= set(inspect(store.engine).get_table_names())


def test_recording_twice_changes_nothing_and_keeps_the_first_creation_time(
    store_url: str,
) -> None:
    with Store.open(store_url) as store:
        upgrade(store.engine)
        queued = RunRecord(
            "r1", "public", "workflow", "daily", "queued", None, None, None, "u", "j"
        )
        record(store.engine, [RunBatch(queued)], Retention())
        batch = RunBatch(
            run("r1", NOW),
            [step("r1"), step("r1", "report")],
            [Transition("r1", "", "running", NOW), Transition("r1", "load", "running", NOW)],
        )
        for _ in range(2):
            record(store.engine, [batch], Retention())
        with store.engine.connect() as conn:
            counts = [
                conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (schema.runs, schema.steps, schema.transitions)
            ]
            row = conn.execute(select(schema.runs)).one()
        assert counts == [1, 2, 2]
        assert row.state == "succeeded" and row.started_ms == NOW
        assert row.created_ms != NOW  # when it was first seen queued


def test_old_runs_and_runs_beyond_the_newest_n_are_deleted_with_their_steps(
    store_url: str,
) -> None:
    with Store.open(store_url) as store:
        upgrade(store.engine)
        retention = Retention(days=2, max_runs=3)
        now = record_now()
        batches = [
            RunBatch(run(f"old{i}", now - 3 * DAY_MS + i), [step(f"old{i}")]) for i in range(2)
        ]
        batches += [RunBatch(run(f"new{i}", now - 1000 + i), [step(f"new{i}")]) for i in range(5)]
        batches.append(RunBatch(run("other", now - 3 * DAY_MS, name="weekly")))
        record(store.engine, batches[:-1], retention)
        with store.engine.connect() as conn:
            kept = {r[0] for r in conn.execute(select(schema.runs.c.run_id))}
            steps = {r[0] for r in conn.execute(select(schema.steps.c.run_id))}
        assert kept == steps == {"new2", "new3", "new4"}


def record_now() -> int:
    from dataos_defs.caretaker.recorder import now_ms

    return now_ms()


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5"])
def test_a_bad_retention_setting_says_which_and_what_to_do(value: str) -> None:
    with pytest.raises(RetentionError, match=f"DATAOS_CARETAKER_LIVE_DAYS='{value}'.*unset it"):
        Retention.from_env({"DATAOS_CARETAKER_LIVE_DAYS": value})
    assert Retention.from_env({}) == Retention()
