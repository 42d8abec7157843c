"""Heimdall's own endpoints: DataOS-style authorize, decision explanations, the decision log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from dataos_defs.api.authz import authorize, heimdall_of
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity, get_identities
from dataos_defs.heimdall.objects import user_object
from dataos_defs.heimdall.pdp import AccessRequest, PolicyEngineError
from dataos_defs.poros.identities import Identities

router = APIRouter(prefix="/heimdall/api/v1", tags=["heimdall"])
IdentityDep = Annotated[Identity, Depends(current_identity)]
IdentitiesDep = Annotated[Identities, Depends(get_identities)]


class SubjectIn(BaseModel):
    id: str | None = None
    tags: list[str] = Field(default_factory=list)


class ObjectIn(BaseModel):
    path: str | None = None
    tags: list[str] = Field(default_factory=list)


class AuthorizeIn(BaseModel):
    """Ask about the caller (no subject), another user or tag set (subject), or the holder
    of an API key (``api_key``, as a service does for its end user)."""

    predicate: str
    object: ObjectIn
    subject: SubjectIn | None = None
    api_key: str | None = None
    explain: bool = False


class AuthorizeOut(BaseModel):
    allow: bool
    reason: str
    policy: str | None
    collection: str | None
    subject: str
    decision_id: str | None = None
    allowing: list[str] | None = None
    denying: list[str] | None = None


def _subject(
    request: Request, caller: Identity, body: AuthorizeIn, identities: Identities
) -> tuple[str, tuple[str, ...]]:
    if body.api_key is not None:
        principal = identities.authenticate(body.api_key.strip())
        if principal is None:
            raise ApiError(401, "unauthenticated", "the API key to check is not valid")
        return principal.user_id, principal.tags
    if body.subject is None:
        return caller.user_id, caller.tags
    subject_id = body.subject.id or "anonymous"
    if subject_id != caller.user_id or set(body.subject.tags) - set(caller.tags):
        authorize(request, caller, "read", user_object(subject_id))
    tags = tuple(body.subject.tags) or (f"users:id:{subject_id}",)
    return subject_id, tags


@router.post("/authorize", response_model=AuthorizeOut)
def authorize_endpoint(
    body: AuthorizeIn, request: Request, caller: IdentityDep, identities: IdentitiesDep
) -> AuthorizeOut:
    """Decide whether a subject may act on an object (and, with ``explain``, which policies
    allow and deny it). Asking about someone else needs ``read`` on that user."""
    authorize(request, caller, "post", request.url.path)
    subject_id, tags = _subject(request, caller, body, identities)
    heimdall = heimdall_of(request)
    path = body.object.path or ""
    try:
        decision = heimdall.authorize(
            subject_id, tags, body.predicate, path, body.object.tags, source="authorize-api"
        )
    except PolicyEngineError as exc:
        raise ApiError(503, "policy_engine_unavailable", "no decision could be made") from exc
    out = AuthorizeOut(subject=subject_id, **decision.as_dict())
    if body.explain:
        request_input = AccessRequest.of(
            tags, body.predicate, path, body.object.tags, subject_id
        ).as_input()
        out.allowing, out.denying = _matching(heimdall, request_input)
    return out


def _matching(heimdall: Any, request_input: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Names of the matching policies that allow, and of those that deny."""
    try:
        indices = heimdall.pdp.query("data.heimdall.access.matching", request_input)
        policies = heimdall.pdp.query("data.heimdall.policies")
    except PolicyEngineError:
        return [], []
    if not isinstance(indices, list) or not isinstance(policies, list):
        return [], []
    matched = [policies[i] for i in indices if isinstance(i, int) and i < len(policies)]
    allowing = sorted(p["name"] for p in matched if p.get("allow") is True)
    denying = sorted(p["name"] for p in matched if p.get("allow") is not True)
    return allowing, denying


@router.get("/decisions")
def decisions(
    request: Request,
    caller: IdentityDep,
    since: Annotated[datetime | None, Query(description="ISO-8601 time")] = None,
    subject: Annotated[str | None, Query(description="user id or subject tag")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> dict[str, list[dict[str, object]]]:
    """The newest decisions of the log, oldest first."""
    authorize(request, caller, "get", request.url.path)
    entries = heimdall_of(request).log.read(since=since, subject=subject, limit=limit)
    return {"items": entries}
