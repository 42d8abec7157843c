"""Aggregates over the Parquet history plus what the live tables hold that it does not yet.

The figures and their meaning are those of :mod:`dataos_defs.caretaker.aggregates` (finished
runs or steps started in the window; nearest-rank p50/p95, which DuckDB's ``quantile_disc``
computes; CPU seconds summed, peak memory the highest), but computed by DuckDB over the
Parquet partitions of the window's days instead of by SQLite/PostgreSQL over the live
tables: the live store takes seconds at a million steps, DuckDB a fraction of one.

Rows come from two places, never counted twice:

* the history's ``runs`` and ``steps`` parts of the days in the window (a day is that of the
  record's start, so no earlier part can hold a record started in the window);
* the live rows of runs not yet marked historized (in flight, or finished since the
  sensor's last history write) and their steps, minus any run the history already holds
  (a run written between the two reads).

A run in the history is identified by when it started (else ended, else was recorded); in
the live tables by when it was first recorded, as in the live aggregates.

Access is the caller's: only rows of ``resources`` (the Resources they may read) count,
unless ``every`` says those are all the Resources in the window.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from sqlalchemy import Connection, select

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.aggregates import Aggregate, By, aggregate_of
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.history_schema import duckdb_columns
from dataos_defs.caretaker.live import MAX_RESOURCES, Resource
from dataos_defs.minerva.duck import empty_select, sql_string

FINISHED = "('succeeded', 'failed', 'canceled')"
KEY = ("workspace", "resource_type", "resource_name")
RUN_COLUMNS = {
    "workspace": pa.string(),
    "resource_type": pa.string(),
    "resource_name": pa.string(),
    "run_id": pa.string(),
    "state": pa.string(),
    "duration_ms": pa.int64(),
    "at_ms": pa.int64(),
}
STEP_COLUMNS = {
    "workspace": pa.string(),
    "resource_type": pa.string(),
    "resource_name": pa.string(),
    "run_id": pa.string(),
    "job": pa.string(),
    "compute": pa.string(),
    "state": pa.string(),
    "started_ms": pa.int64(),
    "duration_ms": pa.int64(),
    "cpu_seconds": pa.float64(),
    "peak_memory_bytes": pa.int64(),
}
GROUPS: dict[str, tuple[str, ...]] = {
    "workflow": KEY,
    "job": ("workspace", "resource_name", "job"),
    "compute": ("compute",),
}
RESOURCE_LISTS_KEPT = 16
_resources_seen: OrderedDict[tuple[str, ...], list[Resource]] = OrderedDict()
_databases: list[duckdb.DuckDBPyConnection] = []
_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of this process's in-memory DuckDB (its own registrations, thread-safe)."""
    with _lock:
        if not _databases:
            _databases.append(duckdb.connect())
        return _databases[0].cursor()


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


class _Sources:
    """The relations one query reads: history parts in the window, live residue, readers."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, store: HistoryStore, since_ms: int):
        self.cursor, self.store, self.since = cursor, store, _day(since_ms)

    def paths(self, kind: str) -> list[str]:
        return [p.path for p in self.store.parts(kind) if p.day >= self.since]

    def history(self, kind: str, columns: Sequence[str]) -> str:
        """A relation over the kind's parts of the window's days (Parquet read in place on a
        local history; read through fsspec into Arrow on an object store)."""
        paths = self.paths(kind)
        if not paths:
            return f"({empty_select(duckdb_columns(kind))})"
        if self.store.is_local:
            listed = ", ".join(sql_string(path) for path in paths)
            return f"read_parquet([{listed}], union_by_name = true)"
        tables = [pq.read_table(p, filesystem=self.store.fs, columns=list(columns)) for p in paths]
        self.cursor.register(f"remote_{kind}", pa.concat_tables(tables))
        return f"remote_{kind}"

    def register(
        self, name: str, rows: list[dict[str, Any]], types: dict[str, pa.DataType]
    ) -> None:
        schema_ = pa.schema(list(types.items()))
        self.cursor.register(name, pa.Table.from_pylist(rows, schema=schema_))


def history_resources(store: HistoryStore, since_ms: int) -> list[Resource]:
    """The Resources with runs in the history's days of the window (at most MAX_RESOURCES).

    Remembered per list of parts (a part never changes once published; an append or a
    compaction changes the list), since every aggregate request asks."""
    cursor = _cursor()
    try:
        sources = _Sources(cursor, store, since_ms)
        key = (store.url, *sources.paths("runs"))
        with _lock:
            known = _resources_seen.get(key)
        if known is not None:
            return known
        found = cursor.execute(
            f"SELECT DISTINCT {', '.join(KEY)} FROM {sources.history('runs', KEY)}"
            f" LIMIT {MAX_RESOURCES}"
        ).fetchall()
    finally:
        cursor.close()
    resources = [(str(w), str(t), str(n)) for w, t, n in found]
    with _lock:
        _resources_seen[key] = resources
        while len(_resources_seen) > RESOURCE_LISTS_KEPT:
            _resources_seen.popitem(last=False)
    return resources


def aggregate(
    conn: Connection,
    store: HistoryStore,
    by: By,
    since_ms: int,
    resources: Sequence[Resource],
    every: bool = False,
) -> list[Aggregate]:
    """Aggregates of the history and the live residue, of ``resources`` only."""
    if not every and not resources:
        return []
    runs, steps = _live_residue(conn, since_ms)
    cursor = _cursor()
    try:
        sources = _Sources(cursor, store, since_ms)
        sources.register("live_runs", runs, RUN_COLUMNS)
        sources.register("live_steps", steps, STEP_COLUMNS)
        sources.register("readable", [dict(zip(KEY, r, strict=True)) for r in resources], {
            k: pa.string() for k in KEY
        })  # fmt: skip
        sql = _query(sources, by, every, bool(runs or steps))
        result = cursor.execute(sql, {"since": since_ms})
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        cursor.close()
    for row in rows:
        row["p50"], row["p95"] = row.pop("quantiles") or (None, None)
    return [aggregate_of(row, list(GROUPS[by])) for row in rows]


def _query(sources: _Sources, by: By, every: bool, residue: bool) -> str:
    history_runs = sources.history("runs", [*KEY, "run_id", "state", "duration_ms",
                                            "started_ms", "ended_ms", "recorded_ms"])  # fmt: skip
    history_steps = sources.history("steps", list(STEP_COLUMNS))
    readable = "" if every else f" SEMI JOIN readable USING ({', '.join(KEY)})"
    fresh = " WHERE run_id NOT IN (SELECT run_id FROM written)" if residue else " WHERE false"
    ctes = f"""
    hr AS (SELECT {", ".join(KEY)}, run_id, state, duration_ms,
                  coalesce(started_ms, ended_ms, recorded_ms) AS at_ms FROM {history_runs}),
    live_ids AS (SELECT run_id FROM live_runs UNION SELECT run_id FROM live_steps),
    written AS (SELECT run_id FROM hr SEMI JOIN live_ids USING (run_id)),
    runs_all AS (SELECT * FROM (SELECT * FROM hr WHERE at_ms >= $since
                                UNION ALL SELECT * FROM live_runs{fresh}){readable}),
    steps_all AS (SELECT * FROM (SELECT {", ".join(STEP_COLUMNS)} FROM {history_steps}
                                 WHERE started_ms >= $since
                                 UNION ALL SELECT * FROM live_steps{fresh}){readable}
                  WHERE state IN {FINISHED})"""
    figures = """count(*) AS runs, count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
        quantile_disc(duration_ms, [0.5, 0.95]) AS quantiles"""
    costs = "sum(cpu_seconds) AS cpu, max(peak_memory_bytes) AS peak"
    group = ", ".join(GROUPS[by])
    if by != "workflow":
        return (
            f"WITH {ctes} SELECT {group}, {figures}, {costs} FROM steps_all"
            f" GROUP BY {group} ORDER BY {group}"
        )
    return f"""WITH {ctes},
    rf AS (SELECT {group}, {figures} FROM runs_all WHERE state IN {FINISHED} GROUP BY {group}),
    sf AS (SELECT {group}, {costs} FROM steps_all GROUP BY {group})
    SELECT rf.*, sf.cpu, sf.peak FROM rf LEFT JOIN sf USING ({group}) ORDER BY {group}"""


def _live_residue(
    conn: Connection, since_ms: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Live runs not yet historized (created in the window) and their steps (started in
    it): few rows, found through the index on ``historized_ms``."""
    runs, steps = schema.runs.c, schema.steps.c
    run_query = select(
        *(runs[c] for c in RUN_COLUMNS if c != "at_ms"), runs.created_ms.label("at_ms")
    ).where(runs.historized_ms.is_(None), runs.created_ms >= since_ms)
    step_query = (
        select(*(steps[c] for c in STEP_COLUMNS))
        .join(schema.runs, runs.run_id == steps.run_id)
        .where(runs.historized_ms.is_(None), steps.started_ms >= since_ms)
    )
    return (
        [dict(r._mapping) for r in conn.execute(run_query)],
        [dict(r._mapping) for r in conn.execute(step_query)],
    )
