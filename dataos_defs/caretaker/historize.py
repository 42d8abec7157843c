"""Finished runs, their steps and checks from the live tables into the history, exactly once.

The history is append-only, so only finished runs go there, and a reader must never see a
run twice, even when the writer crashes between appending and remembering that it did.
The choice made here is *claim, append under a deterministic name, mark*, driven by the
live table rather than by the sensor's cursor:

1. **claim**: in one store transaction, finished runs with no ``history_batch`` get a new
   batch id ``<claim ms>-<hex>`` (at most :data:`CLAIM_RUNS` per call);
2. **append**: the batch's runs, steps and checks, read back from the live tables, are appended
   with part names derived from the batch id (``part-<batch>[-<chunk>]`` in each day and
   workspace folder);
3. **mark**: ``historized_ms`` is set for the batch's runs.

A crash after 1 or 2 leaves the batch claimed and unmarked; the next call appends it again
*under the same names*, which replaces those parts (whole files, published by rename)
instead of adding rows, then marks it. Pending batches are finished before anything new is
claimed and before :meth:`HistoryStore.maintain` may compact, so a part is only merged
once its batch is marked. Readers thus need no de-duplication (the Minerva view and the
aggregates read the parts as they are). Re-recording a run keeps its marks (recorder).

A history that cannot be written (object store down) raises :class:`HistoryError` or
``OSError``; the claims stay and are retried on the next call, and the live state is not
held back (the sensor records and moves its cursor regardless).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, update

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.checks import checks_of
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.recorder import now_ms
from dataos_defs.caretaker.records import (
    FINISHED_RUN_STATES,
    RunRecord,
    StepRecord,
    column_names,
)
from dataos_defs.poros.db import write_transaction

CLAIM_RUNS = 100
"""Finished runs claimed per batch (a run's steps are at most a few hundred)."""
MAX_BATCHES = 20
"""Batches written per call at most; the rest wait for the next sensor tick."""


@dataclass(frozen=True)
class Historized:
    runs: int = 0
    steps: int = 0
    checks: int = 0


def historize(engine: Engine, store: HistoryStore) -> Historized:
    """Finish the pending batches, then claim and write new ones (bounded)."""
    runs = steps = checks = 0
    batches = pending_batches(engine)
    while len(batches) < MAX_BATCHES:
        claimed = claim(engine)
        if claimed is None:
            break
        batches.append(claimed)
    for batch in batches:
        written = write_batch(engine, store, batch)
        mark(engine, batch)
        runs, steps = runs + written.runs, steps + written.steps
        checks += written.checks
    return Historized(runs, steps, checks)


def pending_batches(engine: Engine) -> list[str]:
    """Batches claimed but not marked (a crash, or a history that could not be written)."""
    runs = schema.runs.c
    query = (
        select(runs.history_batch)
        .where(runs.historized_ms.is_(None), runs.history_batch.is_not(None))
        .distinct()
        .limit(MAX_BATCHES)
    )
    with engine.connect() as conn:
        return sorted(str(row[0]) for row in conn.execute(query))


def claim(engine: Engine) -> str | None:
    """Give up to :data:`CLAIM_RUNS` finished, unclaimed runs a new batch id."""
    runs = schema.runs.c
    query = (
        select(runs.run_id)
        .where(
            runs.historized_ms.is_(None),
            runs.history_batch.is_(None),
            runs.state.in_(sorted(FINISHED_RUN_STATES)),
        )
        .order_by(runs.created_ms)
        .limit(CLAIM_RUNS)
    )
    with engine.connect() as conn:
        if conn.execute(query.limit(1)).first() is None:
            return None  # the usual tick: nothing to claim, no write lock taken
    with write_transaction(engine) as conn:
        run_ids = [row[0] for row in conn.execute(query)]
        if not run_ids:
            return None
        batch = f"{now_ms():013d}-{uuid.uuid4().hex[:16]}"
        conn.execute(
            update(schema.runs).where(runs.run_id.in_(run_ids)).values(history_batch=batch)
        )
    return batch


def write_batch(engine: Engine, store: HistoryStore, batch: str) -> Historized:
    """Append the batch's runs, steps and checks under names derived from the batch id."""
    with engine.connect() as conn:
        runs = _runs_of(conn, batch)
        steps = _steps_of(conn, [r.run_id for r in runs])
        checks = checks_of(conn, [r.run_id for r in runs])
    owners = {r.run_id: r.run_as for r in runs}
    store.append("runs", runs, name=batch)
    size = store.max_records
    for chunk, start in enumerate(range(0, len(steps), size)):
        store.append("steps", steps[start : start + size], owners=owners, name=f"{batch}-{chunk}")
    for chunk, start in enumerate(range(0, len(checks), size)):
        part = checks[start : start + size]
        store.append("checks", part, owners=owners, name=f"{batch}-{chunk}")
    return Historized(len(runs), len(steps), len(checks))


def mark(engine: Engine, batch: str) -> None:
    runs = schema.runs.c
    with write_transaction(engine) as conn:
        conn.execute(
            update(schema.runs).where(runs.history_batch == batch).values(historized_ms=now_ms())
        )


def _runs_of(conn: Connection, batch: str) -> list[RunRecord]:
    names = column_names(RunRecord)
    query = select(schema.runs).where(schema.runs.c.history_batch == batch)
    rows = conn.execute(query.order_by(schema.runs.c.run_id))
    return [RunRecord(**{n: row._mapping[n] for n in names}) for row in rows]


def _steps_of(conn: Connection, run_ids: Sequence[str]) -> list[StepRecord]:
    if not run_ids:
        return []
    names = column_names(StepRecord)
    steps = schema.steps.c
    query = select(schema.steps).where(steps.run_id.in_(list(run_ids)))
    rows = conn.execute(query.order_by(steps.run_id, steps.job))
    return [StepRecord(**{n: row._mapping[n] for n in names}) for row in rows]
