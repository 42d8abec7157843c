"""What the compiler hands to a stack executor, and what an executor hands back.

Executors are injected into :func:`compile_definitions` so that compiling stays pure: all
I/O (reading depots, running SQL, calling a check engine) lives in them. An executor is
called once per run of a workflow job, inside the Dagster op of that job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from dagster import AssetExecutionContext, AssetKey

from dataos_defs.manifest.base import ResourceBase
from dataos_defs.manifest.common import Retry, RuntimeSpec
from dataos_defs.manifest.stacks import StackSpecValue


@dataclass(frozen=True)
class CompileInput:
    """One stored Resource: its model, the workspace it lives in, who applied it and the
    identity its runs act as.

    ``workspace`` defaults to the manifest's own or ``public``; ``owner`` to the manifest's.
    ``run_as`` is what the store admitted (the code location passes the owner for rows
    stored before runs had an identity); None compiles jobs that refuse to run.
    """

    model: ResourceBase
    workspace: str | None = None
    owner: str | None = None
    run_as: str | None = None


@dataclass(frozen=True)
class CheckTarget:
    """One compiled asset check: the dataset it is about and the check as written."""

    asset_key: AssetKey
    name: str
    text: str
    input_index: int
    check_index: int


@dataclass(frozen=True)
class JobContext:
    """A workflow job as its executor sees it (no secret values: only references)."""

    workspace: str
    workflow: str
    job: str
    stack: str
    spec: RuntimeSpec | None
    stack_spec: StackSpecValue | None
    outputs: tuple[AssetKey, ...]
    inputs: tuple[AssetKey, ...] = ()
    checks: tuple[CheckTarget, ...] = ()
    dry_run: bool = False
    retry: Retry = field(default_factory=Retry)
    marker: bool = False
    """True when ``outputs`` is the job's own ``dataos/...`` key rather than datasets."""
    depots: tuple[str, ...] = ()
    """Applied depots the job reads or writes; each is a resource the job's asset requires
    (see :func:`dataos_defs.compile.keys.depot_resource_key`), empty when the Definitions
    were compiled without depot resources."""
    run_as: str | None = None
    """The user the job's runs act as, compiled from the store. Executors take the identity
    from here, never from a run's tags, which whoever launches a run can set."""


@dataclass(frozen=True)
class StackOutput:
    """A dataset (or the job's own key) the executor wrote, with what to record about it."""

    asset_key: AssetKey
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckOutput:
    """The result of one asset check of ``JobContext.checks``."""

    asset_key: AssetKey
    check_name: str
    passed: bool
    metadata: Mapping[str, Any] = field(default_factory=dict)
    severity: Literal["ERROR", "WARN"] = "ERROR"


class StackExecutor(Protocol):
    """Runs one workflow job of a stack; yields what it wrote and the checks it evaluated."""

    def __call__(
        self, context: AssetExecutionContext, job: JobContext
    ) -> Iterable[StackOutput | CheckOutput]: ...


class TransientError(Exception):
    """Raised by an executor for a failure worth retrying under ``OnTransientError``."""


class CompileError(ValueError):
    """The Resources cannot become one consistent set of Definitions (e.g. two writers)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))
