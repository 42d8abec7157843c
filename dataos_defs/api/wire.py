"""Request and response bodies of the HTTP API (shared with the Python client)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NOT_DEPLOYED = "not deployed yet:"
"""How the reason of a workflow that a finished reconciliation left ``pending`` begins (Dagster
unreachable, or still loading after the time allowed): waiting changes nothing, the next apply
or delete reconciles it again. Any other reason of a ``pending`` workflow is a reconciliation
in progress (or about to start, with no reason yet)."""


class DocumentIn(BaseModel):
    """One manifest as the client read it, with optional source positions for errors."""

    manifest: Any
    file: str = "<request>"
    index: int = 0
    positions: list[list[Any]] = Field(
        default_factory=list, description="[[key path...], line, column] per key"
    )


class ApplyRequest(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1)
    workspace: str | None = None
    dry_run: bool = False
    force: bool = False
    """Delete the members a re-applied bundle drops even when other Resources use them."""


class ApplyResultOut(BaseModel):
    type: str
    name: str
    version: str
    workspace: str | None
    action: str
    revision: int | None


class ResourceRef(BaseModel):
    type: str
    name: str
    workspace: str | None


class ApplyResponse(BaseModel):
    """Answered once the set is committed; Dagster is reconciled afterwards, in the background."""

    results: list[ApplyResultOut]
    dry_run: bool
    reconciling: bool = Field(
        False,
        description="the server reconciles Dagster with this change in the background; "
        "false when it has no Dagster webserver configured (workflows then stay pending)",
    )
    pending: list[ResourceRef] = Field(
        default_factory=list,
        description="the applied workflows that are pending until reconciliation decides "
        "them (active or error): poll them, e.g. GET /poros/api/v1/resources/workflow/{name}",
    )


class ResourceOut(BaseModel):
    name: str
    version: str
    type: str
    workspace: str | None
    status: str
    status_reason: str | None = None
    runtime: str | None = None
    owner: str | None
    run_as: str | None = None
    revision: int
    created_at: datetime
    updated_at: datetime
    manifest: dict[str, Any] | None = None


class ResourceList(BaseModel):
    items: list[ResourceOut]


class RevisionOut(BaseModel):
    revision: int
    action: str
    applied_by: str
    applied_at: datetime
    version: str | None = None
    source_file: str | None = None
    digest: str
    compacted_at: datetime | None = None


class HistoryOut(BaseModel):
    type: str
    name: str
    workspace: str | None
    revisions: list[RevisionOut]


class DeleteOut(BaseModel):
    type: str
    name: str
    workspace: str | None
    deleted: bool = True
    reconciling: bool = Field(
        False, description="Dagster is reconciled with the deletion in the background"
    )


class WorkspaceIn(BaseModel):
    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)


class WorkspaceOut(BaseModel):
    name: str
    description: str | None
    tags: list[str]
    created_at: datetime
    created_by: str


class WorkspaceList(BaseModel):
    items: list[WorkspaceOut]


MAX_KEY_LIFETIME_SECONDS = 100 * 366 * 24 * 3600


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="user id: lower-case letters, digits and '-'")
    type: Literal["person", "application"] = "person"
    name: str | None = None
    email: str | None = None
    tags: list[str] = Field(default_factory=list, description="besides users:id:<id>")


class UserOut(BaseModel):
    id: str
    type: str
    name: str | None
    email: str | None
    tags: list[str]
    created_at: datetime
    created_by: str


class UserList(BaseModel):
    items: list[UserOut]


class TagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(min_length=1)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="unique among the user's active keys")
    expires_in_seconds: int | None = Field(
        None, gt=0, le=MAX_KEY_LIFETIME_SECONDS, description="never expires when absent"
    )


class ApiKeyOut(BaseModel):
    """An API key without the key itself, which is shown only once, at creation."""

    key_id: str
    user_id: str
    name: str
    state: str = Field(description="active, expired or revoked")
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="the API key; store it now, it cannot be shown again")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


class IssueOut(BaseModel):
    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    hint: str | None = None
    issues: list[IssueOut] = Field(default_factory=list)


class ErrorOut(BaseModel):
    error: ErrorBody
