"""Snapshots of workload runtimes into process records and events, and the reporter's bounds.

The runtimes are built as the Kubernetes applier and the supervisor publish them (frozen
:class:`WorkloadRuntime` values); the usage reader runs on this very test process with psutil.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from sqlalchemy import Engine

from dataos_defs.caretaker import replica_reporter
from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.process_usage import usage
from dataos_defs.caretaker.replica_reporter import ReplicaReporter, server_reporter
from dataos_defs.caretaker.replicas import ReplicaTracker, Snapshot
from dataos_defs.poros.workloads import Replica, WorkloadRuntime
from tests.services.workload_support import wait_for

KEY = ("service", "shop", "orders-api")
STARTED = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
AT = int(STARTED.timestamp() * 1000)


def runtime(*replicas: Replica) -> WorkloadRuntime:
    return WorkloadRuntime("service", "shop", "orders-api", 3, 2, tuple(replicas))


def pod(name: str, state: str, restarts: int = 0, exit_code: int | None = None) -> Replica:
    return Replica(
        name,
        state,
        3,
        restarts=restarts,
        started_at=STARTED,
        exit_code=exit_code,  # type: ignore[arg-type]
    )


def look(tracker: ReplicaTracker, at: int, *replicas: Replica) -> tuple[list[str], list[str]]:
    changes = tracker.apply(
        Snapshot({KEY: runtime(*replicas)} if replicas else {}, {KEY: "ana"}, at)
    )
    return [r.state for r in changes.records], [f"{r.replica}:{r.state}" for r in changes.entered]


def test_pods_enter_states_and_a_vanished_one_is_stopped() -> None:
    tracker = ReplicaTracker("pod")
    assert look(tracker, AT, pod("orders-api-7f9-a", "starting")) == (
        ["starting"],
        ["orders-api-7f9-a:starting"],
    )
    assert look(tracker, AT + 10, pod("orders-api-7f9-a", "starting")) == ([], [])
    assert look(tracker, AT + 20, pod("orders-api-7f9-a", "crashloop", 1, 137))[1] == [
        "orders-api-7f9-a:crashloop"
    ]
    record = tracker.known["pod:shop/service/orders-api-7f9-a"]
    assert (record.exit_code, record.restarts, record.ended_ms, record.run_as) == (
        137,
        1,
        AT + 20,
        "ana",
    )
    assert (record.resource_type, record.resource_name, record.revision) == (
        "service",
        "orders-api",
        3,
    )
    assert look(tracker, AT + 30) == (["stopped"], ["orders-api-7f9-a:stopped"])
    assert tracker.known == {}


def test_only_uptime_moving_writes_nothing() -> None:
    tracker = ReplicaTracker()
    look(tracker, AT, pod("orders-api-0", "ready"))
    assert look(tracker, AT + 60_000, pod("orders-api-0", "ready")) == ([], [])


def test_usage_reads_this_process_and_refuses_a_reused_pid() -> None:
    me = psutil.Process(os.getpid())
    found = usage(os.getpid(), me.create_time())
    assert found is not None and found.cpu_seconds > 0 and found.peak_memory_bytes > 1_000_000
    assert usage(os.getpid(), me.create_time() - 3600) is None  # not the process recorded
    assert usage(2**22 + 12345, time.time()) is None  # no such process


def test_a_full_queue_drops_and_counts_and_never_blocks(tmp_path: Path) -> None:
    engine = writer_engine(f"sqlite:///{tmp_path / 'store.db'}")
    reporter = ReplicaReporter(lambda: engine, max_queue=1, start=False)
    began = time.monotonic()
    for _ in range(1000):
        reporter({KEY: runtime(pod("orders-api-0", "ready"))}, {KEY: "ana"})
    assert time.monotonic() - began < 1.0
    assert reporter.dropped == 999
    reporter.pass_once()
    assert reporter.written == 1 and reporter.write_errors == 0


def test_unwritten_events_are_bounded_while_the_store_is_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def down() -> Engine:
        raise ConnectionError("down")

    monkeypatch.setattr(replica_reporter, "MAX_PENDING", 50)
    reporter = ReplicaReporter(down, max_queue=10_000, start=False)
    for step in range(100):
        state = "ready" if step % 2 else "starting"
        reporter({KEY: runtime(replace(pod("orders-api-0", state), restarts=step))}, {KEY: "a"})
        reporter.pass_once()
    assert reporter.write_errors == 100
    kept = len(reporter._entered)
    assert kept <= 50 and reporter.dropped_records == 100 - kept


def test_a_misconfigured_history_still_records_the_live_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAOS_CARETAKER_HISTORY_RETENTION_DAYS", "forever")
    engine = writer_engine(f"sqlite:///{tmp_path / 'store.db'}")
    reporter = server_reporter(engine, tmp_path)
    try:
        assert reporter._history is not None and reporter._history() is None
        reporter({KEY: runtime(pod("orders-api-0", "ready"))}, {KEY: "ana"})
        wait_for("the replica written", lambda: reporter.written == 1)
    finally:
        reporter.close()
