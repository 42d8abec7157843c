"""The security review's reproduction through a real API server: a data developer's file
depot that becomes, through a symbolic link made after apply, a window on the platform's
lakehouse warehouse; the governed query over it must be refused, never answered with the
clear e-mails and ages the lakehouse depot masks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from dataos_defs.adapters import iceberg
from dataos_defs.api.client import DataosClient
from tests.interfaces.conftest import Server, start_server, stop_server

pytestmark = pytest.mark.slow

EMAILS = ["ada@example.com", "bob@example.com"]
CUSTOMERS = pa.table({"email": EMAILS, "age": pa.array([27, 41], pa.int64())})
LAKEHOUSE = {
    "name": "lakehouse",
    "version": "v2alpha",
    "type": "depot",
    "depot": {"type": "LAKEHOUSE", "lakehouse": {"warehouse": "warehouse"}},
}
SNEAKY = {
    "name": "sneaky",
    "version": "v2alpha",
    "type": "depot",
    "depot": {"type": "FILE", "file": {"path": "data/sneaky", "format": "parquet"}},
}
CLUSTER = {
    "name": "devcluster",
    "version": "v1",
    "type": "cluster",
    "cluster": {"type": "minerva", "minerva": {"depots": [{"address": "dataos://sneaky"}]}},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("storage-home")
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    iceberg.write_table(catalog, "shop", "customers_360", CUSTOMERS, "overwrite")
    (home / "data").mkdir()
    server = start_server(home)
    try:
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.apply([{"manifest": LAKEHOUSE}], None)
            admin.create_user("dev", tags=["roles:id:data-dev"])
            key = str(admin.create_api_key("dev")["key"])
        with DataosClient(server.url, api_key=key) as dev:
            dev.apply([{"manifest": SNEAKY}, {"manifest": CLUSTER}], None)
        yield server, key
    finally:
        stop_server(server)


def query(server: Server, key: str, sql: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/gateway/api/v1/query",
        json={"sql": sql, "cluster": "devcluster"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def test_a_link_to_the_warehouse_made_after_apply_is_refused_at_query_time(
    world: tuple[Server, str],
) -> None:
    server, key = world
    sql = "SELECT email, age FROM sneaky.shop.customers_360"
    before = query(server, key, sql)
    assert before.status_code == 400, before.text
    (server.home / "data" / "sneaky").symlink_to("../warehouse")
    after = query(server, key, sql)
    error: dict[str, Any] = after.json()["error"]
    assert after.status_code == 400, after.text
    assert not any(email in after.text for email in EMAILS)
    assert error["code"] == "query_failed"
    assert "depot 'sneaky'" in error["message"] and "symbolic link" in error["message"]
    listing = query(server, key, "SHOW TABLES FROM sneaky.shop")
    assert listing.status_code == 400, listing.text
    assert "symbolic link" in listing.json()["error"]["message"]
