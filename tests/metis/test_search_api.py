"""The search, test-connection and deleteStale routes over HTTP, attacked as a data
developer (the world of ``access_world``: alice may read the dataset ``customers`` of the
depot ``acmepg``, bob no dataset, the scanner ``metis`` writes)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.metis.access_world import PASSWORD, as_user
from tests.metis.metis_helpers import API, client, ok
from tests.metis.om_schemas import assert_om

pytestmark = pytest.mark.slow


def hits(answer: dict[str, Any]) -> list[str]:
    return [hit["_source"]["fullyQualifiedName"] for hit in answer["hits"]["hits"]]


def buckets(answer: dict[str, Any], facet: str) -> dict[str, int]:
    return {b["key"]: b["doc_count"] for b in answer["aggregations"][facet]["buckets"]}


def test_a_data_dev_never_sees_hits_of_datasets_it_may_not_read(
    metis_server: Any, world: dict[str, Any]
) -> None:
    with as_user(metis_server, world, "bob") as bob:
        for words in ("customers", "orders", "email", ""):
            found = ok(bob.get("/search/query", params={"q": words, "index": "table_search_index"}))
            assert all(not fqn.startswith("acmepg.") for fqn in hits(found)), found
            assert "acmepg" not in buckets(found, "service")
            assert found["hits"]["total"]["value"] == len(hits(found))
        probe = ok(
            bob.get(
                "/search/fieldQuery",
                params={"fieldName": "fullyQualifiedName", "fieldValue": "acmepg.*"},
            )
        )
        assert [f for f in hits(probe) if f.startswith("acmepg.shop.public.")] == []
    with as_user(metis_server, world, "alice") as alice:
        found = ok(
            alice.get("/search/query", params={"q": "customers", "index": "table_search_index"})
        )
        assert "acmepg.shop.public.customers" in hits(found)
        assert "acmepg.shop.public.orders" not in hits(
            ok(alice.get("/search/query", params={"q": "orders", "index": "table_search_index"}))
        )


def test_no_filter_can_probe_a_source_password(metis_server: Any, world: dict[str, Any]) -> None:
    probe = {"query": {"term": {"connection.config.authType.password": PASSWORD}}}
    params = {"index": "database_service_search_index", "query_filter": json.dumps(probe)}
    for user in ("bob", "alice"):
        with as_user(metis_server, world, user) as http:
            assert hits(ok(http.get("/search/query", params=params))) == []
            every = ok(http.get("/search/query", params={"index": "all", "size": 100}))
            assert PASSWORD not in json.dumps(every)
    with client(metis_server.url, metis_server.api_key) as operator:
        assert hits(ok(operator.get("/search/query", params=params))) == []


def test_the_ingestions_filter_subset(metis_server: Any, world: dict[str, Any]) -> None:
    wanted = {
        "bool": {
            "must": [{"term": {"service.name.keyword": "scratch"}}],
            "must_not": [{"term": {"name": "customers"}}],
        }
    }
    params: dict[str, Any] = {
        "index": "table_search_index",
        "query_filter": json.dumps({"query": wanted}),
        "sort_field": "fullyQualifiedName",
        "sort_order": "desc",
        "include_source_fields": ["fullyQualifiedName"],
    }
    with client(metis_server.url, metis_server.api_key) as operator:
        found = ok(operator.get("/search/query", params=params))
        assert hits(found) == ["scratch.shop.public.orders"]
        assert set(found["hits"]["hits"][0]["_source"]) == {"fullyQualifiedName"}
        last = found["hits"]["hits"][-1]["sort"]
        after = ok(operator.get("/search/query", params={**params, "search_after": last}))
        assert hits(after) == []


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 513},
        {"size": 1001},
        {"from": 9990, "size": 20},
        {"query_filter": json.dumps({"script": {"source": "1"}})},
        {"query_filter": "not json"},
        {"facet": "nocolon"},
    ],
)
def test_search_is_bounded(
    metis_server: Any, world: dict[str, Any], params: dict[str, Any]
) -> None:
    with as_user(metis_server, world, "bob") as bob:
        answer = bob.get("/search/query", params=params)
    assert answer.status_code == 400, answer.text


def test_test_connection_definitions(metis_server: Any, world: dict[str, Any]) -> None:
    path = "/services/testConnectionDefinitions/name/Postgres.testConnectionDefinition"
    with as_user(metis_server, world, "bob") as bob:
        found = ok(bob.get(path))
        assert_om("TestConnectionDefinition", found)
        assert found["steps"][0]["name"] == "CheckAccess"
        assert ok(bob.get(f"/services/testConnectionDefinitions/{found['id']}")) == found
        assert bob.get(path.replace("Postgres", "Nope")).status_code == 404
    assert httpx.get(metis_server.url + API + path).status_code == 401


def test_delete_stale_needs_delete_on_each_entity(metis_server: Any, world: dict[str, Any]) -> None:
    scope = {
        "scopeFqn": "scratch.shop.public",
        "scopeEntityType": "databaseSchema",
        "seenFqns": ["scratch.shop.public.orders"],
        "recursive": True,
    }
    with as_user(metis_server, world, "bob") as bob:
        refused = ok(bob.request("DELETE", "/tables/deleteStale", json=scope))
        assert refused["numberOfRowsPassed"] == 0 and refused["numberOfRowsFailed"] == 1
    with as_user(metis_server, world, "metis") as scanner:
        done = ok(scanner.request("DELETE", "/tables/deleteStale", json=scope))
        assert [r["request"] for r in done["successRequest"]] == ["scratch.shop.public.customers"]
        assert_om("BulkOperationResult", done)
        assert scanner.get("/tables/name/scratch.shop.public.customers").status_code == 404
        unknown = {**scope, "scopeFqn": "scratch.nope.public"}
        assert scanner.request("DELETE", "/tables/deleteStale", json=unknown).status_code == 404


def test_lineage_by_name_keeps_the_rules_of_lineage_by_id(
    metis_server: Any, world: dict[str, Any]
) -> None:
    path = "scratch.shop.public.orders/table/name/acmepg.shop.public.customers"
    hidden = "acmepg.shop.public.orders/table/name/scratch.shop.public.orders"
    details = {"sqlQuery": "insert into customers select * from orders", "source": "QueryLineage"}
    with as_user(metis_server, world, "bob") as bob:
        assert bob.put(f"/lineage/table/name/{path}", json=details).status_code == 404
        assert bob.put(f"/lineage/table/name/{hidden}", json=details).status_code == 404
        assert bob.get(f"/lineage/getLineageEdge/table/name/{hidden}").status_code == 404
        refused = bob.put(
            "/lineage/table/name/scratch.shop.public.orders/table/name/scratch.shop.public.orders",
            json=details,
        )
        assert refused.status_code == 403
    with client(metis_server.url, metis_server.api_key) as operator:
        ok(operator.put(f"/lineage/table/name/{path}", json={**details, "pipeline": None}))
        edge = ok(operator.get(f"/lineage/getLineageEdge/table/name/{path}"))["edge"]
        assert edge["sqlQuery"] == details["sqlQuery"]
        patch = [{"op": "replace", "path": "/sqlQuery", "value": "select 1"}]
        headers = {"Content-Type": "application/json-patch+json"}
        ok(operator.patch(f"/lineage/table/name/{path}", json=patch, headers=headers))
        again = ok(operator.get(f"/lineage/getLineageEdge/table/name/{path}"))["edge"]
        assert again["sqlQuery"] == "select 1"
        sneaky = [{"op": "replace", "path": "/createdBy", "value": "someone-else"}]
        assert (
            operator.patch(f"/lineage/table/name/{path}", json=sneaky, headers=headers).status_code
            == 400
        )


def test_queries_are_named_by_their_checksum(metis_server: Any, world: dict[str, Any]) -> None:
    sql = "select count(*) from customers"
    create = {"query": sql, "service": "scratch", "users": ["carol"], "dialect": "postgres"}
    with as_user(metis_server, world, "metis") as scanner:
        result = ok(scanner.put("/queries/bulk", json=[create, create]))
        assert result["numberOfRowsPassed"] == 2
        (query,) = ok(scanner.get("/queries", params={"service": "scratch"}))["data"]
    assert_om("Query", query)
    assert query["checksum"] == query["name"] and query["usedBy"] == ["carol"]
    assert query["fullyQualifiedName"] == f"scratch.{query['name']}"
    with as_user(metis_server, world, "bob") as bob:
        found = ok(
            bob.get("/search/query", params={"q": "count customers", "index": "query_search_index"})
        )
        assert hits(found) == [query["fullyQualifiedName"]]
