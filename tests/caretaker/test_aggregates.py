"""Aggregates against values computed by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from dataos_defs.caretaker.aggregates import WindowError, aggregate, window_ms
from dataos_defs.caretaker.db import upgrade
from dataos_defs.caretaker.recorder import RunBatch, now_ms, record
from dataos_defs.caretaker.records import RunRecord, StepRecord
from dataos_defs.caretaker.retention import Retention
from dataos_defs.poros.store import Store

DURATIONS = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 5000]
"""11 runs of 'daily': nearest rank p50 = 6th = 600, p95 = ceil(10.45) = 11th = 5000."""


def batches(at: int) -> list[RunBatch]:
    out = []
    for i, duration in enumerate(DURATIONS):
        state = "failed" if i % 4 == 0 else "succeeded"  # runs 0, 4, 8 fail: 8/11 succeed
        run = RunRecord(
            f"d{i}",
            "public",
            "workflow",
            "daily",
            state,
            at + i,
            at + i + duration,  # type: ignore[arg-type]
            duration,
            "u",
            "j",
        )
        steps = [
            StepRecord(
                f"d{i}",
                "public",
                "workflow",
                "daily",
                job,
                state,
                at + i,  # type: ignore[arg-type]
                at + i + duration // 2,
                duration // 2,
                1,
                0,
                1.5,
                (i + 1) * 1000,
                compute=compute,
            )
            for job, compute in (("load", "small"), ("report", "big"))
        ]
        out.append(RunBatch(run, steps))
    hidden = RunRecord("h", "secret", "workflow", "payroll", "succeeded", at, at + 9, 9, "x", "j")
    hidden_step = StepRecord(
        "h",
        "secret",
        "workflow",
        "payroll",
        "load",
        "succeeded",
        at,
        at + 9,
        9,
        1,
        0,
        99.0,
        10**12,
        compute="small",
    )
    out.append(RunBatch(hidden, [hidden_step]))
    running = RunRecord("r", "public", "workflow", "daily", "running", at, None, None, "u", "j")
    out.append(RunBatch(running))
    return out


@pytest.fixture
def store(store_url: str) -> Store:
    opened = Store.open(store_url)
    upgrade(opened.engine)
    record(opened.engine, batches(now_ms() - 60_000), Retention())
    return opened


VISIBLE = [("public", "workflow", "daily")]


def test_per_workflow(store: Store) -> None:
    with store.engine.connect() as conn:
        [daily] = aggregate(conn, "workflow", now_ms() - window_ms("1h"), VISIBLE)
    assert daily.group == {
        "workspace": "public",
        "resource_type": "workflow",
        "resource_name": "daily",
    }
    assert (daily.runs, daily.succeeded, daily.success_rate) == (11, 8, round(8 / 11, 4))
    assert (daily.p50_duration_ms, daily.p95_duration_ms) == (600, 5000)
    assert daily.cpu_seconds == 11 * 2 * 1.5
    assert daily.peak_memory_bytes == 11_000
    store.close()


def test_per_job_and_per_compute_hide_what_the_caller_may_not_read(store: Store) -> None:
    since = now_ms() - window_ms("1h")
    with store.engine.connect() as conn:
        jobs = {a.group["job"]: a for a in aggregate(conn, "job", since, VISIBLE)}
        computes = {a.group["compute"]: a for a in aggregate(conn, "compute", since, VISIBLE)}
        nothing = aggregate(conn, "compute", since, [])
    assert set(jobs) == {"load", "report"}
    assert (jobs["load"].p50_duration_ms, jobs["load"].p95_duration_ms) == (300, 2500)
    small = computes["small"]
    assert small.runs == 11 and small.cpu_seconds == 16.5 and small.peak_memory_bytes == 11_000
    assert nothing == []
    store.close()


def test_old_runs_fall_out_of_the_window(store: Store) -> None:
    with store.engine.connect() as conn:
        assert aggregate(conn, "workflow", now_ms() + 1000, VISIBLE) == []
    store.close()


@pytest.mark.parametrize("text", ["7", "1w", "0d", "91d", "-1d", "1d;drop"])
def test_a_bad_window_is_refused_with_the_forms_allowed(text: str) -> None:
    with pytest.raises(WindowError, match="window"):
        window_ms(text)
