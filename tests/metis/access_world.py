"""The world of the access tests (``test_access``, ``test_search_api``): a depot ``acmepg``
(its service holds datasets ``dataos://acmepg:public/*``), a service ``scratch`` that is no
depot, everyone may read ``/metis/**``, alice may read the dataset ``customers`` only, bob no
dataset at all, and the scanner (``metis``) may write. ``world`` is a fixture of the folder
(``conftest``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.manifest_texts import depot, secret
from tests.metis.metis_helpers import apply_policy, client, interfaces, ok, shop_catalog

PASSWORD = "acme-source-pw-42"


@pytest.fixture(scope="module")
def world(metis_server: Any) -> Iterator[dict[str, Any]]:
    helpers = interfaces()
    applied = httpx.post(
        f"{metis_server.url}/poros/api/v1/apply",
        json={"documents": helpers.wire(secret("acmesec") + "---\n" + depot("acmepg", "acmesec"))},
        headers=metis_server.headers,
        timeout=60,
    )
    assert applied.status_code == 200, applied.text
    with client(metis_server.url, metis_server.api_key) as operator:
        shop_catalog(operator, "acmepg", PASSWORD)
        shop_catalog(operator, "scratch")
        tables = {
            name: ok(operator.get(f"/tables/name/{name}"))["id"]
            for name in (
                "acmepg.shop.public.customers",
                "acmepg.shop.public.orders",
                "scratch.shop.public.orders",
            )
        }
        for source, target in (
            ("scratch.shop.public.orders", "acmepg.shop.public.orders"),
            ("acmepg.shop.public.orders", "acmepg.shop.public.customers"),
        ):
            edge = {
                "fromEntity": {"id": tables[source], "type": "table"},
                "toEntity": {"id": tables[target], "type": "table"},
            }
            ok(operator.put("/lineage", json={"edge": edge}))
    apply_policy(metis_server, "metis-readers", "[users:id:*]", "read", '"/metis/**"')
    apply_policy(
        metis_server,
        "metis-scanner",
        "[users:id:metis]",
        "read, create, update, delete",
        '"/metis/**"',
    )
    apply_policy(
        metis_server,
        "alice-customers",
        "[users:id:alice]",
        "read",
        '"dataos://acmepg:public/customers"',
    )
    keys = {
        "alice": helpers.user_key(metis_server, "alice", ["roles:id:data-dev"]),
        "bob": helpers.user_key(metis_server, "bob", ["roles:id:data-dev"]),
    }
    with httpx.Client(base_url=metis_server.url, headers=metis_server.headers) as operator_http:
        made = operator_http.post("/heimdall/api/v1/users/metis/apikeys", json={"name": "scanner"})
        assert made.status_code == 201, made.text
        keys["metis"] = made.json()["key"]
    yield {"tables": tables, "keys": keys}


def as_user(server: Any, world: dict[str, Any], user: str) -> Any:
    return client(server.url, world["keys"][user])
