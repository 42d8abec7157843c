"""The OpenMetadata REST subset over a real server, as the operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.metis.metis_helpers import client, interfaces, ok, shop_catalog


def test_version_answers_the_client_release(metis_server: Any) -> None:
    with client(metis_server.url, metis_server.api_key) as http:
        assert ok(http.get("/system/version"))["version"].startswith("2.0.")


def test_no_key_is_401_in_both_error_shapes(metis_server: Any) -> None:
    answer = httpx.get(metis_server.url + "/metis/api/v1/tables")
    assert answer.status_code == 401
    body = answer.json()
    assert body["code"] == 401 and body["error"]["code"] == "unauthenticated"


def test_catalog_round_trip(metis_server: Any) -> None:
    with client(metis_server.url, metis_server.api_key) as http:
        service = shop_catalog(http, "basics")
        assert service["connection"]["config"]["authType"]["password"] == "<redacted>"
        table = ok(
            http.get("/tables/name/basics.shop.public.orders", params={"fields": "tags,columns"})
        )
        assert table["fullyQualifiedName"] == "basics.shop.public.orders"
        assert table["version"] == 0.1
        assert [c["tags"] for c in table["columns"]] == [[], []]
        assert table["columns"][1]["fullyQualifiedName"] == "basics.shop.public.orders.email"
        assert table["service"]["type"] == "databaseService"
        by_id = ok(http.get(f"/tables/{table['id']}"))
        assert by_id == table
        listed = ok(http.get("/tables", params={"service": "basics", "limit": 1}))
        assert listed["paging"]["total"] == 2
        assert [t["name"] for t in listed["data"]] == ["customers"]
        rest = ok(
            http.get("/tables", params={"service": "basics", "after": listed["paging"]["after"]})
        )
        assert [t["name"] for t in rest["data"]] == ["orders"]


@pytest.mark.postgres
def test_the_same_round_trip_on_postgresql(fresh_postgres_url: str, tmp_path: Path) -> None:
    helpers = interfaces()
    server = helpers.start_server(tmp_path, extra_env={"DATAOS_DATABASE_URL": fresh_postgres_url})
    try:
        with client(server.url, server.api_key) as http:
            shop_catalog(http, "pgsvc")
            table = ok(http.get("/tables/name/pgsvc.shop.public.customers"))
            change = [{"op": "add", "path": "/columns/1/description", "value": "mail"}]
            headers = {"Content-Type": "application/json-patch+json", "If-Match": 'W/"0.1"'}
            patched = ok(http.patch(f"/tables/{table['id']}", json=change, headers=headers))
            assert patched["version"] == 0.2 and patched["columns"][1]["description"] == "mail"
            again = ok(http.put("/tables/bulk", json=[]))
            assert again["numberOfRowsProcessed"] == 0
            listed = ok(http.get("/tables", params={"database": "pgsvc.shop"}))
            assert listed["paging"]["total"] == 2
    finally:
        helpers.stop_server(server)


def test_paths_metis_does_not_serve_answer_a_client_readable_404(metis_server: Any) -> None:
    with client(metis_server.url, metis_server.api_key) as http:
        answer = http.get("/dashboards/name/x")
        assert answer.status_code == 404
        assert answer.json()["code"] == 404
        assert "does not serve GET /dashboards/name/x" in answer.json()["message"]
        assert http.get("/tables/not-a-uuid").json()["code"] == 404
    assert httpx.get(metis_server.url + "/metis/api/v1/search/query").status_code == 401
