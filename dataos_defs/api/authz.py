"""The policy enforcement point of the API: every route asks Heimdall before acting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from fastapi import Request

from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity
from dataos_defs.heimdall.decision_log import new_record
from dataos_defs.heimdall.pdp import AccessRequest, Decision, PolicyEngineError
from dataos_defs.heimdall.service import Heimdall

Item = TypeVar("Item")
Target = tuple[str, Iterable[str]]
"""What an item of a list is to Heimdall: its object path and object tags."""


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


def visible(
    request: Request,
    identity: Identity,
    predicate: str,
    items: Iterable[Item],
    target: Callable[[Item], Target],
) -> list[Item]:
    """Filter a list: an item is shown only when allowed; a denial or an engine error hides
    it (fail closed). Every item is decided, but the list is logged as one decision: the
    list's path, the subject, the predicate and how many items were shown and hidden."""
    started = time.perf_counter()
    listed = list(items)
    shown, undecided = decide_visible(heimdall_of(request), identity, predicate, listed, target)
    log_list(request, identity, predicate, len(listed), len(shown), undecided, started)
    return shown


def decide_visible(
    heimdall: Heimdall,
    identity: Identity,
    predicate: str,
    listed: Sequence[Item],
    target: Callable[[Item], Target],
) -> tuple[list[Item], int]:
    """The allowed items of ``listed`` (decided in one batch, fail closed) and how many of
    them the engine could not decide. Nothing is logged: see :func:`log_list`."""
    asked = [
        AccessRequest.of(identity.tags, predicate, path, tags, subject_id=identity.user_id)
        for path, tags in map(target, listed)
    ]
    heimdall.refresh()
    answers = _answers(heimdall, asked)
    shown = [item for item, answer in zip(listed, answers, strict=True) if answer is True]
    return shown, sum(answer is None for answer in answers)


def log_list(
    request: Request,
    identity: Identity,
    predicate: str,
    listed: int,
    shown: int,
    undecided: int,
    started: float,
) -> None:
    """One decision record for a filtered list: its path, the subject, the predicate and
    how many items were shown and hidden (``started``: ``time.perf_counter()`` at its start)."""
    hidden = listed - shown
    reason = f"list of {listed}: {shown} shown, {hidden} hidden"
    heimdall_of(request).log.append(
        new_record(
            identity.user_id,
            tuple(sorted(identity.tags)),
            predicate,
            request.url.path,
            hidden == 0,
            None,
            reason + (f" ({undecided} undecided: policy engine error)" if undecided else ""),
            (time.perf_counter() - started) * 1000,
            shown=shown,
            hidden=hidden,
        )
    )


def _answers(heimdall: Heimdall, asked: Sequence[AccessRequest]) -> list[bool | None]:
    """Each request's answer, None when the engine could not decide it."""
    try:
        return [d.allow for d in heimdall.pdp.decide_many(asked)]
    except PolicyEngineError:
        return [_answer(heimdall, request) for request in asked]


def _answer(heimdall: Heimdall, request: AccessRequest) -> bool | None:
    try:
        return heimdall.pdp.decide(request).allow
    except PolicyEngineError:
        return None
