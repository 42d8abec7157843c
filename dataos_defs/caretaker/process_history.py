"""Process events into the history's ``processes``, exactly once, like runs (:mod:`.historize`).

Each event (a process entering a state, with its record at that moment) is one row of
``caretaker.runs.processes``. The same *claim, append under a deterministic name, mark*
order as runs: events with no ``history_batch`` get one (the oldest :data:`CLAIM_EVENTS`,
and any with the same time as the last of them), the
batch is appended under part names derived from it (a retried batch replaces its own
parts), then marked. Historized events older than the live retention are deleted from the
store (the history keeps them).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, delete, select, update

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.recorder import now_ms
from dataos_defs.caretaker.records import ProcessRecord, column_names
from dataos_defs.caretaker.retention import DAY_MS, Retention
from dataos_defs.poros.db import write_transaction

CLAIM_EVENTS = 5000
MAX_BATCHES = 10


def historize_processes(
    engine: Engine, store: HistoryStore, retention: Retention | None = None
) -> int:
    """Finish pending batches, then claim and write new ones (bounded); events written."""
    written = 0
    batches = _pending(engine)
    while len(batches) < MAX_BATCHES:
        claimed = _claim(engine)
        if claimed is None:
            break
        batches.append(claimed)
    for batch in batches:
        written += _write(engine, store, batch)
        _mark(engine, batch)
    _forget_old(engine, retention or Retention.from_env())
    return written


def _pending(engine: Engine) -> list[str]:
    events = schema.process_events.c
    query = (
        select(events.history_batch)
        .where(events.historized_ms.is_(None), events.history_batch.is_not(None))
        .distinct()
        .limit(MAX_BATCHES)
    )
    with engine.connect() as conn:
        return sorted(str(row[0]) for row in conn.execute(query))


def _claim(engine: Engine) -> str | None:
    events = schema.process_events.c
    unclaimed = events.history_batch.is_(None)
    with engine.connect() as conn:
        if conn.execute(select(events.node).where(unclaimed).limit(1)).first() is None:
            return None  # nothing new: no write lock taken
    batch = f"{now_ms():013d}-{uuid.uuid4().hex[:16]}"
    newest = (
        select(events.at_ms)
        .where(unclaimed)
        .order_by(events.at_ms)
        .offset(CLAIM_EVENTS - 1)
        .limit(1)
    )
    with write_transaction(engine) as conn:
        ceiling = conn.execute(newest).scalar()
        claimed = unclaimed if ceiling is None else unclaimed & (events.at_ms <= ceiling)
        done = conn.execute(
            update(schema.process_events).where(claimed).values(history_batch=batch)
        )
        if not done.rowcount:
            return None
    return batch


def _write(engine: Engine, store: HistoryStore, batch: str) -> int:
    names = column_names(ProcessRecord)
    events = schema.process_events.c
    query = select(schema.process_events).where(events.history_batch == batch)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(events.at_ms, events.node, events.state))
        records = [ProcessRecord(**{n: row._mapping[n] for n in names}) for row in rows]
    size = store.max_records
    for chunk, start in enumerate(range(0, len(records), size)):
        store.append("processes", records[start : start + size], name=f"{batch}-{chunk}")
    return len(records)


def _mark(engine: Engine, batch: str) -> None:
    events = schema.process_events.c
    with write_transaction(engine) as conn:
        conn.execute(
            update(schema.process_events)
            .where(events.history_batch == batch)
            .values(historized_ms=now_ms())
        )


def _forget_old(engine: Engine, retention: Retention) -> None:
    events = schema.process_events.c
    cutoff = now_ms() - retention.days * DAY_MS
    old = events.historized_ms.is_not(None) & (events.at_ms < cutoff)
    with engine.connect() as conn:
        if conn.execute(select(events.node).where(old).limit(1)).first() is None:
            return
    with write_transaction(engine) as conn:
        conn.execute(delete(schema.process_events).where(old))
