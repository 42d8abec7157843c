"""Stack name -> the executor that runs a job of that stack inside the code location.

``flare`` runs on embedded Minerva (``dataos_defs.stacks.flare``), ``soda`` evaluates
SodaCL checks there too (``dataos_defs.stacks.soda``). Those modules are imported
when a flare job runs, not when the code location loads, so Definitions load even where
the stack cannot run. A job reaches its depots through the depot resources its asset
requires (``dataos_defs.location.depot_resources``), which read them and their credentials from the
Poros store at run time, in the step's process: secrets never pass through compiled
Definitions.

Every built-in executor runs its job as the job's identity (``JobContext.run_as``), through
a governor from ``dataos_defs.location.governance``: the identity must exist, may read and
write every dataset the job names (decided before anything is read), and reads only what
its masks and row filters let it see. A refusal fails the step with the reason.

``DATAOS_EXECUTORS`` adds or replaces executors: ``module:attribute`` naming a mapping of
stack name -> executor (tests register a stub stack this way; so can a plugin).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
)

from dataos_defs.compile import CheckOutput, JobContext, StackExecutor, StackOutput
from dataos_defs.compile.keys import udl_of
from dataos_defs.location.depot_resources import ResourceDepots
from dataos_defs.manifest.udl import Udl
from dataos_defs.poros.secret_env import store_secret_env
from dataos_defs.poros.settings import Settings
from dataos_defs.stacks.container.pipes import run_container
from dataos_defs.stacks.scanner import run_scanner

if TYPE_CHECKING:
    from dataos_defs.location.governance import RunGovernor
    from dataos_defs.stacks.flare.model import OutputResult

run_local_or_k8s = partial(run_container, secret_env=store_secret_env)
"""The container stack: a local process gets its Secrets from the store (never logged);
on Kubernetes they are secret references in the pod."""

run_scanner_here = partial(run_scanner, depots=ResourceDepots.of)
"""The scanner stack over the job's depot resources (``dataos_defs.stacks.scanner``)."""

EXECUTORS_ENV = "DATAOS_EXECUTORS"
FLARE_STATE_DIR = "flare-state"
SQL_EXCERPT_LINES = 40
SQL_EXCERPT_WIDTH = 200


def run_container_as(
    context: AssetExecutionContext, job: JobContext
) -> Iterator[StackOutput | CheckOutput]:
    """The container stack as the job's identity: it must exist and may read and write the
    datasets the job declares (what the container's own code reads is its own, see
    SECURITY.md)."""
    from dataos_defs.location.governance import governed_step

    with governed_step(job) as governor:
        writes = [] if job.marker else [udl_of(key) for key in job.outputs]
        governor.authorize([udl_of(key) for key in job.inputs], writes)
    context.log.info(f"runs as {governor.user.id}")
    yield from run_local_or_k8s(context, job)


def run_flare(context: AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
    """Run a flare job and report each dataset it wrote (output, rows, columns, save mode);
    a SQL step that fails is logged with its SQL before the error ends the step."""
    from dataos_defs.location.governance import governed_step
    from dataos_defs.manifest.stacks import FlareSpec
    from dataos_defs.stacks.flare import FlareError, run_flare_job

    if not isinstance(job.stack_spec, FlareSpec):
        raise TypeError(f"job '{job.job}' of workflow '{job.workflow}' has no flare stackSpec")
    home = Settings.from_env().home
    try:
        with governed_step(job) as governor:
            result = run_flare_job(
                job.stack_spec,
                ResourceDepots.of(context, job.depots),
                state_dir(home),
                dry_run=job.dry_run,
                job_name=f"{job.workspace}/{job.workflow}/{job.job}",
                home=home,
                governor=governor,
            )
    except FlareError as exc:
        if exc.step is not None:
            context.log.error(failed_step_message(exc.step, exc.sql))
        raise
    _log_governance(context, governor)
    if not result.dry_run:
        _record_lineage(context, job, governor.reads, result.outputs)
    for item in result.inputs:
        context.log.info(f"read {item.rows} rows from input '{item.name}'")
    for output in result.outputs:
        if not output.written:
            continue
        metadata: dict[str, Any] = {
            "dataos/output": output.name,
            "dataos/udl": output.dataset,
            "dataos/run_as": governor.user.id,
            "dagster/row_count": output.rows,
            "dataos/save_mode": output.save_mode,
            "dataos/format": output.format,
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(name, kind) for name, kind in output.columns]
            ),
        }
        lineage = _column_lineage(output.lineage)
        if lineage is not None:
            metadata["dagster/column_lineage"] = lineage
        yield StackOutput(AssetKey(list(output.asset_key)), metadata)


def _record_lineage(
    context: AssetExecutionContext,
    job: JobContext,
    reads: Collection[str],
    outputs: Iterable[OutputResult],
) -> None:
    """The run's lineage into Metis (``metis/run_lineage.py``), through the store as the
    derived tags go. Metadata only: a failure is logged, it never fails the written run."""
    from dataos_defs.location.governance import runtime
    from dataos_defs.metis.run_lineage import Job, WrittenDataset, record_from_store

    written = [
        WrittenDataset(
            output.dataset,
            output.columns,
            {
                column: [(s.dataset, s.column) for s in sources]
                for column, sources in output.lineage.items()
            },
        )
        for output in outputs
        if output.written
    ]
    try:
        edges = record_from_store(
            runtime().store, Job(job.workspace, job.workflow, job.job), sorted(reads), written
        )
    except Exception as exc:
        context.log.warning(f"lineage not recorded in Metis: {exc.__class__.__name__}: {exc}")
        return
    if edges:
        context.log.info(f"recorded {edges} lineage edges in Metis")


def failed_step_message(step: str, sql: str | None) -> str:
    """``SQL step 'x' failed; its SQL:`` and the SQL, at most ``SQL_EXCERPT_LINES`` lines
    of ``SQL_EXCERPT_WIDTH`` characters (the runner has removed credentials from it).

    >>> print(failed_step_message("p", "SELECT a\\n\\nFROM p"))
    SQL step 'p' failed; its SQL:
    SELECT a
    FROM p
    """
    lines = [line.rstrip() for line in (sql or "").splitlines() if line.strip()]
    shown = [_clip(line, SQL_EXCERPT_WIDTH) for line in lines[:SQL_EXCERPT_LINES]]
    if len(lines) > SQL_EXCERPT_LINES:
        shown.append(f"... ({len(lines) - SQL_EXCERPT_LINES} more lines)")
    return "\n".join([f"SQL step '{step}' failed; its SQL:", *shown])


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."


def _column_lineage(lineage: Mapping[str, Any]) -> TableColumnLineage | None:
    """Column lineage as Dagster shows it: each output column -> input dataset columns."""
    deps = {
        column: [
            TableColumnDep(AssetKey(_key_of(source.dataset)), source.column) for source in sources
        ]
        for column, sources in lineage.items()
        if sources
    }
    return TableColumnLineage(deps) if deps else None


def _key_of(address: str) -> list[str]:
    udl = Udl.parse(address)
    return [part for part in (udl.depot, udl.collection, udl.dataset) if part]


def run_soda(context: AssetExecutionContext, job: JobContext) -> Iterator[CheckOutput]:
    """Evaluate a soda job's checks and report each as its compiled asset check."""
    from dataos_defs.location.governance import governed_step
    from dataos_defs.manifest.stacks import SodaSpec
    from dataos_defs.stacks.soda import run_soda_job

    if not isinstance(job.stack_spec, SodaSpec):
        raise TypeError(f"job '{job.job}' of workflow '{job.workflow}' has no soda stackSpec")
    home = Settings.from_env().home
    with governed_step(job) as governor:
        depots = ResourceDepots.of(context, job.depots)
        result = run_soda_job(job.stack_spec, depots, home=home, governor=governor)
    _log_governance(context, governor)
    for dataset in result.datasets:
        context.log.info(f"checked {dataset.rows} rows of {dataset.dataset}")
    by_text = {(r.dataset, r.check): r for r in result.checks}
    inputs = job.stack_spec.inputs
    for target in job.checks:
        found = by_text.get((inputs[target.input_index].dataset, target.text))
        if found is None:
            continue
        yield CheckOutput(
            target.asset_key,
            target.name,
            found.outcome == "pass",
            {
                "dataos/check": found.check,
                "dataos/outcome": found.outcome,
                "dataos/explanation": found.explanation,
                **{f"dataos/metric/{k}": v for k, v in found.metrics.items() if v is not None},
                **{f"dataos/{k}": v for k, v in found.details.items() if v is not None},
            },
            "WARN" if found.outcome == "warn" else "ERROR",
        )


def _log_governance(context: AssetExecutionContext, governor: RunGovernor) -> None:
    """Say whom the step ran as and which data policies shaped what it read."""
    context.log.info(f"ran as {governor.user.id}")
    for address, policies in sorted(governor.policies.items()):
        if policies:
            context.log.info(f"read {address} through data policies {', '.join(policies)}")


def _extra(spec: str) -> Mapping[str, StackExecutor]:
    module, _, attribute = spec.partition(":")
    if not module or not attribute:
        raise ValueError(f"{EXECUTORS_ENV} must be 'module:attribute', not '{spec}'")
    found = getattr(importlib.import_module(module), attribute)
    if not isinstance(found, Mapping):
        raise TypeError(f"{EXECUTORS_ENV}={spec} is not a mapping of stack name -> executor")
    return found


def executors(environ: Mapping[str, str] | None = None) -> dict[str, StackExecutor]:
    """The executors of this code location: the built-in ones plus ``DATAOS_EXECUTORS``."""
    env = os.environ if environ is None else environ
    registry: dict[str, StackExecutor] = {
        "flare": run_flare,
        "soda": run_soda,
        "container": run_container_as,
        "alpha": run_container_as,
        "scanner": run_scanner_here,
    }
    if env.get(EXECUTORS_ENV):
        registry.update(_extra(env[EXECUTORS_ENV]))
    return registry


def state_dir(home: Path) -> Path:
    """Where flare keeps its incremental state under ``DATAOS_HOME``."""
    return home / FLARE_STATE_DIR
