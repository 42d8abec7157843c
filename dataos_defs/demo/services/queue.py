"""The example Worker: consumes a queue table, each row exactly once across restarts.

The queue is a SQLite file, ``$QUEUE_DB`` or ``$DATAOS_WORKLOAD_DIR/queue.db`` (the
workload's private folder, kept across restarts of its replicas). Rows go through
``ready`` → ``claimed`` (by one replica, with a lease) → ``done``. Processing a row writes
its result into ``results`` *in the same transaction* that marks it done, so a replica
killed mid-way leaves the row claimed and nothing written: at its restart the replica
(same ``DATAOS_REPLICA`` name) releases its own claims, and any replica takes over a claim
whose lease has expired. No row is lost, none is processed twice.

``python -m dataos_defs.demo.services.queue put --db FILE TEXT...`` enqueues rows;
``... status --db FILE`` prints the counts. ``QUEUE_SEED=N`` enqueues N demo rows when the
queue has never held any (what ``make up`` uses).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import time
from pathlib import Path
from types import FrameType

LEASE_S = 30.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'ready',
    claimed_by TEXT,
    claimed_at REAL
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY REFERENCES queue(id),
    words INTEGER NOT NULL,
    replica TEXT NOT NULL,
    processed_at REAL NOT NULL
);
"""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    return conn


def queue_path() -> Path:
    explicit = os.environ.get("QUEUE_DB")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("DATAOS_WORKLOAD_DIR", ".")) / "queue.db"


def put(conn: sqlite3.Connection, payloads: list[str]) -> None:
    conn.executemany("INSERT INTO queue (payload) VALUES (?)", [(p,) for p in payloads])


def claim(conn: sqlite3.Connection, replica: str, now: float) -> tuple[int, str] | None:
    """The oldest ready row (or one whose claim expired), claimed by ``replica``."""
    row = conn.execute(
        "UPDATE queue SET state = 'claimed', claimed_by = ?, claimed_at = ? WHERE id = ("
        " SELECT id FROM queue WHERE state = 'ready'"
        " OR (state = 'claimed' AND claimed_at < ?) ORDER BY id LIMIT 1"
        ") RETURNING id, payload",
        (replica, now, now - LEASE_S),
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def complete(conn: sqlite3.Connection, item: int, words: int, replica: str) -> bool:
    """Record the result and mark the row done, atomically; False if the claim was lost."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = conn.execute(
            "UPDATE queue SET state = 'done' WHERE id = ? AND state = 'claimed' AND claimed_by = ?",
            (item, replica),
        ).rowcount
        if done:
            conn.execute(
                "INSERT INTO results (id, words, replica, processed_at) VALUES (?, ?, ?, ?)",
                (item, words, replica, time.time()),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return bool(done)


def release_own(conn: sqlite3.Connection, replica: str) -> int:
    """Claims left by this replica's previous run go back to the queue."""
    return conn.execute(
        "UPDATE queue SET state = 'ready', claimed_by = NULL WHERE state = 'claimed' "
        "AND claimed_by = ?",
        (replica,),
    ).rowcount


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT state, count(*) FROM queue GROUP BY state").fetchall()
    return {str(state): int(n) for state, n in rows}


def run() -> None:
    replica = os.environ.get("DATAOS_REPLICA", "local")
    delay = float(os.environ.get("QUEUE_WORK_S", "0.1"))
    poll = float(os.environ.get("QUEUE_POLL_S", "0.5"))
    conn = connect(queue_path())
    seed = int(os.environ.get("QUEUE_SEED", "0") or 0)
    if seed and conn.execute("SELECT count(*) FROM queue").fetchone()[0] == 0:
        put(conn, [f"demo message {i} from the example queue" for i in range(seed)])
    print(f"{replica}: released {release_own(conn, replica)} earlier claims", flush=True)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        item = claim(conn, replica, time.time())
        if item is None:
            time.sleep(poll)
            continue
        time.sleep(delay)  # the work itself
        words = len(item[1].split())
        if complete(conn, item[0], words, replica):
            print(f"{replica}: processed row {item[0]} ({words} words)", flush=True)
    print(f"{replica}: stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dataos_defs.demo.services.queue")
    sub = parser.add_subparsers(dest="verb")
    put_cmd = sub.add_parser("put", help="enqueue rows")
    put_cmd.add_argument("--db", type=Path, required=True)
    put_cmd.add_argument("payloads", nargs="+")
    status_cmd = sub.add_parser("status", help="rows by state")
    status_cmd.add_argument("--db", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.verb is None:
        run()
        return
    conn = connect(args.db)
    if args.verb == "put":
        put(conn, list(args.payloads))
    print(counts(conn))


if __name__ == "__main__":
    main()
