"""Caretaker's live tables in the platform's store, beside Poros' and Metis' and independent.

The migrations in ``migrations/versions`` create exactly these (a test compares them), with
their own alembic version table ``alembic_version_caretaker``. The columns are those of
:mod:`dataos_defs.caretaker.records` (one meaning everywhere), plus bookkeeping:

* ``caretaker_runs``: one row per Dagster run of a Resource, keyed by ``run_id``; indexed
  for "the latest runs of a Resource" and for windows. ``created_ms`` is when the run was
  first recorded (its start, or when it was seen queued) and never changes after.
  ``history_batch`` / ``historized_ms``: the history batch a finished run was claimed by and
  when that batch reached the Parquet history (:mod:`dataos_defs.caretaker.historize`);
  NULL until then. Re-recording a run keeps them.
* ``caretaker_steps``: one row per DataOS job of a run, keyed by ``(run_id, job)``.
* ``caretaker_checks``: one row per asset check evaluated in a run (a soda check through
  GX), keyed by ``(run_id, asset_key, check)``; figures only (:mod:`.checks`).
* ``caretaker_processes``: one row per pod or local process, keyed by ``node``; indexed
  per Resource (a Service's replicas).
* ``caretaker_process_events``: every state a process entered (a Service/Worker replica
  starting, ready, crash-looping, failed, stopped), with the process' record at that moment,
  keyed by ``(node, state, at_ms)``; ``history_batch`` / ``historized_ms`` as for runs: the
  events go to the history's ``processes`` exactly once (:mod:`.process_history`).
* ``caretaker_transitions``: every state a run (``job`` empty) or step entered, and when;
  the key makes recording the same transition twice a no-op.

The live tables are bounded: :mod:`dataos_defs.caretaker.retention` deletes what is older
than the retention or beyond the newest runs kept per Resource, on every write.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from dataos_defs.poros.own_histories import NAMING_CONVENTION

VERSION_TABLE = "alembic_version_caretaker"
TABLE_PREFIX = "caretaker_"
RUN_LEVEL = ""
"""The ``job`` of a transition of the run itself."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _resource_columns() -> list[Column[str]]:
    return [
        Column("workspace", String(128), nullable=False),
        Column("resource_type", String(64), nullable=False),
        Column("resource_name", String(255), nullable=False),
    ]


def _process_columns() -> list[Column[object]]:
    """What migration c0004 added to a process: its DataOS job, replica, revision, identity,
    when it entered its state, and its uptime when recorded."""
    return [
        Column("job", String(255), nullable=True),
        Column("replica", String(255), nullable=True),
        Column("revision", Integer, nullable=True),
        Column("run_as", String(255), nullable=True),
        Column("changed_ms", BigInteger, nullable=True),
        Column("uptime_ms", BigInteger, nullable=True),
    ]


runs = Table(
    "caretaker_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    *_resource_columns(),
    Column("state", String(16), nullable=False),
    Column("started_ms", BigInteger, nullable=True),
    Column("ended_ms", BigInteger, nullable=True),
    Column("duration_ms", BigInteger, nullable=True),
    Column("run_as", String(255), nullable=True),
    Column("dagster_job", String(255), nullable=False),
    Column("error", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("history_batch", String(40), nullable=True),
    Column("historized_ms", BigInteger, nullable=True),
    Index(
        "ix_caretaker_runs_resource", "workspace", "resource_type", "resource_name", "created_ms"
    ),
    Index(None, "created_ms"),
    Index(None, "state"),
    Index(None, "historized_ms"),
)

steps = Table(
    "caretaker_steps",
    metadata,
    Column("run_id", String(64), nullable=False),
    Column("job", String(255), nullable=False),
    *_resource_columns(),
    Column("compute", String(255), nullable=True),
    Column("state", String(16), nullable=False),
    Column("started_ms", BigInteger, nullable=True),
    Column("ended_ms", BigInteger, nullable=True),
    Column("duration_ms", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("cpu_seconds", Float, nullable=True),
    Column("peak_memory_bytes", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    PrimaryKeyConstraint("run_id", "job"),
    Index(None, "started_ms"),
    Index(None, "state"),
)

checks = Table(
    "caretaker_checks",
    metadata,
    Column("run_id", String(64), nullable=False),
    *_resource_columns(),
    Column("job", String(255), nullable=False),
    Column("asset_key", String(512), nullable=False),
    Column("check", String(255), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("severity", String(16), nullable=True),
    Column("passed", Boolean, nullable=False),
    Column("evaluated_ms", BigInteger, nullable=False),
    Column("metrics", Text, nullable=True),
    Column("observed_value", Text, nullable=True),
    Column("unexpected_count", BigInteger, nullable=True),
    PrimaryKeyConstraint("run_id", "asset_key", "check"),
    Index(None, "evaluated_ms"),
)

processes = Table(
    "caretaker_processes",
    metadata,
    Column("node", String(255), primary_key=True),
    *_resource_columns(),
    Column("run_id", String(64), nullable=True),
    Column("state", String(16), nullable=False),
    Column("started_ms", BigInteger, nullable=True),
    Column("ended_ms", BigInteger, nullable=True),
    Column("restarts", Integer, nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("cpu_seconds", Float, nullable=True),
    Column("peak_memory_bytes", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    Column("recorded_ms", BigInteger, nullable=False),
    *_process_columns(),
    Index(None, "state"),
    Index(None, "run_id"),
    Index("ix_caretaker_processes_resource", "workspace", "resource_type", "resource_name"),
)

process_events = Table(
    "caretaker_process_events",
    metadata,
    Column("node", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    *_resource_columns(),
    Column("run_id", String(64), nullable=True),
    Column("started_ms", BigInteger, nullable=True),
    Column("ended_ms", BigInteger, nullable=True),
    Column("restarts", Integer, nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("cpu_seconds", Float, nullable=True),
    Column("peak_memory_bytes", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    *_process_columns(),
    Column("history_batch", String(40), nullable=True),
    Column("historized_ms", BigInteger, nullable=True),
    PrimaryKeyConstraint("node", "state", "at_ms"),
    Index(
        "ix_caretaker_process_events_resource",
        "workspace",
        "resource_type",
        "resource_name",
        "at_ms",
    ),
    Index(None, "historized_ms"),
)

transitions = Table(
    "caretaker_transitions",
    metadata,
    Column("run_id", String(64), nullable=False),
    Column("job", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "job", "state", "at_ms"),
)
