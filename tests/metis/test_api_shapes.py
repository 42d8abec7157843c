"""Every Metis answer is exactly an OpenMetadata entity (the client forbids extra keys), and
the REST behaviours the client relies on: bulk results, If-Match, soft delete, lineage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.metis.metis_helpers import client, ok, shop_catalog
from tests.metis.om_schemas import assert_om, assert_om_by_model

PATCH = {"Content-Type": "application/json-patch+json"}


@pytest.fixture(scope="module")
def http(metis_server: Any) -> Iterator[httpx.Client]:
    with client(metis_server.url, metis_server.api_key) as operator:
        shop_catalog(operator, "shapes")
        yield operator


@pytest.fixture(scope="module")
def answers(http: httpx.Client) -> dict[str, Any]:
    """One answer of each kind, as the operator gets them."""
    ok(http.put("/classifications", json={"name": "PII", "description": "personal"}), 201)
    ok(http.put("/tags", json={"classification": "PII", "name": "Email", "description": "e"}), 201)
    ok(http.put("/tags", json={"parent": "PII.Email", "name": "Work", "description": "w"}), 201)
    ok(
        http.put("/services/pipelineServices", json={"name": "dagster", "serviceType": "Dagster"}),
        201,
    )
    pipeline = {
        "name": "daily",
        "service": "dagster",
        "tasks": [{"name": "a", "downstreamTasks": ["b"]}],
    }
    ok(http.put("/pipelines", json=pipeline), 201)
    run = {
        "timestamp": 1,
        "executionStatus": "Failed",
        "taskStatus": [{"name": "a", "executionStatus": "Failed"}],
    }
    table = ok(http.get("/tables/name/shapes.shop.public.orders"))
    return {
        "DatabaseService": ok(http.get("/services/databaseServices/name/shapes")),
        "Database": ok(http.get("/databases/name/shapes.shop")),
        "DatabaseSchema": ok(http.get("/databaseSchemas/name/shapes.shop.public")),
        "Table": table,
        "Classification": ok(http.get("/classifications/name/PII")),
        "Tag": ok(http.get("/tags/name/PII.Email.Work")),
        "PipelineService": ok(http.get("/services/pipelineServices/name/dagster")),
        "Pipeline": ok(http.put("/pipelines/dagster.daily/status", json=run)),
        "OpenMetadataServerVersion": ok(http.get("/system/version")),
        "EntityVersionHistory": ok(http.get(f"/tables/{table['id']}/versions")),
    }


def test_every_answer_is_an_openmetadata_entity(answers: dict[str, Any]) -> None:
    for name, value in answers.items():
        assert_om(name, value)
    assert answers["Tag"]["classification"]["fullyQualifiedName"] == "PII"
    assert answers["Tag"]["parent"]["fullyQualifiedName"] == "PII.Email"
    assert answers["Pipeline"]["pipelineStatus"]["executionStatus"] == "Failed"
    assert answers["Pipeline"]["tasks"][0]["fullyQualifiedName"] == "dagster.daily.a"


def test_the_client_models_parse_every_answer(answers: dict[str, Any]) -> None:
    for name in ("Table", "DatabaseService", "Pipeline", "Tag"):
        assert_om_by_model(name, answers[name])


def test_bulk_reports_each_entity(http: httpx.Client) -> None:
    good = {
        "name": "lines",
        "databaseSchema": "shapes.shop.public",
        "columns": [{"name": "n", "dataType": "INT"}],
    }
    orphan = {**good, "name": "lost", "databaseSchema": "shapes.shop.nowhere"}
    result = ok(http.put("/tables/bulk", json=[good, orphan, {"name": "no-columns"}]))
    assert_om("BulkOperationResult", result)
    assert (result["status"], result["numberOfRowsPassed"], result["numberOfRowsFailed"]) == (
        "partialSuccess",
        1,
        2,
    )
    assert result["successRequest"][0]["request"] == "shapes.shop.public.lines"
    too_many = http.put("/tables/bulk", json=[good] * 101)
    assert too_many.status_code == 400 and too_many.json()["code"] == 400


def test_patch_honours_if_match_and_refuses_immutable_fields(http: httpx.Client) -> None:
    table = ok(http.get("/tables/name/shapes.shop.public.customers"))
    stale = {**PATCH, "If-Match": 'W/"0.9"'}
    change = [{"op": "add", "path": "/description", "value": "people"}]
    refused = http.patch(f"/tables/{table['id']}", json=change, headers=stale)
    assert refused.status_code == 412 and refused.json()["code"] == 412
    current = {**PATCH, "If-Match": f'W/"{table["version"]}"'}
    patched = ok(http.patch(f"/tables/{table['id']}", json=change, headers=current))
    assert (patched["description"], patched["version"]) == ("people", table["version"] + 0.1)
    rename = [{"op": "replace", "path": "/name", "value": "other"}]
    assert http.patch(f"/tables/{table['id']}", json=rename, headers=PATCH).status_code == 400
    as_text = {"Content-Type": "text/plain"}
    assert http.patch(f"/tables/{table['id']}", json=change, headers=as_text).status_code == 415
    bad_tag = [{"op": "add", "path": "/columns/0/tags/0", "value": {"tag": "x"}}]
    assert http.patch(f"/tables/{table['id']}", json=bad_tag, headers=PATCH).status_code == 400


def test_soft_delete_then_hard_delete(http: httpx.Client) -> None:
    body = {
        "name": "gone",
        "databaseSchema": "shapes.shop.public",
        "columns": [{"name": "n", "dataType": "INT"}],
    }
    table = ok(http.put("/tables", json=body), 201)
    deleted = ok(http.delete(f"/tables/{table['id']}"))
    assert deleted["deleted"] is True and deleted["version"] == 0.2
    assert http.get(f"/tables/{table['id']}").status_code == 404
    assert ok(http.get(f"/tables/{table['id']}", params={"include": "deleted"}))["deleted"] is True
    ok(http.delete(f"/tables/{table['id']}", params={"hardDelete": "true"}))
    assert http.get(f"/tables/{table['id']}", params={"include": "all"}).status_code == 404
    not_empty = http.delete("/services/databaseServices/name/shapes")
    assert not_empty.status_code == 400 and "recursive" in not_empty.json()["error"]["hint"]


def test_lineage_graph_and_column_checks(http: httpx.Client) -> None:
    customers = ok(http.get("/tables/name/shapes.shop.public.customers"))
    orders = ok(http.get("/tables/name/shapes.shop.public.orders"))
    edge = {
        "fromEntity": {"id": customers["id"], "type": "table"},
        "toEntity": {"id": orders["id"], "type": "table"},
        "lineageDetails": {
            "source": "PipelineLineage",
            "sqlQuery": "select * from customers",
            "columnsLineage": [
                {
                    "fromColumns": ["shapes.shop.public.customers.email"],
                    "toColumn": "shapes.shop.public.orders.email",
                }
            ],
        },
    }
    ok(http.put("/lineage", json={"edge": edge}))
    graph = ok(http.get(f"/lineage/table/{orders['id']}", params={"upstreamDepth": 2}))
    assert_om("EntityLineage", graph)
    assert [e["fromEntity"] for e in graph["upstreamEdges"]] == [customers["id"]]
    assert graph["upstreamEdges"][0]["lineageDetails"]["sqlQuery"] == "select * from customers"
    wrong = {
        **edge,
        "lineageDetails": {"columnsLineage": [{"fromColumns": ["x.y"], "toColumn": "z"}]},
    }
    assert http.put("/lineage", json={"edge": wrong}).status_code == 400
    assert (
        http.get(f"/lineage/table/{orders['id']}", params={"upstreamDepth": 99}).status_code == 400
    )


def test_bodies_over_the_limit_and_malformed_json_are_refused(http: httpx.Client) -> None:
    huge = http.put("/tables", content=b"[" + b" " * (17 * 1024 * 1024) + b"]")
    assert huge.status_code == 413
    broken = http.put("/tables", content=b"{not json")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "bad_request"
