"""A run's events as the log route answers them: one line per event, explained.

A line is ``{time, level, node, message, error, rows}``: ``time`` in ISO 8601 UTC,
``node`` the DataOS job (None for run-level events). A failed step's line carries in
``error`` the cause a user acts on, not Dagster's wrapper: its class, message and the
innermost frames of its stack (bounded, see ``dagster_events.stack_excerpt``). A
materialization's line carries in ``rows`` the rows written to the output it records.
:func:`first_failure` is what the log leads with: which job failed and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dataos_defs.adapters.dagster_events import (
    LogEvent,
    stack_excerpt,
    text_excerpt,
    user_cause,
)

STEP_FAILURE = "ExecutionStepFailureEvent"
RUN_FAILURE = "RunFailureEvent"
MATERIALIZATION = "MaterializationEvent"
ROW_COUNT = "dagster/row_count"
HEADLINE_CHARS = 500


def event_time(millis: str) -> str:
    """Dagster's event timestamps (epoch milliseconds, as text) in ISO 8601 UTC.

    >>> event_time("1700000000123")
    '2023-11-14T22:13:20.123+00:00'
    """
    try:
        moment = datetime.fromtimestamp(int(millis) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return millis
    return moment.isoformat(timespec="milliseconds")


def log_lines(events: Sequence[LogEvent], nodes: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every event as a line; the run's failure repeats no cause a step has shown."""
    lines = []
    shown: list[dict[str, Any]] = []
    for event in events:
        line = log_line(event, nodes)
        if line["error"] is not None and event.kind == RUN_FAILURE and line["error"] in shown:
            line["error"] = None
        if line["error"] is not None:
            shown.append(line["error"])
        lines.append(line)
    return lines


def log_line(event: LogEvent, nodes: Mapping[str, str]) -> dict[str, Any]:
    """One event as a line; ``nodes`` maps Dagster step keys to DataOS job names. An event
    without a message (``RunEnqueuedEvent``) is named by its kind (``run enqueued``)."""
    return {
        "time": event_time(event.timestamp),
        "level": event.level,
        "node": nodes.get(event.step or ""),
        "message": event.message.strip() or kind_words(event.kind),
        "error": error_of(event),
        "rows": rows_of(event),
    }


def kind_words(kind: str) -> str:
    """The words of an event's kind.

    >>> kind_words("RunEnqueuedEvent")
    'run enqueued'
    """
    return " ".join(re.findall(r"[A-Z][a-z]*", kind.removesuffix("Event"))).lower() or kind


def error_of(event: LogEvent) -> dict[str, Any] | None:
    """The cause of a failure event: class, message and a stack excerpt (innermost last)."""
    cause = user_cause(event.errors)
    if cause is None:
        return None
    return {
        "class": cause.class_name,
        "message": text_excerpt(cause.text),
        "stack": stack_excerpt(cause.stack),
    }


def rows_of(event: LogEvent) -> dict[str, Any] | None:
    """Rows a materialization recorded: output name (when the stack names it), dataset and
    count; None for other events or a materialization without a row count."""
    if event.kind != MATERIALIZATION or ROW_COUNT not in event.metadata:
        return None
    try:
        count = int(event.metadata[ROW_COUNT])
    except ValueError:
        return None
    dataset = event.metadata.get("dataos/udl")
    if dataset is None and event.asset:
        dataset = "/".join(event.asset)
    return {"output": event.metadata.get("dataos/output"), "dataset": dataset, "rows": count}


def first_failure(events: Sequence[LogEvent], nodes: Mapping[str, str]) -> dict[str, Any] | None:
    """The first failed step (else the run's own failure) that carries an error: its job
    and the first line of its cause, as the log's header shows them."""
    failures = [e for e in events if e.kind == STEP_FAILURE and e.errors]
    failures = failures or [e for e in events if e.kind == RUN_FAILURE and e.errors]
    if not failures:
        return None
    event = failures[0]
    error = error_of(event) or {}
    lines = (error.get("message") or event.message).splitlines()
    return {
        "node": nodes.get(event.step or ""),
        "class": error.get("class"),
        "message": text_excerpt(lines[0], 1, HEADLINE_CHARS) if lines else "",
    }
