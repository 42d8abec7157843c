"""A PostgreSQL depot through the real ``openmetadata-ingestion`` (``adapters.openmetadata``):
its metadata, lineage and usage (from a query log) or profile, as the job's ``type`` says.

The workflow configuration is made from the depot at run time: its connection (a socket
folder as libpq's ``host``, so the ingestion's TCP probe stays off), its read credentials
(the password a ``SecretStr``, so the adapter hands it to the process in its environment
only), the job's ``sourceConfig`` and the Metis service named after the depot.

The ingestion writes Metis over HTTP as the scanner user ``metis``, with an API key made
for this run only (:func:`scanner_key`): short-lived, never logged, revoked when the run
ends. The run owner's own key is never used (a scan must not write the catalog with the
rights of whoever applied the workflow, and nobody hands their key to a run).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from dataos_defs.adapters.openmetadata import (
    FilterPattern,
    IngestionResult,
    MetisServer,
    PreparedWorkflow,
    ScannerSource,
    WorkflowKind,
    prepare,
    run,
)
from dataos_defs.heimdall.credentials import API_URL_ENV
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.depot_types import JdbcConnection, PostgresConnection
from dataos_defs.manifest.stacks.scanner import FilterPattern as ManifestPattern
from dataos_defs.manifest.stacks.scanner import ScanConfig
from dataos_defs.metis.access import SCANNER_USER_ID
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.store import Store
from dataos_defs.stacks.scanner.scope import Scope

DEFAULT_API_URL = "http://127.0.0.1:7400"
INGESTION_TIMEOUT_S = 3600.0
KEY_MARGIN = timedelta(minutes=10)
"""How long the scan's key outlives the ingestion's timeout (it is revoked sooner)."""
POSTGRES_PORT = 5432
USER_KEYS = ("username", "user")


class IngestionRefused(RuntimeError):
    """The scan cannot start (no scanner user, no credentials); the message says why."""


def api_url() -> str:
    """Where Metis is served: ``DATAOS_API_URL``, else the local API server."""
    return (os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")


@contextmanager
def scanner_key(store: Store, job: str) -> Iterator[SecretStr]:
    """A new API key of the scanner user ``metis`` for one run; revoked when it ends."""
    identities = Identities(store)
    if identities.get_user(SCANNER_USER_ID) is None:
        raise IngestionRefused(
            f"the scanner user '{SCANNER_USER_ID}' does not exist; the API server creates it "
            "when it first starts (start it, then run the scan again)"
        )
    expires = datetime.now(UTC) + timedelta(seconds=INGESTION_TIMEOUT_S) + KEY_MARGIN
    made = identities.create_api_key(
        SCANNER_USER_ID, f"scan-{uuid.uuid4().hex[:12]}", expires, actor=f"scanner:{job}"[:200]
    )
    try:
        yield SecretStr(made.key)
    finally:
        identities.revoke_api_key(SCANNER_USER_ID, made.info.key_id)


def postgres_connection(depot: Depot, credentials: Mapping[str, str]) -> dict[str, Any]:
    """``serviceConnection.config`` of the ingestion's Postgres source for ``depot``."""
    conn = depot.depot.connection
    if not isinstance(conn, PostgresConnection | JdbcConnection):
        raise IngestionRefused(f"depot '{depot.name}' has no PostgreSQL connection")
    user = next((credentials[k] for k in USER_KEYS if credentials.get(k)), None)
    if user is None:
        raise IngestionRefused(
            f"depot '{depot.name}' has no user name in its read credentials (key 'username')"
        )
    arguments: dict[str, Any] = {
        str(k): str(v) for k, v in (conn.params or {}).items() if v is not None
    }
    if conn.host.startswith("/"):
        host_port = "localhost"
        arguments.update(host=conn.host, port=str(conn.port or POSTGRES_PORT))
    else:
        host_port = f"{conn.host}:{conn.port or POSTGRES_PORT}"
    config: dict[str, Any] = {
        "type": "Postgres",
        "username": user,
        "hostPort": host_port,
        "database": conn.database or "postgres",
    }
    if credentials.get("password"):
        config["authType"] = {"password": SecretStr(credentials["password"])}
    if arguments:
        config["connectionArguments"] = arguments
    return config


def _pattern(found: ManifestPattern | None) -> FilterPattern | None:
    if found is None:
        return None
    return FilterPattern(includes=tuple(found.includes or ()), excludes=tuple(found.excludes or ()))


def postgres_source(
    scope: Scope, connection: Mapping[str, Any], query_log: Path | None = None
) -> ScannerSource:
    """The ingestion's source for the job's kind of scan (the manifest already refused the
    options another kind's pipeline lacks); ``query_log`` is the query-log CSV to read
    instead of the database's ``pg_stat_statements``."""
    config = scope.config
    kind = scope.kind
    filtered = kind is not WorkflowKind.USAGE
    return ScannerSource(
        kind=kind,
        connector="postgres",
        service_name=scope.service,
        service_connection=connection,
        database_filter=_pattern(config.databaseFilterPattern) if filtered else None,
        schema_filter=_pattern(config.schemaFilterPattern) if filtered else None,
        table_filter=_pattern(config.tableFilterPattern) if filtered else None,
        mark_deleted_tables=config.markDeletedTables,
        include_views=config.includeViews,
        include_tags=config.includeTags,
        include_stored_procedures=config.includeStoredProcedures,
        options=_kind_options(scope, query_log),
    )


def _kind_options(scope: Scope, query_log: Path | None) -> dict[str, Any]:
    config = scope.config
    if scope.reads_query_log:
        given = {
            "queryLogDuration": config.queryLogDuration,
            "resultLimit": config.resultLimit,
            "queryLogFilePath": str(query_log) if query_log is not None else None,
        }
        return {key: value for key, value in given.items() if value is not None}
    if scope.kind is WorkflowKind.PROFILER:
        return profiler_options(config)
    return {}


def profiler_options(config: ScanConfig) -> dict[str, Any]:
    """2.0.7's profiler keys for DataOS' ``computeMetrics``, ``profileSample`` and
    ``profileSampleType`` (a static sample). The 2.0.7 profiler takes no sample data (that
    moved to the auto-classification workflow), so none reaches Metis."""
    options: dict[str, Any] = {}
    if config.computeMetrics is not None:
        options["computeTableMetrics"] = config.computeMetrics
        options["computeColumnMetrics"] = config.computeMetrics
    if config.profileSample is not None:
        rows = config.profileSampleType == "ROWS"
        sample = int(config.profileSample) if rows else config.profileSample
        options["profileSampleConfig"] = {
            "sampleConfigType": "STATIC",
            "config": {
                "profileSample": sample,
                "profileSampleType": "ROWS" if rows else "PERCENTAGE",
            },
        }
    return options


def prepared(source: ScannerSource, key: SecretStr, work_dir: Path) -> PreparedWorkflow:
    """The workflow of ``source`` against this platform's Metis (``work_dir``: where the
    usage workflow stages its files, private to the run)."""
    server = MetisServer(api_url=api_url(), token=key)
    return prepare(source, server, work_dir)


@contextmanager
def work_folder() -> Iterator[Path]:
    """A private folder for one ingestion (its configuration, the usage stage)."""
    with tempfile.TemporaryDirectory(prefix="dataos-scan-") as folder:
        yield Path(folder)


def ingest(workflow: PreparedWorkflow, work_dir: Path) -> IngestionResult:
    """Run the workflow in .venv-metis (its configuration in ``work_dir``, mode 0600)."""
    return run(workflow, work_dir=work_dir, timeout=INGESTION_TIMEOUT_S)
