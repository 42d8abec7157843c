"""The Services supervisor as Caretaker's source, with real processes and a real store.

A Service runs through the real supervisor (a stdlib HTTP server per replica) with
Caretaker's reporter as its hook, writing to Caretaker's tables on SQLite. A replica is
killed: the restart, the exit code and every state it went through are recorded, with the
CPU seconds and peak memory psutil read. Then Caretaker is down (its engine hangs, or
fails): the supervisor restarts replicas as quickly as before, and what could not be
queued is counted.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dataos_defs.caretaker import live, schema
from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.replica_reporter import ReplicaReporter
from dataos_defs.caretaker.replicas import node_of
from dataos_defs.poros.supervisor import Supervisor
from tests.services.workload_support import FAST, cleanup, running, wait_for, workload

NODE = node_of("local", "public", "service", "hello-0")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return writer_engine(f"sqlite:///{tmp_path / 'store.db'}")


def events(engine: Engine) -> list[tuple[str, int | None, int]]:
    table = schema.process_events.c
    query = select(table.state, table.exit_code, table.restarts).where(table.node == NODE)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query.order_by(table.at_ms, table.state))]


def process(engine: Engine) -> dict[str, object] | None:
    with engine.connect() as conn:
        found = [
            p for p in live.processes_of(conn, ("public", "service", "hello")) if p.node == NODE
        ]
    return found[0].__dict__ if found else None


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "home"
    cleanup(tmp_path / "home")


def test_a_killed_replica_is_recorded_with_its_exit_code_restart_and_usage(
    engine: Engine, home: Path
) -> None:
    reporter = ReplicaReporter(lambda: engine, sample_s=0.1)
    sup = Supervisor(None, home, tick_s=0.05, report=reporter, **FAST)
    try:
        sup.reconcile([workload("hello", replicas=1)])
        first = running(sup, "hello", 1).replicas[0]
        assert first.pid is not None
        sampled = wait_for(
            "the ready replica sampled",
            lambda: (p := process(engine)) and p["state"] == "ready" and p["cpu_seconds"] and p,
        )
        assert sampled["peak_memory_bytes"] > 1_000_000  # a Python interpreter, read by psutil
        assert sampled["run_as"] == "op" and sampled["replica"] == "hello-0"
        assert sampled["revision"] == 1 and sampled["uptime_ms"] >= 0
        os.kill(first.pid, signal.SIGKILL)
        wait_for(
            "the restarted replica recorded ready",
            lambda: (p := process(engine)) and p["restarts"] == 1 and p["state"] == "ready",
        )
        seen = events(engine)
        assert seen[:2] == [("starting", None, 0), ("ready", None, 0)]
        assert ("crashloop", -signal.SIGKILL, 1) in seen
        assert seen[-2:] == [("starting", None, 1), ("ready", None, 1)]
        assert sup.stop_everything(timeout=20)
        wait_for("the stop recorded", lambda: events(engine)[-1][0] == "stopped")
        with engine.connect() as conn:
            assert NODE not in {p.node for p in live.running_processes(conn)}
            latest = live.process_events(conn, ("public", "service", "hello"), 3)
        assert [e.state for e in latest] == ["stopped", "stopping", "ready"]  # newest first
        assert latest[0].ended_ms is not None and latest[0].changed_ms >= latest[1].changed_ms
    finally:
        sup.close()
        reporter.close()
    assert reporter.dropped == 0 and reporter.write_errors == 0


def test_a_hanging_caretaker_neither_slows_nor_breaks_the_supervisor(home: Path) -> None:
    released = threading.Event()

    def hanging() -> Engine:
        released.wait(60)
        raise ConnectionError("caretaker's store does not answer")

    reporter = ReplicaReporter(hanging, max_queue=2, sample_s=0.05)
    sup = Supervisor(None, home, tick_s=0.05, report=reporter, **FAST)
    try:
        sup.reconcile([workload("hello", replicas=1)])
        pid = running(sup, "hello", 1).replicas[0].pid
        assert pid is not None
        for _ in range(3):
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            back = wait_for(
                "the replica back",
                lambda p=pid: (
                    (r := sup.runtime("service", "public", "hello"))
                    and r.summary == "running:1"
                    and r.replicas[0].pid != p
                    and r
                ),
            )
            assert time.monotonic() - killed < 10  # backoff 0.2-0.8 s plus start; not blocked
            pid = back.replicas[0].pid
        assert reporter.dropped > 0  # the queue stayed full: snapshots dropped and counted
        assert sup.report_errors == 0
    finally:
        released.set()
        sup.close()
        reporter.close()
    assert reporter.write_errors >= 1


def test_a_report_hook_that_raises_is_counted_and_ignored(home: Path) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    sup = Supervisor(None, home, tick_s=0.05, report=broken, **FAST)
    try:
        sup.reconcile([workload("hello", replicas=1)])
        running(sup, "hello", 1)
        assert sup.report_errors >= 1
    finally:
        sup.stop_everything(timeout=20)
        sup.close()
