"""The record of changes to users (``dataos-ctl user changes``): who created or deleted a
user, added or removed which of its tags, created or revoked which of its API keys, when.

Tags are what a user *is* to every policy, so a change of them is a change of rights; the
store keeps a user's current tags only. Each change made through the API is appended here
once committed, synchronously (the answer waits until it is written), one JSON line per
change in ``<DATAOS_HOME>/logs/user-changes.jsonl``, rotated like the other logs. A record
names key ids and names, never a key.

Reading is governed like the user record itself: the changes of a user are the object
``heimdall://user/<id>/changes``, tagged ``heimdall:self`` for the caller's own, so the
self-service policy lets everyone read their own changes and only those whom a policy
allows (operators) read anyone else's. Unlike DataOS, whose ``user changes`` reads its
identity provider's history, this record starts with the first change made through this
API server (the bootstrap operator's creation is in the store, not here).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from dataos_defs.api.authz import authorize, visible
from dataos_defs.api.identity import Identity, current_identity, get_identities
from dataos_defs.heimdall.log_reading import Query as LogQuery
from dataos_defs.heimdall.log_reading import newest
from dataos_defs.heimdall.objects import SELF_TAG, user_object
from dataos_defs.heimdall.rotating_log import RotatingFile
from dataos_defs.poros.identities import Identities

CHANGES_FILE = Path("logs") / "user-changes.jsonl"
CHANGES_ARCHIVE = Path("logs") / "user-changes"
MAX_LISTED_TAGS = 100
"""Tags named in one record; a change of more says how many more."""
MAX_CHANGES = 1000
"""The most records one read returns."""

router = APIRouter(tags=["users"])
"""Included by :mod:`dataos_defs.api.users` (under its prefix, ``/heimdall/api/v1``)."""
IdentityDep = Annotated[Identity, Depends(current_identity)]
IdentitiesDep = Annotated[Identities, Depends(get_identities)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_CHANGES, description="the newest N changes")]
_opening = threading.Lock()


class ChangeOut(BaseModel):
    time: str
    user: str
    action: str
    by: str
    details: dict[str, Any]


class ChangeList(BaseModel):
    items: list[ChangeOut]


def _log(request: Request) -> RotatingFile:
    with _opening:
        log: RotatingFile | None = getattr(request.app.state, "user_changes", None)
        if log is None:
            home: Path = request.app.state.home
            log = RotatingFile(home / CHANGES_FILE, home / CHANGES_ARCHIVE)
            request.app.state.user_changes = log
    return log


def listed_tags(tags: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The tags of a change, at most :data:`MAX_LISTED_TAGS` of them named."""
    shown = list(tags[:MAX_LISTED_TAGS])
    more = len(tags) - len(shown)
    return {"tags": shown, "more": more} if more else {"tags": shown}


def record(
    request: Request, identity: Identity, user_id: str, action: str, details: dict[str, Any]
) -> None:
    """Append one committed change of ``user_id`` made by the caller."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": user_id,
        "action": action,
        "by": identity.user_id,
        "details": details,
    }
    data = (json.dumps(entry, separators=(",", ":"), default=str) + "\n").encode()
    _log(request).append(data)


def _read(request: Request, users: set[str] | None, limit: int) -> list[ChangeOut]:
    """The newest ``limit`` changes of ``users`` (``None``: anyone's), oldest first."""
    log = _log(request)
    needles = tuple(json.dumps(u).encode() for u in sorted(users)) if users is not None else ()
    query = LogQuery(limit, None, needles, lambda e: users is None or e.get("user") in users)
    return [ChangeOut.model_validate(entry) for entry in newest(log.path, log.archives, query)]


@router.get("/users/{user_id}/changes", response_model=ChangeList, summary="A user's changes")
def user_changes(
    request: Request, user_id: str, identity: IdentityDep, limit: LimitQuery = 100
) -> ChangeList:
    """Changes of one user (``read`` on ``heimdall://user/<id>/changes``: everyone may read
    their own). A deleted user's changes stay readable."""
    tags = (SELF_TAG,) if user_id == identity.user_id else ()
    authorize(request, identity, "read", f"{user_object(user_id)}/changes", tags)
    return ChangeList(items=_read(request, {user_id}, limit))


@router.get("/changes", response_model=ChangeList, summary="Changes of every user you may read")
def every_change(
    request: Request, identities: IdentitiesDep, identity: IdentityDep, limit: LimitQuery = 100
) -> ChangeList:
    """Changes of the live users whose changes the caller may read (each user decided like
    ``/users/{id}/changes``; a plain user sees their own only)."""
    ids = [user.id for user in identities.list_users()]
    readable = visible(
        request,
        identity,
        "read",
        ids,
        lambda uid: (
            f"{user_object(uid)}/changes",
            (SELF_TAG,) if uid == identity.user_id else (),
        ),
    )
    if not readable:
        return ChangeList(items=[])
    everyone = len(readable) == len(ids)  # then deleted users' changes too
    return ChangeList(items=_read(request, None if everyone else set(readable), limit))
