"""``deleteStale`` with ``recursive: false`` refuses a stale database or schema that still
holds live entities, as OpenMetadata does (the entity fails with 400 "not empty", nothing
is deleted); an empty one is deleted, and ``recursive: true`` deletes what it holds too.
A plain ``roles:id:data-dev`` user who may only read deletes nothing."""

from __future__ import annotations

from typing import Any

from tests.metis.metis_helpers import apply_policy, client, interfaces, ok, shop_catalog

SERVICE = "stalesvc"


def stale(
    http: Any, path: str, scope: str, scope_type: str, seen: list[str], recursive: bool
) -> Any:
    body = {
        "scopeFqn": scope,
        "scopeEntityType": scope_type,
        "seenFqns": seen,
        "recursive": recursive,
    }
    return http.request("DELETE", f"/{path}/deleteStale", json=body)


def test_recursive_false_refuses_a_non_empty_scope(metis_server: Any) -> None:
    apply_policy(metis_server, "stale-readers", "[users:id:*]", "read", '"/metis/**"')
    dev_key = interfaces().user_key(metis_server, "staledev", ["roles:id:data-dev"])
    with client(metis_server.url, metis_server.api_key) as http:
        shop_catalog(http, SERVICE)
        ok(http.put("/databases", json={"name": "kept", "service": SERVICE}), 200, 201)
        ok(http.put("/databaseSchemas", json={"name": "empty", "database": f"{SERVICE}.shop"}), 201)

        with client(metis_server.url, dev_key) as dev:
            attempt = ok(stale(dev, "databases", SERVICE, "databaseService", [], recursive=True))
        assert attempt["numberOfRowsPassed"] == 0 and attempt["status"] == "failure", attempt
        assert {r["status"] for r in attempt["failedRequest"]} == {403}

        refused = ok(
            stale(http, "databases", SERVICE, "databaseService", [f"{SERVICE}.kept"], False)
        )
        assert refused["status"] == "failure", refused
        (failure,) = refused["failedRequest"]
        assert (failure["request"], failure["status"]) == (f"{SERVICE}.shop", 400)
        assert "not empty" in failure["message"]
        assert ok(http.get(f"/databases/name/{SERVICE}.shop"))["deleted"] is False
        assert ok(http.get(f"/tables/name/{SERVICE}.shop.public.orders"))["deleted"] is False

        schemas = ok(
            stale(
                http,
                "databaseSchemas",
                f"{SERVICE}.shop",
                "database",
                [f"{SERVICE}.shop.public"],
                False,
            )
        )
        assert schemas["status"] == "success", schemas
        assert [r["request"] for r in schemas["successRequest"]] == [f"{SERVICE}.shop.empty"]
        assert http.get(f"/databaseSchemas/name/{SERVICE}.shop.empty").status_code == 404

        deleted = ok(
            stale(http, "databases", SERVICE, "databaseService", [f"{SERVICE}.kept"], True)
        )
        assert deleted["status"] == "success", deleted
        assert http.get(f"/tables/name/{SERVICE}.shop.public.orders").status_code == 404
        gone = ok(http.get(f"/tables/name/{SERVICE}.shop.public.orders", params={"include": "all"}))
        assert gone["deleted"] is True
        assert ok(http.get(f"/databases/name/{SERVICE}.kept"))["deleted"] is False
