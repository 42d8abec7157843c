"""What an ``openmetadata-ingestion`` run printed, read back: its summary per step.

The ingestion prints ``Workflow <step> Summary:`` blocks with counts, then an overall
``Workflow Success %``; :class:`Summary` reads them line by line as the output streams, so a
long failure table cannot push them out of the bounded tail the adapter keeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STEP = re.compile(r"Workflow (?P<step>.+?) Summary:")
_COUNT = re.compile(
    r"(?P<key>Processed records|Updated records|Warnings|Filtered|Errors|Success %): "
    r"(?P<value>[0-9.]+)\s*$"
)
_OVERALL = re.compile(r"Workflow Success %: (?P<value>[0-9.]+)")
_COUNT_FIELD = {
    "Processed records": "records",
    "Updated records": "updated_records",
    "Warnings": "warnings",
    "Filtered": "filtered",
    "Errors": "errors",
}


@dataclass
class StepSummary:
    """One step of the workflow's printed summary (``Workflow <step> Summary:``)."""

    name: str
    records: int = 0
    updated_records: int = 0
    warnings: int = 0
    filtered: int = 0
    errors: int = 0
    success_pct: float | None = None


@dataclass(frozen=True)
class IngestionResult:
    command: str
    exit_code: int | None
    """``None`` when the process was killed at the timeout."""
    timed_out: bool
    seconds: float
    steps: tuple[StepSummary, ...]
    success_pct: float | None
    output: str
    """The tail of stdout+stderr, secrets redacted."""

    @property
    def ok(self) -> bool:
        """Exit 0 (the ingestion exits 1 when a step failed or the success threshold is missed)."""
        return self.exit_code == 0 and not self.timed_out

    @property
    def records(self) -> int:
        return sum(step.records for step in self.steps)

    @property
    def warnings(self) -> int:
        return sum(step.warnings for step in self.steps)

    @property
    def failures(self) -> int:
        return sum(step.errors for step in self.steps)


class Summary:
    """Parses summary lines as they stream by (a long failure table cannot push them out)."""

    def __init__(self) -> None:
        self.steps: list[StepSummary] = []
        self.success_pct: float | None = None

    def feed(self, line: str) -> None:
        if match := _OVERALL.search(line):
            self.success_pct = float(match["value"])
        elif match := _STEP.search(line):
            self.steps.append(StepSummary(match["step"]))
        elif self.steps and (match := _COUNT.search(line)):
            step = self.steps[-1]
            if match["key"] == "Success %":
                step.success_pct = float(match["value"])
            else:
                setattr(step, _COUNT_FIELD[match["key"]], int(float(match["value"])))


def plain(line: str) -> str:
    """``line`` without the terminal colour codes the ingestion prints."""
    return _ANSI.sub("", line)


def parse_summary(output: str) -> tuple[tuple[StepSummary, ...], float | None]:
    """The steps and overall success of an ingestion's printed summary."""
    summary = Summary()
    for line in output.splitlines():
        summary.feed(plain(line))
    return tuple(summary.steps), summary.success_pct
