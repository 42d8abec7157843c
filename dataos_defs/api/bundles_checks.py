"""What lets a set of Resources in: the apply route's rules, callable without a request.

The apply route (:mod:`dataos_defs.api.resources`) and a Bundle's members (at the bundle's
apply, and again when each member is applied later by the background runner) pass the same
checks, in the same order, through these functions:

1. the applier may ``create`` (or ``update``) each Resource, and ``create`` each workspace
   a bundle brings (403 otherwise);
2. incoming access policies compile with those in force (422);
3. admission (:func:`dataos_defs.api.admission.admit`): identities, datasets, secrets,
   stacks, depots, clusters (422; 503 when Heimdall cannot decide);
4. for a bundle's members, the apply service's store checks (workspaces, references, one
   writer per dataset) as if the bundle's workspaces existed (422).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from dataos_defs.api.admission import Subject, admit
from dataos_defs.api.errors import ApiError
from dataos_defs.heimdall.objects import resource_object, workspace_object
from dataos_defs.heimdall.pdp import PolicyEngineError
from dataos_defs.heimdall.policy_data import PolicyDataError
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.errors import Issue, ManifestError
from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.poros.apply import check_resources
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store


@dataclass(frozen=True)
class Gate:
    """What the checks consult: the app's Heimdall, store, identities and home."""

    heimdall: Heimdall
    store: Store
    identities: Identities
    home: Path


def authorize_apply(
    heimdall: Heimdall,
    store: Store,
    subject: Subject,
    parsed: Sequence[ParsedResource],
    workspace: str | None,
    new_workspaces: Collection[str] = (),
) -> None:
    """Raise 403 unless ``subject`` may create (or update, when it exists) each Resource of
    ``parsed`` and create each of ``new_workspaces`` that does not exist yet."""
    keys = {id(r): ResourceKey(r.kind, r.name, r.workspace(workspace)) for r in parsed}
    existing = store.live_keys(keys.values())
    asked: list[tuple[str, str, ParsedResource | None]] = []
    live_spaces = {w.name for w in store.list_workspaces()} if new_workspaces else set()
    asked.extend(
        ("create", workspace_object(ws), None) for ws in new_workspaces if ws not in live_spaces
    )
    for resource in parsed:
        key = keys[id(resource)]
        predicate = "update" if key in existing else "create"
        asked.append((predicate, resource_object(key.kind, key.name, key.workspace), resource))
    for predicate, path, about in asked:
        try:
            decision = heimdall.authorize(subject.user_id, subject.tags, predicate, path)
        except PolicyEngineError as exc:
            raise ApiError(
                503,
                "policy_engine_unavailable",
                "no access decision could be made, so access is denied",
                "retry later; operators: check the Heimdall policies and engine",
            ) from exc
        if not decision.allow:
            where = ""
            if about is not None and about.document.source.file:
                line, _ = about.document.source.locate(())
                where = f" ({about.document.file}:{line})"
            raise ApiError(
                403,
                "forbidden",
                f"{subject.user_id} may not {predicate} {path}: {decision.reason}{where}",
                "ask an operator for an access policy that allows it",
            )


def check_policies(heimdall: Heimdall, parsed: Sequence[ParsedResource]) -> None:
    """Access policies must compile together with those in force, before anything is written."""
    incoming = [(r, r.model) for r in parsed if isinstance(r.model, Policy)]
    if not incoming:
        return
    try:
        heimdall.check([model for _, model in incoming])
    except PolicyDataError as exc:
        issues = [r.issue(("policy",), f"cannot be enforced: {exc}") for r, _ in incoming]
        raise ManifestError(issues) from exc


def admit_members(
    gate: Gate,
    subject: Subject,
    members: Sequence[ParsedResource],
    new_workspaces: Collection[str] = (),
) -> dict[ResourceKey, str]:
    """Every check of a bundle's ``members`` as ``subject``; the identity each runnable
    member runs as. Raises ApiError (403, 503) or ManifestError (every issue).

    Admission's refusal is raised again from here, without its traceback: that traceback
    holds the previewing policy engine, which must be dropped on the thread that made it
    (the regorus engine is bound to its thread), not where the error response is written."""
    authorize_apply(gate.heimdall, gate.store, subject, members, None, new_workspaces)
    check_policies(gate.heimdall, members)
    refused: list[Issue] = []
    try:
        run_as = admit(
            gate.heimdall, gate.store, gate.identities, subject, gate.home, None, list(members)
        )
    except ManifestError as exc:
        refused = exc.issues  # raised below, out of this frame: see the note
    if refused:
        raise ManifestError(refused)
    issues = check_resources(gate.store, members, None, new_workspaces)
    if issues:
        raise ManifestError(issues)
    return run_as
