"""Workflow: a DAG of jobs, run once or on a schedule (DATAOS_CONTRACT §2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from dataos_defs.manifest.base import (
    Level,
    Problem,
    Reference,
    ResourceBase,
    ResourceName,
    StrictModel,
)
from dataos_defs.manifest.common import Cron, IsoDateTime, Retry, RuntimeSpec, TimeZone
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks._fields import error, fail, suggestion

DAG: KeyPath = ("workflow", "dag")


class Schedule(StrictModel):
    """A cron schedule; without one the workflow runs once when applied."""

    cron: Cron
    concurrencyPolicy: Literal["Allow", "Forbid", "Replace"] = "Allow"
    endOn: IsoDateTime | None = None
    timezone: TimeZone | None = None

    def ends_at(self) -> datetime | None:
        """``endOn`` as an aware date-time: ``Z`` accepted, a naive value is in the
        schedule's ``timezone`` (UTC when none)."""
        if self.endOn is None:
            return None
        moment = datetime.fromisoformat(self.endOn)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(self.timezone or "UTC"))
        return moment


class JobSpec(RuntimeSpec):
    """A job's runtime spec; ``retry`` may also sit here instead of beside ``spec``."""

    retry: Retry | None = None


class Job(StrictModel):
    """One node of the DAG: a ``spec`` to run, or a ``file`` holding the job's manifest."""

    name: ResourceName
    title: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    spec: JobSpec | None = None
    file: str | None = Field(default=None, min_length=1)
    dependencies: list[str] | str | None = None
    retry: Retry | None = None
    gcWhenComplete: bool | None = None

    @model_validator(mode="after")
    def _spec_or_file(self) -> Job:
        if self.spec is None and self.file is None:
            fail(error((), f"job '{self.name}' needs 'spec' (what to run) or 'file' (a manifest)"))
        if self.spec is not None and self.file is not None:
            fail(error(("file",), "give either 'spec' or 'file', not both", self.file))
        if self.retry is not None and self.spec is not None and self.spec.retry is not None:
            fail(error(("spec", "retry"), "retry is given twice: beside 'spec' and inside it"))
        return self

    @property
    def effective_retry(self) -> Retry:
        """The retry policy wherever it was written; no retries by default."""
        return self.retry or (self.spec.retry if self.spec else None) or Retry()

    def dependency_items(self) -> list[tuple[str, KeyPath]]:
        """Upstream job names with their key paths relative to the job."""
        if isinstance(self.dependencies, str):
            return [(self.dependencies, ("dependencies",))]
        return [(d, ("dependencies", i)) for i, d in enumerate(self.dependencies or [])]


class WorkflowSpec(StrictModel):
    title: str | None = None
    schedule: Schedule | None = None
    dag: list[Job] = Field(min_length=1)


class Workflow(ResourceBase):
    KIND: ClassVar[str] = "workflow"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["workflow"]
    version: Literal["v1", "v1beta"]
    workflow: WorkflowSpec

    def jobs(self) -> list[tuple[Job, KeyPath]]:
        return [(job, (*DAG, i)) for i, job in enumerate(self.workflow.dag)]

    def references(self) -> list[Reference]:
        return [
            ref
            for job, path in self.jobs()
            if job.spec is not None
            for ref in job.spec.runtime_references((*path, "spec"))
        ]

    def runtime_specs(self) -> list[tuple[RuntimeSpec, KeyPath]]:
        return [(job.spec, (*path, "spec")) for job, path in self.jobs() if job.spec is not None]

    def produced_datasets(self) -> list[tuple[str, KeyPath]]:
        return [
            item
            for job, path in self.jobs()
            if job.spec is not None
            for item in job.spec.runtime_produced((*path, "spec"))
        ]

    def problems(self) -> list[Problem]:
        problems = self._dag_problems()
        for job, path in self.jobs():
            if job.spec is not None:
                problems.extend(job.spec.runtime_problems((*path, "spec")))
        return problems

    def _dag_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        index: dict[str, int] = {}
        for i, job in enumerate(self.workflow.dag):
            if job.name in index:
                problems.append(
                    Problem(
                        (*DAG, i, "name"),
                        f"job '{job.name}' is defined twice in this dag",
                        f"first defined at workflow.dag[{index[job.name]}]",
                    )
                )
            index.setdefault(job.name, i)
        names = sorted(index)
        edges: dict[int, list[tuple[int, KeyPath]]] = {}
        for i, job in enumerate(self.workflow.dag):
            for dep, rel in job.dependency_items():
                path = (*DAG, i, *rel)
                if dep == job.name:
                    problems.append(Problem(path, f"job '{job.name}' depends on itself"))
                elif dep not in index:
                    close = suggestion(dep, names)
                    hint = f"{close + ' ' if close else ''}jobs: {', '.join(names)}"
                    message = f"dependency '{dep}' is not a job of this dag"
                    problems.append(Problem(path, message, hint))
                else:
                    edges.setdefault(i, []).append((index[dep], path))
        problems.extend(self._cycles(edges))
        return problems

    def _cycles(self, edges: dict[int, list[tuple[int, KeyPath]]]) -> list[Problem]:
        """Each cycle once, reported at the dependency that closes it (depth-first search)."""
        dag = self.workflow.dag
        state: dict[int, int] = {}
        stack: list[int] = []
        problems: list[Problem] = []

        def visit(node: int) -> None:
            state[node] = 1
            stack.append(node)
            for target, path in edges.get(node, []):
                if state.get(target) == 1:
                    ring = [*stack[stack.index(target) :], target]
                    names = " -> ".join(dag[n].name for n in ring)
                    problems.append(
                        Problem(
                            path,
                            f"dependency cycle: {names}",
                            "a job can only start after its dependencies; remove one of these",
                        )
                    )
                elif target not in state:
                    visit(target)
            stack.pop()
            state[node] = 2

        for node in range(len(dag)):
            if node not in state:
                visit(node)
        return problems


def runs_once_when_applied(manifest: dict[str, Any]) -> bool:
    """A workflow manifest without a schedule: applying it (created or changed) runs it once
    (the server's run outbox; ``apply -r`` must not run it a second time)."""
    return not ((manifest.get("workflow") or {}).get("schedule"))
