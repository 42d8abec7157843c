"""Session-level writes shared by the store's operations: stage, link, delete."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from dataos_defs.manifest.workflow import runs_once_when_applied
from dataos_defs.poros import outbox
from dataos_defs.poros import queries as q
from dataos_defs.poros.errors import WriterConflict
from dataos_defs.poros.records import ApplyItem, ResourceKey, Revision
from dataos_defs.poros.tables import DatasetWriterRow, ReferenceRow, ResourceRow, RevisionRow


def stage(
    session: Session,
    row: ResourceRow | None,
    item: ApplyItem,
    actor: str,
    digest: str,
    at: datetime,
) -> ResourceRow:
    """Create or update the row of ``item``; a deleted Resource starts a new life."""
    if row is None:
        row = ResourceRow(
            kind=item.key.kind,
            name=item.key.name,
            workspace=item.key.workspace,
            workspace_key=item.key.workspace_key,
            current_revision=0,
            created_at=at,
        )
        session.add(row)
    elif row.status == "deleted":
        row.created_at, row.deleted_at = at, None
    row.version = item.version
    row.status, row.status_reason = item.initial_status, None
    row.owner = item.owner or actor
    row.run_as = item.run_as
    row.digest, row.updated_at = digest, at
    row.current_revision += 1
    return row


def unlink(session: Session, ids: Sequence[int]) -> None:
    for part in q.chunks(ids):
        session.execute(delete(ReferenceRow).where(ReferenceRow.from_resource_id.in_(part)))
        session.execute(delete(DatasetWriterRow).where(DatasetWriterRow.resource_id.in_(part)))


def replace_links(session: Session, changed: Sequence[tuple[ApplyItem, ResourceRow]]) -> None:
    """Store what each changed Resource references and writes, replacing what it had."""
    unlink(session, [row.id for _, row in changed])
    references = sorted(
        {
            (row.id, ref.kind, ref.workspace_key, ref.name)
            for item, row in changed
            for ref in item.references
        }
    )
    if references:
        session.execute(
            insert(ReferenceRow),
            [
                {"from_resource_id": i, "to_kind": k, "to_workspace_key": w, "to_name": n}
                for i, k, w, n in references
            ],
        )
    writers: dict[str, ResourceRow] = {}
    for item, row in changed:
        for dataset in item.produced_datasets:
            if writers.setdefault(dataset, row) is not row:
                raise WriterConflict(dataset, q.key_of(writers[dataset]))
    for dataset, key in q.dataset_writers(session, list(writers)).items():
        raise WriterConflict(dataset, key)
    if writers:
        session.execute(
            insert(DatasetWriterRow),
            [{"dataset": d, "resource_id": row.id} for d, row in writers.items()],
        )


def record_runs(
    session: Session, changed: Sequence[tuple[ApplyItem, ResourceRow]], at: datetime
) -> None:
    """Workflows without a schedule that were created or changed run once: record that in
    the apply's transaction (the outbox); one that gained a schedule no longer waits."""
    workflows = [(item, row) for item, row in changed if item.key.kind == "workflow"]
    once = [row for item, row in workflows if runs_once_when_applied(item.manifest)]
    outbox.enqueue(session, once, at)
    outbox.drop(session, [row.id for _, row in workflows if row not in once])


def dependents_first(session: Session, rows: Sequence[ResourceRow]) -> list[ResourceRow]:
    """``rows`` ordered so that each comes before every one of them it references (reverse
    dependency order, as a delete goes); ties keep the given order."""
    by_key = {q.key_of(row): row for row in rows}
    ids = {row.id: row for row in rows}
    needs: dict[int, set[int]] = {row.id: set() for row in rows}
    for part in q.chunks(list(ids)):
        query = select(ReferenceRow).where(ReferenceRow.from_resource_id.in_(part))
        for ref in session.scalars(query):
            target = by_key.get(ResourceKey(ref.to_kind, ref.to_name, ref.to_workspace_key or None))
            if target is not None and target.id != ref.from_resource_id:
                needs[target.id].add(ref.from_resource_id)
    order: list[ResourceRow] = []
    placed: set[int] = set()
    while len(order) < len(rows):
        ready = [r for r in rows if r.id not in placed and needs[r.id] <= placed]
        for row in ready or [next(r for r in rows if r.id not in placed)]:
            order.append(row)
            placed.add(row.id)
    return order


def delete_rows(session: Session, rows: Sequence[ResourceRow], actor: str) -> list[Revision]:
    """Mark ``rows`` deleted, record a ``deleted`` revision for each, drop their links."""
    if not rows:
        return []
    at = q.now()
    current = q.current_revisions(session, rows)
    records = []
    for row in rows:
        row.status, row.status_reason = "deleted", None
        row.deleted_at = row.updated_at = at
        row.current_revision += 1
        records.append(
            RevisionRow(
                resource_id=row.id,
                revision=row.current_revision,
                action="deleted",
                version=row.version,
                manifest=current[row.id].manifest,
                secret_ciphertext=None,
                digest=row.digest,
                applied_by=actor,
                applied_at=at,
                source_file=None,
            )
        )
    session.add_all(records)
    unlink(session, [row.id for row in rows])
    outbox.drop(session, [row.id for row in rows])
    session.flush()
    return [q.to_revision(r) for r in records]
