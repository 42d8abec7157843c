"""The policy enforcement point of the API: every route asks Heimdall before acting."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request

from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity
from dataos_defs.heimdall.pdp import Decision, PolicyEngineError
from dataos_defs.heimdall.service import Heimdall


def heimdall_of(request: Request) -> Heimdall:
    heimdall: Heimdall = request.app.state.heimdall
    return heimdall


def decide(
    request: Request,
    identity: Identity,
    predicate: str,
    path: str,
    object_tags: Iterable[str] = (),
) -> Decision:
    """Heimdall's decision, allow or deny; 503 (and deny) when it cannot decide."""
    try:
        return heimdall_of(request).authorize(
            identity.user_id, identity.tags, predicate, path, object_tags
        )
    except PolicyEngineError as exc:
        raise ApiError(
            503,
            "policy_engine_unavailable",
            "no access decision could be made, so access is denied",
            "retry later; operators: check the Heimdall policies and engine",
        ) from exc


def authorize(
    request: Request,
    identity: Identity,
    predicate: str,
    path: str,
    object_tags: Iterable[str] = (),
) -> Decision:
    """Allow or raise: 403 with Heimdall's reason, 503 (and deny) when it cannot decide."""
    decision = decide(request, identity, predicate, path, object_tags)
    if not decision.allow:
        raise ApiError(
            403,
            "forbidden",
            f"{identity.user_id} may not {predicate} {path}: {decision.reason}",
            "ask an operator for an access policy that allows it",
        )
    return decision


def may(
    request: Request,
    identity: Identity,
    predicate: str,
    path: str,
    object_tags: Iterable[str] = (),
) -> bool:
    """For filtering lists: an item is shown only when allowed; a denial or an engine
    error hides it (fail closed)."""
    try:
        decision = heimdall_of(request).authorize(
            identity.user_id, identity.tags, predicate, path, object_tags
        )
    except PolicyEngineError:
        return False
    return decision.allow
