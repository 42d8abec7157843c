"""A thin client of the Dagster webserver's GraphQL API (``POST <url>/graphql``), over httpx.

Only what Poros and Caretaker need: reload the code location, read what it holds, turn
schedules on and off, launch, list and terminate runs, read a run's log. Union answers
(``... | PythonError``) become :class:`DagsterGraphQLError` unless the caller handles them,
as :meth:`DagsterGraphQL.reload_location` does for a location that fails to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from dataos_defs.adapters.dagster_events import LOGS, LogEvent, parse_event

DEFAULT_LOCATION = "dataos"
DEFAULT_REPOSITORY = "__repository__"
"""The repository name Dagster gives the Definitions of a code location."""
ACTIVE_RUN_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")
"""Runs that have not ended and are not being canceled already."""

_LOCATION_FIELDS = """
  __typename
  ... on WorkspaceLocationEntry {
    name
    loadStatus
    locationOrLoadError {
      __typename
      ... on PythonError { message }
      ... on RepositoryLocation {
        repositories {
          name
          jobs { name tags { key value } }
          schedules { name pipelineName scheduleState { id status } }
        }
      }
    }
  }
  ... on Error { message }
"""

RELOAD = f"""
mutation Reload($location: String!) {{
  reloadRepositoryLocation(repositoryLocationName: $location) {{ {_LOCATION_FIELDS} }}
}}"""

LOCATION = f"""
query Location($location: String!) {{
  workspaceLocationEntryOrError(name: $location) {{ {_LOCATION_FIELDS} }}
}}"""

_SCHEDULE_RESULT = """
  __typename
  ... on ScheduleStateResult { scheduleState { id status } }
  ... on Error { message }
"""

START_SCHEDULE = f"""
mutation Start($selector: ScheduleSelector!) {{
  startSchedule(scheduleSelector: $selector) {{ {_SCHEDULE_RESULT} }}
}}"""

STOP_SCHEDULE = f"""
mutation Stop($id: String!) {{ stopRunningSchedule(id: $id) {{ {_SCHEDULE_RESULT} }} }}"""

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on Error { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""

TERMINATE_RUN = """
mutation Terminate($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunSuccess { run { runId status } }
    ... on TerminateRunFailure { message }
    ... on Error { message }
  }
}"""

RUNS = """
query Runs($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { runId jobName status startTime endTime } }
    ... on Error { message }
  }
}"""

STEP_STATS = """
query Steps($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status startTime endTime stepStats { stepKey status startTime endTime } }
    ... on Error { message }
  }
}"""

NEXT_TICK = """
query NextTick($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename
    ... on Schedule { futureTicks(limit: 1) { results { timestamp } } }
    ... on Error { message }
  }
}"""


class DagsterGraphQLError(RuntimeError):
    """The webserver answered with an error type, or not at all."""


@dataclass(frozen=True)
class ScheduleState:
    name: str
    job: str
    state_id: str
    status: str
    """``RUNNING`` or ``STOPPED``."""


@dataclass(frozen=True)
class LocationState:
    """A code location after a (re)load: its jobs (name -> tags) and schedules, or why it
    failed to load (``error``, the Python error's message)."""

    name: str
    load_status: str
    repository: str | None = None
    jobs: dict[str, dict[str, str]] = field(default_factory=dict)
    schedules: dict[str, ScheduleState] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    job: str
    status: str
    start_time: float | None = None
    end_time: float | None = None


@dataclass(frozen=True)
class StepStat:
    """One op of a run: the op's key, its status and when it started and ended."""

    step_key: str
    status: str | None
    start_time: float | None
    end_time: float | None


def _fail_unless(answer: dict[str, Any], *expected: str) -> dict[str, Any]:
    if answer.get("__typename") not in expected:
        detail = answer.get("message") or answer.get("errors") or answer
        raise DagsterGraphQLError(f"{answer.get('__typename')}: {detail}")
    return answer


def _location(entry: dict[str, Any]) -> LocationState:
    _fail_unless(entry, "WorkspaceLocationEntry")
    loaded = entry.get("locationOrLoadError") or {}
    if loaded.get("__typename") == "PythonError":
        return LocationState(entry["name"], entry["loadStatus"], error=loaded["message"])
    repositories = loaded.get("repositories") or []
    if not repositories:
        return LocationState(entry["name"], entry["loadStatus"])
    repo = repositories[0]
    jobs = {j["name"]: {t["key"]: t["value"] for t in j["tags"]} for j in repo["jobs"]}
    schedules = {
        s["name"]: ScheduleState(
            s["name"], s["pipelineName"], s["scheduleState"]["id"], s["scheduleState"]["status"]
        )
        for s in repo["schedules"]
    }
    return LocationState(entry["name"], entry["loadStatus"], repo["name"], jobs, schedules)


class DagsterGraphQL:
    """Talks to one webserver (``url`` like ``http://127.0.0.1:3000``) about one location."""

    def __init__(
        self,
        url: str,
        *,
        location: str = DEFAULT_LOCATION,
        repository: str = DEFAULT_REPOSITORY,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.location = location
        self.repository = repository
        self._http = httpx.Client(
            base_url=url.rstrip("/"), timeout=timeout, transport=transport, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DagsterGraphQL:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of one GraphQL request; transport and GraphQL errors raise."""
        try:
            response = self._http.post("/graphql", json={"query": query, "variables": variables})
        except httpx.HTTPError as exc:
            raise DagsterGraphQLError(f"Dagster webserver unreachable: {exc}") from exc
        if response.status_code != 200:
            raise DagsterGraphQLError(f"HTTP {response.status_code}: {response.text[:300]}")
        body = response.json()
        if body.get("errors"):
            raise DagsterGraphQLError("; ".join(e.get("message", "") for e in body["errors"]))
        data: dict[str, Any] = body["data"]
        return data

    # -- the code location -----------------------------------------------------------------

    def reload_location(self) -> LocationState:
        """Reload the location (it re-reads the store); a load failure is in ``error``."""
        data = self.execute(RELOAD, {"location": self.location})
        return _location(data["reloadRepositoryLocation"])

    def location_state(self) -> LocationState:
        data = self.execute(LOCATION, {"location": self.location})
        entry = data["workspaceLocationEntryOrError"]
        if entry is None:
            raise DagsterGraphQLError(f"no code location named '{self.location}'")
        return _location(entry)

    # -- schedules -------------------------------------------------------------------------

    def start_schedule(self, name: str) -> str:
        """Start schedule ``name``; returns its status (``RUNNING``)."""
        selector = {
            "repositoryLocationName": self.location,
            "repositoryName": self.repository,
            "scheduleName": name,
        }
        data = self.execute(START_SCHEDULE, {"selector": selector})
        result = _fail_unless(data["startSchedule"], "ScheduleStateResult")
        return str(result["scheduleState"]["status"])

    def stop_schedule(self, state_id: str) -> str:
        """Stop the schedule whose state id is ``state_id`` (:class:`ScheduleState`)."""
        data = self.execute(STOP_SCHEDULE, {"id": state_id})
        result = _fail_unless(data["stopRunningSchedule"], "ScheduleStateResult")
        return str(result["scheduleState"]["status"])

    # -- runs ------------------------------------------------------------------------------

    def launch_run(self, job: str, tags: dict[str, str] | None = None) -> str:
        """Launch a run of ``job`` (no run config: compiled jobs need none); its run id."""
        params = {
            "selector": {
                "repositoryLocationName": self.location,
                "repositoryName": self.repository,
                "jobName": job,
            },
            "executionMetadata": {
                "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]
            },
        }
        data = self.execute(LAUNCH_RUN, {"params": params})
        result = _fail_unless(data["launchRun"], "LaunchRunSuccess")
        return str(result["run"]["runId"])

    def terminate_run(self, run_id: str) -> str:
        """Ask the run to stop; returns its status read afterwards (``CANCELING``, ``CANCELED``:
        the mutation's own answer can still carry the status before the request)."""
        data = self.execute(TERMINATE_RUN, {"runId": run_id})
        result = _fail_unless(data["terminateRun"], "TerminateRunSuccess")
        return self.run_status(run_id) or str(result["run"]["status"])

    def runs(
        self, job: str | None = None, limit: int = 20, statuses: Sequence[str] | None = None
    ) -> list[RunInfo]:
        """Newest first: runs of ``job`` (all jobs when ``None``) with their status, only
        those in ``statuses`` when given."""
        run_filter: dict[str, Any] = {"pipelineName": job} if job else {}
        if statuses is not None:
            run_filter["statuses"] = list(statuses)
        data = self.execute(RUNS, {"filter": run_filter, "limit": limit})
        result = _fail_unless(data["runsOrError"], "Runs")
        return [
            RunInfo(r["runId"], r["jobName"], r["status"], r["startTime"], r["endTime"])
            for r in result["results"]
        ]

    def active_runs(self, job: str, limit: int = 100) -> list[RunInfo]:
        """Runs of ``job`` that are queued, starting or running."""
        return self.runs(job, limit, statuses=ACTIVE_RUN_STATUSES)

    def run_status(self, run_id: str) -> str | None:
        data = self.execute(RUNS, {"filter": {"runIds": [run_id]}, "limit": 1})
        result = _fail_unless(data["runsOrError"], "Runs")["results"]
        return str(result[0]["status"]) if result else None

    def step_stats(self, run_id: str) -> list[StepStat]:
        """Every op of a run that has started, with its status and times."""
        data = self.execute(STEP_STATS, {"runId": run_id})
        run = _fail_unless(data["runOrError"], "Run")
        return [
            StepStat(s["stepKey"], s.get("status"), s.get("startTime"), s.get("endTime"))
            for s in run["stepStats"]
        ]

    def next_tick(self, schedule: str) -> float | None:
        """When the schedule fires next (epoch seconds), ``None`` when it has no future tick."""
        selector = {
            "repositoryLocationName": self.location,
            "repositoryName": self.repository,
            "scheduleName": schedule,
        }
        data = self.execute(NEXT_TICK, {"selector": selector})
        found = _fail_unless(data["scheduleOrError"], "Schedule")
        ticks = found["futureTicks"]["results"]
        return float(ticks[0]["timestamp"]) if ticks else None

    def logs(self, run_id: str) -> list[LogEvent]:
        """Every message event of the run, oldest first (pages through the event log)."""
        events: list[LogEvent] = []
        cursor: str | None = None
        while True:
            data = self.execute(LOGS, {"runId": run_id, "cursor": cursor})
            page = _fail_unless(data["logsForRun"], "EventConnection")
            parsed = (parse_event(e) for e in page["events"])
            events.extend(e for e in parsed if e is not None)
            if not page["hasMore"] or page["cursor"] == cursor:
                return events
            cursor = page["cursor"]
