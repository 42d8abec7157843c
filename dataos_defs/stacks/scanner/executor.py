"""The ``scanner`` stack: a depot's metadata into Metis, as the job's identity.

In the step's process: the depot and its read credentials come from the Poros store (the
job's depot resource, never the compiled Definitions); its datasets are listed (names and
schemas only, no rows) and narrowed by the job's filters; the job's identity must be
allowed ``read`` on every dataset whose catalog entry the scan may change (those it scans
and, with ``markDeletedTables``, every table of the schemas it scans), decided by Heimdall
in one batch before anything is scanned (a refusal fails the step with the reason). The
Metis service is the depot's own name: a ``source`` naming another is refused. A lineage
or usage scan reads a query log, whose SQL (with its literals) may come from any table:
its identity must be allowed to read every dataset of the depot, and the query-log CSV
it may name (``queryLogFilePath``, a FILE depot's dataset). A profiler scan reads the rows
of the datasets it profiles: its identity must be allowed to read each of them. Then:

* a PostgreSQL depot runs the real ``openmetadata-ingestion`` (the workflow of the job's
  ``type``: metadata, lineage, usage or profiler) in its own environment
  (``ingest``; on Kubernetes in its own pod, ``k8s``), writing Metis over HTTP as the
  scanner user with a key made for the run;
  its summary (records, warnings, errors) becomes the materialization's metadata, and an
  ingestion that fails fails the step with the tail of its output (secrets redacted);
* a lakehouse or FILE depot is written by the platform itself (``push``; metadata only).

The scan's result is the job's own asset (``dataos/<workspace>/<workflow>/<job>``).
Secrets are never logged: messages carry counts, names and the redacted output only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, Failure

from dataos_defs.adapters.localfs import StorageError
from dataos_defs.adapters.openmetadata import WorkflowKind
from dataos_defs.adapters.openmetadata_summary import IngestionResult
from dataos_defs.compile import JobContext, StackOutput
from dataos_defs.location.governance import RunGovernor, governed_step
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.stacks import ScannerSpec
from dataos_defs.poros.depots import StoreDepots
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.stacks.container.pipes import run_mode
from dataos_defs.stacks.flare.datasets import depot_kind
from dataos_defs.stacks.flare.model import DepotResolver
from dataos_defs.stacks.scanner import ingest, listing, push
from dataos_defs.stacks.scanner.k8s import ingest_in_pod
from dataos_defs.stacks.scanner.listing import Dataset
from dataos_defs.stacks.scanner.scope import ScanRefused, Scope, scope_of

OUTPUT_TAIL_LINES = 40
READ_ACL = "r"

ResolverOf = Callable[[AssetExecutionContext, Iterable[str]], DepotResolver]
"""The job's depots as a resolver (the code location passes ``ResourceDepots.of``)."""


class ScanFailed(RuntimeError):
    """The scan ran and failed; retried under the job's retry strategy."""


def _name(job: JobContext) -> str:
    return f"{job.workspace}/{job.workflow}/{job.job}"


def _where(job: JobContext) -> str:
    return f"scanner job {_name(job)}"


def _spec(job: JobContext) -> ScannerSpec:
    if not isinstance(job.stack_spec, ScannerSpec):
        raise TypeError(f"job '{job.job}' of workflow '{job.workflow}' has no scanner stackSpec")
    return job.stack_spec


def run_scanner(
    context: AssetExecutionContext, job: JobContext, *, depots: ResolverOf
) -> Iterator[StackOutput]:
    """Scan the job's depot into Metis and report what the scan found and wrote."""
    where = _where(job)
    try:
        scope = scope_of(_spec(job), where)
    except ScanRefused as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    resolver = depots(context, job.depots)
    home = Settings.from_env().home
    with governed_step(job) as governor:
        depot = resolver.depot(scope.depot)
        kind = depot_kind(depot)
        _refuse_unsupported(scope, kind, where)
        found = _listed(scope, depot, kind, resolver, home)
        datasets = [d for d in found if scope.keeps(d.collection, d.dataset)]
        touched = [d for d in found if scope.touches(d.collection, d.dataset)]
        query_log = _query_log(scope, governor.state.store, home, where)
        log_address = [scope.config.query_log.address] if scope.config.query_log else []
        governor.authorize([*(d.address(scope.depot) for d in touched), *log_address], [])
    context.log.info(
        f"runs as {governor.user.id}: may read the {len(touched)} datasets of depot "
        f"'{scope.depot}' the scan may change; it scans {len(datasets)} of them "
        f"({len(found) - len(datasets)} left out by its filters)"
    )
    metadata: dict[str, Any] = {
        "dataos/depot": scope.depot,
        "dataos/scanner/type": scope.kind.value,
        "dataos/metis_service": scope.service,
        "dataos/run_as": governor.user.id,
        "dataos/datasets": len(datasets),
    }
    if job.dry_run:
        context.log.info(f"dry run: {len(datasets)} datasets would be scanned")
    elif kind == "postgres":
        ingested = _ingested(context, job, scope, depot, resolver, governor, query_log)
        metadata.update(ingested)
    else:
        metadata.update(_pushed(context, governor, scope, datasets))
    yield StackOutput(job.outputs[0], metadata)


def _refuse_unsupported(scope: Scope, kind: str | None, where: str) -> None:
    """Lineage, usage and profiler scans run the ingestion's PostgreSQL workflows; the
    platform records the lineage of lakehouse and FILE datasets from workflow runs."""
    if scope.kind is not WorkflowKind.METADATA and kind != "postgres":
        raise Failure(
            description=f"{where} asks for a {scope.kind.value} scan of depot "
            f"'{scope.depot}'; only POSTGRESQL (and JDBC postgresql) depots have one here "
            "(the lineage of lakehouse and FILE datasets comes from the workflows that write "
            "them): scan this depot with type DatabaseMetadata",
            allow_retries=False,
        )


def _query_log(scope: Scope, store: Store, home: Path, where: str) -> Path | None:
    """The query-log CSV's real path. Its FILE depot holds no credentials, so its manifest
    is read from the store (the job's depot resources are those of the depot it scans)."""
    log = scope.config.query_log
    if log is None:
        return None
    if run_mode() == "k8s":
        raise Failure(
            description=f"{where} reads the query log {log.address}, a file of the platform "
            "that the ingestion's own pod cannot read on Kubernetes: remove queryLogFilePath "
            "(the scan then reads the database's pg_stat_statements)",
            allow_retries=False,
        )
    try:
        depot = StoreDepots(store).depot(log.depot)
        return listing.query_log_file(log.depot, depot, home, str(log.collection), str(log.dataset))
    except (LookupError, listing.ListingError, StorageError) as exc:
        raise Failure(description=f"{where}: {exc}", allow_retries=False) from None


def _listed(
    scope: Scope, depot: Depot, kind: str | None, resolver: DepotResolver, home: Path
) -> list[Dataset]:
    if kind == "postgres":
        database = getattr(depot.depot.connection, "database", None) or "postgres"
        if not scope.keeps_database(str(database)):
            return []
        credentials = resolver.credentials(scope.depot, READ_ACL)
        views = scope.include_views or scope.reads_query_log
        return listing.postgres_datasets(scope.depot, depot, credentials, views)
    if kind == "lakehouse":
        return listing.lakehouse_datasets(scope.depot, depot, home)
    if kind == "file":
        return listing.file_datasets(scope.depot, depot, home)
    raise Failure(
        description=f"depot '{scope.depot}' of type {depot.depot.type} cannot be scanned here "
        "(the scanner reads POSTGRESQL, JDBC postgresql, LAKEHOUSE and FILE depots)",
        allow_retries=False,
    )


def _ingested(
    context: AssetExecutionContext,
    job: JobContext,
    scope: Scope,
    depot: Depot,
    resolver: DepotResolver,
    governor: RunGovernor,
    query_log: Path | None,
) -> dict[str, Any]:
    credentials = resolver.credentials(scope.depot, READ_ACL)
    connection = ingest.postgres_connection(depot, credentials)
    source = ingest.postgres_source(scope, connection, query_log)
    mode = run_mode()
    with ingest.scanner_key(governor.state.store, _name(job)) as key, ingest.work_folder() as work:
        context.log.info(
            f"openmetadata-ingestion runs a {scope.kind.value} scan of depot "
            f"'{scope.depot}' into Metis ({mode} mode)"
        )
        workflow = ingest.prepared(source, key, work)
        in_pod = mode == "k8s"
        result = ingest_in_pod(context, job, workflow) if in_pod else ingest.ingest(workflow, work)
    summary = ingestion_metadata(result)
    context.log.info(
        f"ingestion ended with exit code {result.exit_code} in {result.seconds} s: "
        f"{result.records} records, {result.warnings} warnings, {result.failures} errors"
    )
    if not result.ok or result.failures:
        message = failure_message(_where(job), result)
        if scope.kind is not WorkflowKind.METADATA:
            message += (
                f"\n(a {scope.kind.value} scan works on what Metis holds of the depot: run a "
                "DatabaseMetadata scan of it first)"
            )
        raise ScanFailed(message)
    return summary


def ingestion_metadata(result: IngestionResult) -> dict[str, Any]:
    """The ingestion's summary as materialization metadata."""
    metadata: dict[str, Any] = {
        "dataos/scanner/records": result.records,
        "dataos/scanner/warnings": result.warnings,
        "dataos/scanner/errors": result.failures,
        "dataos/scanner/seconds": result.seconds,
    }
    if result.success_pct is not None:
        metadata["dataos/scanner/success_pct"] = result.success_pct
    for step in result.steps:
        metadata[f"dataos/scanner/step/{step.name}"] = {
            "records": step.records,
            "updated": step.updated_records,
            "warnings": step.warnings,
            "filtered": step.filtered,
            "errors": step.errors,
        }
    return metadata


def failure_message(where: str, result: IngestionResult) -> str:
    """Why the ingestion failed, with the last lines of its (redacted) output."""
    if result.timed_out:
        why = f"was stopped after {result.seconds} s (timeout)"
    else:
        why = f"failed (exit code {result.exit_code}, {result.failures} errors)"
    tail = "\n".join(result.output.splitlines()[-OUTPUT_TAIL_LINES:]) or "(no output)"
    return f"{where}: openmetadata-ingestion {why}; last lines of its output:\n{tail}"


def _pushed(
    context: AssetExecutionContext, governor: RunGovernor, scope: Scope, datasets: list[Dataset]
) -> dict[str, Any]:
    try:
        summary = push.push_depot(governor.state.store, scope, datasets)
    except push.PushError as exc:
        raise ScanFailed(str(exc)) from None
    context.log.info(
        f"cataloged {len(summary.tables)} datasets of depot '{scope.depot}': "
        f"{summary.created} new, {summary.updated} changed, {summary.unchanged} unchanged, "
        f"{len(summary.deleted)} marked deleted"
    )
    return {
        "dataos/scanner/records": len(summary.tables),
        "dataos/scanner/created": summary.created,
        "dataos/scanner/updated": summary.updated,
        "dataos/scanner/unchanged": summary.unchanged,
        "dataos/scanner/deleted": len(summary.deleted),
        "dataos/scanner/errors": 0,
    }
