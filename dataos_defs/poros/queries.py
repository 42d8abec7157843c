"""Session-level reads shared by the store's operations (bulk, chunked, no N+1)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Literal, TypeVar, cast

from sqlalchemy import ColumnElement, Select, and_, select, tuple_
from sqlalchemy.orm import Session

from dataos_defs.poros.records import ResourceKey, Revision
from dataos_defs.poros.tables import DatasetWriterRow, ReferenceRow, ResourceRow, RevisionRow

# Bound parameters per IN list stay far below SQLite's limit (32,766) and PostgreSQL's.
CHUNK = 500
T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def key_of(row: ResourceRow) -> ResourceKey:
    return ResourceKey(row.kind, row.name, row.workspace)


def key_in(keys: Sequence[ResourceKey]) -> ColumnElement[bool]:
    columns = tuple_(ResourceRow.kind, ResourceRow.workspace_key, ResourceRow.name)
    return columns.in_([(k.kind, k.workspace_key, k.name) for k in keys])


def rows_by_key(session: Session, keys: Sequence[ResourceKey]) -> dict[ResourceKey, ResourceRow]:
    """The rows of ``keys`` that exist, deleted ones included."""
    rows: dict[ResourceKey, ResourceRow] = {}
    for part in chunks(keys):
        for row in session.scalars(select(ResourceRow).where(key_in(part))):
            rows[key_of(row)] = row
    return rows


def current_revisions(session: Session, rows: Sequence[ResourceRow]) -> dict[int, RevisionRow]:
    """The latest revision of each row, by resource id."""
    found: dict[int, RevisionRow] = {}
    for part in chunks(rows):
        pairs = [(r.id, r.current_revision) for r in part]
        query = select(RevisionRow).where(
            tuple_(RevisionRow.resource_id, RevisionRow.revision).in_(pairs)
        )
        found.update((rev.resource_id, rev) for rev in session.scalars(query))
    return found


def dependents(session: Session, key: ResourceKey, own_id: int | None) -> list[ResourceKey]:
    """Live Resources (other than the target itself) that reference ``key``."""
    query = (
        select(ResourceRow)
        .join(ReferenceRow, ReferenceRow.from_resource_id == ResourceRow.id)
        .where(
            ReferenceRow.to_kind == key.kind,
            ReferenceRow.to_workspace_key == key.workspace_key,
            ReferenceRow.to_name == key.name,
            ResourceRow.status != "deleted",
        )
    )
    if own_id is not None:
        query = query.where(ResourceRow.id != own_id)
    return sorted({key_of(r) for r in session.scalars(query)})


def dataset_writers(session: Session, datasets: Sequence[str]) -> dict[str, ResourceKey]:
    found: dict[str, ResourceKey] = {}
    for part in chunks(sorted(set(datasets))):
        query = (
            select(DatasetWriterRow.dataset, ResourceRow)
            .join(ResourceRow, DatasetWriterRow.resource_id == ResourceRow.id)
            .where(DatasetWriterRow.dataset.in_(part))
        )
        found.update((d, key_of(r)) for d, r in session.execute(query))
    return found


def with_current_revision() -> Select[ResourceRow, RevisionRow]:
    return select(ResourceRow, RevisionRow).join(
        RevisionRow,
        and_(
            RevisionRow.resource_id == ResourceRow.id,
            RevisionRow.revision == ResourceRow.current_revision,
        ),
    )


def to_revision(row: RevisionRow) -> Revision:
    action = cast(Literal["created", "updated", "deleted"], row.action)
    return Revision(
        revision=row.revision,
        action=action,
        version=row.version,
        manifest=row.manifest,
        digest=row.digest,
        applied_by=row.applied_by,
        applied_at=row.applied_at,
        source_file=row.source_file,
        compacted_at=row.compacted_at,
    )
