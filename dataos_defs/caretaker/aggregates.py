"""Aggregates over a window of the live tables: per workflow, per job, or per Compute.

For each group: how many finished runs (steps, for jobs and Computes), how many succeeded
and the success rate, the p50 and p95 duration, the CPU seconds spent and the highest peak
memory of a step. One SQL statement per aggregate on SQLite and PostgreSQL alike:
percentiles are nearest-rank (the ``ceil(p * n)``-th smallest duration), found with
``ROW_NUMBER()`` over each group, since neither ``percentile_cont`` nor ``ceil`` exists on
both.

Only the Resources a caller may read are aggregated (``resources``): a Compute's figures
are those of the caller's visible runs only, never a total that includes others' runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, literal, select, tuple_

from dataos_defs.caretaker import schema

By = Literal["workflow", "job", "compute"]
BY_VALUES: tuple[By, ...] = ("workflow", "job", "compute")
MAX_WINDOW_MS = 90 * 86_400_000
_WINDOW = re.compile(r"^(\d{1,4})([mhd])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
FINISHED = ("succeeded", "failed", "canceled")
Resource = tuple[str, str, str]


class WindowError(ValueError):
    """A window that is not ``<n>m``, ``<n>h`` or ``<n>d`` of at most 90 days."""


def window_ms(text: str) -> int:
    """``30m``, ``24h`` or ``7d`` in milliseconds, at most 90 days.

    >>> window_ms("7d")
    604800000
    """
    found = _WINDOW.match(text.strip())
    if not found or int(found.group(1)) < 1:
        raise WindowError(f"window '{text}' is not <n>m, <n>h or <n>d (e.g. 7d)")
    value = int(found.group(1)) * _UNIT_MS[found.group(2)]
    if value > MAX_WINDOW_MS:
        raise WindowError(f"window '{text}' is longer than 90d, the longest kept live")
    return value


@dataclass(frozen=True)
class Aggregate:
    group: dict[str, str | None]
    runs: int
    succeeded: int
    success_rate: float | None
    p50_duration_ms: int | None
    p95_duration_ms: int | None
    cpu_seconds: float | None
    peak_memory_bytes: int | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.group, **{k: v for k, v in self.__dict__.items() if k != "group"}}


def _of(table: Any, resources: Sequence[Resource]) -> ColumnElement[bool]:
    if not resources:
        return false()
    columns = tuple_(table.c.workspace, table.c.resource_type, table.c.resource_name)
    return columns.in_([tuple(r) for r in resources])


def _percentile_rank(p: int, n: Any) -> Any:
    """The nearest rank ``ceil(p/100 * n)`` in integer arithmetic (portable)."""
    return (literal(p) * n + 99) // 100


def aggregate(
    conn: Connection,
    by: By,
    since_ms: int,
    resources: Sequence[Resource],
    every: bool = False,
) -> list[Aggregate]:
    """Aggregates of the finished runs (``workflow``) or steps (``job``, ``compute``)
    started since ``since_ms``, of ``resources`` only (``every``: they are all there are in
    the window, so no filter is needed)."""
    table = schema.runs if by == "workflow" else schema.steps
    keys = _keys(by, table)
    start = table.c.created_ms if by == "workflow" else table.c.started_ms
    where = and_(start >= since_ms, table.c.state.in_(FINISHED))
    if not every:
        where = and_(where, _of(table, resources))
    ranked = select(
        *keys,
        table.c.state,
        table.c.duration_ms,
        func.row_number()
        .over(partition_by=keys, order_by=table.c.duration_ms.asc().nulls_last())
        .label("rn"),
        func.count(table.c.duration_ms).over(partition_by=keys).label("n"),
        *([] if by == "workflow" else [table.c.cpu_seconds, table.c.peak_memory_bytes]),
    ).where(where)
    r = ranked.cte("ranked")
    group = [r.c[k.name] for k in keys]
    costs = (
        []
        if by == "workflow"
        else [func.sum(r.c.cpu_seconds).label("cpu"), func.max(r.c.peak_memory_bytes).label("peak")]
    )
    query = select(
        *group,
        func.count().label("runs"),
        func.sum(case((r.c.state == "succeeded", 1), else_=0)).label("succeeded"),
        func.max(case((r.c.rn == _percentile_rank(50, r.c.n), r.c.duration_ms))).label("p50"),
        func.max(case((r.c.rn == _percentile_rank(95, r.c.n), r.c.duration_ms))).label("p95"),
        *costs,
    ).group_by(*group)
    names = [k.name for k in keys]
    rows = [dict(row._mapping) for row in conn.execute(query)]
    if by == "workflow":
        _add_workflow_costs(conn, rows, since_ms, resources, every)
    return [aggregate_of(row, names) for row in rows]


def _keys(by: By, table: Any) -> list[Any]:
    if by == "workflow":
        return [table.c.workspace, table.c.resource_type, table.c.resource_name]
    if by == "job":
        return [table.c.workspace, table.c.resource_name, table.c.job]
    return [table.c.compute]


def _add_workflow_costs(
    conn: Connection,
    rows: list[dict[str, Any]],
    since_ms: int,
    resources: Sequence[Resource],
    every: bool,
) -> None:
    """A workflow's CPU seconds and peak memory: those of its steps in the window (one
    grouped pass over the steps, rather than one lookup per run)."""
    steps = schema.steps
    keys = _keys("workflow", steps)
    where = and_(steps.c.started_ms >= since_ms, steps.c.state.in_(FINISHED))
    if not every:
        where = and_(where, _of(steps, resources))
    query = select(
        *keys,
        func.sum(steps.c.cpu_seconds).label("cpu"),
        func.max(steps.c.peak_memory_bytes).label("peak"),
    ).where(where)
    costs = {
        (c.workspace, c.resource_type, c.resource_name): c
        for c in conn.execute(query.group_by(*keys))
    }
    for row in rows:
        found = costs.get((row["workspace"], row["resource_type"], row["resource_name"]))
        row["cpu"], row["peak"] = (found.cpu, found.peak) if found is not None else (None, None)


def aggregate_of(row: Any, keys: list[str]) -> Aggregate:
    runs, succeeded = int(row["runs"]), int(row["succeeded"] or 0)
    cpu = row["cpu"]
    return Aggregate(
        group={k: row[k] for k in keys},
        runs=runs,
        succeeded=succeeded,
        success_rate=round(succeeded / runs, 4) if runs else None,
        p50_duration_ms=_int(row["p50"]),
        p95_duration_ms=_int(row["p95"]),
        cpu_seconds=round(float(cpu), 3) if cpu is not None else None,
        peak_memory_bytes=_int(row["peak"]),
    )


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None
