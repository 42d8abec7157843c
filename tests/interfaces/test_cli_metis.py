"""``dataos-ctl metis``: the real CLI against a real API server with a seeded catalog.

The world (``catalog``): a depot ``acmepg`` whose service holds two datasets,
``customers`` and ``orders`` (``tests.metis.metis_helpers.shop_catalog``); ``orders`` →
``customers`` lineage made by the pipeline ``dataos-public.daily`` (one successful run),
with column lineage; ``customers.email`` tagged ``PII.Email``; a profile of ``customers``.
Everyone may read the catalog's entries (``/metis/**``); the plain user ``dev``
(``roles:id:data-dev``) may also update them and read the dataset ``customers`` only, never
``orders``. The attacks by ``dev`` are in ``test_cli_metis_attacks``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.interfaces.conftest import Server, run_cli, start_server, stop_server, user_key, wire
from tests.manifest_texts import depot, secret
from tests.metis.metis_helpers import apply_policy, client, ok, shop_catalog

CUSTOMERS = "acmepg.shop.public.customers"
ORDERS = "acmepg.shop.public.orders"
PIPELINE = "dataos-public.daily"


@dataclass(frozen=True)
class World:
    server: Server
    dev: str

    def cli(self, *args: str, key: str | None = None) -> Any:
        return run_cli(self.server, *args, DATAOS_API_KEY=key or self.server.api_key)

    def table(self, fqn: str) -> dict[str, Any]:
        with client(self.server.url, self.server.api_key) as operator:
            found: dict[str, Any] = ok(operator.get(f"/tables/name/{fqn}"))
        return found


def _patch(http: httpx.Client, table_id: str, operations: list[dict[str, Any]]) -> None:
    headers = {"Content-Type": "application/json-patch+json"}
    ok(http.patch(f"/tables/{table_id}", json=operations, headers=headers))


def _seed(http: httpx.Client) -> None:
    shop_catalog(http, "acmepg")
    for classification, tag in (("PII", "Email"), ("Quality", "Gold")):
        ok(
            http.put("/classifications", json={"name": classification, "description": "t"}),
            200,
            201,
        )
        ok(http.put("/tags", json={"name": tag, "classification": classification}), 200, 201)
    ok(
        http.put(
            "/services/pipelineServices", json={"name": "dataos-public", "serviceType": "Dagster"}
        ),
        200,
        201,
    )
    pipeline = ok(
        http.put("/pipelines", json={"name": "daily", "service": "dataos-public"}), 200, 201
    )
    run = {"timestamp": int(time.time() * 1000), "executionStatus": "Successful"}
    ok(http.put(f"/pipelines/{PIPELINE}/status", json=run))
    customers = ok(http.get(f"/tables/name/{CUSTOMERS}"))
    orders = ok(http.get(f"/tables/name/{ORDERS}"))
    label = {
        "tagFQN": "PII.Email",
        "source": "Classification",
        "labelType": "Manual",
        "state": "Confirmed",
    }
    _patch(http, customers["id"], [{"op": "add", "path": "/columns/1/tags/-", "value": label}])
    edge = {
        "fromEntity": {"id": orders["id"], "type": "table"},
        "toEntity": {"id": customers["id"], "type": "table"},
        "lineageDetails": {
            "pipeline": {"id": pipeline["id"], "type": "pipeline"},
            "source": "PipelineLineage",
            "columnsLineage": [
                {"fromColumns": [f"{ORDERS}.email"], "toColumn": f"{CUSTOMERS}.email"}
            ],
        },
    }
    ok(http.put("/lineage", json={"edge": edge}))
    profile = {"tableProfile": {"timestamp": run["timestamp"], "rowCount": 4242, "columnCount": 2}}
    ok(http.put(f"/tables/{customers['id']}/tableProfile", json=profile))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = start_server(tmp_path_factory.mktemp("metis-cli"))
    try:
        applied = httpx.post(
            f"{server.url}/poros/api/v1/apply",
            json={"documents": wire(secret("acmesec") + "---\n" + depot("acmepg", "acmesec"))},
            headers=server.headers,
            timeout=60,
        )
        assert applied.status_code == 200, applied.text
        with client(server.url, server.api_key) as operator:
            _seed(operator)
        apply_policy(server, "metis-readers", "[users:id:*]", "read", '"/metis/**"')
        apply_policy(server, "dev-edits", "[users:id:dev]", "update", '"/metis/**"')
        apply_policy(
            server, "dev-customers", "[users:id:dev]", "read", '"dataos://acmepg:public/customers"'
        )
        yield World(server, user_key(server, "dev", ["roles:id:data-dev"]))
    finally:
        stop_server(server)


def _json(done: Any) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_search_finds_tables_with_facets(catalog: World) -> None:
    found = _json(
        catalog.cli("metis", "search", "customers", "--facet", "depot=acmepg", "-o", "json")
    )
    names = [hit["fullyQualifiedName"] for hit in found["hits"]]
    assert CUSTOMERS in names
    assert {hit["type"] for hit in found["hits"] if hit["fullyQualifiedName"] == CUSTOMERS} == {
        "table"
    }
    shown = catalog.cli("metis", "search", "email", "--facet", "tag=PII.Email", "--limit", "5")
    assert shown.returncode == 0, shown.stderr
    assert CUSTOMERS in shown.stdout and ORDERS not in shown.stdout
    assert "tag: PII.Email (1)" in shown.stdout


def test_get_table_shows_columns_tags_and_last_runs(catalog: World) -> None:
    shown = catalog.cli("metis", "get", "table", CUSTOMERS)
    assert shown.returncode == 0, shown.stderr
    assert f"table: {CUSTOMERS}" in shown.stdout
    assert "PII.Email" in shown.stdout and "VARCHAR" in shown.stdout
    assert PIPELINE in shown.stdout and "Successful" in shown.stdout
    assert "rowCount: 4242" in shown.stdout
    found = _json(catalog.cli("metis", "get", "table", CUSTOMERS, "-o", "json"))
    assert found["table"]["fullyQualifiedName"] == CUSTOMERS
    assert [run["pipeline"] for run in found["lastRuns"]] == [PIPELINE]
    assert found["table"]["profile"]["rowCount"] == 4242


def test_lineage_tree_and_column_lineage(catalog: World) -> None:
    shown = catalog.cli("metis", "lineage", CUSTOMERS, "--upstream", "2", "--columns")
    assert shown.returncode == 0, shown.stderr
    assert f"<- {ORDERS}  [via {PIPELINE}]" in shown.stdout
    assert f"{ORDERS}.email" in shown.stdout and "column lineage:" in shown.stdout
    down = catalog.cli("metis", "lineage", ORDERS, "--upstream", "0", "--downstream", "1")
    assert f"-> {CUSTOMERS}" in down.stdout, down.stderr
    graph = _json(catalog.cli("metis", "lineage", CUSTOMERS, "-o", "json"))
    assert graph["entity"]["fullyQualifiedName"] == CUSTOMERS
    assert [node["fullyQualifiedName"] for node in graph["nodes"]] == [ORDERS]


def test_tag_add_and_remove_a_column_tag(catalog: World) -> None:
    column = f"{CUSTOMERS}.id"
    added = catalog.cli("metis", "tag", "add", column, "Quality.Gold")
    assert added.returncode == 0, added.stderr
    assert "tagged Quality.Gold" in added.stdout
    assert [t["tagFQN"] for t in catalog.table(CUSTOMERS)["columns"][0]["tags"]] == ["Quality.Gold"]
    again = catalog.cli("metis", "tag", "add", column, "Quality.Gold")
    assert "already tagged" in again.stdout, again.stderr
    removed = catalog.cli("metis", "tag", "remove", column, "Quality.Gold")
    assert removed.returncode == 0, removed.stderr
    assert catalog.table(CUSTOMERS)["columns"][0]["tags"] == []


def test_tag_a_table_as_the_operator(catalog: World) -> None:
    added = catalog.cli("metis", "tag", "add", ORDERS, "Quality.Gold")
    assert added.returncode == 0, added.stderr
    assert [t["tagFQN"] for t in catalog.table(ORDERS)["tags"]] == ["Quality.Gold"]
    assert catalog.cli("metis", "tag", "remove", ORDERS, "Quality.Gold").returncode == 0
    assert catalog.table(ORDERS)["tags"] == []


BAD = [
    (("get", "table", "acmepg"), "names 1 level(s), a table has 4"),
    (("get", "table", 'acmepg.shop."pub'), "not a fully qualified name"),
    (("lineage", "a.b.c.d.e"), "names 5 level(s), a table has 4"),
    (("lineage", CUSTOMERS, "--upstream", "9"), "--upstream is between 0 and 5"),
    (("tag", "add", "acmepg.shop", "PII.Email"), "a table has 4, a column 5"),
    (("tag", "add", f"{CUSTOMERS}.email", "Email"), "it names no classification"),
    (("tag", "add", f"{CUSTOMERS}.nope", "Quality.Gold"), "has no column 'nope'"),
    (("tag", "add", f"{CUSTOMERS}.email", "Quality.Nope"), "there is no tag Quality.Nope"),
    (("tag", "remove", f"{CUSTOMERS}.id", "Quality.Gold"), "is not tagged Quality.Gold"),
    (("search", "x", "--facet", "color=red"), "unknown facet 'color'"),
    (("search", "x", "--facet", "tag"), "is not KEY=VALUE"),
    (("search", "x", "--limit", "0"), "--limit is between 1 and 1000"),
    (("get", "table", "acmepg.shop.public.nothing"), "not found"),
]


@pytest.mark.parametrize(("args", "said"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_names_and_options_give_clear_errors(
    catalog: World, args: tuple[str, ...], said: str
) -> None:
    before = catalog.table(CUSTOMERS)["version"]
    done = catalog.cli("metis", *args)
    assert done.returncode != 0
    assert said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert catalog.table(CUSTOMERS)["version"] == before, "nothing changed"
