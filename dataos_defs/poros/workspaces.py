"""Workspaces: the namespaces of workspace-level Resources. ``public`` always exists."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataos_defs.manifest.base import DEFAULT_WORKSPACE, MAX_NAME_LENGTH, RESOURCE_NAME
from dataos_defs.poros.errors import (
    InvalidRequest,
    ProtectedWorkspace,
    WorkspaceExists,
    WorkspaceNotEmpty,
    WorkspaceNotFound,
)
from dataos_defs.poros.queries import key_of
from dataos_defs.poros.records import Workspace
from dataos_defs.poros.tables import ResourceRow, WorkspaceRow

PROTECTED = frozenset({DEFAULT_WORKSPACE})
RESERVED_PATH_SEGMENTS = frozenset(
    {
        "api",
        "caretaker",
        "catalog",
        "dagster",
        "docs",
        "favicon.ico",
        "health",
        "heimdall",
        "login",
        "logout",
        "metis",
        "monitor",
        "openapi.json",
        "operations",
        "poros",
        "redoc",
        "static",
        "v1",
        "workbench",
        "ws",
    }
)
"""First path segments of the API server's own routes and pages. The Services ingress
serves ``/<workspace>/<service>/...`` after every platform route, so a workspace of one
of these names could never be reached (or, if the order changed, would shadow a platform
route): no workspace may take one (:func:`create`, :mod:`dataos_defs.api.ingress`)."""


def to_workspace(row: WorkspaceRow) -> Workspace:
    return Workspace(row.name, row.description, list(row.tags), row.created_at, row.created_by)


def live_names(session: Session, names: Iterable[str]) -> set[str]:
    query = select(WorkspaceRow.name).where(
        WorkspaceRow.name.in_(sorted(set(names))), WorkspaceRow.deleted_at.is_(None)
    )
    return set(session.scalars(query))


def get(session: Session, name: str) -> Workspace | None:
    row = session.get(WorkspaceRow, name)
    return to_workspace(row) if row is not None and row.deleted_at is None else None


def list_live(session: Session) -> list[Workspace]:
    query = (
        select(WorkspaceRow).where(WorkspaceRow.deleted_at.is_(None)).order_by(WorkspaceRow.name)
    )
    return [to_workspace(row) for row in session.scalars(query)]


def create(
    session: Session,
    name: str,
    description: str | None,
    tags: list[str],
    actor: str,
    at: datetime,
) -> Workspace:
    """Create ``name``; a deleted workspace of that name comes back as a new one."""
    if len(name) > MAX_NAME_LENGTH or not RESOURCE_NAME.match(name):
        raise InvalidRequest(
            f"'{name}' is not a valid workspace name",
            f"lower-case letters, digits and '-', at most {MAX_NAME_LENGTH} characters",
        )
    if name in RESERVED_PATH_SEGMENTS:
        raise InvalidRequest(
            f"the workspace name '{name}' is reserved: /{name}/ is a route of the platform",
            "choose another name; Services of a workspace are served at /<workspace>/...",
        )
    row = session.get(WorkspaceRow, name)
    if row is not None and row.deleted_at is None:
        raise WorkspaceExists(name)
    if row is None:
        row = WorkspaceRow(name=name)
        session.add(row)
    row.description, row.tags, row.created_at, row.created_by = description, tags, at, actor
    row.deleted_at = None
    session.flush()
    return to_workspace(row)


def prepare_delete(session: Session, name: str, force: bool) -> list[ResourceRow]:
    """Check that ``name`` may be deleted; the live Resources that go with it."""
    if name in PROTECTED:
        raise ProtectedWorkspace(name)
    row = session.get(WorkspaceRow, name)
    if row is None or row.deleted_at is not None:
        raise WorkspaceNotFound(name)
    query = (
        select(ResourceRow)
        .where(ResourceRow.workspace == name, ResourceRow.status != "deleted")
        .order_by(ResourceRow.kind, ResourceRow.name)
    )
    rows = list(session.scalars(query))
    if rows and not force:
        raise WorkspaceNotEmpty(name, [key_of(r) for r in rows])
    return rows


def mark_deleted(session: Session, name: str, at: datetime) -> None:
    row = session.get(WorkspaceRow, name)
    if row is not None:
        row.deleted_at = at
