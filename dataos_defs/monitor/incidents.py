"""Incidents in the store: opened by a firing monitor, deduplicated, resolved when it clears.

A monitor has at most one open incident. While its condition keeps holding, every firing
evaluation updates that incident (``last_seen``, ``occurrences``, the latest context)
instead of opening another; the first evaluation that finds the condition cleared resolves
it. Each change is made in one transaction under the store's write lock, so two
evaluations of the same monitor at once cannot open two incidents.

Bounds: the context is kept up to :data:`MAX_CONTEXT_BYTES` of JSON (larger ones are
replaced by a marker with a preview); resolved incidents are deleted after
:data:`RETENTION_DAYS` and beyond the newest :data:`MAX_RESOLVED_PER_MONITOR` of a monitor;
listings return at most :data:`MAX_LIST` incidents.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update

from dataos_defs.monitor import db
from dataos_defs.monitor.clock import now_ms
from dataos_defs.monitor.schema import incidents, states
from dataos_defs.poros.db import write_transaction

MAX_CONTEXT_BYTES = 16 * 1024
PREVIEW_CHARS = 1000
RETENTION_DAYS = 30
MAX_RESOLVED_PER_MONITOR = 200
MAX_LIST = 500
DAY_MS = 86_400_000
MAX_ERROR_CHARS = 1000
Action = Literal["opened", "updated", "resolved"]
Outcome = Literal["firing", "clear", "error"]


@dataclass(frozen=True, order=True)
class MonitorRef:
    workspace: str
    name: str

    def __str__(self) -> str:
        return f"monitor '{self.name}' in workspace '{self.workspace}'"


@dataclass(frozen=True)
class IncidentSpec:
    """What the manifest's ``monitor.incident`` says the incident is."""

    name: str
    severity: str | None = None
    incident_type: str | None = None


@dataclass(frozen=True)
class Transition:
    """What an evaluation changed: an incident opened, updated or resolved (as answered)."""

    action: Action
    incident: dict[str, Any]


def bounded_context(context: Any) -> Any:
    """``context`` if its JSON fits :data:`MAX_CONTEXT_BYTES`, else a marker with a preview."""
    text = json.dumps(context, default=str, sort_keys=True)
    if len(text.encode()) <= MAX_CONTEXT_BYTES:
        return json.loads(text)
    return {"truncated": True, "bytes": len(text.encode()), "preview": text[:PREVIEW_CHARS]}


def as_incident(row: Row[Any]) -> dict[str, Any]:
    """An incident as the API answers it and pagers see it."""
    return {
        "id": row.id,
        "workspace": row.workspace,
        "monitor": row.monitor,
        "name": row.name,
        "severity": row.severity,
        "incidentType": row.incident_type,
        "context": row.context,
        "state": row.state,
        "firstSeen": row.first_seen,
        "lastSeen": row.last_seen,
        "resolvedAt": row.resolved_at,
        "occurrences": row.occurrences,
    }


class Incidents:
    """The incidents and monitor states of one store (migrated when opened)."""

    def __init__(self, engine: Engine, clock: Callable[[], int] = now_ms) -> None:
        self.engine = engine
        self.clock = clock

    @classmethod
    def open(cls, engine: Engine, clock: Callable[[], int] = now_ms) -> Incidents:
        db.upgrade(engine)
        return cls(engine, clock)

    # -- the condition's state -------------------------------------------------------------

    def mark_holding(self, ref: MonitorRef, holds: bool) -> int | None:
        """Record whether the monitor's condition holds now; since when it holds (None: not)."""
        at = self.clock()
        with write_transaction(self.engine) as conn:
            since = _holding_since(conn, ref)
            since = (since if since is not None else at) if holds else None
            _put_state(conn, ref, holding_since=since)
        return since

    def mark_error(self, ref: MonitorRef, reason: str) -> None:
        """The evaluation failed: remembered with its reason; incidents stay as they are."""
        with write_transaction(self.engine) as conn:
            _put_state(
                conn,
                ref,
                evaluated_at=self.clock(),
                outcome="error",
                error=reason[:MAX_ERROR_CHARS],
            )

    def state(self, ref: MonitorRef) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(states).where(*_state_key(ref))).first()
        if row is None:
            return None
        return {
            "holdingSince": row.holding_since,
            "evaluatedAt": row.evaluated_at,
            "outcome": row.outcome,
            "error": row.error,
        }

    # -- incidents -------------------------------------------------------------------------

    def settle(
        self, ref: MonitorRef, firing: bool, spec: IncidentSpec, context: Any
    ) -> Transition | None:
        """Open or update the monitor's incident when ``firing``, resolve it otherwise."""
        at = self.clock()
        with write_transaction(self.engine) as conn:
            _put_state(conn, ref, evaluated_at=at, outcome="firing" if firing else "clear")
            current = conn.execute(_open_of(ref)).first()
            if firing:
                return _fire(conn, ref, current, spec, bounded_context(context), at)
            if current is None:
                return None
            conn.execute(
                update(incidents)
                .where(incidents.c.id == current.id)
                .values(state="resolved", resolved_at=at)
            )
            _prune(conn, ref, at)
            return Transition("resolved", _get(conn, current.id))

    def resolve_orphans(self, is_live: Callable[[list[MonitorRef]], set[MonitorRef]]) -> int:
        """Resolve the open incidents of monitors that no longer exist (deleted: nothing
        evaluates them any more); how many were resolved."""
        return len(self.resolve_deleted(is_live))

    def resolve_deleted(
        self, is_live: Callable[[list[MonitorRef]], set[MonitorRef]]
    ) -> list[Transition]:
        """As :meth:`resolve_orphans`, returning each incident this call resolved (for the
        pagers): under the write lock, so two callers never both resolve, nor both report,
        the same incident."""
        with self.engine.connect() as conn:
            query = select(incidents.c.workspace, incidents.c.monitor).distinct()
            rows = conn.execute(query.where(incidents.c.state == "open").limit(MAX_LIST)).all()
        refs = [MonitorRef(row.workspace, row.monitor) for row in rows]
        live = is_live(refs) if refs else set()
        gone = [ref for ref in refs if ref not in live]
        if not gone:
            return []
        at = self.clock()
        resolved: list[Transition] = []
        with write_transaction(self.engine) as conn:
            for ref in gone:
                ids = [
                    row.id for row in conn.execute(select(incidents.c.id).where(*_open_filter(ref)))
                ]
                if not ids:
                    continue  # resolved meanwhile by another caller
                conn.execute(
                    update(incidents)
                    .where(incidents.c.id.in_(ids))
                    .values(state="resolved", resolved_at=at)
                )
                resolved += [Transition("resolved", _get(conn, i)) for i in ids]
        return resolved

    def get(self, incident_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _get(conn, incident_id)

    def listed(
        self,
        *,
        workspace: str | None = None,
        monitor: str | None = None,
        state: str | None = None,
        limit: int = MAX_LIST,
    ) -> list[dict[str, Any]]:
        """Newest first (by ``last_seen``), at most ``limit`` (capped at :data:`MAX_LIST`)."""
        query = select(incidents).order_by(incidents.c.last_seen.desc(), incidents.c.id)
        if workspace is not None:
            query = query.where(incidents.c.workspace == workspace)
        if monitor is not None:
            query = query.where(incidents.c.monitor == monitor)
        if state is not None:
            query = query.where(incidents.c.state == state)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(max(1, min(limit, MAX_LIST)))).all()
        return [as_incident(row) for row in rows]


def _state_key(ref: MonitorRef) -> tuple[Any, ...]:
    return (states.c.workspace == ref.workspace, states.c.monitor == ref.name)


def _holding_since(conn: Connection, ref: MonitorRef) -> int | None:
    found = conn.execute(select(states.c.holding_since).where(*_state_key(ref))).first()
    return found.holding_since if found is not None else None


def _put_state(conn: Connection, ref: MonitorRef, **values: Any) -> None:
    if "outcome" in values and values["outcome"] != "error":
        values["error"] = None
    exists = conn.execute(select(states.c.monitor).where(*_state_key(ref))).first()
    if exists is None:
        conn.execute(insert(states).values(workspace=ref.workspace, monitor=ref.name, **values))
    else:
        conn.execute(update(states).where(*_state_key(ref)).values(**values))


def _open_filter(ref: MonitorRef) -> tuple[Any, ...]:
    return (
        incidents.c.workspace == ref.workspace,
        incidents.c.monitor == ref.name,
        incidents.c.state == "open",
    )


def _open_of(ref: MonitorRef) -> Any:
    return select(incidents).where(*_open_filter(ref))


def _fire(
    conn: Connection,
    ref: MonitorRef,
    current: Row[Any] | None,
    spec: IncidentSpec,
    context: Any,
    at: int,
) -> Transition:
    if current is not None:
        conn.execute(
            update(incidents)
            .where(incidents.c.id == current.id)
            .values(last_seen=at, occurrences=current.occurrences + 1, context=context)
        )
        return Transition("updated", _get(conn, current.id))
    incident_id = str(uuid.uuid4())
    conn.execute(
        insert(incidents).values(
            id=incident_id,
            workspace=ref.workspace,
            monitor=ref.name,
            name=spec.name,
            severity=spec.severity,
            incident_type=spec.incident_type,
            context=context,
            state="open",
            first_seen=at,
            last_seen=at,
            resolved_at=None,
            occurrences=1,
        )
    )
    return Transition("opened", _get(conn, incident_id))


def _get(conn: Connection, incident_id: str) -> dict[str, Any]:
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
    return as_incident(row) if row is not None else {}


def _prune(conn: Connection, ref: MonitorRef, at: int) -> None:
    """Delete resolved incidents past the retention, and a monitor's beyond its newest."""
    conn.execute(
        delete(incidents).where(
            incidents.c.state == "resolved",
            incidents.c.resolved_at < at - RETENTION_DAYS * DAY_MS,
        )
    )
    keep = (
        select(incidents.c.id)
        .where(
            incidents.c.workspace == ref.workspace,
            incidents.c.monitor == ref.name,
            incidents.c.state == "resolved",
        )
        .order_by(incidents.c.resolved_at.desc(), incidents.c.id)
        .limit(MAX_RESOLVED_PER_MONITOR)
    )
    kept = [row.id for row in conn.execute(keep)]
    conn.execute(
        delete(incidents).where(
            incidents.c.workspace == ref.workspace,
            incidents.c.monitor == ref.name,
            incidents.c.state == "resolved",
            incidents.c.id.not_in(kept),
        )
    )
