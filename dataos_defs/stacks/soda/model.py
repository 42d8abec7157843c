"""What a soda run hands back: one result per check, plus what each input dataset held."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["pass", "warn", "fail"]
Severity = Literal["warn", "fail"]


class SodaError(Exception):
    """A dataset that cannot be read (unknown depot, missing table, unreadable files).

    ``dataset`` is the address as written in the spec; the message never holds credentials.
    """

    def __init__(self, dataset: str, problem: str) -> None:
        self.dataset = dataset
        self.problem = problem
        super().__init__(f"dataset '{dataset}': {problem}")


@dataclass(frozen=True)
class CheckResult:
    """One evaluated check.

    ``severity`` is the level that was triggered when the check did not pass, else the
    highest level the check can raise. ``evaluated`` is False when the check could not be
    computed (unsupported construct, unknown column, SQL error): such a check never passes.
    ``metrics`` holds the measured value(s) by name, e.g. ``{"missing_count(email)": 3}``.
    ``details`` holds what Great Expectations reported for it (``gx/expectations``,
    ``gx/observed_value``, ``gx/unexpected_count``, ``gx/unexpected_sample``: values as the
    run's identity may see them).
    """

    dataset: str
    name: str
    check: str
    outcome: Outcome
    severity: Severity
    metrics: Mapping[str, float | None]
    threshold: str | None
    explanation: str
    title: str | None = None
    category: str | None = None
    evaluated: bool = True
    details: Mapping[str, object] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    @property
    def value(self) -> float | None:
        """The main metric value (the first one), if any."""
        return next(iter(self.metrics.values()), None)


@dataclass(frozen=True)
class DatasetResult:
    """An input dataset as checked: its address and row count after ``filter.where``."""

    dataset: str
    address: str
    rows: int
    columns: tuple[tuple[str, str], ...]
    filter: str | None = None


@dataclass(frozen=True)
class SodaResult:
    datasets: tuple[DatasetResult, ...]
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """No check failed (warnings do not fail a run, as in Soda)."""
        return not self.failed

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.outcome == "fail")

    @property
    def warned(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.outcome == "warn")
