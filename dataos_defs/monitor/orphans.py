"""Incidents of deleted monitors: resolved, and delivered to pagers as resolved.

Nothing evaluates a deleted monitor any more, so its open incident would stay open, and the
pagers that were told it opened would never hear that it ended. :func:`resolve_deleted_monitors`
resolves them (each once, under the store's write lock: :meth:`Incidents.resolve_deleted`)
and hands each to the pagers of its workspace like any other change (``action:
resolved``), with ``resolvedBecause: monitor-deleted`` so a pager can tell why. The
monitor's manifest is gone: ``properties`` holds what the incident itself recorded (name,
severity, type).

It runs at every monitor evaluation (scheduled ticks of any monitor) and wherever the API
resolves orphans (the incident listing), bounded by ``incidents.MAX_LIST`` monitors a call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dataos_defs.manifest.pager import Pager
from dataos_defs.monitor.incidents import Incidents, MonitorRef, Transition
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store

RESOLVED_BECAUSE = "monitor-deleted"
log = logging.getLogger(__name__)
Dispatch = Callable[[Mapping[str, Any], Sequence[tuple[str, Pager]]], None]
Pagers = Callable[[Store, str], list[tuple[str, Pager]]]


def resolve_deleted_monitors(
    store: Store, incidents: Incidents, dispatch: Dispatch | None, pagers: Pagers
) -> int:
    """Resolve the open incidents of deleted monitors and deliver each (``dispatch``
    ``None``: resolve only); how many were resolved. Never raises for a pager."""
    resolved = incidents.resolve_deleted(lambda refs: _live(store, refs))
    if dispatch is not None:
        for transition in resolved:
            _deliver(store, transition, dispatch, pagers)
    return len(resolved)


def pager_incident(transition: Transition) -> dict[str, Any]:
    """The incident of a deleted monitor as pagers see it."""
    incident = dict(transition.incident)
    incident["properties"] = {
        "name": incident["name"],
        "severity": incident["severity"],
        "incident_type": incident["incidentType"],
    }
    incident["action"] = transition.action
    incident["resolvedBecause"] = RESOLVED_BECAUSE
    incident["createTime"] = datetime.fromtimestamp(incident["firstSeen"] / 1000, UTC).isoformat()
    return incident


def _deliver(store: Store, transition: Transition, dispatch: Dispatch, pagers: Pagers) -> None:
    incident = pager_incident(transition)
    workspace = str(incident["workspace"])
    try:
        found = [p for p in pagers(store, workspace) if p[0] == workspace]
        dispatch(incident, found)
    except Exception:
        log.exception("pagers of %s could not be given incident %s", workspace, incident["id"])


def _live(store: Store, refs: list[MonitorRef]) -> set[MonitorRef]:
    keys = {ResourceKey("monitor", ref.name, ref.workspace): ref for ref in refs}
    return {keys[key] for key in store.live_keys(keys)}
