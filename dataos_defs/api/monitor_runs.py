"""The latest runs of workflows, for report monitors, read from Dagster's GraphQL API.

One query per selected workflow (a report holds at most a few hundred); a Dagster that does
not answer makes the evaluation fail (the monitor is in error), never report "no run".
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dataos_defs.adapters.dagster_graphql import DagsterGraphQL, DagsterGraphQLError
from dataos_defs.api.reconcile import DAGSTER_LOCATION_ENV, DAGSTER_URL_ENV, DEFAULT_LOCATION
from dataos_defs.location import naming
from dataos_defs.monitor.report import ReportError, RunSummary
from dataos_defs.poros.records import ResourceKey

STATUS_WORDS = {
    "QUEUED": "queued",
    "NOT_STARTED": "starting",
    "STARTING": "starting",
    "STARTED": "running",
    "CANCELING": "running",
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "CANCELED": "canceled",
}


@dataclass(frozen=True)
class DagsterRuns:
    url: str
    location: str

    @classmethod
    def from_env(cls) -> DagsterRuns | None:
        url = os.environ.get(DAGSTER_URL_ENV)
        if not url:
            return None
        return cls(url, os.environ.get(DAGSTER_LOCATION_ENV) or DEFAULT_LOCATION)

    def latest_runs(self, resources: Sequence[ResourceKey]) -> Mapping[ResourceKey, RunSummary]:
        found: dict[ResourceKey, RunSummary] = {}
        try:
            with DagsterGraphQL(self.url, location=self.location) as client:
                for key in resources:
                    if key.kind != "workflow":
                        continue
                    runs = client.runs(naming.job_name(key.workspace or "public", key.name), 1)
                    if runs:
                        run = runs[0]
                        found[key] = RunSummary(
                            run.run_id,
                            STATUS_WORDS.get(run.status, run.status.lower()),
                            _ms(run.start_time),
                            _ms(run.end_time),
                        )
        except DagsterGraphQLError as exc:
            raise ReportError(f"Dagster answered: {exc}", "check the Dagster webserver") from exc
        return found


def _ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds is not None else None
