"""The Caretaker sensor: Dagster's run and step events become Caretaker's live records.

It reads what changed since its cursor, not every run on every request: each tick asks
Dagster's run storage for the runs whose status changed after the cursor's time (one
query, on SQLite and PostgreSQL storage alike), and re-reads the step events of the runs
still in flight (so running nodes show while a run goes on). Each run is turned into its
records from its event log (``caretaker_events``: steps and quality check results) and
written in one transaction (``caretaker.recorder``). On Kubernetes the tick also records the
platform's run, step and Pipes pods with their PodMetrics (``caretaker.k8s_source``). The
cursor (the last status-change time and the runs in flight) is stored by Dagster with the
sensor's ticks: after a restart the sensor goes on from it, and a run read twice is
recorded once, since records are upserts of the same values.

Each tick then moves finished runs into the Parquet history (``caretaker.historize``: claim,
append under deterministic names, mark — exactly once as readers see it, even after a crash
before the cursor is saved), with the states Service and Worker replicas entered (recorded by
the API server's supervisor hook; ``caretaker.process_history``, the same order) and, at
most every :data:`MAINTAIN_EVERY_SECONDS` (the time is kept in the cursor), applies the
history's retention and compaction. A history that cannot be written is logged and
retried on the next tick; it never holds back the live state.
Nothing of this runs on an API request.

The code location opens the store for reading only; Caretaker writes its own tables through
an engine of its own (``caretaker.db.writer_engine``), which can decrypt no secret.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    Definitions,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)
from dagster._core.storage.dagster_run import RunRecord as DagsterRunRecord
from pyarrow import ArrowException  # type: ignore[import-untyped]
from sqlalchemy import Engine

from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.historize import historize
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.history_schema import HistoryError
from dataos_defs.caretaker.k8s_source import record_k8s_pods
from dataos_defs.caretaker.process_history import historize_processes
from dataos_defs.caretaker.recorder import RunBatch, record
from dataos_defs.caretaker.records import FINISHED_RUN_STATES
from dataos_defs.caretaker.retention import Retention
from dataos_defs.location.caretaker_events import Compiled, compiled_of, run_batch
from dataos_defs.poros.settings import Settings

SENSOR_NAME = "dataos_caretaker"
BATCH = 200
"""Runs read per tick; more changed runs are read on the next ticks."""
MAX_IN_FLIGHT = 500
"""Runs followed while in flight; beyond, a run is recorded again at its next status change."""
INTERVAL_ENV = "DATAOS_CARETAKER_SENSOR_SECONDS"
"""The sensor's minimum interval (default 15 s; tests set 1 s), read at import."""
MAINTAIN_EVERY_SECONDS = 3600.0


def _interval(raw: str | None) -> int:
    if raw and raw.isdigit() and 1 <= int(raw) <= 3600:
        return int(raw)
    return 15


INTERVAL_SECONDS = _interval(os.environ.get(INTERVAL_ENV))


@dataclass
class Cursor:
    updated_after: float | None = None
    in_flight: list[str] = field(default_factory=list)
    maintained_at: float | None = None

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            data.get("updated_after"),
            list(data.get("in_flight") or []),
            data.get("maintained_at"),
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "updated_after": self.updated_after,
                "in_flight": self.in_flight,
                "maintained_at": self.maintained_at,
            }
        )


@dataclass(frozen=True)
class Tick:
    cursor: Cursor
    batches: list[RunBatch]


def changed_runs(
    instance: DagsterInstance, cursor: Cursor
) -> tuple[list[DagsterRunRecord], list[DagsterRunRecord]]:
    """Runs whose status changed after the cursor (oldest change first), and the other runs
    still in flight."""
    after = datetime.fromtimestamp(cursor.updated_after, UTC) if cursor.updated_after else None
    changed = list(
        instance.get_run_records(
            RunsFilter(updated_after=after),
            limit=BATCH,
            order_by="update_timestamp",
            ascending=True,
        )
    )
    seen = {r.dagster_run.run_id for r in changed}
    following = [run_id for run_id in cursor.in_flight if run_id not in seen]
    if not following:
        return changed, []
    return changed, list(instance.get_run_records(RunsFilter(run_ids=following)))


def read_tick(instance: DagsterInstance, cursor: Cursor, compiled: Compiled) -> Tick:
    """What to record and the next cursor, from the runs changed since ``cursor``."""
    changed, following = changed_runs(instance, cursor)
    runs = changed + following
    batches = [b for b in (run_batch(instance, r, compiled) for r in runs) if b is not None]
    in_flight = [b.run.run_id for b in batches if b.run.state not in FINISHED_RUN_STATES]
    times = [t for t in map(_timestamp, changed) if t is not None]
    latest = max(times, default=cursor.updated_after)
    return Tick(Cursor(latest, in_flight[-MAX_IN_FLIGHT:], cursor.maintained_at), batches)


def _timestamp(run: DagsterRunRecord) -> float | None:
    stamp = run.update_timestamp
    if stamp is None:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def evaluate(context: SensorEvaluationContext, settings: Settings | None = None) -> SkipReason:
    """One tick: record, keep the history, then move the cursor (a failed live write leaves
    it where it was)."""
    cursor = Cursor.parse(context.cursor)
    tick = read_tick(context.instance, cursor, compiled_of(context.repository_def))
    settings = settings or Settings.from_env()
    engine = writer_engine(settings.database_url)
    if tick.batches:
        record(engine, tick.batches, Retention.from_env())
    record_k8s_pods(engine, context.log.warning)
    kept = keep_history(context, engine, settings, tick.cursor)
    context.update_cursor(tick.cursor.dump())
    return SkipReason(f"{_summary(tick.batches)}; {kept}")


def keep_history(
    context: SensorEvaluationContext, engine: Engine, settings: Settings, cursor: Cursor
) -> str:
    """Finished runs into the history; maintenance when due (noted in ``cursor``)."""
    try:
        store = HistoryStore.from_env(settings.home)
        written = historize(engine, store)
        events = historize_processes(engine, store)
        now = time.time()
        if cursor.maintained_at is None or now - cursor.maintained_at >= MAINTAIN_EVERY_SECONDS:
            store.maintain()
            cursor.maintained_at = now
    except (HistoryError, OSError, ArrowException) as exc:
        context.log.warning(f"Caretaker history not written, retried next tick: {exc}")
        return "history not written"
    done = f"{written.runs} runs and {written.steps} steps"
    return f"{done} to the history" + (f", {events} replica events" if events else "")


def _summary(batches: Sequence[RunBatch]) -> str:
    if not batches:
        return "no run changed"
    steps = sum(len(b.steps) for b in batches)
    return f"recorded {len(batches)} runs and {steps} steps"


@sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Caretaker: records DataOS runs and steps (states, times, resource use)",
)
def caretaker_sensor(context: SensorEvaluationContext) -> SkipReason:
    return evaluate(context)


def with_caretaker(definitions: Definitions) -> Definitions:
    """The compiled Definitions with the Caretaker sensor."""
    return Definitions.merge(definitions, Definitions(sensors=[caretaker_sensor]))
