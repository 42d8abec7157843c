"""Monitor: raises an incident when a condition over metrics or Resource states holds.

- ``equation_monitor``: ``left operator right``, each side ``queryCoefficient * result of
  query + queryConstant`` (query through a cluster: trino, prom, postgres, lens, static);
- ``report_monitor``: conditions on a report of Resource runtimes/statuses (jq filters);
- ``stream_monitor``: conditions on events of a stream.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import (
    Level,
    OpenModel,
    Problem,
    ResourceBase,
    Scalar,
    StrictModel,
)
from dataos_defs.manifest.common import Cron, DataosSecret, TimeZone
from dataos_defs.manifest.lenient import NumberText
from dataos_defs.manifest.pager import Comparison, Condition, JqFilter

MonitorType = Literal["equation_monitor", "report_monitor", "stream_monitor"]
SECTION_OF: dict[str, str] = {
    "equation_monitor": "equation",
    "report_monitor": "report",
    "stream_monitor": "stream",
}


class Incident(OpenModel):
    """What the published incident carries; keys beyond these are passed through."""

    name: str | None = None
    severity: str | None = None
    incidentType: str | None = None
    incident_type: str | None = None
    type: str | None = None
    category: str | None = None
    summary: str | None = None
    asset: str | None = None
    column: str | None = None

    @property
    def kind(self) -> str | None:
        """The incident type, whichever spelling was used (docs show both)."""
        return self.incidentType or self.incident_type


class ComparisonColumn(StrictModel):
    name: str
    dataType: str | None = None


class LensInstance(StrictModel):
    name: str
    workspace: str | None = None
    sslmode: str | None = None


class LensTarget(StrictModel):
    dataOsInstance: LensInstance


class Query(StrictModel):
    type: Literal["trino", "prom", "postgres", "lens", "static"]
    cluster: str | None = None
    description: str | None = None
    ql: str | None = None
    dsn: str | None = None
    dsnSecretRef: DataosSecret | None = None
    comparisonColumn: ComparisonColumn | None = None
    lens: LensTarget | None = None


class Expression(StrictModel):
    """``queryCoefficient * query result + queryConstant``."""

    queryCoefficient: float = 1
    queryConstant: float = 0
    query: Query | None = None


class Equation(StrictModel):
    leftExpression: Expression
    rightExpression: Expression
    operator: Comparison


class DataOsInstance(StrictModel):
    path: Annotated[str, Field(min_length=1, description="Report API path")]


class ReportSource(StrictModel):
    dataOsInstance: DataOsInstance


class ValueComparison(StrictModel):
    observationType: str | None = None
    valueJqFilter: JqFilter
    operator: Comparison
    value: Scalar


class DurationComparison(StrictModel):
    observationType: str | None = None
    selectorJqFilter: str | None = None
    startedJqFilter: str | None = None
    completedJqFilter: str | None = None
    operator: Comparison
    value: NumberText


class ReportCondition(StrictModel):
    valueComparison: ValueComparison | None = None
    durationComparison: DurationComparison | None = None


class Report(StrictModel):
    source: ReportSource
    conditions: list[ReportCondition] | None = None


class Fastbase(StrictModel):
    topic: str
    maxWorkers: int | None = Field(default=None, ge=1)
    subscriptionName: str | None = None
    subscriptionPosition: Literal["latest", "earliest"] | None = None


class StreamSource(StrictModel):
    fastbase: Fastbase


class Stream(StrictModel):
    source: StreamSource
    conditions: list[Condition] = Field(min_length=1)


class MonitorSection(StrictModel):
    schedule: Cron | None = None
    timezone: TimeZone | None = None
    type: MonitorType
    incident: Incident | None = None
    equation: Equation | None = None
    report: Report | None = None
    stream: Stream | None = None
    conditions: list[ReportCondition] | None = Field(
        default=None, description="Report conditions written beside 'report'"
    )
    runAsUser: str | None = None
    properties: dict[str, Scalar] | None = None


class Monitor(ResourceBase):
    KIND: ClassVar[str] = "monitor"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["monitor"]
    version: Literal["v1alpha"]
    runAsUser: str | None = Field(default=None, description="Whose authority the monitor uses")
    monitor: MonitorSection

    def problems(self) -> list[Problem]:
        section = self.monitor
        wanted = SECTION_OF[section.type]
        problems = [
            Problem(("monitor", key), f"'{key}' does not apply to a {section.type}")
            for typ, key in SECTION_OF.items()
            if typ != section.type and getattr(section, key) is not None
        ]
        if getattr(section, wanted) is None:
            problems.append(
                Problem(("monitor", "type"), f"a {section.type} needs 'monitor.{wanted}'")
            )
        if section.type != "stream_monitor" and section.schedule is None:
            problems.append(Problem(("monitor",), f"a {section.type} needs a 'schedule' (cron)"))
        problems.extend(_condition_problems(section))
        problems.extend(_query_problems(section))
        return problems


def _condition_problems(section: MonitorSection) -> list[Problem]:
    problems: list[Problem] = []
    if section.type == "report_monitor" and section.report is not None:
        if section.report.conditions and section.conditions:
            problems.append(
                Problem(("monitor", "conditions"), "conditions are given twice", "keep one list")
            )
        elif not (section.report.conditions or section.conditions):
            problems.append(Problem(("monitor", "report"), "a report monitor needs 'conditions'"))
    for key, conditions in (
        ("conditions", section.conditions),
        ("report", section.report.conditions if section.report else None),
    ):
        base = ("monitor", key) if key == "conditions" else ("monitor", key, "conditions")
        for index, condition in enumerate(conditions or []):
            if condition.valueComparison is None and condition.durationComparison is None:
                problems.append(
                    Problem(
                        (*base, index),
                        "a condition needs valueComparison or durationComparison",
                    )
                )
    return problems


def _query_problems(section: MonitorSection) -> list[Problem]:
    equation = section.equation
    if equation is None or section.type != "equation_monitor":
        return []
    problems = []
    for side in ("leftExpression", "rightExpression"):
        query = getattr(equation, side).query
        path = ("monitor", "equation", side, "query")
        if query is None:
            continue
        if query.type != "static" and not query.ql:
            problems.append(Problem((*path,), f"a {query.type} query needs 'ql'"))
        if query.type == "trino" and not query.cluster:
            problems.append(Problem(path, "a trino query needs 'cluster'", "e.g. system"))
        if query.type == "lens" and query.lens is None:
            problems.append(Problem(path, "a lens query needs 'lens.dataOsInstance'"))
    if equation.leftExpression.query is None:
        problems.append(
            Problem(("monitor", "equation", "leftExpression"), "the left side needs a 'query'")
        )
    return problems
