"""The run outbox: workflows without a schedule wait here to run once.

An apply that creates or changes such a workflow records the intent in its own transaction
(:func:`enqueue`), so the intent survives a crash between the commit and Dagster.
Reconciliation drains it: an entry is removed only once Dagster accepted the launch
(:func:`done`); a failure keeps it with the reason and one more attempt (:func:`failed`).
A process claims an entry before launching it (:func:`claim`), so two API server workers
reconciling at once launch it once. Delivery is at least once: a crash after Dagster
accepted the launch and before the entry is removed launches the workflow again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from dataos_defs.poros import queries as q
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.tables import ResourceRow, RunOutboxRow


@dataclass(frozen=True)
class OutboxEntry:
    """A workflow waiting to run once, at the revision that asked for it."""

    key: ResourceKey
    revision: int
    created_at: datetime
    attempts: int
    last_error: str | None


def enqueue(session: Session, rows: Sequence[ResourceRow], at: datetime) -> None:
    """Record the runs asked for by ``rows``, replacing any entry of an older revision."""
    drop(session, [row.id for row in rows])
    if rows:
        session.execute(
            insert(RunOutboxRow),
            [
                {"resource_id": row.id, "revision": row.current_revision, "created_at": at}
                | {"attempts": 0, "last_error": None, "last_attempt_at": None}
                | {"claimed_until": None}
                for row in rows
            ],
        )


def drop(session: Session, resource_ids: Sequence[int]) -> None:
    """Forget the runs of Resources that are deleted or no longer run once."""
    for part in q.chunks(resource_ids):
        session.execute(delete(RunOutboxRow).where(RunOutboxRow.resource_id.in_(part)))


def pending(session: Session) -> list[OutboxEntry]:
    """Every entry of a live Resource, oldest first."""
    query = (
        select(RunOutboxRow, ResourceRow)
        .join(ResourceRow, RunOutboxRow.resource_id == ResourceRow.id)
        .where(ResourceRow.status != "deleted")
        .order_by(RunOutboxRow.created_at, RunOutboxRow.resource_id)
    )
    return [
        OutboxEntry(
            q.key_of(row), entry.revision, entry.created_at, entry.attempts, entry.last_error
        )
        for entry, row in session.execute(query)
    ]


def _entry_of(key: ResourceKey, revision: int) -> Any:
    owner = select(ResourceRow.id).where(q.key_in([key])).scalar_subquery()
    return (RunOutboxRow.resource_id == owner) & (RunOutboxRow.revision == revision)


def claim(session: Session, key: ResourceKey, revision: int, at: datetime, until: datetime) -> bool:
    """Take the entry to launch its run, unless another process holds it (until its claim
    lapses: a process killed while launching leaves one behind)."""
    free = (RunOutboxRow.claimed_until.is_(None)) | (RunOutboxRow.claimed_until < at)
    result = session.execute(
        update(RunOutboxRow).where(_entry_of(key, revision) & free).values(claimed_until=until)
    )
    return bool(getattr(result, "rowcount", 0))


def done(session: Session, key: ResourceKey, revision: int) -> bool:
    """Remove the entry once its run was launched; False when a newer apply replaced it."""
    result = session.execute(delete(RunOutboxRow).where(_entry_of(key, revision)))
    return bool(getattr(result, "rowcount", 0))


def failed(session: Session, key: ResourceKey, revision: int, reason: str, at: datetime) -> None:
    """Keep the entry, with why the launch failed and one more attempt counted."""
    session.execute(
        update(RunOutboxRow)
        .where(_entry_of(key, revision))
        .values(
            attempts=RunOutboxRow.attempts + 1,
            last_error=reason,
            last_attempt_at=at,
            claimed_until=None,
        )
    )
