"""Report conditions: ``valueComparison`` and ``durationComparison`` over a report.

* ``valueComparison``: ``valueJqFilter`` picks values of the report; the condition holds when
  any picked value compares true with ``value`` (the pagers' operators, one rule for both).
* ``durationComparison`` with ``selectorJqFilter`` and ``startedJqFilter``: each selected item
  lasts from its start to its completion (``completedJqFilter``; now when that gives
  nothing); the condition holds when any item's duration compares true with ``value``.
* ``durationComparison`` without them: how long the monitor's other conditions have held
  without a break ("failed for more than 10m"), measured from the time they first held,
  which the store keeps between evaluations.

Durations are written ``90``, ``90s``, ``10m``, ``1h30m`` or ``2d`` (seconds by default);
times picked by jq are epoch milliseconds or ISO-8601 texts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dataos_defs.manifest.monitor import DurationComparison, ReportCondition, ValueComparison
from dataos_defs.monitor import jqfilter
from dataos_defs.monitor.pagers_eval import compare

MAX_OBSERVED = 10
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ConditionError(ValueError):
    """A condition cannot be evaluated: what, where, a hint."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message} ({hint})")
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Checked:
    """One condition as evaluated, for the incident's context."""

    index: int
    holds: bool
    observed: list[Any]

    def as_context(self, condition: ReportCondition) -> dict[str, Any]:
        return {
            "condition": condition.model_dump(exclude_none=True),
            "holds": self.holds,
            "observed": self.observed,
        }


def duration_seconds(text: str) -> float:
    """``10m`` -> 600.0; raises :class:`ConditionError` for anything else."""
    compact = text.strip().lower().replace(" ", "")
    pieces = _DURATION.findall(compact)
    if not compact or "".join(n + u for n, u in pieces) != compact:
        raise ConditionError(f"'{text}' is not a duration", "write e.g. 90, 90s, 10m, 1h30m or 2d")
    return sum(float(number) * _UNIT_S[unit] for number, unit in pieces)


def is_held_for(condition: ReportCondition) -> bool:
    """A duration of the other conditions, rather than of selected items."""
    duration = condition.durationComparison
    return duration is not None and not (duration.selectorJqFilter or duration.startedJqFilter)


def check_now(conditions: Sequence[ReportCondition], report: Any, now_ms: int) -> list[Checked]:
    """Every condition but the held-for durations, in order."""
    checked = []
    for index, condition in enumerate(conditions):
        if condition.valueComparison is not None:
            checked.append(_value(index, condition.valueComparison, report))
        elif condition.durationComparison is not None and not is_held_for(condition):
            checked.append(_items(index, condition.durationComparison, report, now_ms))
    return checked


def check_held_for(
    conditions: Sequence[ReportCondition], holding_since: int | None, now_ms: int
) -> list[Checked]:
    """The held-for durations: how long the other conditions have held (nothing: 0 s)."""
    held_s = (now_ms - holding_since) / 1000 if holding_since is not None else None
    checked = []
    for index, condition in enumerate(conditions):
        duration = condition.durationComparison
        if duration is None or not is_held_for(condition):
            continue
        limit = duration_seconds(duration.value)
        holds = held_s is not None and compare(held_s, duration.operator, limit)
        checked.append(Checked(index, holds, [held_s]))
    return checked


def _value(index: int, comparison: ValueComparison, report: Any) -> Checked:
    picked = _run(comparison.valueJqFilter, report, index, "valueJqFilter")
    holds = any(compare(value, comparison.operator, comparison.value) for value in picked)
    return Checked(index, holds, picked[:MAX_OBSERVED])


def _items(index: int, comparison: DurationComparison, report: Any, now_ms: int) -> Checked:
    limit = duration_seconds(comparison.value)
    selector = comparison.selectorJqFilter or "."
    durations = []
    for item in _run(selector, report, index, "selectorJqFilter"):
        started = _time(_first(comparison.startedJqFilter, item, index, "startedJqFilter"))
        if started is None:
            continue
        ended = _time(_first(comparison.completedJqFilter, item, index, "completedJqFilter"))
        durations.append(((ended if ended is not None else now_ms) - started) / 1000)
    holds = any(compare(seconds, comparison.operator, limit) for seconds in durations)
    return Checked(index, holds, durations[:MAX_OBSERVED])


def _first(text: str | None, item: Any, index: int, key: str) -> Any:
    if not text:
        return None
    found = _run(text, item, index, key)
    return found[0] if found else None


def _run(text: str, value: Any, index: int, key: str) -> list[Any]:
    try:
        return jqfilter.run(text, value)
    except jqfilter.JqError as exc:
        raise ConditionError(f"conditions[{index}].{key}: {exc.message}", exc.hint) from None


def _time(value: Any) -> int | None:
    """Epoch milliseconds of a number (milliseconds) or an ISO-8601 text; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value).timestamp() * 1000)
        except ValueError:
            return None
    return None
