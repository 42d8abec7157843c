"""The background job applying a Bundle: workspaces first, then each member in order.

A member's ``dependencyConditions`` can take minutes to hold (a workflow's first run), so
the apply route only validates and admits the whole bundle, stores it ``pending`` and hands
it to the :class:`BundleRunner` of its process. One thread per bundle being applied (at
most :data:`MAX_JOBS` at once; more wait their turn) then:

1. creates the bundle's ``workspaces[]`` that do not exist, tagged ``dataos:bundle:<name>``
   (what tells a delete of the bundle that it may remove them);
2. for each member in order: waits until every condition holds (polling the store's status
   and the runtime: Dagster for workflows, the workload runtime for services and workers),
   at most the member's ``timeout``; checks the member again as the applier *now* (their
   tags may have changed since the bundle was admitted: same checks as the route); applies
   it alone, as the applier, and hands the change to reconciliation;
3. deletes the members a re-apply dropped (:attr:`BundlePlan.removed`, checked at apply),
   in reverse dependency order, once more checked as the applier now: ``delete`` on each,
   and no outside Resource depending on one unless the apply was forced.

The bundle's status tells where it is: ``pending`` with "k/n applied; waiting on <id>:
<condition> (observed <value>) for N s", ``active`` once all are applied, ``error`` naming
the member that failed and why. Per-member progress is kept in memory for the progress
route. A new apply of the same bundle supersedes the job in flight; a job interrupted by a
restart is taken up again at start (members already applied are then ``unchanged``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dataos_defs.api.admission import Subject
from dataos_defs.api.bundles_checks import Gate, admit_members, authorize_apply
from dataos_defs.api.errors import ApiError
from dataos_defs.api.reconciler import after_change
from dataos_defs.api.runtime import runtimes_of
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.heimdall.pdp import PolicyEngineError
from dataos_defs.manifest.bundle import bundle_tag
from dataos_defs.manifest.errors import ManifestError
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.bundles import BundlePlan, Member, describe_match, matches, stored_plan
from dataos_defs.poros.errors import PorosError
from dataos_defs.poros.records import ResourceKey, Status
from dataos_defs.poros.workloads import WORKLOAD_KINDS, Workloads

log = logging.getLogger(__name__)

TIMEOUT_ENV = "DATAOS_BUNDLE_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 600.0
POLL_ENV = "DATAOS_BUNDLE_POLL_S"
DEFAULT_POLL_S = 1.0
MAX_JOBS = 8
STATUS_EVERY_S = 5.0
"""While waiting, the status reason is rewritten when what is observed changes, or this
often (its "for N s")."""


class BundleFailed(Exception):
    """Why a bundle stopped: the member and the reason, as its status reason shows them."""


class Cancelled(Exception):
    """The job was superseded by a newer apply, or the bundle is being deleted."""


@dataclass
class MemberProgress:
    id: str
    kind: str
    name: str
    workspace: str | None
    state: str = "queued"
    """queued, waiting, applying, created, updated, unchanged, failed."""
    detail: str | None = None


@dataclass
class Job:
    plan: BundlePlan
    actor: str
    members: list[MemberProgress]
    cancelled: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


def _seconds(env: str, default: float) -> float:
    try:
        value = float(os.environ.get(env, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class BundleRunner:
    """The bundle jobs of one API server process."""

    def __init__(
        self,
        gate: Gate,
        workloads: Callable[[], Workloads | None] = lambda: None,
        poll_s: float | None = None,
        default_timeout_s: float | None = None,
        notify: Callable[[list[ResourceKey]], None] = lambda _: None,
    ) -> None:
        """``workloads``: the workload runtime now (set by the app once started);
        ``notify``: told of each member changed, like the apply route tells the
        workload sync."""
        self.gate = gate
        self.workloads = workloads
        self.notify = notify
        self.poll_s = poll_s or _seconds(POLL_ENV, DEFAULT_POLL_S)
        self.default_timeout_s = default_timeout_s or _seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_JOBS)

    def submit(self, plan: BundlePlan, actor: str) -> None:
        """Apply ``plan`` in the background as ``actor``, superseding a job of that bundle."""
        self.cancel(plan.name)
        members = [
            MemberProgress(m.id, m.key.kind, m.key.name, m.key.workspace) for m in plan.members
        ]
        job = Job(plan, actor, members)
        job.thread = threading.Thread(
            target=self._run, args=(job,), name=f"dataos-bundle-{plan.name}", daemon=True
        )
        with self._lock:
            self._jobs[plan.name] = job
        job.thread.start()

    def cancel(self, name: str, timeout: float = 10.0) -> None:
        """Stop the job of bundle ``name`` (if any) and wait for it to let go."""
        with self._lock:
            job = self._jobs.get(name)
        if job is None:
            return
        job.cancelled.set()
        if job.thread is not None and job.thread is not threading.current_thread():
            job.thread.join(timeout)

    def progress(self, name: str) -> list[MemberProgress] | None:
        with self._lock:
            job = self._jobs.get(name)
        return list(job.members) if job is not None else None

    def stop(self) -> None:
        with self._lock:
            names = list(self._jobs)
        for name in names:
            self.cancel(name, timeout=2.0)

    def resume(self) -> None:
        """Take up the bundles a stopped server left ``pending``."""
        store = self.gate.store
        for stored in store.list(kind="bundle"):
            if stored.status != "pending":
                continue
            full = store.get("bundle", stored.name, None, unsanitize=True)
            history = store.history("bundle", stored.name, None)
            if full is None or not history:
                continue
            try:
                plan = stored_plan(full.manifest, history[-1].source_file)
            except ManifestError as exc:
                self._set(stored.name, "error", f"cannot be planned again: {exc}")
                continue
            self.submit(plan, history[-1].applied_by)

    # -- the job ---------------------------------------------------------------------------

    def _run(self, job: Job) -> None:
        with self._slots:
            try:
                self._apply(job)
            except Cancelled:
                return
            except BundleFailed as exc:
                self._fail(job, str(exc))
            except Exception as exc:
                log.exception("applying bundle %s failed", job.plan.name)
                self._fail(job, f"internal error: {exc}")

    def _fail(self, job: Job, reason: str) -> None:
        for progress in job.members:
            if progress.state in ("waiting", "applying"):
                progress.state, progress.detail = "failed", reason
        if not job.cancelled.is_set():
            try:
                self.gate.store.set_status("bundle", job.plan.name, None, "error", reason)
            except PorosError:
                log.info("bundle %s was deleted before its error was recorded", job.plan.name)

    def _apply(self, job: Job) -> None:
        plan, total = job.plan, len(job.plan.members)
        self._set(plan.name, "pending", f"0/{total} applied; creating workspaces", job)
        self._create_workspaces(job)
        for done, member in enumerate(plan.members):
            progress = job.members[done]
            self._wait_conditions(job, member, progress, done)
            progress.state, progress.detail = "applying", None
            self._set(plan.name, "pending", f"{done}/{total} applied; applying {member.id}", job)
            progress.state = self._apply_member(job, member)
        self._remove_dropped(job)
        self._set(plan.name, "active", f"{total}/{total} applied", job)

    def _remove_dropped(self, job: Job) -> None:
        store, plan = self.gate.store, job.plan
        live = store.live_keys(plan.removed)
        keys = [key for key in plan.removed if key in live]
        if not keys:
            return
        total = len(plan.members)
        self._set(plan.name, "pending", f"{total}/{total} applied; deleting dropped members", job)
        subject = self._subject(job)
        for key in keys:
            path = resource_object(key.kind, key.name, key.workspace)
            try:
                decision = self.gate.heimdall.authorize(
                    subject.user_id, subject.tags, "delete", path
                )
            except PolicyEngineError as exc:
                raise BundleFailed(f"dropped member {key} not deleted: {exc}") from exc
            if not decision.allow:
                raise BundleFailed(
                    f"dropped member {key} not deleted: {job.actor} may not delete {path} "
                    f"({decision.reason})"
                )
        self._check(job)
        try:
            deleted = store.delete_many(keys, job.actor, force=plan.force_removal)
        except PorosError as exc:
            raise BundleFailed(f"dropped members not deleted: {exc}") from exc
        self.gate.heimdall.reload()
        after_change(store, deleted)
        self.notify(deleted)

    def _subject(self, job: Job) -> Subject:
        user = self.gate.identities.get_user(job.actor)
        if user is None:
            raise BundleFailed(f"its applier {job.actor} no longer exists; nothing more applied")
        return Subject(user.id, tuple(user.tags))

    def _create_workspaces(self, job: Job) -> None:
        store, plan = self.gate.store, job.plan
        wanted = [w for w in plan.bundle.bundle.workspaces or [] if not store.get_workspace(w.name)]
        if not wanted:
            return
        subject = self._subject(job)
        try:
            authorize_apply(self.gate.heimdall, store, subject, [], None, [w.name for w in wanted])
        except ApiError as exc:
            raise BundleFailed(f"workspaces refused: {exc.message}") from exc
        for workspace in wanted:
            self._check(job)
            tags = [*(workspace.tags or []), bundle_tag(plan.name)]
            store.create_workspace(workspace.name, workspace.description, tags, job.actor)
        self.gate.heimdall.reload()

    def _apply_member(self, job: Job, member: Member) -> str:
        self._check(job)
        subject = self._subject(job)
        try:
            run_as = admit_members(self.gate, subject, [member.resource])
            (result,) = apply_resources(
                self.gate.store, [member.resource], None, job.actor, run_as=run_as
            )
        except ManifestError as exc:
            found = "; ".join(str(issue) for issue in exc.issues)
            raise BundleFailed(f"member {member.describe()} refused: {found}") from exc
        except ApiError as exc:
            raise BundleFailed(f"member {member.describe()} refused: {exc.message}") from exc
        except PorosError as exc:
            raise BundleFailed(f"member {member.describe()} not applied: {exc}") from exc
        self.gate.heimdall.reload()
        changed = [member.key] if result.action != "unchanged" else []
        after_change(self.gate.store, changed, [member.key])
        if changed:
            self.notify(changed)
        return result.action

    def _wait_conditions(
        self, job: Job, member: Member, progress: MemberProgress, done: int
    ) -> None:
        conditions = member.declared.dependencyConditions or []
        if not conditions:
            return
        timeout = member.declared.timeout_s() or self.default_timeout_s
        started = time.monotonic()
        written, written_at = "", 0.0
        total = len(job.plan.members)
        while True:
            unmet = self._unmet(job.plan, member)
            if unmet is None:
                return
            waited = time.monotonic() - started
            if waited >= timeout:
                progress.state, progress.detail = "failed", f"timed out: {unmet}"
                raise BundleFailed(
                    f"member {member.describe()} timed out after {timeout:g} s waiting on {unmet}"
                )
            progress.state, progress.detail = "waiting", unmet
            if unmet != written or time.monotonic() - written_at >= STATUS_EVERY_S:
                reason = f"{done}/{total} applied; waiting on {unmet} for {int(waited)} s"
                self._set(job.plan.name, "pending", reason, job)
                written, written_at = unmet, time.monotonic()
            if job.cancelled.wait(self.poll_s):
                raise Cancelled

    def _unmet(self, plan: BundlePlan, member: Member) -> str | None:
        """The first condition of ``member`` that does not hold, described with what was
        observed (``None`` when all hold)."""
        for cond in member.declared.dependencyConditions or []:
            target = plan.by_id(cond.resourceId)
            status, runtime = self._observe(target.key, cond.runtime is not None)
            if cond.status is not None and not matches(cond.status, status):
                wanted = describe_match("status", cond.status)
                return f"{cond.resourceId}: {wanted} (observed {status})"
            if cond.runtime is not None and not matches(cond.runtime, runtime):
                wanted = describe_match("runtime", cond.runtime)
                return f"{cond.resourceId}: {wanted} (observed {runtime or 'unknown'})"
        return None

    def _observe(self, key: ResourceKey, with_runtime: bool) -> tuple[str, str | None]:
        stored = self.gate.store.get(key.kind, key.name, key.workspace)
        if stored is None:
            return "deleted", None
        if not with_runtime:
            return stored.status, None
        if key.kind == "workflow":
            return stored.status, runtimes_of([stored]).get((key.name, key.workspace))
        workloads = self.workloads()
        if key.kind in WORKLOAD_KINDS and workloads is not None and key.workspace:
            found = workloads.runtime(key.kind, key.workspace, key.name)
            return stored.status, found.summary if found is not None else "pending"
        return stored.status, None

    def _check(self, job: Job) -> None:
        if job.cancelled.is_set():
            raise Cancelled

    def _set(self, name: str, status: Status, reason: str, job: Job | None = None) -> None:
        if job is not None and job.cancelled.is_set():
            raise Cancelled
        try:
            self.gate.store.set_status("bundle", name, None, status, reason)
        except PorosError:
            if job is not None:
                raise Cancelled from None  # the bundle was deleted meanwhile
