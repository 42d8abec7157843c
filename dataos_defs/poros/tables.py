"""The store's tables. The migrations in ``migrations/versions`` create exactly these
(a test compares them), so change both together.

Instance-level Resources have ``workspace`` NULL; uniqueness and references use
``workspace_key`` ('' for instance level) because NULLs never compare equal in a unique
constraint on either SQLite or PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Plain JSON, not JSONB, on PostgreSQL too: JSONB reorders keys, and a manifest should come
# back in the order its author wrote it.
Json = JSON()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json, list[str]: Json}


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    deleted_at: Mapped[datetime | None]


class ResourceRow(Base):
    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("kind", "workspace_key", "name"),
        CheckConstraint("workspace_key = coalesce(workspace, '')", name="workspace_key"),
        CheckConstraint("status in ('pending', 'active', 'error', 'deleted')", name="status"),
        Index(None, "workspace_key", "kind"),
        Index(None, "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str | None] = mapped_column(String(64), ForeignKey("workspaces.name"))
    workspace_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(255))
    run_as: Mapped[str | None] = mapped_column(String(255))
    """The user the Resource's runs act as, admitted at apply (runnable types only)."""
    current_revision: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class RevisionRow(Base):
    """Append-only: rows are inserted, never deleted; the only update is an operator's
    compaction of a deleted Resource's payloads (``poros.compaction``)."""

    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("resource_id", "revision"),
        CheckConstraint("action in ('created', 'updated', 'deleted')", name="action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    revision: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    manifest: Mapped[dict[str, Any]]
    secret_ciphertext: Mapped[str | None] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    applied_by: Mapped[str] = mapped_column(String(255))
    applied_at: Mapped[datetime]
    source_file: Mapped[str | None] = mapped_column(Text)
    compacted_at: Mapped[datetime | None]
    """Set when an operator compacted the payload of a deleted Resource (``poros.compaction``):
    the manifest is then only its identity and the secret is gone; the rest is kept."""
    compacted_by: Mapped[str | None] = mapped_column(String(255))


class ReferenceRow(Base):
    """What a live Resource needs; read backwards to find the dependents of a target."""

    __tablename__ = "resource_references"
    __table_args__ = (Index(None, "to_kind", "to_workspace_key", "to_name"),)

    from_resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    to_kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    to_workspace_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    to_name: Mapped[str] = mapped_column(String(255), primary_key=True)


class DatasetWriterRow(Base):
    """The one-writer rule, enforced by the primary key: one live writer per dataset."""

    __tablename__ = "dataset_writers"
    __table_args__ = (Index(None, "resource_id"),)

    dataset: Mapped[str] = mapped_column(String(1024), primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))


class UserRow(Base):
    """A Heimdall user: a person or an application. Deleted users keep their row (audit)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("type in ('person', 'application')", name="type"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    deleted_at: Mapped[datetime | None]


class UserTagRow(Base):
    """The tags policies match a user by; every live user has ``users:id:<id>``."""

    __tablename__ = "user_tags"
    __table_args__ = (Index(None, "tag"),)

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)


class ApiKeyRow(Base):
    """An API key: only the SHA-256 digest of the key is stored, never the key itself."""

    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class ColumnTagRow(Base):
    """Tags a column carries because a run derived it from tagged columns (flare's column
    lineage): the mask that follows a tag follows the data. Replaced per dataset by each
    run that writes it; declared tags stay on the depot manifests (later: Metis)."""

    __tablename__ = "column_tags"

    dataset: Mapped[str] = mapped_column(String(1024), primary_key=True)
    column_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    tags: Mapped[list[str]]
    derived_from: Mapped[list[str]]
    written_by: Mapped[str] = mapped_column(String(1024))
    updated_at: Mapped[datetime]


class RunOutboxRow(Base):
    """The intent to run a workflow once, recorded in the transaction of the apply that
    created or changed it: drained by reconciliation, removed once Dagster accepted the
    launch, so a crash between the apply and Dagster loses no run."""

    __tablename__ = "run_outbox"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int]
    created_at: Mapped[datetime]
    attempts: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    """Set by the process launching the run: no other one launches it meanwhile."""


class SessionRevocationRow(Base):
    """A web session signed out (``api/sessions.py``): every API process refuses its cookie
    until it would have expired anyway; rows past ``expires_at`` are pruned."""

    __tablename__ = "session_revocations"
    __table_args__ = (Index(None, "expires_at"),)

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime]
