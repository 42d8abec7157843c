"""A Minerva cluster on a real Trino, driven through the official ``trino`` client.

No Trino server can run here, so the coordinator is a stand-in on 127.0.0.1 built on the
stdlib ``http.server``. It speaks Trino's documented client protocol
(https://trino.io/docs/current/develop/client-protocol.html): ``POST /v1/statement`` with
the SQL as body answers ``{id, infoUri, nextUri, stats.state: QUEUED}``; each ``GET`` of
``nextUri`` answers the next page (``columns`` with ``typeSignature``, ``data``, ``stats``)
until a page without ``nextUri`` (``FINISHED``); failures are ``stats.state: FAILED`` with
an ``error`` object; ``DELETE`` of ``nextUri`` cancels. It knows a few tables (answering
``information_schema`` queries) and canned results for exact statements.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dataos_defs.gateway.clusters import Engine
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.depot import Depot
from dataos_defs.minerva.model import TableName
from dataos_defs.minerva.result import MinervaError
from dataos_defs.minerva.settings import trino_endpoint
from dataos_defs.minerva.tags import ManifestColumnTags
from dataos_defs.minerva.trino_cluster import TrinoCluster

PAGE_ROWS = 2
TABLES = {
    ("lakehouse", "shop", "customers"): [
        ("customer_id", "bigint"),
        ("email", "varchar"),
        ("total", "decimal(10,2)"),
        ("seen", "timestamp(3) with time zone"),
        ("tags", "array(varchar)"),
    ],
    ("shoppg", "public", "orders"): [("order_id", "integer")],
}
CUSTOMERS = [
    [1, "ada@example.com", "12.50", "2024-05-01 09:00:00.000 UTC", ["vip"]],
    [2, "alan@example.com", None, None, []],
    [3, "grace@example.com", "7.25", "2024-05-02 10:30:00.500 UTC", []],
]
CANNED = {
    "SELECT * FROM lakehouse.shop.customers": (
        TABLES[("lakehouse", "shop", "customers")],
        CUSTOMERS,
    ),
    "SELECT n FROM big": ([("n", "bigint")], [[n] for n in range(100)]),
}


def signature(type_name: str) -> dict[str, Any]:
    """The ``typeSignature`` Trino sends for the few types the stand-in serves."""
    if type_name.startswith("array("):
        return {
            "rawType": "array",
            "arguments": [{"kind": "TYPE", "value": signature(type_name[6:-1])}],
        }
    zone = type_name.endswith(" with time zone")
    base = type_name.removesuffix(" with time zone")
    raw, _, rest = base.partition("(")
    arguments = [{"kind": "LONG", "value": int(a)} for a in rest.rstrip(")").split(",") if a]
    if raw == "varchar":
        arguments = [{"kind": "LONG", "value": 2147483647}]
    return {"rawType": raw + (" with time zone" if zone else ""), "arguments": arguments}


class StandIn:
    """The coordinator; ``canned`` maps an exact statement (whitespace folded) to its
    columns and rows: any other statement fails as Trino fails an unknown table."""

    def __init__(self) -> None:
        self.canned: dict[str, tuple[list[tuple[str, str]], list[list[Any]]]] = dict(CANNED)
        self.queries: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.cancelled: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://analyst@127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, sql: str) -> tuple[list[tuple[str, str]], list[list[Any]]] | dict[str, Any]:
        text = " ".join(sql.split())
        listing = re.fullmatch(
            r'SELECT table_schema, table_name FROM "(\w+)"\.information_schema\.tables .*', text
        )
        columns = re.fullmatch(
            r"SELECT column_name, data_type FROM \"(\w+)\"\.information_schema\.columns "
            r"WHERE table_schema = '(.*)' AND table_name = '(.*)' ORDER BY ordinal_position",
            text,
        )
        catalog = (listing or columns).group(1) if (listing or columns) else None
        if catalog is not None and catalog not in {c for c, _, _ in TABLES}:
            return {"errorName": "CATALOG_NOT_FOUND", "message": f"Catalog '{catalog}' not found"}
        if listing:
            found = sorted([s, t] for c, s, t in TABLES if c == catalog)
            return [("table_schema", "varchar"), ("table_name", "varchar")], found
        if columns:
            key = (catalog, columns.group(2), columns.group(3))
            found = [[name, kind] for name, kind in TABLES.get(key, [])]
            return [("column_name", "varchar"), ("data_type", "varchar")], found
        if text in self.canned:
            return self.canned[text]
        return {"errorName": "TABLE_NOT_FOUND", "message": f"line 1:15: no such thing in: {text}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def _send(self, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                sql = self.rfile.read(int(self.headers["Content-Length"])).decode()
                stand_in.requests.append(("POST", sql, dict(self.headers)))
                query_id = uuid.uuid4().hex
                stand_in.queries[query_id] = {"answer": stand_in.answer(sql)}
                self._send(stand_in.page(query_id, 0, queued=True))

            def do_GET(self) -> None:
                _, _, _, query_id, token = self.path.rsplit("/", 4)
                stand_in.requests.append(("GET", self.path, dict(self.headers)))
                self._send(stand_in.page(query_id, int(token)))

            def do_DELETE(self) -> None:
                stand_in.cancelled.append(self.path.rsplit("/", 2)[-2])
                self.send_response(204)
                self.end_headers()

        return Handler

    def page(self, query_id: str, token: int, *, queued: bool = False) -> dict[str, Any]:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        body: dict[str, Any] = {"id": query_id, "infoUri": f"{base}/ui/query.html?{query_id}"}
        next_uri = f"{base}/v1/statement/executing/{query_id}/{token + 1}"
        if queued:
            return body | {"nextUri": next_uri, "stats": {"state": "QUEUED"}}
        answer = self.queries[query_id]["answer"]
        if isinstance(answer, dict):
            error = {"errorCode": 1, "errorType": "USER_ERROR", **answer}
            return body | {"stats": {"state": "FAILED"}, "error": error}
        columns, rows = answer
        body["columns"] = [
            {"name": n, "type": t, "typeSignature": signature(t)} for n, t in columns
        ]
        chunk = rows[(token - 1) * PAGE_ROWS : token * PAGE_ROWS]
        if chunk:
            body["data"] = chunk
        if token * PAGE_ROWS < len(rows):
            return body | {"nextUri": next_uri, "stats": {"state": "RUNNING"}}
        return body | {"stats": {"state": "FINISHED"}}


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


def cluster_on(stand_in: StandIn, attempts: int = 3) -> TrinoCluster:
    manifest = Cluster.model_validate(
        {
            "name": "minervashop",
            "version": "v1",
            "type": "cluster",
            "cluster": {
                "type": "minerva",
                "minerva": {
                    "depots": [{"address": "dataos://lakehouse"}, {"address": "dataos://shoppg"}],
                    "catalogs": [{"name": "cache", "type": "memory"}],
                },
            },
        }
    )
    lakehouse = Depot.model_validate(
        {
            "name": "lakehouse",
            "version": "v2alpha",
            "type": "depot",
            "depot": {
                "type": "LAKEHOUSE",
                "lakehouse": {"warehouse": "s3://b/wh"},
                "datasets": [
                    {
                        "collection": "shop",
                        "dataset": "customers",
                        "columns": [{"name": "email", "tags": ["PII.Email"]}],
                    }
                ],
            },
        }
    )
    tags = ManifestColumnTags([lakehouse])
    return TrinoCluster(manifest, stand_in.url, tags=tags, attempts=attempts)


def test_tables_come_from_each_catalogs_information_schema(stand_in: StandIn) -> None:
    trino = cluster_on(stand_in)
    assert trino.tables() == [
        TableName("lakehouse", "shop", "customers"),
        TableName("shoppg", "public", "orders"),
    ]
    posted = [sql for method, sql, _ in stand_in.requests if method == "POST"]
    assert len(posted) == 3 and all("information_schema.tables" in sql for sql in posted)


def test_a_table_has_duckdb_typed_columns_tags_and_its_quoted_name(stand_in: StandIn) -> None:
    trino = cluster_on(stand_in)
    table = trino.table(TableName("Lakehouse", "SHOP", "customers"))
    assert table is not None
    assert [(c.name, c.type, c.tags) for c in table.columns] == [
        ("customer_id", "BIGINT", ()),
        ("email", "VARCHAR", ("PII.Email",)),
        ("total", "DECIMAL(10,2)", ()),
        ("seen", "TIMESTAMP WITH TIME ZONE", ()),
        ("tags", "VARCHAR[]", ()),
    ]
    assert [c.engine_type for c in table.columns] == [
        kind for _, kind in TABLES[("lakehouse", "shop", "customers")]
    ]
    assert table.physical == '"lakehouse"."shop"."customers"'
    assert trino.table(TableName("lakehouse", "shop", "nope")) is None
    assert trino.table(TableName("cache", "x", "y")) is None
    assert trino.table(TableName("elsewhere", "x", "y")) is None


def test_results_page_through_next_uris_with_trino_types_and_values(stand_in: StandIn) -> None:
    trino = cluster_on(stand_in)
    assert trino.dialect == "trino"
    with trino.execute("SELECT * FROM lakehouse.shop.customers") as result:
        assert result.columns == TABLES[("lakehouse", "shop", "customers")]
        batches = list(result.batches(2))
    assert [len(b) for b in batches] == [2, 1]
    assert batches[0][0] == (
        1,
        "ada@example.com",
        Decimal("12.50"),
        datetime(2024, 5, 1, 9, tzinfo=UTC),
        ["vip"],
    )
    gets = [path for method, path, _ in stand_in.requests if method == "GET"]
    assert len(gets) >= 2
    headers = next(h for method, _, h in stand_in.requests if method == "POST")
    assert headers["X-Trino-User"] == "analyst"
    assert headers["X-Trino-Source"] == "dataos-gateway"


def test_closing_an_unfinished_result_cancels_the_query(stand_in: StandIn) -> None:
    trino = cluster_on(stand_in)
    result = trino.execute("SELECT n FROM big")
    assert len(next(result.batches(3))) == 3
    result.close()
    assert len(stand_in.cancelled) == 1


def test_failures_carry_trinos_message(stand_in: StandIn) -> None:
    trino = cluster_on(stand_in)
    with pytest.raises(MinervaError, match=r"Trino \(minervashop\): line 1:15: no such thing"):
        trino.execute("SELECT 1 FROM nowhere")


def test_an_unreachable_coordinator_is_a_clear_error(stand_in: StandIn) -> None:
    trino = cluster_on(stand_in, attempts=1)
    stand_in.close()
    with pytest.raises(MinervaError, match="cannot reach Trino"):
        trino.execute("SELECT 1")


def test_the_endpoint_is_a_setting_per_cluster() -> None:
    env = {
        "DATAOS_MINERVA_MINERVASHOP_URL": "https://gw@trino:8443",
        "DATAOS_MINERVA_MINERVASHOP_PASSWORD": "pw",
    }
    assert trino_endpoint("minervashop", env) == ("https://gw@trino:8443", "pw")
    assert trino_endpoint("other", env) is None


def test_statements_run_as_the_gateways_caller(stand_in: StandIn) -> None:
    """The documented Trino contract (no Trino server runs here): a statement's session user
    (``X-Trino-User``) is the Gateway's caller, so Trino's OPA access control decides the
    caller's access; the endpoint's own user stays the principal (its catalog queries, and
    HTTP Basic when a password is set), which ``policies/trino`` lets impersonate callers
    (``ImpersonateUser``, tested in ``trino_test.rego``) and whose statements it does not
    mask again (the Gateway masked them: tests/gateway/test_trino_rewrite_gateway.py)."""
    trino = cluster_on(stand_in)
    engine = Engine("minervashop", 1, trino)
    with engine.execute("SELECT * FROM lakehouse.shop.customers", (), "ana") as result:
        list(result.batches(10))
    trino.tables()
    users = [(sql, h["X-Trino-User"]) for method, sql, h in stand_in.requests if method == "POST"]
    assert users[0] == ("SELECT * FROM lakehouse.shop.customers", "ana")
    assert {user for _, user in users[1:]} == {"analyst"}
