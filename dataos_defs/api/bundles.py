"""Bundles through the API: admitted whole at apply, applied in the background, deleted whole.

At apply (:func:`prepare`, called by the apply route before anything is written) every
member of every bundle of the set is validated and admitted as the applier, exactly as if it
were applied alone, and the bundle's workspaces must be creatable by them: one refused
member refuses the whole apply, nothing written. Once the set is committed, :func:`start`
hands each created or changed bundle (or one not ``active``: a re-apply retries it) to the
:class:`~dataos_defs.api.bundles_runner.BundleRunner`; an unchanged ``active`` bundle is
left alone, so re-applying it changes nothing. A re-apply that drops members deletes them
(reverse dependency order) once the new revision's members are applied: at apply, the
caller must be allowed to delete each (403) and no Resource outside the bundle may depend
on one (409, unless ``force``), else nothing is written.

``GET /bundles/{name}`` shows the bundle's status and each member's progress (what
``dataos-ctl apply`` prints as it happens). ``DELETE /bundles/{name}`` (and a delete of the
bundle through ``/resources``) stops the bundle's job, deletes its live members in one
transaction in reverse dependency order, refused as a whole (409) while a Resource outside
the bundle depends on a member, unless ``force``; then the bundle, then the workspaces the
bundle created (tagged ``dataos:bundle:<name>``) once they are empty and the caller may
delete them (a workspace holding anything else stays).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel

from dataos_defs.api.admission import Subject
from dataos_defs.api.authz import authorize, heimdall_of, may
from dataos_defs.api.bundles_checks import Gate, admit_members
from dataos_defs.api.bundles_runner import BundleRunner, MemberProgress
from dataos_defs.api.deps import get_store
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.reconciler import after_change
from dataos_defs.api.workloads import after_change as workloads_changed
from dataos_defs.heimdall.objects import resource_object, workspace_object
from dataos_defs.manifest.bundle import Bundle, bundle_tag
from dataos_defs.manifest.errors import Issue, ManifestError
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.poros.bundles import BundlePlan, dropped_members, plan_bundle, stored_plan
from dataos_defs.poros.records import ApplyResult, ResourceKey
from dataos_defs.poros.store import Store

router = APIRouter(prefix="/poros/api/v1/bundles", tags=["bundles"])
StoreDep = Annotated[Store, Depends(get_store)]
IdentityDep = Annotated[Identity, Depends(current_identity)]


class MemberOut(BaseModel):
    id: str
    type: str
    name: str
    workspace: str | None
    state: str
    """queued, waiting, applying, created, updated, unchanged, failed; ``applied`` or
    ``absent`` when this server process has no job of the bundle (read from the store)."""
    detail: str | None = None


class BundleOut(BaseModel):
    name: str
    status: str
    status_reason: str | None
    revision: int
    members: list[MemberOut]


class BundleDeleted(BaseModel):
    deleted: list[ResourceKeyOut]
    """Members first, in reverse order, then the bundle."""
    workspaces: list[str]
    """The workspaces the bundle had created, deleted because they were empty."""


class ResourceKeyOut(BaseModel):
    type: str
    name: str
    workspace: str | None = None


BundleDeleted.model_rebuild()


def start_runner(app: FastAPI) -> BundleRunner:
    """The app's bundle runner, taking up the bundles a stopped server left pending."""
    state = app.state
    gate = Gate(state.heimdall, state.store, state.identities, state.home)
    runner = BundleRunner(
        gate,
        lambda: getattr(state, "workloads", None),
        notify=lambda keys: workloads_changed(app, keys),
    )
    state.bundles = runner
    runner.resume()
    return runner


def runner_of(request: Request) -> BundleRunner:
    runner = getattr(request.app.state, "bundles", None)
    if runner is None:
        raise ApiError(503, "no_bundle_runner", "this server applies no bundles")
    assert isinstance(runner, BundleRunner)
    return runner


def prepare(
    request: Request,
    store: Store,
    identity: Identity,
    parsed: list[ParsedResource],
    force: bool = False,
) -> list[BundlePlan]:
    """The plans of the bundles of ``parsed``, each member validated and admitted as the
    caller, and the members each drops checked as a delete would check them (``force``:
    even when outside Resources depend on them); raises with every issue (or the first
    refusal) before anything is written."""
    bundles = [resource for resource in parsed if resource.kind == "bundle"]
    if not bundles:
        return []
    plans: list[BundlePlan] = []
    issues: list[Issue] = []
    for bundle in bundles:
        issues.extend(_unsupported(bundle, identity))
        try:
            plans.append(plan_bundle(bundle))
        except ManifestError as exc:
            issues.extend(exc.issues)
    issues.extend(_overlaps(parsed, plans))
    if issues:
        raise ManifestError(issues)
    gate = Gate(heimdall_of(request), store, request.app.state.identities, request.app.state.home)
    subject = Subject(identity.user_id, identity.tags)
    for plan in plans:
        members = [member.resource for member in plan.members]
        admit_members(gate, subject, members, plan.workspaces)
    applied = _applied_keys(parsed, plans)
    for plan in plans:
        dropped = _dropped(request, store, identity, plan, applied, force)
        plan.removed, plan.force_removal = dropped, force
    return plans


def _applied_keys(parsed: list[ParsedResource], plans: list[BundlePlan]) -> set[ResourceKey]:
    """Every Resource this apply writes: the set's own and every bundle's members (a
    member moved out of its bundle into the set, or into another bundle, is not dropped)."""
    keys = {ResourceKey(r.kind, r.name, r.workspace(None)) for r in parsed if r.kind != "bundle"}
    return keys | {member.key for plan in plans for member in plan.members}


def _dropped(
    request: Request,
    store: Store,
    identity: Identity,
    plan: BundlePlan,
    applied: set[ResourceKey],
    force: bool,
) -> list[ResourceKey]:
    """The live members of the stored revision of ``plan``'s bundle that ``plan`` drops and
    this apply does not write otherwise (``applied``). The caller must be allowed to delete
    each (403), and, unless ``force``, no live Resource but another dropped member or one
    ``applied`` may depend on one (409).
    A stored revision that cannot be planned any more drops nothing (nothing is deleted)."""
    stored = store.get("bundle", plan.name, None, unsanitize=True)
    if stored is None:
        return []
    try:
        previous = stored_plan(stored.manifest, None)
    except ManifestError:
        return []
    dropped = [key for key in dropped_members(previous, plan) if key not in applied]
    live = store.live_keys(dropped)
    removed = [key for key in dropped if key in live]
    for key in removed:
        authorize(request, identity, "delete", resource_object(key.kind, key.name, key.workspace))
    ours = {*removed, *applied}
    for key in [] if force else removed:
        outside = [d for d in store.dependents(key.kind, key.name, key.workspace) if d not in ours]
        if outside:
            raise ApiError(
                409,
                "dependents_exist",
                f"{key} is no longer in bundle '{plan.name}', so this apply would delete it, "
                f"but {', '.join(str(d) for d in outside)} use it; nothing was applied",
                "keep it in the bundle, delete those first, or apply with --force to delete "
                "it anyway",
            )
    return removed


def _unsupported(bundle: ParsedResource, identity: Identity) -> list[Issue]:
    """Refused rather than ignored: scheduled creation and deletion, and applying members
    as another user than the applier."""
    model = bundle.model
    assert isinstance(model, Bundle)
    issues = []
    if model.bundle.schedule is not None:
        issues.append(
            bundle.issue(
                ("bundle", "schedule"),
                "scheduled creation and deletion of a bundle is not supported here",
                "remove 'schedule'; apply and delete the bundle when wanted",
            )
        )
    manager = model.bundle.manageAsUser
    if manager is not None and manager != identity.user_id:
        issues.append(
            bundle.issue(
                ("bundle", "manageAsUser"),
                f"members are applied as the applier ({identity.user_id}), not as {manager}",
                f"remove 'manageAsUser', or apply the bundle as {manager}",
            )
        )
    return issues


def _overlaps(parsed: list[ParsedResource], plans: list[BundlePlan]) -> list[Issue]:
    """A Resource is applied by one bundle, or by the set itself, never by both."""
    seen = {
        ResourceKey(r.kind, r.name, r.workspace(None)): f"{r.document.file}:{r.document.line}"
        for r in parsed
        if r.kind != "bundle"
    }
    issues = []
    for plan in plans:
        for member in plan.members:
            first = seen.setdefault(member.key, f"bundle '{plan.name}'")
            if first != f"bundle '{plan.name}'":
                issues.append(
                    member.resource.issue(
                        (), f"{member.key} is also applied by {first}", "apply it once"
                    )
                )
    return issues


def start(
    request: Request,
    store: Store,
    identity: Identity,
    plans: list[BundlePlan],
    results: list[ApplyResult],
) -> None:
    """Hand each created, changed or not yet ``active`` bundle to the runner."""
    if not plans:
        return
    runner = runner_of(request)
    actions = {r.name: r.action for r in results if r.kind == "bundle"}
    for plan in plans:
        stored = store.get("bundle", plan.name)
        if stored is None:
            continue
        if actions.get(plan.name) == "unchanged" and stored.status == "active":
            continue
        total = len(plan.members)
        store.set_status("bundle", plan.name, None, "pending", f"0/{total} applied; queued")
        runner.submit(plan, identity.user_id)


@router.get("/{name}", response_model=BundleOut, summary="A bundle's status and members")
def get_bundle(request: Request, name: str, store: StoreDep, identity: IdentityDep) -> BundleOut:
    authorize(request, identity, "read", resource_object("bundle", name, None))
    stored = store.get("bundle", name)
    if stored is None:
        raise ApiError(404, "not_found", f"bundle '{name}' not found")
    plan = stored_plan(stored.manifest, None)
    known = runner_of(request).progress(name)
    live = store.live_keys(m.key for m in plan.members)
    members = [_member_out(p) for p in known or []] or [
        MemberOut(
            id=m.id,
            type=m.key.kind,
            name=m.key.name,
            workspace=m.key.workspace,
            state="applied" if m.key in live else "absent",
        )
        for m in plan.members
    ]
    return BundleOut(
        name=name,
        status=stored.status,
        status_reason=stored.status_reason,
        revision=stored.revision,
        members=members,
    )


def _member_out(progress: MemberProgress) -> MemberOut:
    return MemberOut(
        id=progress.id,
        type=progress.kind,
        name=progress.name,
        workspace=progress.workspace,
        state=progress.state,
        detail=progress.detail,
    )


@router.delete("/{name}", response_model=BundleDeleted, summary="Delete a bundle and its members")
def delete_bundle(
    request: Request, name: str, store: StoreDep, identity: IdentityDep, force: bool = False
) -> BundleDeleted:
    return delete_everything(request, store, identity, name, force)


def delete_everything(
    request: Request, store: Store, identity: Identity, name: str, force: bool
) -> BundleDeleted:
    """The delete of the module docstring; the caller must be allowed to delete the bundle,
    each live member and each workspace removed."""
    bundle_key = ResourceKey("bundle", name, None)
    authorize(request, identity, "delete", resource_object("bundle", name, None))
    stored = store.get("bundle", name)
    if stored is None:
        raise ApiError(404, "not_found", f"bundle '{name}' not found")
    plan = stored_plan(stored.manifest, None)
    live = store.live_keys(m.key for m in plan.members)
    keys = [m.key for m in plan.delete_order() if m.key in live]
    for key in keys:
        authorize(request, identity, "delete", resource_object(key.kind, key.name, key.workspace))
    runner = getattr(request.app.state, "bundles", None)
    if isinstance(runner, BundleRunner):
        runner.cancel(name)
    deleted = store.delete_many(keys, identity.user_id, force=force) if keys else []
    store.delete("bundle", name, None, identity.user_id)
    deleted.append(bundle_key)
    removed = _remove_workspaces(request, store, identity, plan)
    heimdall_of(request).reload()
    after_change(store, deleted)
    workloads_changed(request.app, deleted)
    return BundleDeleted(
        deleted=[ResourceKeyOut(type=k.kind, name=k.name, workspace=k.workspace) for k in deleted],
        workspaces=removed,
    )


def _remove_workspaces(
    request: Request, store: Store, identity: Identity, plan: BundlePlan
) -> list[str]:
    """The bundle's workspaces that it created (tagged with it), now empty, that the caller
    may delete (one they may not delete stays, as one holding other Resources does)."""
    removed = []
    for name in reversed(plan.workspaces):
        found = store.get_workspace(name)
        if found is None or bundle_tag(plan.name) not in found.tags:
            continue
        if store.list_summaries(workspace=name):
            continue
        if not may(request, identity, "delete", workspace_object(name)):
            continue
        store.delete_workspace(name, identity.user_id)
        removed.append(name)
    return removed
