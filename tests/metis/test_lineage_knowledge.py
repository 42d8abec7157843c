"""The knowledge-graph view of the lineage routes (``knowledgeGraph=true``): pipelines,
owners and tags around an entity, as nodes and typed links; opt-in, so the answer without
it stays exactly OpenMetadata's ``EntityLineage``; and built only from what the caller may
read. Real API server, the access world of ``access_world`` (alice reads the dataset
``customers`` only) with a pipeline on the edge scratch.orders → acmepg.orders, an owner
and a tag on acmepg.orders and ``PII.Email`` on customers.email.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.metis.access_world import as_user
from tests.metis.metis_helpers import client, ok
from tests.metis.om_schemas import assert_om

ORDERS = "acmepg.shop.public.orders"
CUSTOMERS = "acmepg.shop.public.customers"
OWNER = {"id": "0b6f3c52-7d1e-4c7a-9a53-0c1d2e3f4a5b", "type": "user", "name": "carol"}


def _label(tag: str) -> dict[str, Any]:
    return {"tagFQN": tag, "source": "Classification", "labelType": "Manual", "state": "Confirmed"}


def _patch(http: httpx.Client, table_id: str, operations: list[dict[str, Any]]) -> None:
    headers = {"Content-Type": "application/json-patch+json"}
    ok(http.patch(f"/tables/{table_id}", json=operations, headers=headers))


@pytest.fixture(scope="module")
def known(metis_server: Any, world: dict[str, Any]) -> dict[str, Any]:
    tables = world["tables"]
    with client(metis_server.url, metis_server.api_key) as operator:
        for classification, tag in (("PII", "Email"), ("Quality", "Gold")):
            ok(
                operator.put("/classifications", json={"name": classification, "description": "t"}),
                200,
                201,
            )
            ok(
                operator.put("/tags", json={"name": tag, "classification": classification}),
                200,
                201,
            )
        service = {"name": "jobs", "serviceType": "Dagster"}
        ok(operator.put("/services/pipelineServices", json=service), 200, 201)
        pipeline = ok(
            operator.put("/pipelines", json={"name": "daily", "service": "jobs"}), 200, 201
        )
        edge = {
            "fromEntity": {"id": tables["scratch.shop.public.orders"], "type": "table"},
            "toEntity": {"id": tables[ORDERS], "type": "table"},
            "lineageDetails": {"pipeline": {"id": pipeline["id"], "type": "pipeline"}},
        }
        ok(operator.put("/lineage", json={"edge": edge}))
        _patch(
            operator,
            tables[ORDERS],
            [
                {"op": "add", "path": "/owners", "value": [OWNER]},
                {"op": "add", "path": "/tags/-", "value": _label("Quality.Gold")},
            ],
        )
        _patch(
            operator,
            tables[CUSTOMERS],
            [{"op": "add", "path": "/columns/1/tags/-", "value": _label("PII.Email")}],
        )
    return {"pipeline": pipeline["id"], **tables}


def _graph(http: httpx.Client, fqn: str, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = ok(http.get(f"/lineage/table/name/{fqn}", params=params))
    return found


def test_the_view_links_pipelines_owners_and_tags(metis_server: Any, known: dict[str, Any]) -> None:
    with client(metis_server.url, metis_server.api_key) as operator:
        view = _graph(operator, ORDERS, upstreamDepth=1, downstreamDepth=1, knowledgeGraph="true")
    graph = view["knowledgeGraph"]
    orders, customers = known[ORDERS], known[CUSTOMERS]
    assert [p["id"] for p in graph["pipelines"]] == [known["pipeline"]]
    assert graph["pipelines"][0]["fullyQualifiedName"] == "jobs.daily"
    assert graph["owners"] == [OWNER]
    assert {t["tagFQN"] for t in graph["tags"]} == {"Quality.Gold", "PII.Email"}
    links = graph["links"]
    assert {"from": orders, "to": OWNER["id"], "relation": "ownedBy"} in links
    assert {"from": orders, "to": "Quality.Gold", "relation": "taggedWith"} in links
    assert {
        "from": customers,
        "to": "PII.Email",
        "relation": "taggedWith",
        "column": "email",
    } in links
    assert {"from": orders, "to": known["pipeline"], "relation": "producedBy"} in links
    scratch = known["scratch.shop.public.orders"]
    assert {"from": scratch, "to": known["pipeline"], "relation": "readBy"} in links
    assert len(links) == len({tuple(sorted(link.items())) for link in links}), "no duplicates"


def test_without_the_parameter_the_answer_is_exactly_openmetadata(
    metis_server: Any, known: dict[str, Any]
) -> None:
    with client(metis_server.url, metis_server.api_key) as operator:
        plain = operator.get(f"/lineage/table/{known[ORDERS]}", params={"upstreamDepth": 2})
        view = _graph(operator, ORDERS, upstreamDepth=2, knowledgeGraph="true")
    assert plain.status_code == 200, plain.text
    assert_om("EntityLineage", plain.json())
    assert "knowledgeGraph" not in plain.json()
    del view["knowledgeGraph"]
    assert view == plain.json(), "the view only adds its key"


def test_the_view_shows_nothing_the_user_may_not_read(
    metis_server: Any, world: dict[str, Any], known: dict[str, Any]
) -> None:
    with as_user(metis_server, world, "alice") as alice:
        view = _graph(alice, CUSTOMERS, upstreamDepth=5, downstreamDepth=5, knowledgeGraph="true")
        hidden = alice.get(f"/lineage/table/name/{ORDERS}", params={"knowledgeGraph": "true"})
    assert hidden.status_code == 404
    text = str(view)
    for secret in (
        known[ORDERS],
        OWNER["id"],
        "carol",
        "Quality.Gold",
        known["pipeline"],
        "jobs.daily",
    ):
        assert secret not in text
    assert view["knowledgeGraph"]["links"] == [
        {"from": known[CUSTOMERS], "to": "PII.Email", "relation": "taggedWith", "column": "email"}
    ]
