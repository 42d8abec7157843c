"""The ``scanner`` stack: metadata of a depot into Metis (:func:`run_scanner`).

Rooms: ``scope`` (what a job scans: depot, service, OpenMetadata's filters), ``listing``
(a depot's datasets without their rows), ``ingest`` (a PostgreSQL depot through the real
openmetadata-ingestion, as the ``metis`` scanner user), ``k8s`` (that ingestion as its own
pod), ``push`` (lakehouse and FILE depots written into the catalog by the platform) and
``executor`` (the Dagster step, as the job's identity). They are imported when a scanner
job runs, not when the code location loads (as flare's and soda's are).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import AssetExecutionContext

    from dataos_defs.compile import JobContext, StackOutput


def run_scanner(
    context: AssetExecutionContext,
    job: JobContext,
    *,
    depots: Callable[[AssetExecutionContext, Iterable[str]], Any],
) -> Iterator[StackOutput]:
    """Scan the job's depot into Metis (``executor.run_scanner``); ``depots`` gives the
    job's depots as a resolver (the code location passes ``ResourceDepots.of``)."""
    from dataos_defs.stacks.scanner.executor import run_scanner as scan

    return scan(context, job, depots=depots)
