"""History maintenance: compacting the payloads of deleted Resources (operators only).

Compaction is never automatic (``poros.compaction``): an operator asks for it, with a
cut-off, and may ask what it would do first (``dry_run``). Heimdall decides, on
``poros://history`` with the predicate ``compact``; only the system operator policy
allows it out of the box.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, field_validator

from dataos_defs.api.authz import authorize
from dataos_defs.api.deps import get_store
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.poros.compaction import compact_deleted
from dataos_defs.poros.store import Store

HISTORY_OBJECT = "poros://history"
router = APIRouter(prefix="/poros/api/v1/history", tags=["history"])
StoreDep = Annotated[Store, Depends(get_store)]
IdentityDep = Annotated[Identity, Depends(current_identity)]
log = logging.getLogger(__name__)


class CompactIn(BaseModel):
    deleted_before: datetime = Field(
        description="compact Resources deleted before this moment (with a time zone)"
    )
    dry_run: bool = False

    @field_validator("deleted_before")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-01T00:00:00Z")
        return value


class CompactedResource(BaseModel):
    type: str
    name: str
    workspace: str | None


class CompactOut(BaseModel):
    dry_run: bool
    resources: list[CompactedResource]
    revisions: int
    bytes_freed: int
    more: bool = Field(description="more Resources qualify: run the compaction again")


@router.post("/compact", response_model=CompactOut, summary="Compact deleted Resources' history")
def compact(
    body: CompactIn, request: Request, store: StoreDep, identity: IdentityDep
) -> CompactOut:
    """Replace the payloads of the revisions of Resources deleted before ``deleted_before``
    with their identity and drop their secrets; who, when, what digest and which file stay."""
    authorize(request, identity, "compact", HISTORY_OBJECT)
    done = compact_deleted(
        store,
        deleted_before=body.deleted_before.astimezone(UTC),
        actor=identity.user_id,
        dry_run=body.dry_run,
    )
    if not done.dry_run:
        log.info(
            "%s compacted the history of %d deleted Resources (%d revisions, %d bytes)",
            identity.user_id,
            len(done.resources),
            done.revisions,
            done.bytes_freed,
        )
    return CompactOut(
        dry_run=done.dry_run,
        resources=[
            CompactedResource(type=k.kind, name=k.name, workspace=k.workspace)
            for k in done.resources
        ],
        revisions=done.revisions,
        bytes_freed=done.bytes_freed,
        more=done.more,
    )
