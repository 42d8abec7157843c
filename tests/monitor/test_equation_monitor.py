"""Equation monitors through a real Gateway (embedded engine over a real Iceberg table), as
the monitor's owner: row filters and masks hold, a denied or masked query is an error."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from dataos_defs.adapters import iceberg
from dataos_defs.gateway.service import Gateway
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.monitor.equation import GatewayQueries
from dataos_defs.monitor.evaluate import Evaluation
from dataos_defs.monitor.incidents import Incidents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from tests.monitor.conftest import Clock, World

CUSTOMERS = pa.table(
    {
        "customer_id": pa.array([1, 2, 3, 4], pa.int64()),
        "email": ["ada@example.com", "bob@example.com", "cy@example.com", "di@example.com"],
        "country": ["DE", "US", "FR", "IN"],
    }
)
SALARIES = pa.table({"employee": ["Ada"], "salary": pa.array([100_000], pa.int64())})
PLATFORM = """\
name: lakehouse
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  lakehouse: {warehouse: warehouse, format: iceberg}
---
name: minervashop
version: v1
type: cluster
cluster:
  type: minerva
  minerva: {replicas: 1, depots: [{address: "dataos://lakehouse"}]}
---
name: users-read-shop
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {tags: [[roles:id:user]]}
    predicates: [select, read]
    objects: {paths: ["dataos://lakehouse:shop/**"]}
    allow: true
---
name: shop-outside-us
version: v1
type: policy
policy:
  data:
    type: filter
    dataset_id: lakehouse.shop.customers
    selector: {user: {match: any, tags: [roles:id:user]}}
    filters: [{column: country, operator: not_equals, value: US}]
---
name: shop-emails-hashed
version: v1
type: policy
policy:
  data:
    type: mask
    priority: 50
    dataset_id: lakehouse.shop.customers
    selector: {user: {match: any, tags: [roles:id:user]}, column: {names: [email]}}
    mask: {operator: hash, hash: {algo: sha256}}
"""
MONITOR = """\
name: {name}
version: v1alpha
type: monitor
monitor:
  schedule: '*/5 * * * *'
  type: equation_monitor
  equation:
    leftExpression:
      queryCoefficient: {coefficient}
      queryConstant: {constant}
      query:
        type: {kind}
        cluster: minervashop
        ql: {sql}
    rightExpression:
      queryCoefficient: 0
      queryConstant: {threshold}
    operator: greater_than
  incident:
    name: too-many-customers
    severity: medium
    incidentType: volume
"""
COUNT = "SELECT count(*) AS n FROM lakehouse.shop.customers"


def monitor(
    name: str,
    sql: str = COUNT,
    threshold: float = 3,
    coefficient: float = 1,
    constant: float = 0,
    kind: str = "trino",
) -> str:
    return MONITOR.format(
        name=name,
        sql=sql,
        threshold=threshold,
        coefficient=coefficient,
        constant=constant,
        kind=kind,
    )


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, GatewayQueries]]:
    home = tmp_path_factory.mktemp("equation-home")
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    iceberg.write_table(catalog, "shop", "customers", CUSTOMERS, "overwrite")
    iceberg.write_table(catalog, "hr", "salaries", SALARIES, "overwrite")
    store = Store.open(settings=Settings(home=home, database_url=f"sqlite:///{home / 'p.db'}"))
    documents, issues = parse_yaml(PLATFORM, "platform.yaml")
    assert not issues
    apply_resources(store, parse_documents(documents), None, "dataos-operator")
    heimdall = Heimdall(store, home)
    gateway = Gateway(store, heimdall, home)
    clock = Clock()
    incidents = Incidents.open(store.engine, clock)
    world = World(home, store, Identities(store), heimdall, incidents, clock)
    try:
        world.user("ana")
        yield world, GatewayQueries(gateway)
    finally:
        gateway.close()
        heimdall.close()
        store.close()


def evaluate(governed: tuple[World, GatewayQueries], manifest: str, name: str) -> Evaluation:
    world, queries = governed
    world.apply(manifest, "ana")
    world.clock.advance(60)
    return world.evaluate(name, queries=queries)


def test_the_owners_row_filter_holds(governed: tuple[World, GatewayQueries]) -> None:
    clear = evaluate(governed, monitor("over-three"), "over-three")
    assert clear.outcome == "clear", clear
    assert clear.context["equation"] == {
        "left": 3.0,
        "operator": "greater_than",
        "right": 3.0,
    }, "ana does not see the US customer: 3, not 4"
    fired = evaluate(governed, monitor("over-two", threshold=2), "over-two")
    assert fired.outcome == "firing"
    assert fired.transition is not None
    assert fired.transition.incident["context"]["equation"]["left"] == 3.0


def test_coefficient_and_constant(governed: tuple[World, GatewayQueries]) -> None:
    found = evaluate(governed, monitor("scaled", coefficient=2, constant=1), "scaled")
    assert found.context["equation"]["left"] == 7.0


@pytest.mark.parametrize(
    ("sql", "kind", "expected"),
    [
        ("SELECT count(*) FROM lakehouse.hr.salaries", "trino", "ana may not run it"),
        ("SELECT max(email) FROM lakehouse.shop.customers", "trino", "not a number"),
        ("SELECT count(*) FROM lakehouse.shop.nowhere", "trino", "leftExpression.query"),
        (COUNT, "prom", "'prom' queries have no engine here"),
    ],
    ids=["denied", "masked", "unknown-table", "prom"],
)
def test_a_query_the_owner_cannot_answer_is_an_error_never_an_incident(
    governed: tuple[World, GatewayQueries], sql: str, kind: str, expected: str
) -> None:
    world, _ = governed
    name = f"broken-{kind}-{abs(hash(sql)) % 1000}"
    found = evaluate(governed, monitor(name, sql=sql, threshold=-1, kind=kind), name)
    assert found.outcome == "error", found
    assert expected in (found.reason or "")
    assert world.incidents.listed(monitor=name) == []
