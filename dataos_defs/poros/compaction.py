"""Compaction of deleted Resources' history: an operator's command, never automatic.

Deleting a Resource keeps its whole history for audit, payloads included: every revision's
manifest (and, for secrets, the encrypted values), so a large Resource is stored at least
twice (created + deleted) for ever. Compaction replaces the payload of every revision of the
Resources deleted before a cut-off with the Resource's identity (``name``, ``version``,
``type``) and drops the secret ciphertext, keeping what the audit needs: who did what, when,
from which file, and the digest of what was applied. Each compacted revision records when
and by whom (``revisions.compacted_at``/``compacted_by``), so ``get history`` shows it.

A Resource that is live again (re-created after its delete) is not compacted: its history
is part of the Resource users work with.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataos_defs.poros import queries as q
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import ResourceRow, RevisionRow

MAX_RESOURCES = 10_000
"""Resources compacted by one call (one transaction); run the command again for more."""


@dataclass(frozen=True)
class Compaction:
    """What a compaction did (or, with ``dry_run``, would do)."""

    resources: tuple[ResourceKey, ...]
    revisions: int
    bytes_freed: int
    dry_run: bool
    more: bool
    """Whether more Resources qualify than one call compacts (:data:`MAX_RESOURCES`)."""


def identity_of(row: ResourceRow) -> dict[str, Any]:
    """What a compacted revision keeps of its manifest."""
    return {"name": row.name, "version": row.version, "type": row.kind}


def _size(revision: RevisionRow) -> int:
    manifest = json.dumps(revision.manifest, separators=(",", ":"), default=str)
    return len(manifest.encode()) + len((revision.secret_ciphertext or "").encode())


def _deleted_rows(session: Session, before: datetime, limit: int) -> Sequence[ResourceRow]:
    uncompacted = (
        select(RevisionRow.id)
        .where(RevisionRow.resource_id == ResourceRow.id, RevisionRow.compacted_at.is_(None))
        .exists()
    )
    query = (
        select(ResourceRow)
        .where(ResourceRow.status == "deleted", ResourceRow.deleted_at < before, uncompacted)
        .order_by(ResourceRow.deleted_at, ResourceRow.id)
        .limit(limit)
    )
    return session.scalars(query).all()


def _uncompacted(session: Session, rows: Sequence[ResourceRow]) -> list[RevisionRow]:
    found: list[RevisionRow] = []
    for chunk in q.chunks([row.id for row in rows]):
        query = select(RevisionRow).where(
            RevisionRow.resource_id.in_(chunk), RevisionRow.compacted_at.is_(None)
        )
        found.extend(session.scalars(query))
    return found


def compact_deleted(
    store: Store,
    *,
    deleted_before: datetime,
    actor: str,
    dry_run: bool = False,
    limit: int = MAX_RESOURCES,
) -> Compaction:
    """Compact the revisions of every Resource deleted before ``deleted_before`` (aware),
    at most ``limit`` Resources, in one transaction; ``dry_run`` changes nothing."""
    if deleted_before.tzinfo is None:
        raise ValueError("deleted_before must be an aware date-time")
    with store.writing(commit=not dry_run) as session:
        rows = _deleted_rows(session, deleted_before, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        by_id = {row.id: row for row in rows}
        revisions = _uncompacted(session, rows) if rows else []
        freed = 0
        at = q.now()
        for revision in revisions:
            row = by_id[revision.resource_id]
            kept = identity_of(row)
            freed += _size(revision) - len(json.dumps(kept, separators=(",", ":")).encode())
            if not dry_run:
                revision.manifest = kept
                revision.secret_ciphertext = None
                revision.compacted_at = at
                revision.compacted_by = actor
        touched = sorted({revision.resource_id for revision in revisions})
        keys = tuple(q.key_of(by_id[resource_id]) for resource_id in touched)
    return Compaction(keys, len(revisions), max(freed, 0), dry_run, more)
