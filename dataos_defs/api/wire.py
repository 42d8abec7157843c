"""Request and response bodies of the HTTP API (shared with the Python client)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


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


class ApplyResultOut(BaseModel):
    type: str
    name: str
    version: str
    workspace: str | None
    action: str
    revision: int | None


class ApplyResponse(BaseModel):
    results: list[ApplyResultOut]
    dry_run: bool


class ResourceOut(BaseModel):
    name: str
    version: str
    type: str
    workspace: str | None
    status: str
    status_reason: str | None = None
    runtime: str | None = None
    owner: str | None
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
