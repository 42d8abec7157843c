"""A stand-in for the Dagster webserver's GraphQL API, served over real HTTP on 127.0.0.1.

Reconciliation decides from what Dagster answers; starting ``dagster dev`` takes ~25 s, so
the decision tests talk to this instead. It answers the operations of
``dataos_defs.adapters.dagster_graphql`` (recognised by their operation names) with the
shapes of Dagster 1.13's schema (``test_graphql_queries.py`` checks the queries against
it) and keeps a small state: the workflows the location compiled at its last reload
(``workflows()`` is read on reload, as the code location reads the store), schedule states
(``RUNNING`` by default, as compiled schedules are), runs, and every call made.

Imported as ``from graphql_stand_in import ...`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dataos_defs.location import naming

Compiled = tuple[str, str, bool]
"""(workspace, workflow, has a schedule)."""
_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")


@dataclass
class Run:
    run_id: str
    job: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class DagsterStandIn:
    workflows: Callable[[], Iterable[Compiled]]
    location: str = "dataos"
    loaded: list[Compiled] = field(default_factory=list)
    schedules: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    launch_error: str | None = None
    """When set, ``launchRun`` answers a ``PythonError`` with this message."""
    finishing: set[str] = field(default_factory=set)
    """Runs that succeed just before a request to terminate them arrives."""
    _ids: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.loaded = list(self.workflows())

    # -- what tests read and seed -------------------------------------------------------------

    def add_run(self, job: str, status: str = "STARTED") -> str:
        run = Run(f"run-{next(self._ids)}", job, status)
        self.runs.insert(0, run)
        return run.run_id

    def run(self, run_id: str) -> Run:
        return next(r for r in self.runs if r.run_id == run_id)

    def launched(self) -> list[Run]:
        return [r for r in reversed(self.runs) if r.tags]

    # -- the API ------------------------------------------------------------------------------

    def answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        match = _OPERATION.match(query)
        assert match is not None, query
        operation = match.group(1)
        with self._lock:
            self.calls.append(operation)
            handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(self, f"_{operation}")
            return handler(variables)

    def _entry(self) -> dict[str, Any]:
        jobs, schedules = [], []
        for workspace, workflow, scheduled in self.loaded:
            job = naming.job_name(workspace, workflow)
            tags = {"dataos/workspace": workspace, "dataos/workflow": workflow}
            jobs.append({"name": job, "tags": [{"key": k, "value": v} for k, v in tags.items()]})
            if scheduled:
                name = f"{job}__schedule"
                status = self.schedules.setdefault(name, "RUNNING")
                state = {"id": f"state-{name}", "status": status}
                schedules.append({"name": name, "pipelineName": job, "scheduleState": state})
        repository = {"name": "__repository__", "jobs": jobs, "schedules": schedules}
        return {
            "__typename": "WorkspaceLocationEntry",
            "name": self.location,
            "loadStatus": "LOADED",
            "locationOrLoadError": {
                "__typename": "RepositoryLocation",
                "repositories": [repository],
            },
        }

    def _Reload(self, variables: dict[str, Any]) -> dict[str, Any]:
        self.loaded = list(self.workflows())
        return {"reloadRepositoryLocation": self._entry()}

    def _Location(self, variables: dict[str, Any]) -> dict[str, Any]:
        return {"workspaceLocationEntryOrError": self._entry()}

    def _schedule_result(self, name: str) -> dict[str, Any]:
        state = {"id": f"state-{name}", "status": self.schedules[name]}
        return {"__typename": "ScheduleStateResult", "scheduleState": state}

    def _Start(self, variables: dict[str, Any]) -> dict[str, Any]:
        name = variables["selector"]["scheduleName"]
        self.schedules[name] = "RUNNING"
        return {"startSchedule": self._schedule_result(name)}

    def _Stop(self, variables: dict[str, Any]) -> dict[str, Any]:
        name = variables["id"].removeprefix("state-")
        self.schedules[name] = "STOPPED"
        return {"stopRunningSchedule": self._schedule_result(name)}

    def _Launch(self, variables: dict[str, Any]) -> dict[str, Any]:
        if self.launch_error is not None:
            return {"launchRun": {"__typename": "PythonError", "message": self.launch_error}}
        params = variables["params"]
        tags = {t["key"]: t["value"] for t in params["executionMetadata"]["tags"]}
        run = Run(f"run-{next(self._ids)}", params["selector"]["jobName"], "QUEUED", tags)
        self.runs.insert(0, run)
        answer = {"runId": run.run_id, "status": run.status}
        return {"launchRun": {"__typename": "LaunchRunSuccess", "run": answer}}

    def _Terminate(self, variables: dict[str, Any]) -> dict[str, Any]:
        run = self.run(variables["runId"])
        if run.run_id in self.finishing:
            run.status = "SUCCESS"
        if run.status in ("SUCCESS", "FAILURE", "CANCELED"):
            failure = {"__typename": "TerminateRunFailure", "message": "run is not in progress"}
            return {"terminateRun": failure}
        run.status = "CANCELED"
        answer = {"runId": run.run_id, "status": run.status}
        return {"terminateRun": {"__typename": "TerminateRunSuccess", "run": answer}}

    def _Runs(self, variables: dict[str, Any]) -> dict[str, Any]:
        wanted = variables.get("filter") or {}
        found = [
            {"runId": r.run_id, "jobName": r.job, "status": r.status}
            | {"startTime": 1.0e9, "endTime": None}
            for r in self.runs
            if wanted.get("pipelineName") in (None, r.job)
            and r.run_id in wanted.get("runIds", [r.run_id])
            and r.status in wanted.get("statuses", [r.status])
        ]
        results = found[: variables.get("limit") or len(found)]
        return {"runsOrError": {"__typename": "Runs", "results": results}}

    def _NextTick(self, variables: dict[str, Any]) -> dict[str, Any]:
        ticks = {"results": [{"timestamp": 4.0e9}]}
        return {"scheduleOrError": {"__typename": "Schedule", "futureTicks": ticks}}

    def _Steps(self, variables: dict[str, Any]) -> dict[str, Any]:
        run = self.run(variables["runId"])
        body = {"runId": run.run_id, "status": run.status, "startTime": 1.0e9, "endTime": None}
        return {"runOrError": {"__typename": "Run", **body, "stepStats": []}}


@contextmanager
def serve(stand_in: DagsterStandIn) -> Iterator[str]:
    """Serve ``POST /graphql`` on a free port of 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            request = json.loads(self.rfile.read(length))
            data = stand_in.answer(request["query"], request.get("variables") or {})
            body = json.dumps({"data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def compiled_from(store: Any) -> Callable[[], list[Compiled]]:
    """What the code location compiles from ``store`` (a ``Store``): its live workflows."""

    def workflows() -> list[Compiled]:
        return [
            (w.workspace or "", w.name, bool((w.manifest.get("workflow") or {}).get("schedule")))
            for w in store.list(kind="workflow")
        ]

    return workflows
