"""Caretaker: an aggregate query over 1M step records of the Parquet history (goal <= 200 ms).

1M steps (200k runs of 50 workflows, 5 steps each, over 30 days and 3 workspaces) are
written as history parts by :class:`HistoryStore` (90 day/workspace partitions), then the
aggregate the Operations view needs (per workflow over a window: runs, success rate, p50/p95
run duration, CPU-seconds, peak memory) runs through DuckDB:

* ``minerva``: on the embedded Minerva engine's view of ``caretaker.runs.steps`` (what a
  governed query reads: the parts listed, Hive-partitioned, columns cast);
* ``read_parquet``: the same query straight over the partition folders;
* ``baseline``: the same query over the same rows as an in-memory Arrow table, in this run.

Also reported: the writer's throughput for one bounded append (50k StepRecords).

Then the API's own aggregate function (``GET /caretaker/api/v1/aggregates``:
``caretaker.history_aggregates.aggregate``) over the same history plus a live residue of
100 unhistorized runs in SQLite, for a caller who may read the 50 workflows (the filtered
path), per workflow, job and Compute; beside it, in the same run, the baseline it replaced:
the live tables' aggregate (``caretaker.aggregates.aggregate``) over the same 1M steps and
200k runs in SQLite.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # type: ignore[import-untyped]  # noqa: E402
from sqlalchemy import Connection, Engine  # noqa: E402

from dataos_defs.caretaker import history_aggregates, live, schema  # noqa: E402
from dataos_defs.caretaker.aggregates import BY_VALUES, By, aggregate  # noqa: E402
from dataos_defs.caretaker.dataset import HistorySource  # noqa: E402
from dataos_defs.caretaker.db import upgrade  # noqa: E402
from dataos_defs.caretaker.history import MAX_RECORDS_PER_APPEND, HistoryStore  # noqa: E402
from dataos_defs.caretaker.history_schema import arrow_schema  # noqa: E402
from dataos_defs.caretaker.live import Resource  # noqa: E402
from dataos_defs.caretaker.recorder import RunBatch, record  # noqa: E402
from dataos_defs.caretaker.records import RunRecord, StepRecord  # noqa: E402
from dataos_defs.caretaker.retention import Retention  # noqa: E402
from dataos_defs.minerva.duck import Database, physical_name  # noqa: E402
from dataos_defs.minerva.model import TableName  # noqa: E402
from dataos_defs.poros.db import make_engine  # noqa: E402

STEPS = 1_000_000
STEPS_PER_RUN = 5
WORKFLOWS = 50
DAYS = 30
WORKSPACES = ("public", "sales", "finance")
REPEAT = 15
GOAL_MS = 200.0
END = datetime(2026, 3, 31, tzinfo=UTC)
END_MS = int(END.timestamp() * 1000)
AGGREGATE = """
WITH run_figures AS (
    SELECT resource_name, count(*) AS runs, avg((state = 'succeeded')::INTEGER) AS success_rate,
           quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms
    FROM {runs} WHERE day >= DATE '{since}' AND resource_type = 'workflow'
    GROUP BY resource_name
), step_figures AS (
    SELECT resource_name, sum(cpu_seconds) AS cpu_seconds,
           max(peak_memory_bytes) AS peak_memory_bytes
    FROM {steps} WHERE day >= DATE '{since}' AND resource_type = 'workflow'
    GROUP BY resource_name
)
SELECT resource_name AS workflow, runs, success_rate, p50_ms, p95_ms, cpu_seconds,
       peak_memory_bytes
FROM run_figures JOIN step_figures USING (resource_name) ORDER BY workflow
"""
"""Runs, success rate and run durations from the runs history (one row per run), resource
use from the steps (1M rows): each figure from the table that holds it."""
FROM_STEPS_ONLY = """
WITH per_run AS (
    SELECT resource_name, run_id, bool_and(state = 'succeeded') AS ok,
           max(ended_ms) - min(started_ms) AS duration_ms,
           sum(cpu_seconds) AS cpu_seconds, max(peak_memory_bytes) AS peak_memory
    FROM {steps} WHERE day >= DATE '{since}'
    GROUP BY resource_name, run_id
)
SELECT resource_name AS workflow, count(*) AS runs, avg(ok::INTEGER) AS success_rate,
       quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms,
       sum(cpu_seconds) AS cpu_seconds, max(peak_memory) AS peak_memory_bytes
FROM per_run GROUP BY workflow ORDER BY workflow
"""
"""The same figures from the steps alone: grouping 1M rows by run first (for comparison)."""
RUNS_FROM_STEPS = """
SELECT run_id, any_value(workspace) AS workspace, 'workflow' AS resource_type,
       any_value(resource_name) AS resource_name,
       CASE WHEN bool_and(state = 'succeeded') THEN 'succeeded' ELSE 'failed' END AS state,
       min(started_ms) AS started_ms, max(ended_ms) AS ended_ms,
       max(ended_ms) - min(started_ms) AS duration_ms, any_value(run_as) AS run_as,
       'job' AS dagster_job, NULL AS error, max(recorded_ms) AS recorded_ms
FROM steps GROUP BY run_id
"""


def synthetic_steps(rng: np.random.Generator) -> pa.Table:
    """1M step rows in the history's schema, runs spread evenly over the days."""
    runs = STEPS // STEPS_PER_RUN
    run_index = np.repeat(np.arange(runs), STEPS_PER_RUN)
    start_ms = int((END - timedelta(days=DAYS)).timestamp() * 1000)
    run_start = start_ms + (np.arange(runs) * (DAYS * 86_400_000 // runs))
    step_no = np.tile(np.arange(STEPS_PER_RUN), runs)
    duration = rng.integers(100, 60_000, STEPS)
    started = run_start[run_index] + step_no * 60_000
    failed = rng.random(STEPS) < 0.03
    columns = {
        "run_id": pa.array(np.char.add("run-", run_index.astype(str))),
        "workspace": pa.array(np.array(WORKSPACES)[run_index % len(WORKSPACES)]),
        "resource_type": pa.array(["workflow"] * STEPS),
        "resource_name": pa.array(np.char.add("wf-", (run_index % WORKFLOWS).astype(str))),
        "job": pa.array(np.char.add("job-", step_no.astype(str))),
        "state": pa.array(np.where(failed, "failed", "succeeded")),
        "started_ms": pa.array(started),
        "ended_ms": pa.array(started + duration),
        "duration_ms": pa.array(duration),
        "attempts": pa.array(np.ones(STEPS, dtype=np.int64)),
        "exit_code": pa.array(np.where(failed, 1, 0)),
        "cpu_seconds": pa.array(rng.random(STEPS) * 30),
        "peak_memory_bytes": pa.array(rng.integers(10**7, 4 * 10**9, STEPS)),
        "run_as": pa.array(np.char.add("user-", (run_index % 7).astype(str))),
        "recorded_ms": pa.array(started + duration + 1000),
    }
    schema = arrow_schema("steps")
    rows = len(columns["run_id"])
    arrays = [columns.get(f.name, pa.nulls(rows, f.type)).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def synthetic_runs(steps: pa.Table) -> pa.Table:
    """One run row per run of the steps (its state failed if a step failed)."""
    con = duckdb.connect()
    con.register("steps", steps)
    runs = con.sql(RUNS_FROM_STEPS).to_arrow_table()
    con.close()
    schema = arrow_schema("runs")
    return pa.Table.from_arrays([runs[f.name].cast(f.type) for f in schema], schema=schema)


def with_day(table: pa.Table) -> pa.Table:
    utc = pa.compute.cast(table["started_ms"], pa.timestamp("ms", "UTC"))
    return table.append_column("day", pa.compute.cast(utc, pa.date32()))


def write_partitions(store: HistoryStore, kind: str, rows: pa.Table) -> int:
    """One part per day and workspace, through the store's atomic writer."""
    keyed = with_day(rows)
    written = 0
    for day in sorted(set(keyed["day"].to_pylist())):
        for workspace in WORKSPACES:
            mask = pa.compute.and_(
                pa.compute.equal(keyed["day"], day),
                pa.compute.equal(keyed["workspace"], workspace),
            )
            part = keyed.filter(mask).drop_columns(["day"])
            folder = store.partition_folder(kind, day, workspace)
            store.write_part(folder, f"part-0000000000000-{day}-{workspace}", part)
            written += 1
    return written


def timed(run: Callable[[], object]) -> float:
    run()
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def append_throughput(store: HistoryStore) -> float:
    records = [
        StepRecord(f"r{n}", "public", "workflow", "wf", "job", "succeeded",
                   1_770_000_000_000 + n, 1_770_000_000_100 + n, 100, 1, 0, 0.5, 10**8)
        for n in range(MAX_RECORDS_PER_APPEND)
    ]  # fmt: skip
    started = time.perf_counter()
    store.append("steps", records)
    return (time.perf_counter() - started) * 1000


def measure(cursor: duckdb.DuckDBPyConnection, query: str, since: str, **tables: str) -> float:
    sql = query.format(since=since, **tables)
    return timed(lambda: cursor.execute(sql).fetchall())


def main() -> None:
    print(f"Caretaker aggregates over {STEPS:,} step records (goal <= {GOAL_MS:.0f} ms)")
    steps = synthetic_steps(np.random.default_rng(7))
    runs = synthetic_runs(steps)
    baseline = duckdb.connect()
    baseline.register("steps_arrow", with_day(steps))
    baseline.register("runs_arrow", with_day(runs))
    in_memory = {"steps": "steps_arrow", "runs": "runs_arrow"}
    with tempfile.TemporaryDirectory() as folder:
        store = HistoryStore(None, home=Path(folder))
        started = time.perf_counter()
        parts = write_partitions(store, "steps", steps) + write_partitions(store, "runs", runs)
        print(f"  wrote {parts} partitions in {time.perf_counter() - started:.2f} s")
        db = Database()
        source = HistorySource(store, db)
        minerva = {}
        for kind in ("steps", "runs"):
            name = TableName("caretaker", "runs", kind)
            source.refresh(name, physical_name(name))
            minerva[kind] = physical_name(name)
        reader = {
            kind: f"read_parquet('{store.root}/{kind}/*/*/*.parquet', hive_partitioning = true,"
            " hive_types = {'day': DATE})"
            for kind in ("steps", "runs")
        }
        results: dict[str, dict[str, float]] = {}
        with db.cursor() as cursor:
            for window in (DAYS, 7):
                since = (END - timedelta(days=window)).date().isoformat()
                results[f"{window}d"] = {
                    "minerva": measure(cursor, AGGREGATE, since, **minerva),
                    "read_parquet": measure(cursor, AGGREGATE, since, **reader),
                    "baseline": measure(baseline, AGGREGATE, since, **in_memory),
                }
            since = (END - timedelta(days=DAYS)).date().isoformat()
            from_steps = measure(cursor, FROM_STEPS_ONLY, since, steps=minerva["steps"])
            from_steps_base = measure(baseline, FROM_STEPS_ONLY, since, steps="steps_arrow")
        db.close()
        append_ms = append_throughput(HistoryStore(None, home=Path(folder) / "append"))
        report(results, from_steps, from_steps_base, append_ms, runs.num_rows)
        api_aggregates(store, steps, runs, Path(folder))


def _live_store(folder: Path, steps: pa.Table, runs: pa.Table) -> Engine:
    """SQLite live tables holding the same rows (historized), plus a residue of 100 runs
    of 5 steps that only the live tables hold."""
    engine = make_engine(f"sqlite:///{folder / 'live.db'}")
    upgrade(engine)
    run_rows = runs.append_column("created_ms", runs["started_ms"])
    run_rows = run_rows.append_column("historized_ms", runs["recorded_ms"])
    residue = [
        RunRecord(f"live-{n}", "public", "workflow", f"wf-{n % WORKFLOWS}", "succeeded",
                  END_MS - 60_000, END_MS - 1000, 59_000, "user-1", "job")
        for n in range(100)
    ]  # fmt: skip
    residue_steps = [
        StepRecord(r.run_id, "public", "workflow", r.resource_name, f"job-{k}", "succeeded",
                   END_MS - 60_000, END_MS - 50_000, 10_000, 1, 0, 2.0, 10**8)
        for r in residue for k in range(STEPS_PER_RUN)
    ]  # fmt: skip
    raw = engine.raw_connection()
    try:
        for pragma in ("synchronous = OFF", "cache_size = -262144", "temp_store = MEMORY"):
            raw.cursor().execute(f"PRAGMA {pragma}")  # a benchmark's scratch file
        for table, rows in (("caretaker_runs", run_rows), ("caretaker_steps", steps)):
            names = [n for n in rows.column_names if n in schema.metadata.tables[table].c]
            marks = ", ".join("?" for _ in names)
            values = zip(*(rows[n].to_pylist() for n in names), strict=True)
            raw.cursor().executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values
            )
        raw.commit()
    finally:
        raw.close()
    record(engine, [RunBatch(r, [s for s in residue_steps if s.run_id == r.run_id])
                    for r in residue], Retention(days=3650, max_runs=10**6), )  # fmt: skip
    return engine


def api_aggregates(store: HistoryStore, steps: pa.Table, runs: pa.Table, folder: Path) -> None:
    started = time.perf_counter()
    engine = _live_store(folder, steps, runs)
    print(f"  live tables filled (1M steps, 200k runs) in {time.perf_counter() - started:.1f} s")
    since = int((END - timedelta(days=DAYS)).timestamp() * 1000)
    readable = [(ws, "workflow", f"wf-{n}")
                for ws in WORKSPACES for n in range(WORKFLOWS)]  # fmt: skip
    with engine.connect() as conn:
        for by in BY_VALUES:
            _measure_by(conn, store, by, since, readable)
    engine.dispose()


def _measure_by(
    conn: Connection, store: HistoryStore, by: By, since: int, readable: list[Resource]
) -> None:
    def served() -> object:
        return history_aggregates.aggregate(conn, store, by, since, readable)

    def route() -> object:
        present = {*live.resources_since(conn, since)}
        present |= {*history_aggregates.history_resources(store, since)}
        return history_aggregates.aggregate(conn, store, by, since, readable)

    alone, total = timed(served), timed(route)
    baseline = _once_ms(lambda: aggregate(conn, by, since, readable))
    verdict = "meets" if total <= GOAL_MS else "MISSES"
    print(
        f"  API aggregates by {by:<8} over 1M steps: {alone:.1f} ms (with finding the"
        f" Resources in the window {total:.1f} ms, {verdict} the {GOAL_MS:.0f} ms goal);"
        f" baseline, live SQLite tables: {baseline:.0f} ms ({baseline / total:.0f}x)"
    )


def _once_ms(run: Callable[[], object]) -> float:
    """The median of 3 (the baseline takes seconds)."""
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def report(
    results: dict[str, dict[str, float]],
    from_steps: float,
    from_steps_base: float,
    append_ms: float,
    runs: int,
) -> None:
    for window, found in results.items():
        base = found["baseline"]
        print(
            f"  window {window:>3}: Minerva view {found['minerva']:.1f} ms,"
            f" read_parquet {found['read_parquet']:.1f} ms, in-memory Arrow baseline"
            f" {base:.1f} ms (ratio {found['minerva'] / base:.2f}x)"
        )
    headline = results[f"{DAYS}d"]["minerva"]
    verdict = "meets" if headline <= GOAL_MS else "MISSES"
    print(
        f"  {DAYS}-day window ({runs:,} runs + {STEPS:,} steps) through Minerva:"
        f" {headline:.1f} ms, {verdict} the {GOAL_MS:.0f} ms goal"
    )
    print(
        f"  same figures from the steps alone (group by run first): {from_steps:.1f} ms"
        f" (Arrow baseline {from_steps_base:.1f} ms, ratio {from_steps / from_steps_base:.2f}x)"
    )
    print(
        f"  append of {MAX_RECORDS_PER_APPEND:,} StepRecords: {append_ms:.0f} ms"
        f" ({append_ms * 1000 / MAX_RECORDS_PER_APPEND:.1f} us per record)"
    )


if __name__ == "__main__":
    main()
