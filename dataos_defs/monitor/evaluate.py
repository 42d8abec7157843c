"""Evaluate one Monitor: its condition, as its owner, into an incident opened, kept or resolved.

A monitor acts as its **owner** (the applier, or the ``owner`` it names, which admission
allowed): its report holds only Resources the owner may read, its queries run through the
Gateway as the owner. ``runAsUser`` naming anyone else is refused at evaluation (admission
does not check it for monitors), so a monitor never borrows another identity.

Outcomes: ``firing`` (the incident is opened, or updated while it stays open), ``clear``
(an open incident is resolved) or ``error`` (the reason is kept in the monitor's state;
open incidents stay as they are, since nothing was learnt). Every change of an incident
is handed to the pagers of the monitor's workspace (:class:`Dispatcher`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from dataos_defs.gateway.service import Caller
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.heimdall.pdp import PolicyEngineError
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.monitor import Monitor, ReportCondition
from dataos_defs.manifest.pager import Pager
from dataos_defs.monitor.conditions import ConditionError, check_held_for, check_now
from dataos_defs.monitor.equation import EquationError, Queries, solve
from dataos_defs.monitor.incidents import Incidents, IncidentSpec, MonitorRef, Transition
from dataos_defs.monitor.orphans import resolve_deleted_monitors
from dataos_defs.monitor.report import ReportError, RunView, build_report, selection_of
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.store import Store

DECISION_SOURCE = "monitor"
MAX_REPORT_ITEMS_IN_CONTEXT = 20
log = logging.getLogger(__name__)
Outcome = Literal["firing", "clear", "error"]


class Dispatcher(Protocol):
    """Hands an incident's change to pagers (``dataos_defs.monitor.pagers.dispatch``)."""

    def __call__(
        self, incident: Mapping[str, Any], pagers: Sequence[tuple[str, Pager]]
    ) -> None: ...


PagerSource = Callable[[Store, str], list[tuple[str, Pager]]]
"""The pagers of a workspace, as the dispatcher takes them."""


class MonitorError(ValueError):
    """The monitor cannot be evaluated: the reason kept in its state and answered."""


@dataclass(frozen=True)
class Platform:
    """What evaluating needs; ``queries``/``runs``/``dispatcher`` are optional parts."""

    store: Store
    incidents: Incidents
    identities: Identities
    heimdall: Heimdall
    queries: Queries | None = None
    runs: RunView | None = None
    dispatcher: Dispatcher | None = None
    pagers: PagerSource | None = None
    """Default: the workspace's pagers as stored (redacted); the server passes
    ``dataos_defs.monitor.pagers.active_pagers``, which reads their sealed fields too."""


@dataclass(frozen=True)
class Evaluation:
    outcome: Outcome
    transition: Transition | None = None
    reason: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "action": self.transition.action if self.transition else None,
            "incident": self.transition.incident if self.transition else None,
        }


def evaluate_monitor(platform: Platform, stored: StoredResource) -> Evaluation:
    """Evaluate ``stored`` (a live Monitor) now; see the module docstring."""
    ref = MonitorRef(stored.workspace or "public", stored.name)
    _resolve_deleted(platform)
    try:
        monitor = _model(stored)
        caller = _acting(platform, stored, monitor)
        firing, context = _condition(platform, ref, monitor, caller)
    except (MonitorError, ConditionError, EquationError, ReportError) as exc:
        reason = str(exc)
        platform.incidents.mark_error(ref, reason)
        return Evaluation("error", reason=reason)
    transition = platform.incidents.settle(ref, firing, _spec(stored, monitor), context)
    if transition is not None:
        _dispatch(platform, stored, monitor, transition)
    return Evaluation("firing" if firing else "clear", transition, context=context)


def _resolve_deleted(platform: Platform) -> None:
    """Deleted monitors' incidents, resolved and delivered; never fails the evaluation."""
    if platform.dispatcher is None:
        return
    try:
        pagers = platform.pagers or _pagers
        resolve_deleted_monitors(platform.store, platform.incidents, platform.dispatcher, pagers)
    except Exception:
        log.exception("the incidents of deleted monitors could not be resolved now")


def _model(stored: StoredResource) -> Monitor:
    try:
        return Monitor.model_validate(stored.manifest)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise MonitorError(
            f"the stored manifest no longer validates at {where}: {first['msg']}; apply it again"
        ) from None


def _acting(platform: Platform, stored: StoredResource, monitor: Monitor) -> Caller:
    owner = stored.owner
    if owner is None:
        raise MonitorError("the monitor records no owner, so it acts as nobody; apply it again")
    named = {u for u in (monitor.runAsUser, monitor.monitor.runAsUser) if u} - {owner}
    if named:
        raise MonitorError(
            f"runAsUser '{sorted(named)[0]}' is not admitted for monitors: a monitor acts as "
            f"its owner '{owner}'; remove runAsUser, or have that user apply it"
        )
    user = platform.identities.get_user(owner)
    if user is None:
        raise MonitorError(f"the monitor's owner '{owner}' no longer exists")
    return Caller(user.id, user.tags)


def _condition(
    platform: Platform, ref: MonitorRef, monitor: Monitor, caller: Caller
) -> tuple[bool, dict[str, Any]]:
    section = monitor.monitor
    if section.type == "equation_monitor" and section.equation is not None:
        if platform.queries is None:
            raise MonitorError("no Gateway serves this evaluation, so queries cannot run")
        solved = solve(section.equation, caller, platform.queries)
        return solved.holds, {"equation": solved.as_context(section.equation)}
    if section.type == "report_monitor" and section.report is not None:
        conditions = section.report.conditions or section.conditions or []
        return _report(platform, ref, section.report.source.dataOsInstance.path, conditions, caller)
    raise MonitorError(f"{section.type} monitors are not evaluated on schedule here")


def _report(
    platform: Platform,
    ref: MonitorRef,
    path: str,
    conditions: Sequence[ReportCondition],
    caller: Caller,
) -> tuple[bool, dict[str, Any]]:
    selection = selection_of(path, ref.workspace)

    def may_read(resource: StoredResource) -> bool:
        target = resource_object(resource.kind, resource.name, resource.workspace)
        try:
            decision = platform.heimdall.authorize(
                caller.user_id, caller.tags, "read", target, source=DECISION_SOURCE
            )
        except PolicyEngineError:
            raise MonitorError("no access decision could be made (policy engine)") from None
        return decision.allow

    report = build_report(selection, platform.store, may_read, platform.runs)
    now = platform.incidents.clock()
    checked = check_now(conditions, report, now)
    since = platform.incidents.mark_holding(ref, all(c.holds for c in checked))
    checked += check_held_for(conditions, since, now)
    checked.sort(key=lambda c: c.index)
    context = {
        "report": {"path": path, "value": report["value"][:MAX_REPORT_ITEMS_IN_CONTEXT]},
        "conditions": [c.as_context(conditions[c.index]) for c in checked],
        "holdingSince": since,
    }
    return all(c.holds for c in checked), context


def _spec(stored: StoredResource, monitor: Monitor) -> IncidentSpec:
    incident = monitor.monitor.incident
    if incident is None:
        return IncidentSpec(stored.name)
    return IncidentSpec(
        incident.name or stored.name, incident.severity, incident.kind or incident.type
    )


def _dispatch(
    platform: Platform, stored: StoredResource, monitor: Monitor, transition: Transition
) -> None:
    """The incident as pagers see it (with ``properties``: the manifest's incident fields)."""
    if platform.dispatcher is None:
        return
    workspace = stored.workspace or "public"
    incident = dict(transition.incident)
    extra = (
        monitor.monitor.incident.model_dump(exclude_none=True) if monitor.monitor.incident else {}
    )
    incident["properties"] = {
        **(monitor.monitor.properties or {}),
        **extra,
        "name": incident["name"],
        "severity": incident["severity"],
        "incident_type": incident["incidentType"],
    }
    incident["action"] = transition.action
    incident["createTime"] = datetime.fromtimestamp(incident["firstSeen"] / 1000, UTC).isoformat()
    try:
        pagers = (platform.pagers or _pagers)(platform.store, workspace)
        platform.dispatcher(incident, [p for p in pagers if p[0] == workspace])
    except Exception:
        log.exception("pagers of %s could not be given incident %s", workspace, incident["id"])


def _pagers(store: Store, workspace: str) -> list[tuple[str, Pager]]:
    """The valid Pagers of ``workspace`` (a pager never sees another workspace's incidents)."""
    found = []
    for stored in store.list("pager", workspace):
        try:
            found.append((workspace, Pager.model_validate(stored.manifest)))
        except ValidationError:
            log.warning("pager '%s' in '%s' no longer validates; skipped", stored.name, workspace)
    return found
