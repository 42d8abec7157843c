"""Reads of Caretaker's live state: latest runs, a run's steps, running nodes, failures.

Each read is bounded (``MAX_ROWS``) and returns records; which of them a caller may see is
decided by the API (``dataos_defs.api.caretaker_routes``), which asks first for the
Resources in question (:func:`resources_since`) so that aggregates are made of visible
runs only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.records import (
    LIVE_PROCESS_STATES,
    ProcessRecord,
    RunRecord,
    StepRecord,
    column_names,
)

MAX_ROWS = 1000
MAX_RESOURCES = 5000
Resource = tuple[str, str, str]


def _runs(rows: Any) -> list[RunRecord]:
    names = column_names(RunRecord)
    return [RunRecord(**{n: row._mapping[n] for n in names}) for row in rows]


def _steps(rows: Any) -> list[StepRecord]:
    names = column_names(StepRecord)
    return [StepRecord(**{n: row._mapping[n] for n in names}) for row in rows]


def latest_runs(
    conn: Connection, last: int, resource: Resource | None = None, workspace: str | None = None
) -> list[RunRecord]:
    """The ``last`` runs (newest first) of one Resource, of a workspace, or of all."""
    runs = schema.runs.c
    query = select(schema.runs).order_by(runs.created_ms.desc()).limit(min(last, MAX_ROWS))
    if resource is not None:
        workspace_, kind, name = resource
        query = query.where(
            runs.workspace == workspace_, runs.resource_type == kind, runs.resource_name == name
        )
    elif workspace is not None:
        query = query.where(runs.workspace == workspace)
    return _runs(conn.execute(query))


def run(conn: Connection, run_id: str) -> RunRecord | None:
    found = _runs(conn.execute(select(schema.runs).where(schema.runs.c.run_id == run_id)))
    return found[0] if found else None


def steps_of(conn: Connection, run_id: str) -> list[StepRecord]:
    steps = schema.steps.c
    query = select(schema.steps).where(steps.run_id == run_id)
    return _steps(conn.execute(query.order_by(steps.started_ms, steps.job).limit(MAX_ROWS)))


def running_steps(conn: Connection) -> list[StepRecord]:
    """Steps running now (in runs that have not finished)."""
    steps, runs = schema.steps.c, schema.runs.c
    query = (
        select(schema.steps)
        .join(schema.runs, runs.run_id == steps.run_id)
        .where(steps.state == "running", runs.state.in_(("starting", "running")))
        .order_by(steps.started_ms)
        .limit(MAX_ROWS)
    )
    return _steps(conn.execute(query))


def _processes(rows: Any) -> list[ProcessRecord]:
    names = column_names(ProcessRecord)
    return [ProcessRecord(**{n: row._mapping[n] for n in names}) for row in rows]


def running_processes(conn: Connection) -> list[ProcessRecord]:
    """Pods and replicas that run now (or are about to, or restart)."""
    procs = schema.processes.c
    query = select(schema.processes).where(procs.state.in_(LIVE_PROCESS_STATES))
    return _processes(conn.execute(query.order_by(procs.started_ms).limit(MAX_ROWS)))


def processes_of(conn: Connection, resource: Resource) -> list[ProcessRecord]:
    """The processes recorded for one Resource (a Service's replicas), by node."""
    procs = schema.processes.c
    workspace, kind, name = resource
    query = select(schema.processes).where(
        procs.workspace == workspace, procs.resource_type == kind, procs.resource_name == name
    )
    return _processes(conn.execute(query.order_by(procs.node).limit(MAX_ROWS)))


def process_events(conn: Connection, resource: Resource, last: int) -> list[ProcessRecord]:
    """The last ``last`` states one Resource's processes entered, newest first: each the
    process' record at that moment (``changed_ms`` is when; ``get runtime --last N`` of a
    Service or Worker)."""
    events = schema.process_events.c
    workspace, kind, name = resource
    query = (
        select(schema.process_events)
        .where(
            events.workspace == workspace,
            events.resource_type == kind,
            events.resource_name == name,
        )
        .order_by(events.at_ms.desc(), events.node)
        .limit(min(last, MAX_ROWS))
    )
    return _processes(conn.execute(query))


def failures_since(conn: Connection, since_ms: int) -> list[RunRecord]:
    """Failed runs that ended (or, unended, were created) since ``since_ms``, newest first."""
    runs = schema.runs.c
    recent = or_(
        runs.ended_ms >= since_ms, and_(runs.ended_ms.is_(None), runs.created_ms >= since_ms)
    )
    query = select(schema.runs).where(runs.state == "failed", recent)
    return _runs(conn.execute(query.order_by(runs.created_ms.desc()).limit(MAX_ROWS)))


def resources_since(conn: Connection, since_ms: int) -> list[Resource]:
    """The Resources with runs that overlap the time since ``since_ms`` (created, ended or
    still going since), so every step started since belongs to one of them (at most
    ``MAX_RESOURCES``)."""
    runs = schema.runs.c
    overlapping = or_(
        runs.created_ms >= since_ms, runs.ended_ms >= since_ms, runs.ended_ms.is_(None)
    )
    query = (
        select(runs.workspace, runs.resource_type, runs.resource_name)
        .where(overlapping)
        .distinct()
        .limit(MAX_RESOURCES)
    )
    return [(r[0], r[1], r[2]) for r in conn.execute(query)]


def failed_steps(conn: Connection, run_ids: Sequence[str]) -> dict[str, list[StepRecord]]:
    if not run_ids:
        return {}
    steps = schema.steps.c
    query = select(schema.steps).where(steps.run_id.in_(list(run_ids)), steps.state == "failed")
    found: dict[str, list[StepRecord]] = {}
    for step in _steps(conn.execute(query)):
        found.setdefault(step.run_id, []).append(step)
    return found
