"""The report a ``report_monitor`` looks at: the status and runtime of selected Resources.

``report.source.dataOsInstance.path`` names the report as DataOS does,
``/collated/api/v1/reports/resources/<runtime|status>?id=<type>:<version>:<name>:<workspace>``,
where ``%`` in the name (URL-encoded ``%25``) matches any characters, an empty or ``%``
version any version; the workspace must be the monitor's own (or empty): whoever may read
the monitor reads its incidents, so a monitor never reports on another workspace. JSON::

    {"value": [{"id": "workflow:v1:shop-daily:public", "type": "workflow",
                "name": "shop-daily", "workspace": "public", "version": "v1",
                "status": "active", "runtime": "failed", "phase": "failed",
                "lastRun": {"id": "...", "status": "failed",
                            "startedMs": 1765000000000, "endedMs": 1765000060000}}]}

``phase`` repeats ``runtime`` (the word DataOS' reports use). A report holds only the
Resources the monitor's identity may ``read`` (so a monitor never reveals a Resource its
owner cannot see) and at most :data:`MAX_RESOURCES` of them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from dataos_defs.poros.records import ResourceKey, StoredResource
from dataos_defs.poros.store import Store

MAX_RESOURCES = 200
REPORT_PREFIX = "/collated/api/v1/reports/resources/"
REPORT_KINDS = ("runtime", "status")
RUNNABLE = frozenset({"workflow"})
ACTIVE_STATES = frozenset({"queued", "starting", "running"})


class ReportError(ValueError):
    """The report path cannot be read: what is wrong and how to write it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message} ({hint})")
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Selection:
    kind: str
    version: str | None
    name_pattern: str
    workspace: str

    def matches(self, resource: StoredResource) -> bool:
        return (self.version is None or resource.version == self.version) and fnmatch.fnmatchcase(
            resource.name, self.name_pattern
        )


@dataclass(frozen=True)
class RunSummary:
    """The latest run of a Resource; ``status`` is one of Caretaker's run states
    (``queued``, ``starting``, ``running``, ``succeeded``, ``failed``, ``canceled``)."""

    run_id: str
    status: str
    started_ms: int | None
    ended_ms: int | None


class RunView(Protocol):
    """Where the latest runs come from (Dagster's API in the server, Caretaker later)."""

    def latest_runs(self, resources: Sequence[ResourceKey]) -> Mapping[ResourceKey, RunSummary]:
        """The latest run of each Resource that has one."""
        ...


def selection_of(path: str, monitor_workspace: str) -> Selection:
    """The Resources a report path selects; raises :class:`ReportError`."""
    hint = f"e.g. {REPORT_PREFIX}runtime?id=workflow:v1:shop-daily:public"
    parts = urlsplit(path)
    if not parts.path.startswith(REPORT_PREFIX) or parts.path[len(REPORT_PREFIX) :] not in (
        REPORT_KINDS
    ):
        raise ReportError(f"'{path}' is not a report of Resources", hint)
    ids = parse_qs(parts.query).get("id") or []
    fields = ids[0].split(":") if len(ids) == 1 else []
    if len(fields) != 4 or not fields[0] or not fields[2]:
        raise ReportError(f"report '{path}' needs one id=<type>:<version>:<name>:<workspace>", hint)
    kind, version, name, workspace = fields
    if workspace not in ("", monitor_workspace):
        raise ReportError(
            f"report '{path}' selects workspace '{workspace}', but a monitor of "
            f"'{monitor_workspace}' reports only on its own workspace (its incidents are "
            "read by that workspace's users)",
            f"leave the workspace empty or write '{monitor_workspace}'",
        )
    return Selection(
        kind=kind,
        version=None if version in ("", "%") else version,
        name_pattern=name.replace("*", "[*]").replace("%", "*"),
        workspace=workspace or monitor_workspace,
    )


def build_report(
    selection: Selection,
    store: Store,
    may_read: Callable[[StoredResource], bool],
    runs: RunView | None,
) -> dict[str, Any]:
    """The report of the selected Resources the identity may read (see the module docstring)."""
    found = [r for r in store.list(selection.kind, selection.workspace) if selection.matches(r)]
    readable = [r for r in found[: MAX_RESOURCES * 2] if may_read(r)][:MAX_RESOURCES]
    if runs is None and selection.kind in RUNNABLE:
        raise ReportError(
            f"the runtimes of {selection.kind}s are unknown: no orchestrator answers here",
            "start the platform with `make up` (Dagster's webserver)",
        )
    latest = runs.latest_runs([r.key for r in readable]) if runs and readable else {}
    return {"value": [_item(r, latest.get(r.key)) for r in readable]}


def _item(resource: StoredResource, run: RunSummary | None) -> dict[str, Any]:
    runtime = _runtime(resource, run)
    return {
        "id": f"{resource.kind}:{resource.version}:{resource.name}:{resource.workspace or ''}",
        "type": resource.kind,
        "name": resource.name,
        "workspace": resource.workspace,
        "version": resource.version,
        "status": resource.status,
        "runtime": runtime,
        "phase": runtime,
        "lastRun": None
        if run is None
        else {
            "id": run.run_id,
            "status": run.status,
            "startedMs": run.started_ms,
            "endedMs": run.ended_ms,
        },
    }


def _runtime(resource: StoredResource, run: RunSummary | None) -> str:
    if run is None:
        return "pending"
    if run.status in ACTIVE_STATES:
        return "running"
    return "failed" if run.status in ("failed", "canceled") else run.status
