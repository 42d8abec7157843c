"""The latest runs of Resources from Caretaker's live tables, when Caretaker records them.

Caretaker keeps every run of a workflow in the store (``dataos_defs.caretaker.live``), with
the same run states a report shows. A Resource Caretaker has no run of yet is asked of the
next view (Dagster's API), so a run Caretaker has not recorded yet is still seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dataos_defs.caretaker import live
from dataos_defs.monitor.report import RunSummary, RunView
from dataos_defs.poros.records import ResourceKey


@dataclass(frozen=True)
class CaretakerRuns:
    """:class:`RunView` over Caretaker's live tables, then ``fallback`` for the others."""

    engine: Engine
    fallback: RunView | None = None

    def latest_runs(self, resources: Sequence[ResourceKey]) -> Mapping[ResourceKey, RunSummary]:
        found: dict[ResourceKey, RunSummary] = {}
        try:
            with self.engine.connect() as conn:
                for key in resources:
                    target = (key.workspace or "public", key.kind, key.name)
                    runs = live.latest_runs(conn, 1, target)
                    if runs:
                        run = runs[0]
                        found[key] = RunSummary(run.run_id, run.state, run.started_ms, run.ended_ms)
        except SQLAlchemyError:
            found = {}
        missing = [key for key in resources if key not in found]
        if missing and self.fallback is not None:
            found.update(self.fallback.latest_runs(missing))
        return found
