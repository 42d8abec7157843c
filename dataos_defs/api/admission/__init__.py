"""Admission: what a set of Resources would make the platform do, authorized before it is
stored.

Authorization of the apply itself (may the applier create or update each Resource) is not
enough: a Resource acts later, as someone, on data and secrets. Admission checks, for the
whole set and with every issue collected (positioned at the key that asks for it):

* the identity each runnable Resource acts as, and that the applier may act as it
  (``runas``); an ``owner`` other than the applier likewise;
* every dataset a run reads (``read``) or writes (``write``), for that identity
  (``datasets``);
* every secret named, ``use`` for whoever uses it (``secrets``);
* stacks that run arbitrary code, ``use`` on the stack for the applier (``stacks``);
* depots confined to the storage their creator may use (``depots``);
* clusters whose selector would capture other users' queries (``clusters``);
* Services whose public path escapes their workspace or is another's (``services``).

Any issue refuses the whole apply (422, nothing written); when Heimdall cannot decide, the
apply is refused with 503 (fail closed). Every decision is logged with source
``admission``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dataos_defs.api.admission.clusters import check_cluster
from dataos_defs.api.admission.context import Admission, Check, Subject
from dataos_defs.api.admission.datasets import check_datasets
from dataos_defs.api.admission.depots import check_depot
from dataos_defs.api.admission.runas import check_monitor, check_owner, run_as_of, subject_of
from dataos_defs.api.admission.secrets import SECRET_KINDS, check_secrets
from dataos_defs.api.admission.services import check_service
from dataos_defs.api.admission.stacks import check_stacks
from dataos_defs.api.errors import ApiError
from dataos_defs.heimdall.pdp import PolicyEngineError
from dataos_defs.heimdall.service import Heimdall, depot_owner_policy, secret_owner_policy
from dataos_defs.manifest.errors import Issue, ManifestError
from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store

__all__ = ["Admission", "Check", "Subject", "admit"]

BY_KIND: dict[str, Check] = {
    "depot": check_depot,
    "cluster": check_cluster,
    "monitor": check_monitor,
    "service": check_service,
}


def admit(
    heimdall: Heimdall,
    store: Store,
    identities: Identities,
    applier: Subject,
    home: Path,
    workspace: str | None,
    parsed: Sequence[ParsedResource],
) -> dict[ResourceKey, str]:
    """The identity each runnable Resource of ``parsed`` runs as; raises ManifestError with
    every issue, or ApiError 503 when no decision could be made."""
    extra = incoming_policies(parsed, applier, workspace)
    if extra:
        heimdall = heimdall.previewing(extra)
    adm = Admission(heimdall, store, identities, applier, home, workspace, parsed)
    run_as: dict[ResourceKey, str] = {}
    issues: list[Issue] = []
    try:
        for resource in parsed:
            issues.extend(_admit_one(adm, resource, run_as))
    except PolicyEngineError as exc:
        raise ApiError(
            503,
            "policy_engine_unavailable",
            "no access decision could be made, so nothing was applied",
            "retry later; operators: check the Heimdall policies and engine",
        ) from exc
    if issues:
        raise ManifestError(issues)
    return run_as


def incoming_policies(
    parsed: Sequence[ParsedResource], applier: Subject, workspace: str | None
) -> list[Policy]:
    """The access policies in force once ``parsed`` is applied, beyond those in force now:
    the set's own policies and the owner policies of its depots and secrets. Admission
    decides with them, so a set that brings the policy its workflow needs is admitted (the
    applier's right to create that policy was decided before)."""
    found: list[Policy] = []
    for resource in parsed:
        model = resource.model
        owner = model.owner or applier.user_id
        if isinstance(model, Policy):
            found.append(model)
        elif resource.kind == "depot":
            found.append(depot_owner_policy(resource.name, owner))
        elif resource.kind in SECRET_KINDS:
            ws = resource.workspace(workspace)
            found.append(secret_owner_policy(resource.kind, resource.name, ws, owner))
    return found


def _admit_one(
    adm: Admission, resource: ParsedResource, run_as: dict[ResourceKey, str]
) -> list[Issue]:
    issues = check_owner(adm, resource)
    kind_check = BY_KIND.get(resource.kind)
    if kind_check is not None:
        issues.extend(kind_check(adm, resource))
    identity, found = run_as_of(adm, resource)
    issues.extend(found)
    if identity is None:
        if not resource.model.runtime_specs():
            issues.extend(check_secrets(adm, resource, adm.applier))
        return issues
    run_as[adm.key(resource)] = identity.user_id
    subject = subject_of(adm, resource, identity)
    issues.extend(check_stacks(adm, resource))
    issues.extend(check_datasets(adm, resource, identity, subject))
    issues.extend(check_secrets(adm, resource, subject))
    return issues
