"""Resources read for listings: plain columns in one query, manifests only where needed.

Decoding every manifest and building ORM rows is most of what a listing of the whole store
costs, and a listing shows little of the manifest: its ``tags`` (``get --tags``), extracted
by the database (``manifest -> 'tags'``) so that only they are decoded here; the few kinds
whose listing needs more (a workflow's schedule, to tell whether it has ended) ask for the
whole manifest by kind.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, null, select
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
MAX_LISTED_TAGS = 64
"""Tags a listing carries per Resource (the manifest keeps them all)."""


@dataclass(frozen=True)
class ListedResource(StoredResource):
    """A Resource as listed: its manifest's ``tags`` besides the stored columns."""

    tags: tuple[str, ...] = ()


def manifest_tags(manifest: Any) -> tuple[str, ...]:
    """The ``tags`` of a manifest (or the value found under ``tags``): strings only, at
    most :data:`MAX_LISTED_TAGS`."""
    tags = manifest.get("tags") if isinstance(manifest, dict) else manifest
    if not isinstance(tags, list):
        return ()
    return tuple(tag for tag in tags if isinstance(tag, str))[:MAX_LISTED_TAGS]


def live(
    session: Session,
    kind: str | None,
    workspace: str | None,
    name: str | None,
    manifests_of: Collection[str],
    tags: bool = False,
) -> list[StoredResource]:
    """The live Resources matching the filters, ordered by kind, workspace and name; the
    manifest is read for the kinds in ``manifests_of`` and empty for the others. With
    ``tags`` each carries its manifest's tags, which costs reading every current revision
    (a listing without them reads the revisions of ``manifests_of`` only)."""
    current = [
        RevisionRow.resource_id == ResourceRow.id,
        RevisionRow.revision == ResourceRow.current_revision,
    ]
    full = ResourceRow.kind.in_(list(manifests_of))
    columns: tuple[Any, ...]
    if tags:
        columns = (*COLUMNS, RevisionRow.manifest["tags"], case((full, RevisionRow.manifest)))
    else:
        current.append(full)
        columns = (*COLUMNS, null(), RevisionRow.manifest)
    query = select(*columns).outerjoin(RevisionRow, and_(*current))
    query = query.where(ResourceRow.status != "deleted")
    for column, wanted in ((ResourceRow.kind, kind), (ResourceRow.name, name)):
        if wanted is not None:
            query = query.where(column == wanted)
    if workspace is not None:
        query = query.where(ResourceRow.workspace_key == workspace)
    query = query.order_by(ResourceRow.kind, ResourceRow.workspace_key, ResourceRow.name)
    return [_summary(row, tags) for row in session.execute(query).all()]


def _summary(row: Sequence[Any], tags: bool) -> StoredResource:
    """A row of :data:`COLUMNS`, then the tags and the manifest (``None`` when not read):
    a :class:`ListedResource` when the tags were read, a plain Resource otherwise."""
    kind, name, workspace, version, status, reason, owner, revision = row[:8]
    created_at, updated_at, run_as, listed, manifest = row[8:]
    resource = StoredResource(
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
    if tags:
        return ListedResource(**resource.__dict__, tags=manifest_tags(listed))
    return resource
