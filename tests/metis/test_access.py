"""Attacks on the catalog as a data developer, and who gets source credentials.

Set-up: a depot ``acmepg`` (its service holds datasets ``dataos://acmepg:public/*``), a
service ``scratch`` that is no depot, everyone may read ``/metis/**``, alice may read the
dataset ``customers`` only, bob no dataset at all, and the scanner (``metis``) may write.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.metis.access_world import PASSWORD, as_user
from tests.metis.metis_helpers import client, ok

pytestmark = pytest.mark.slow

PATCH = {"Content-Type": "application/json-patch+json"}


def test_bob_cannot_read_a_table_of_a_dataset_he_may_not_read(
    metis_server: Any, world: dict[str, Any]
) -> None:
    hidden = world["tables"]["acmepg.shop.public.orders"]
    with as_user(metis_server, world, "bob") as bob:
        for path in (
            "/tables/name/acmepg.shop.public.orders",
            f"/tables/{hidden}",
            f"/tables/{hidden}/versions",
            f"/lineage/table/{hidden}",
            "/lineage/table/name/acmepg.shop.public.orders",
        ):
            answer = bob.get(path)
            assert answer.status_code == 404, (path, answer.text)
            assert "columns" not in answer.text
        listed = ok(bob.get("/tables", params={"service": "acmepg", "limit": 100}))
        assert listed == {"data": [], "paging": {"total": 0}}
        graph = ok(
            bob.get(
                f"/lineage/table/{world['tables']['scratch.shop.public.orders']}",
                params={"downstreamDepth": 3},
            )
        )
        assert graph["nodes"] == [] and graph["downstreamEdges"] == []


def test_alice_sees_exactly_the_dataset_she_may_read(
    metis_server: Any, world: dict[str, Any]
) -> None:
    with as_user(metis_server, world, "alice") as alice:
        listed = ok(alice.get("/tables", params={"service": "acmepg"}))
        assert [t["name"] for t in listed["data"]] == ["customers"]
        assert listed["paging"]["total"] == 1
        customers = world["tables"]["acmepg.shop.public.customers"]
        graph = ok(alice.get(f"/lineage/table/{customers}", params={"upstreamDepth": 3}))
        assert graph["nodes"] == [] and graph["upstreamEdges"] == [], (
            "orders is hidden, and what lies behind it"
        )
        scratch = ok(alice.get("/tables/name/scratch.shop.public.orders"))
        assert scratch["name"] == "orders", (
            "a service that is no depot is governed by /metis/** alone"
        )


def test_only_the_scanner_reads_source_passwords(metis_server: Any, world: dict[str, Any]) -> None:
    for user in ("bob", "alice"):
        with as_user(metis_server, world, user) as caller:
            answer = caller.get("/services/databaseServices/name/acmepg", params={"fields": "*"})
            assert ok(answer)["connection"]["config"]["authType"]["password"] == "<redacted>"
            assert PASSWORD not in answer.text
    with client(metis_server.url, metis_server.api_key) as operator:
        assert PASSWORD not in operator.get("/services/databaseServices/name/acmepg").text
    with as_user(metis_server, world, "metis") as scanner:
        service = ok(scanner.get("/services/databaseServices/name/acmepg"))
        assert service["connection"]["config"]["authType"]["password"] == PASSWORD


def test_bob_cannot_overwrite_entities(metis_server: Any, world: dict[str, Any]) -> None:
    visible = world["tables"]["scratch.shop.public.orders"]
    hidden = world["tables"]["acmepg.shop.public.orders"]
    overwrite = {
        "name": "orders",
        "databaseSchema": "scratch.shop.public",
        "columns": [{"name": "x", "dataType": "INT"}],
    }
    change = [{"op": "add", "path": "/description", "value": "pwned"}]
    with as_user(metis_server, world, "bob") as bob:
        assert bob.put("/tables", json=overwrite).status_code == 403
        bulk = ok(bob.put("/tables/bulk", json=[overwrite]))
        assert bulk["numberOfRowsFailed"] == 1 and bulk["failedRequest"][0]["status"] == 403
        assert bob.patch(f"/tables/{visible}", json=change, headers=PATCH).status_code == 403
        assert bob.patch(f"/tables/{hidden}", json=change, headers=PATCH).status_code == 404
        assert bob.delete(f"/tables/{visible}").status_code == 403
        assert (
            bob.put(
                "/services/databaseServices", json={"name": "acmepg", "serviceType": "Postgres"}
            ).status_code
            == 403
        )
        edge = {
            "fromEntity": {"id": visible, "type": "table"},
            "toEntity": {"id": visible, "type": "table"},
        }
        assert bob.put("/lineage", json={"edge": edge}).status_code == 403
    with client(metis_server.url, metis_server.api_key) as operator:
        table = ok(operator.get(f"/tables/{visible}"))
    assert "description" not in table and [c["name"] for c in table["columns"]] == ["id", "email"]


def test_the_scanner_writes_and_the_password_reaches_no_file_in_clear(
    metis_server: Any, world: dict[str, Any]
) -> None:
    with as_user(metis_server, world, "metis") as scanner:
        created = scanner.put("/databases", json={"name": "more", "service": "acmepg"})
        assert created.status_code == 201, created.text
        assert ok(created, 201)["updatedBy"] == "metis"
        rerun = {
            "name": "orders",
            "databaseSchema": "acmepg.shop.public",
            "description": "scanned again",
            "columns": [
                {"name": "id", "dataType": "INT"},
                {"name": "email", "dataType": "VARCHAR"},
            ],
        }
        updated = ok(scanner.put("/tables", json=rerun))
        assert updated["updatedBy"] == "metis", (
            "no read on the dataset is needed to update its entry"
        )
        assert scanner.get("/tables/name/acmepg.shop.public.orders").status_code == 404
    for path in metis_server.home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
