"""The bounds of Caretaker's live tables: how long and how many runs per Resource.

The live state serves "now" and recent history; the long history is P2's Parquet in blob
storage. Each write deletes, for the Resources it wrote, the runs created before the
retention window and those beyond the newest ``max_runs`` (with their steps,
checks and transitions), and the processes that ended before the window. Settings come from the
environment (``DATAOS_CARETAKER_LIVE_DAYS``, ``DATAOS_CARETAKER_LIVE_RUNS``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, select

from dataos_defs.caretaker import schema

DAYS_ENV = "DATAOS_CARETAKER_LIVE_DAYS"
RUNS_ENV = "DATAOS_CARETAKER_LIVE_RUNS"
DAY_MS = 86_400_000


class RetentionError(ValueError):
    """A retention setting is not a positive integer."""


@dataclass(frozen=True)
class Retention:
    days: int = 30
    max_runs: int = 500

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Retention:
        env = os.environ if environ is None else environ
        return cls(_positive(env, DAYS_ENV, cls.days), _positive(env, RUNS_ENV, cls.max_runs))


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise RetentionError(
            f"{name}={raw!r} is not a positive whole number; unset it for {default}"
        )
    return int(raw)


Resource = tuple[str, str, str]


def enforce(
    conn: Connection, retention: Retention, resources: Sequence[Resource], at_ms: int
) -> None:
    """Delete what falls out of the bounds for ``resources`` (and expired processes)."""
    cutoff = at_ms - retention.days * DAY_MS
    runs = schema.runs.c
    for workspace, kind, name in resources:
        of_resource = and_(
            runs.workspace == workspace, runs.resource_type == kind, runs.resource_name == name
        )
        newest = (
            select(runs.created_ms)
            .where(of_resource)
            .order_by(runs.created_ms.desc())
            .offset(retention.max_runs - 1)
            .limit(1)
        )
        floor = max(cutoff, conn.execute(newest).scalar() or cutoff)
        old = conn.execute(select(runs.run_id).where(of_resource, runs.created_ms < floor))
        _delete_runs(conn, [row[0] for row in old])
    procs = schema.processes.c
    conn.execute(delete(schema.processes).where(procs.ended_ms < cutoff))


def _delete_runs(conn: Connection, run_ids: list[str]) -> None:
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        for table in (schema.transitions, schema.steps, schema.checks, schema.runs):
            conn.execute(delete(table).where(table.c.run_id.in_(chunk)))
