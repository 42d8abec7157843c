"""Quality check results as Caretaker records: one row per asset check evaluated in a run.

The soda stack's checks run as Great Expectations suites and reach Dagster as asset check
evaluations whose metadata holds the outcome, the metrics, GX's observed value and unexpected
count, and a sample of the unexpected values. Only an allow-list of that metadata is kept
here (:func:`check_record`): the sample is data (masked for the run's identity, but data all
the same) and stays in Dagster's event log, governed there; Caretaker's tables and its
Parquet history hold figures only. A figure that is not a number (an observed value that is a
string, a list) is dropped: a string can be a value of the data.

A check is keyed by ``(run_id, asset_key, check)``: the same check written for two datasets
of one run is two rows. ``run_as`` in the history comes from the run, like the steps'.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from sqlalchemy import Connection, select

from dataos_defs.caretaker import schema

CheckOutcome = Literal["pass", "warn", "fail"]
OUTCOMES: frozenset[str] = frozenset({"pass", "warn", "fail"})
METRIC_PREFIX = "dataos/metric/"
OBSERVED_KEY = "dataos/gx/observed_value"
UNEXPECTED_COUNT_KEY = "dataos/gx/unexpected_count"
MAX_OBSERVED_CHARS = 64
"""An observed value longer than this (as JSON) is not kept (no number is that long)."""


@dataclass(frozen=True)
class CheckRecord:
    """One asset check evaluated in a run (a soda check through Great Expectations)."""

    run_id: str
    workspace: str
    resource_type: str
    resource_name: str
    job: str
    asset_key: str
    check: str
    outcome: CheckOutcome
    severity: str | None
    passed: bool
    evaluated_ms: int
    # JSON object of the check's metrics (``dataos/metric/<name>``), numbers only
    metrics: str | None = None
    observed_value: str | None = None
    unexpected_count: int | None = None


def column_names() -> list[str]:
    return [f.name for f in fields(CheckRecord)]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _observed(value: Any) -> str | None:
    """GX's observed value as JSON when it is a figure (a number or a bool). A string could
    be a value of the data (the min of a text column), a list the sample: both are dropped."""
    if not isinstance(value, int | float | bool):
        return None
    text = json.dumps(value)
    return text if len(text) <= MAX_OBSERVED_CHARS else None


def check_record(
    run_id: str,
    owner: tuple[str, str, str],
    job: str,
    evaluation: tuple[str, str, bool, str | None],
    metadata: Mapping[str, Any],
    at_ms: int,
) -> CheckRecord:
    """The record of one evaluation. ``owner``: (workspace, resource type, resource name);
    ``evaluation``: (asset key, check name, passed, severity); ``metadata``: plain values."""
    workspace, resource_type, resource_name = owner
    asset_key, check, passed, severity = evaluation
    stated = metadata.get("dataos/outcome")
    outcome: CheckOutcome
    if isinstance(stated, str) and stated in OUTCOMES:
        outcome = stated  # type: ignore[assignment]
    else:
        outcome = "pass" if passed else ("warn" if severity == "WARN" else "fail")
    metrics = {
        key.removeprefix(METRIC_PREFIX): value
        for key, value in sorted(metadata.items())
        if key.startswith(METRIC_PREFIX) and _number(value)
    }
    count = metadata.get(UNEXPECTED_COUNT_KEY)
    return CheckRecord(
        run_id=run_id,
        workspace=workspace,
        resource_type=resource_type,
        resource_name=resource_name,
        job=job,
        asset_key=asset_key,
        check=check,
        outcome=outcome,
        severity=severity,
        passed=passed,
        evaluated_ms=at_ms,
        metrics=json.dumps(metrics) if metrics else None,
        observed_value=_observed(metadata.get(OBSERVED_KEY)),
        unexpected_count=int(count) if isinstance(count, int | float) and _number(count) else None,
    )


def as_row(record: CheckRecord) -> dict[str, Any]:
    return asdict(record)


def checks_of(
    conn: Connection, run_ids: Sequence[str], limit: int | None = None
) -> list[CheckRecord]:
    """The checks of the runs, by run, dataset and check (at most ``limit`` of them)."""
    if not run_ids:
        return []
    table = schema.checks.c
    query = (
        select(schema.checks)
        .where(table.run_id.in_(list(run_ids)))
        .order_by(table.run_id, table.asset_key, table.check)
    )
    if limit is not None:
        query = query.limit(limit)
    names = column_names()
    return [CheckRecord(**{n: row._mapping[n] for n in names}) for row in conn.execute(query)]
