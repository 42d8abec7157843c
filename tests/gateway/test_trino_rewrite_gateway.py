"""The Gateway on a Trino cluster sends the governed statement, never the caller's.

A real Gateway (Poros store on SQLite, Heimdall, the data policies applied as Resources)
routes to a cluster whose ``DATAOS_MINERVA_<CLUSTER>_URL`` names the Trino stand-in of
``tests/minerva/test_trino_cluster.py`` (the real ``trino`` client over HTTP on 127.0.0.1).
The stand-in answers only the statements it was given: the governed one, as the test
writes it out by hand, with the rows Trino would return for it. Anything else (the raw
statement, a statement missing a mask) fails as an unknown table would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataos_defs.gateway.service import Caller, Gateway, QueryFailed, QueryRequest
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.minerva.settings import trino_url_env
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from tests.minerva.test_trino_cluster import StandIn

MANIFESTS = """\
name: lakehouse
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  lakehouse: {warehouse: "s3://b/wh"}
---
name: minervashop
version: v1
type: cluster
cluster:
  type: minerva
  minerva:
    depots: [{address: "dataos://lakehouse"}]
---
name: users-read-lakehouse
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {tags: [[roles:id:user]]}
    predicates: [select]
    objects: {paths: ["dataos://lakehouse:**"]}
    allow: true
---
name: email-hash
version: v1
type: policy
policy:
  data:
    type: mask
    priority: 50
    dataset_id: lakehouse.shop.customers
    selector: {user: {match: any, tags: [roles:id:user]}, column: {names: [email]}}
    mask: {operator: hash, hash: {algo: sha256}}
---
name: totals-bucketed
version: v1
type: policy
policy:
  data:
    type: mask
    priority: 50
    dataset_id: lakehouse.shop.customers
    selector: {user: {match: any, tags: [roles:id:user]}, column: {names: [total]}}
    mask: {operator: bucket_number, bucket_number: {buckets: [0, 10]}}
---
name: seen-by-month
version: v1
type: policy
policy:
  data:
    type: mask
    priority: 50
    dataset_id: lakehouse.shop.customers
    selector: {user: {match: any, tags: [roles:id:user]}, column: {names: [seen]}}
    mask: {operator: bucket_date, bucket_date: {precision: month}}
---
name: not-customer-two
version: v1
type: policy
policy:
  data:
    type: filter
    dataset_id: lakehouse.shop.customers
    selector: {user: {match: any, tags: [roles:id:user]}}
    filters: [{column: customer_id, operator: not_equals, value: 2}]
"""
ALICE = Caller("alice", ("roles:id:user", "users:id:alice"))
GOVERNED = (
    'SELECT "customer_id", "email" FROM (SELECT "customer_id", '
    'LOWER(TO_HEX(SHA256(TO_UTF8(CAST("email" AS VARCHAR))))) AS "email", '
    'CAST(CASE WHEN "total" >= 10 THEN 10 WHEN "total" >= 0 THEN 0 ELSE NULL END '
    'AS DECIMAL(10, 2)) AS "total", '
    'DATE_TRUNC(\'MONTH\', "seen") AS "seen", "tags" '
    'FROM "lakehouse"."shop"."customers" WHERE "customer_id" <> 2) AS "customers"'
)
HASHED = hashlib.sha256(b"ada@example.com").hexdigest()
"""What Trino computes for the governed statement's first row (the stand-in's answer)."""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gateway, StandIn]]:
    stand_in = StandIn()
    monkeypatch.setenv(trino_url_env("minervashop"), stand_in.url)
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'poros.db'}")
    store = Store.open(settings=settings)
    documents, issues = parse_yaml(MANIFESTS, "trino.yaml")
    assert not issues
    apply_resources(store, parse_documents(documents), None, "root")
    heimdall = Heimdall(store, tmp_path)
    gateway = Gateway(store, heimdall, tmp_path)
    yield gateway, stand_in
    gateway.close()
    heimdall.close()
    store.close()
    stand_in.close()


def statements_as(stand_in: StandIn, user: str) -> list[str]:
    return [
        " ".join(sql.split())
        for method, sql, headers in stand_in.requests
        if method == "POST" and headers.get("X-Trino-User") == user
    ]


def run(gateway: Gateway, sql: str) -> list[tuple[object, ...]]:
    page = gateway.run(ALICE, QueryRequest(sql, cluster="minervashop"))
    return list(page.rows)


def test_the_coordinator_receives_the_masked_filtered_statement(
    world: tuple[Gateway, StandIn],
) -> None:
    gateway, stand_in = world
    stand_in.canned[GOVERNED] = ([("customer_id", "bigint"), ("email", "varchar")], [[1, HASHED]])
    query = "SELECT customer_id, email FROM lakehouse.shop.customers"
    assert run(gateway, query) == [(1, HASHED)]
    assert statements_as(stand_in, "alice") == [GOVERNED]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM lakehouse.shop.customers",
        "SELECT e FROM (SELECT email AS e FROM lakehouse.shop.customers)",
        "WITH customers AS (SELECT * FROM lakehouse.shop.customers) SELECT email FROM customers",
        "SELECT a.email FROM lakehouse.shop.customers a JOIN lakehouse.shop.customers b"
        " ON a.customer_id = b.customer_id",
    ],
)
def test_no_statement_reads_the_raw_table_outside_the_governed_subquery(
    world: tuple[Gateway, StandIn], query: str
) -> None:
    """Whatever the spelling, what reaches Trino reads ``"lakehouse"."shop"."customers"``
    only inside the governed subquery (the stand-in knows none of these statements, so the
    query fails after the statement was sent: what matters is what was sent)."""
    gateway, stand_in = world
    with pytest.raises(QueryFailed):
        run(gateway, query)
    [sent] = statements_as(stand_in, "alice")
    subquery = GOVERNED[GOVERNED.index("(SELECT ") : GOVERNED.rindex(")") + 1]
    physical = '"lakehouse"."shop"."customers"'
    assert sent.count(physical) == sent.count(subquery) >= 1, sent
    assert sent.count('CAST("email" AS VARCHAR)') == sent.count(physical)


def test_a_caller_denied_the_dataset_sends_nothing(world: tuple[Gateway, StandIn]) -> None:
    gateway, stand_in = world
    stranger = Caller("mallory", ("users:id:mallory",))
    with pytest.raises(Exception, match="may not select"):
        gateway.run(stranger, QueryRequest("SELECT * FROM lakehouse.shop.customers", "minervashop"))
    assert statements_as(stand_in, "mallory") == []
