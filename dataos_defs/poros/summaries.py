"""Resources read for listings: plain columns in one query, manifests only where needed.

Decoding every manifest and building ORM rows is most of what a listing of the whole store
costs, and a listing shows none of the manifest; the few kinds whose listing needs it (a
workflow's schedule, to tell whether it has ended) ask for it by kind.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.tables import ResourceRow, RevisionRow

COLUMNS = (
    ResourceRow.kind,
    ResourceRow.name,
    ResourceRow.workspace,
    ResourceRow.version,
    ResourceRow.status,
    ResourceRow.status_reason,
    ResourceRow.owner,
    ResourceRow.current_revision,
    ResourceRow.created_at,
    ResourceRow.updated_at,
    ResourceRow.run_as,
)
"""The columns of a Resource a listing reads (as :func:`_summary` takes them)."""


def live(
    session: Session,
    kind: str | None,
    workspace: str | None,
    name: str | None,
    manifests_of: Collection[str],
) -> list[StoredResource]:
    """The live Resources matching the filters, ordered by kind, workspace and name; the
    manifest is read for the kinds in ``manifests_of`` and empty for the others."""
    current = and_(
        RevisionRow.resource_id == ResourceRow.id,
        RevisionRow.revision == ResourceRow.current_revision,
        ResourceRow.kind.in_(list(manifests_of)),
    )
    query = select(*COLUMNS, RevisionRow.manifest).outerjoin(RevisionRow, current)
    query = query.where(ResourceRow.status != "deleted")
    for column, wanted in ((ResourceRow.kind, kind), (ResourceRow.name, name)):
        if wanted is not None:
            query = query.where(column == wanted)
    if workspace is not None:
        query = query.where(ResourceRow.workspace_key == workspace)
    query = query.order_by(ResourceRow.kind, ResourceRow.workspace_key, ResourceRow.name)
    return [_summary(row) for row in session.execute(query).all()]


def _summary(row: Sequence[Any]) -> StoredResource:
    """A row of :data:`COLUMNS`, then the manifest (``None`` when not read)."""
    kind, name, workspace, version, status, reason, owner, revision = row[:8]
    created_at, updated_at, run_as, manifest = row[8:]
    return StoredResource(
        kind=kind,
        name=name,
        workspace=workspace,
        version=version,
        status=status,
        status_reason=reason,
        owner=owner,
        revision=revision,
        manifest=manifest or {},
        created_at=created_at,
        updated_at=updated_at,
        deleted_at=None,
        run_as=run_as,
    )
