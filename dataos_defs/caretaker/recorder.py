"""Write what Caretaker learnt: idempotent upserts of runs, steps, processes, transitions.

A record is keyed by what identifies it (``run_id``; ``(run_id, job)``; ``node``; a
transition by ``(run_id, job, state, at_ms)``), and writing it again replaces it with the
same values: the recorder can see an event twice (a sensor re-evaluated after a restart)
and the live state stays the same. A run's ``created_ms`` is kept from its first record.

Everything a run brings is written in one transaction under the store's write lock
(:func:`record`), and the live tables' bounds are enforced in the same transaction for the
Resources written (:mod:`dataos_defs.caretaker.retention`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.checks import CheckRecord
from dataos_defs.caretaker.checks import as_row as check_row
from dataos_defs.caretaker.records import ProcessRecord, RunRecord, StepRecord, as_row
from dataos_defs.caretaker.retention import Retention, enforce
from dataos_defs.poros.db import write_transaction

MAX_ERROR_CHARS = 4000
HISTORY_COLUMNS = ("history_batch", "historized_ms")
"""Kept when a run is recorded again: whether it already went to the history."""
"""An error is kept to its first 4000 characters (the full text stays in Dagster's log)."""


@dataclass(frozen=True)
class Transition:
    """A run (``job`` empty) or one of its steps entered ``state`` at ``at_ms``."""

    run_id: str
    job: str
    state: str
    at_ms: int


@dataclass
class RunBatch:
    """What one run brings: its record, its steps, the transitions seen and the quality
    checks evaluated."""

    run: RunRecord
    steps: list[StepRecord] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)


def now_ms() -> int:
    return int(time.time() * 1000)


def _clip(text: str | None) -> str | None:
    return text if text is None or len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS]


def _upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keep: Iterable[str] = ()
) -> None:
    """Insert ``rows``, or replace the stored ones with the same key (but for ``keep``)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    key = [c.name for c in table.primary_key.columns]
    kept = set(key) | set(keep)
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in kept}
    conn.execute(statement.on_conflict_do_update(index_elements=key, set_=updates), list(rows))


def _insert_new(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))


def record_run(conn: Connection, run: RunRecord, at_ms: int | None = None) -> None:
    row = {**as_row(run), "error": _clip(run.error)}
    row["created_ms"] = run.started_ms if run.started_ms is not None else (at_ms or now_ms())
    _upsert(conn, schema.runs, [row], keep=("created_ms", *HISTORY_COLUMNS))


def record_steps(conn: Connection, steps: Sequence[StepRecord]) -> None:
    _upsert(conn, schema.steps, [{**as_row(s), "error": _clip(s.error)} for s in steps])


def record_checks(conn: Connection, checks: Sequence[CheckRecord]) -> None:
    _upsert(conn, schema.checks, [check_row(c) for c in checks])


def record_transitions(conn: Connection, transitions: Sequence[Transition]) -> None:
    _insert_new(conn, schema.transitions, [t.__dict__ for t in transitions])


def record_processes(engine: Engine, processes: Sequence[ProcessRecord]) -> None:
    """Upsert pods/processes (their own source: the supervisor or the Kubernetes API)."""
    at = now_ms()
    rows = [{**as_row(p), "reason": _clip(p.reason), "recorded_ms": at} for p in processes]
    with write_transaction(engine) as conn:
        _upsert(conn, schema.processes, rows)


def _event_row(process: ProcessRecord, at: int) -> dict[str, Any]:
    row = {**as_row(process), "reason": _clip(process.reason)}
    row["at_ms"] = process.changed_ms if process.changed_ms is not None else at
    return row


def record_process_changes(
    engine: Engine, processes: Sequence[ProcessRecord], entered: Sequence[ProcessRecord]
) -> None:
    """Upsert ``processes`` and add an event for each record of ``entered`` (a process that
    entered its ``state`` at its ``changed_ms``), in one transaction. An event recorded
    twice is kept once."""
    at = now_ms()
    rows = [{**as_row(p), "reason": _clip(p.reason), "recorded_ms": at} for p in processes]
    with write_transaction(engine) as conn:
        _upsert(conn, schema.processes, rows)
        _insert_new(conn, schema.process_events, [_event_row(p, at) for p in entered])


def record(engine: Engine, batches: Sequence[RunBatch], retention: Retention) -> None:
    """Write the batches in one transaction, then bound the Resources they touched."""
    if not batches:
        return
    at = now_ms()
    touched = {(b.run.workspace, b.run.resource_type, b.run.resource_name) for b in batches}
    with write_transaction(engine) as conn:
        for batch in batches:
            record_run(conn, batch.run, at)
            record_steps(conn, batch.steps)
            record_transitions(conn, batch.transitions)
            record_checks(conn, batch.checks)
        enforce(conn, retention, sorted(touched), at)
