"""The example Worker consuming a queue table: killed mid-way and with its supervisor
restarted, it still processes every row exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

from workload_support import FAST, QUEUE, cleanup, running, wait_for, workload

from dataos_defs.demo.services import queue
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.supervisor import Supervisor

ROWS = 40


def done(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])


def test_every_row_is_processed_once_across_kills_and_restarts(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    conn = queue.connect(db)
    queue.put(conn, [f"message number {i}" for i in range(ROWS)])
    conn.close()
    spec = workload(
        "consumer",
        kind="worker",
        replicas=2,
        command=QUEUE,
        envs={"QUEUE_DB": str(db), "QUEUE_WORK_S": 0.05, "QUEUE_POLL_S": 0.1},
    )
    first = Supervisor(None, tmp_path, tick_s=0.05, keep_on_close=True, **FAST)
    try:
        _consume(first, spec, db, tmp_path)
    finally:
        cleanup(tmp_path)
    with sqlite3.connect(db) as check:
        states = dict(check.execute("SELECT state, count(*) FROM queue GROUP BY state").fetchall())
        ids = [r[0] for r in check.execute("SELECT id FROM results ORDER BY id")]
        by = {r[0] for r in check.execute("SELECT replica FROM results")}
    assert states == {"done": ROWS}
    assert ids == list(range(1, ROWS + 1))  # each once (results.id is the primary key)
    assert by == {"consumer-0", "consumer-1"}
    assert not (tmp_path / "workloads/worker/public/consumer").exists()  # stopped: forgotten


def _consume(first: Supervisor, spec: StoredResource, db: Path, tmp_path: Path) -> None:
    """Consume with ``first``; close it, kill a replica while nobody supervises, and let a
    second supervisor adopt the survivor, restart the dead one and finish the queue."""
    first.reconcile([spec])
    replicas = running(first, "consumer", 2, kind="worker").replicas
    wait_for("some rows processed", lambda: done(db) >= 5)
    first.close()  # the API server goes away (kept on shutdown): the replicas keep working
    os.kill(replicas[0].pid or 0, signal.SIGKILL)  # mid-way: its claim is left behind
    time.sleep(0.3)
    second = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
    try:
        second.reconcile([spec])
        wait_for("the lock", lambda: second.leader)
        runtime = running(second, "consumer", 2, kind="worker")
        assert runtime.replicas[0].restarts == 1  # found dead, restarted
        assert runtime.replicas[1].pid == replicas[1].pid  # adopted
        wait_for("every row processed", lambda: done(db) == ROWS, timeout=30)
        log = "\n".join(second.logs("worker", "public", "consumer", "consumer-0", -1))
        assert "released 1 earlier claims" in log or "released 0 earlier claims" in log
        assert "processed row" in log
    finally:
        second.stop_everything(timeout=20)
        second.close()


def test_a_claim_of_a_dead_replica_is_released_at_its_restart(tmp_path: Path) -> None:
    conn = queue.connect(tmp_path / "q.db")
    queue.put(conn, ["a b", "c d e"])
    assert queue.claim(conn, "w-0", time.time()) == (1, "a b")
    assert queue.release_own(conn, "w-1") == 0
    assert queue.release_own(conn, "w-0") == 1
    item = queue.claim(conn, "w-1", time.time())
    assert item == (1, "a b")
    assert not queue.complete(conn, 1, 2, "w-0")  # not its claim any more
    assert queue.complete(conn, 1, 2, "w-1")
    stale = queue.claim(conn, "w-2", time.time())
    assert stale == (2, "c d e")
    assert queue.claim(conn, "w-3", time.time() + queue.LEASE_S + 1) == (2, "c d e")
    assert queue.counts(conn) == {"claimed": 1, "done": 1}
