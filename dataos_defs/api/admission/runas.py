"""Who a Resource acts as, and whether the applier may make it act so.

Every runnable Resource (workflow, service, worker) runs as one identity:

* ``runAsUser`` when its runtime spec names one (every job of a workflow must agree: one
  identity per Resource, recorded by Poros as ``run_as``);
* else the user of ``runAsApiKey`` (the key must be valid now; the key itself is kept only
  encrypted, like every secret field);
* else its owner: the ``owner`` the manifest names, or the applier.

Acting as anyone but oneself is a Heimdall decision for the applier: predicate ``run-as``
on ``heimdall://user/<id>``. The same holds for an ``owner`` other than the applier on any
Resource (a depot's owner is granted its datasets, so naming another owner would borrow
their rights). The run-as user must exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataos_defs.api.admission.context import Admission, Subject
from dataos_defs.heimdall.objects import user_object
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.validate import ParsedResource

RUN_AS = "run-as"


@dataclass(frozen=True)
class RunAs:
    """The identity a Resource acts as and where the manifest chose it (``()``: the owner)."""

    user_id: str
    path: KeyPath


def check_owner(adm: Admission, resource: ParsedResource) -> list[Issue]:
    """An ``owner`` other than the applier needs ``run-as`` on that user."""
    owner = resource.model.owner
    if owner is None or owner == adm.applier.user_id:
        return []
    return _may_act_as(adm, resource, owner, ("owner",), "name it as owner")


def check_monitor(adm: Admission, resource: ParsedResource) -> list[Issue]:
    """A monitor's ``runAsUser`` (at the top or in its section) is whose authority its
    queries use: naming anyone but oneself needs ``run-as`` on them, like a workflow's."""
    model = resource.model
    named = [
        (user, path)
        for user, path in (
            (getattr(model, "runAsUser", None), ("runAsUser",)),
            (getattr(getattr(model, "monitor", None), "runAsUser", None), ("monitor", "runAsUser")),
        )
        if user
    ]
    if len({user for user, _ in named}) > 1:
        return [
            resource.issue(
                named[1][1],
                "the monitor names two different runAsUser values",
                "name the user once, at the top or in the monitor section",
            )
        ]
    return [
        issue
        for user, path in named
        if user != adm.applier.user_id
        for issue in _may_act_as(adm, resource, user, path, "run the monitor as them")
    ][:1]


def run_as_of(adm: Admission, resource: ParsedResource) -> tuple[RunAs | None, list[Issue]]:
    """The identity of a runnable Resource (None for other types) and the issues found."""
    specs = resource.model.runtime_specs()
    if not specs:
        return None, []
    named: list[tuple[str, KeyPath]] = []
    issues: list[Issue] = []
    for spec, path in specs:
        if spec.runAsUser:
            named.append((spec.runAsUser, (*path, "runAsUser")))
        elif spec.runAsApiKey:
            principal = adm.identities.authenticate(spec.runAsApiKey.strip())
            if principal is None:
                issues.append(
                    resource.issue(
                        (*path, "runAsApiKey"),
                        "the API key is not valid (unknown, revoked or expired)",
                        "create a key for the user with `dataos-ctl user apikey create`",
                    )
                )
                continue
            named.append((principal.user_id, (*path, "runAsApiKey")))
    distinct = sorted({user for user, _ in named})
    if len(distinct) > 1:
        issues.append(
            resource.issue(
                named[1][1],
                f"the jobs run as different users ({', '.join(distinct)}); a {resource.kind} "
                "runs as one identity",
                "give every job the same runAsUser, or split the workflow",
            )
        )
        return None, issues
    if issues:
        return None, issues
    if named:
        user, path = named[0]
        if user == adm.applier.user_id:
            return RunAs(user, path), []
        return RunAs(user, path), _may_act_as(adm, resource, user, path, "run as them")
    return RunAs(resource.model.owner or adm.applier.user_id, ()), []


def subject_of(adm: Admission, resource: ParsedResource, run_as: RunAs) -> Subject | None:
    """The run-as identity with its tags, or None (with no issue: reported by the checks
    that need it) when the user does not exist."""
    if run_as.user_id == adm.applier.user_id:
        return adm.applier
    user = adm.user(run_as.user_id)
    return Subject(user.id, user.tags) if user is not None else None


def _may_act_as(
    adm: Admission, resource: ParsedResource, user_id: str, path: KeyPath, what: str
) -> list[Issue]:
    if adm.user(user_id) is None:
        return [
            resource.issue(
                path,
                f"user '{user_id}' does not exist",
                "create it first with `dataos-ctl user create`",
            )
        ]
    decision = adm.applier_may(RUN_AS, user_object(user_id))
    if decision.allow:
        return []
    return [
        resource.issue(
            path,
            f"{adm.applier.user_id} may not act as '{user_id}' ({decision.reason})",
            f"to {what}, an access policy must allow {adm.applier.user_id} (or one of their "
            f"tags) the predicate '{RUN_AS}' on {user_object(user_id)}",
        )
    ]
