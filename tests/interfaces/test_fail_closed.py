"""Fail closed, proved by fault injection: when Heimdall's engine cannot decide for one
dataset, no query touching it returns a row — through the Gateway's API, its Trino protocol
(the real ``trino`` client), EXPLAIN, SHOW/DESCRIBE and the OPA-compatible API — on both
Rego engines, whether the rewrite was cached or not; and the audit records ``denied``.

The fault is a real evaluation error, not a stub: the server loads, beside the platform's
policies (``DATAOS_POLICIES_ROOT``), a module of package ``heimdall.access`` that gives the
complete rule ``object_path`` a second, conflicting value for every object listed in
``data.faults.paths``. Both regorus and OPA raise a conflict error then (checked in
``test_the_fault_is_an_engine_error_on_both_engines``), only for those objects. The list is
written at runtime through the OPA API (``PUT /v1/data/faults``), so a rewrite cached while
the dataset could still be decided is then served from the cache.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
import trino
from trino.auth import BasicAuthentication

from dataos_defs.adapters import iceberg
from dataos_defs.api.client import DataosClient
from dataos_defs.heimdall.engine import EngineError, create_engine
from dataos_defs.heimdall.pdp import AccessRequest
from dataos_defs.heimdall.service import rego_modules
from dataos_defs.heimdall.trino_data import trino_document
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.interfaces.conftest import ROOT, Server, start_server, stop_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

FAULT_MODULE = """\
package heimdall.access

# Fault injection (tests only): a second value of a complete rule is an evaluation error
# (eval_conflict_error) for every object listed in data.faults.paths.
object_path := "injected fault" if input.object.path in data.faults.paths
"""
SALARIES = "dataos://lakehouse:hr/salaries"
FAULTY_SQL = [
    "SELECT * FROM lakehouse.hr.salaries",
    "SELECT employee FROM lakehouse.hr.salaries WHERE salary > 0",
    "WITH s AS (SELECT * FROM lakehouse.hr.salaries) SELECT count(*) FROM s",
    "SELECT c.email FROM lakehouse.shop.customers c "
    "JOIN lakehouse.hr.salaries s ON s.employee = c.first_name",
    "SELECT email FROM lakehouse.shop.customers "
    "WHERE first_name IN (SELECT employee FROM lakehouse.hr.salaries)",
    "EXPLAIN SELECT * FROM lakehouse.hr.salaries",
]
HEALTHY_SQL = "SELECT count(*) FROM lakehouse.shop.customers"
MANIFESTS: list[dict[str, Any]] = [
    {
        "name": "lakehouse",
        "version": "v2alpha",
        "type": "depot",
        "depot": {
            "type": "LAKEHOUSE",
            "lakehouse": {"warehouse": "warehouse", "format": "iceberg"},
        },
    },
    {
        "name": "minervashop",
        "version": "v1",
        "type": "cluster",
        "cluster": {"type": "minerva", "minerva": {"depots": [{"address": "dataos://lakehouse"}]}},
    },
    {
        "name": "ana-reads-the-lakehouse",
        "version": "v1",
        "type": "policy",
        "policy": {
            "access": {
                "subjects": {"tags": [["users:id:ana"]]},
                "predicates": ["read", "select"],
                "objects": {"paths": ["dataos://lakehouse:**"]},
                "allow": True,
            }
        },
    },
]


@pytest.fixture(scope="module", params=["regorus", "opa"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """A server on ``request.param`` with the fault module loaded; ana's API key."""
    home = tmp_path_factory.mktemp(f"fail-closed-{request.param}")
    policies = home / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (policies / "heimdall" / "fault_injection.rego").write_text(FAULT_MODULE)
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    customers = pa.table({"email": ["ada@example.com"], "first_name": ["Ada"]})
    salaries = pa.table({"employee": ["Ada"], "salary": pa.array([100_000], pa.int64())})
    iceberg.write_table(catalog, "shop", "customers", customers, "overwrite")
    iceberg.write_table(catalog, "hr", "salaries", salaries, "overwrite")
    env = {
        "DATAOS_POLICIES_ROOT": str(policies),
        "DATAOS_REGO_ENGINE": request.param,
        DEFAULT_CLUSTER_ENV: "minervashop",
    }
    server = start_server(home, extra_env=env)
    try:
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.apply([{"manifest": m} for m in MANIFESTS], None)
            admin.create_user("ana", tags=["roles:id:user"])
            key = str(admin.create_api_key("ana")["key"])
        yield server, key
    finally:
        stop_server(server)


@pytest.fixture
def fault(platform: tuple[Server, str]) -> Iterator[None]:
    """Heimdall cannot decide on ``lakehouse.hr.salaries`` until the test ends."""
    server, _ = platform
    url = f"{server.url}/v1/data/faults"
    put = httpx.put(url, json={"paths": [SALARIES]}, headers=server.headers)
    assert put.status_code == 204, put.text
    yield
    assert httpx.delete(url, headers=server.headers).status_code == 204


def query(server: Server, key: str, sql: str, route: str = "query") -> httpx.Response:
    return httpx.post(
        f"{server.url}/gateway/api/v1/{route}",
        json={"sql": sql},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def assert_refused_without_rows(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert "rows" not in body and "sql" not in body
    assert body["error"]["code"] == "policy_engine_unavailable"
    assert "no access decision could be made" in body["error"]["message"]


def test_the_fault_is_an_engine_error_on_both_engines() -> None:
    """The injected module really errors (not undefined, not deny), and only for the
    listed object, on regorus and on OPA."""
    modules = {**rego_modules(ROOT / "policies"), "fault.rego": FAULT_MODULE}
    data = {**trino_document([]), "faults": {"paths": [SALARIES]}}
    for name in ("regorus", "opa"):
        engine = create_engine(name)
        engine.load_policies(modules)
        engine.set_data(data)
        tags = ["users:id:root", "roles:id:operator"]
        healthy = AccessRequest.of(tags, "select", "dataos://lakehouse:shop/customers")
        assert engine.evaluate("data.heimdall.access.decision", healthy.as_input())["allow"]
        faulty = AccessRequest.of(tags, "select", SALARIES)
        with pytest.raises(EngineError, match="conflict"):
            engine.evaluate("data.heimdall.access.decision", faulty.as_input())


def test_gateway_api_refuses_cached_and_fresh_rewrites(
    platform: tuple[Server, str], request: pytest.FixtureRequest
) -> None:
    server, ana = platform
    for sql in FAULTY_SQL:
        assert query(server, ana, sql).status_code == 200, sql
    request.getfixturevalue("fault")
    for _ in range(2):
        for sql in FAULTY_SQL:
            assert_refused_without_rows(query(server, ana, sql))
            assert_refused_without_rows(query(server, server.api_key, sql))
    fresh = "SELECT salary FROM lakehouse.hr.salaries WHERE employee = 'Ada'"
    assert_refused_without_rows(query(server, ana, fresh))
    assert query(server, ana, HEALTHY_SQL).json()["rows"] == [[1]]


def test_every_refusal_is_audited_as_denied(platform: tuple[Server, str], fault: None) -> None:
    server, ana = platform
    marker = "SELECT employee AS audited_fault FROM lakehouse.hr.salaries"
    assert_refused_without_rows(query(server, ana, marker))
    records = httpx.get(
        f"{server.url}/gateway/api/v1/queries",
        headers={"Authorization": f"Bearer {ana}"},
        params={"limit": 10_000},
    ).json()
    digest = hashlib.sha256(marker.encode()).hexdigest()
    [record] = [r for r in records if r["sql_sha256"] == digest]
    assert record["outcome"] == "denied" and record["rows"] is None
    assert "no access decision" in record["message"]


def test_explain_endpoint_refuses(platform: tuple[Server, str], fault: None) -> None:
    server, ana = platform
    for _ in range(2):
        assert_refused_without_rows(query(server, ana, FAULTY_SQL[0], route="explain"))
    assert query(server, ana, HEALTHY_SQL, route="explain").status_code == 200


def test_listings_hide_a_dataset_that_cannot_be_decided(
    platform: tuple[Server, str], request: pytest.FixtureRequest
) -> None:
    server, ana = platform
    listing = "SHOW TABLES FROM lakehouse.hr"
    assert query(server, ana, listing).json()["rows"] == [["salaries"]]
    assert query(server, ana, "DESCRIBE lakehouse.hr.salaries").status_code == 200
    request.getfixturevalue("fault")
    for key in (ana, server.api_key):
        shown = query(server, key, listing)
        assert shown.status_code in (200, 400), shown.text
        assert "salaries" not in shown.text
        described = query(server, key, "DESCRIBE lakehouse.hr.salaries")
        assert described.status_code == 400 and "salary" not in described.text
        schemas = query(server, key, "SHOW SCHEMAS FROM lakehouse").json()["rows"]
        assert ["hr"] not in schemas and ["shop"] in schemas


def test_trino_protocol_raises_and_never_returns_rows(
    platform: tuple[Server, str], request: pytest.FixtureRequest
) -> None:
    server, ana = platform
    port = int(server.url.rsplit(":", 1)[1])
    connection = trino.dbapi.connect(
        host="127.0.0.1",
        port=port,
        user="ana",
        auth=BasicAuthentication("ana", ana),
        http_scheme="http",
        allow_insecure_auth=True,
    )
    cursor = connection.cursor()
    cursor.execute(FAULTY_SQL[0])
    assert cursor.fetchall() == [["Ada", 100_000]]
    request.getfixturevalue("fault")
    for _ in range(2):
        for sql in FAULTY_SQL:
            cursor = connection.cursor()
            with pytest.raises(trino.exceptions.TrinoQueryError) as caught:
                cursor.execute(sql)
                cursor.fetchall()
            assert caught.value.error_type == "INTERNAL_ERROR"
            assert "no access decision could be made" in caught.value.message
    cursor = connection.cursor()
    cursor.execute(HEALTHY_SQL)
    assert cursor.fetchall() == [[1]]


def trino_input(operation: str, **action: Any) -> dict[str, Any]:
    identity = {"user": "ana", "groups": []}
    return {
        "input": {"context": {"identity": identity}, "action": {"operation": operation, **action}}
    }


def table(name: str, schema: str) -> dict[str, Any]:
    return {"table": {"catalogName": "lakehouse", "schemaName": schema, "tableName": name}}


def test_opa_api_gives_no_allow(platform: tuple[Server, str], fault: None) -> None:
    """What Trino's plugin and other OPA clients ask: a 503 error, never a result."""
    server, ana = platform
    salaries = {**table("salaries", "hr")["table"], "columns": ["salary"]}
    customers = {**table("customers", "shop")["table"], "columns": ["email"]}
    access = {
        "subject": {"id": "ana", "tags": ["users:id:ana", "roles:id:user"]},
        "predicate": "select",
    }
    asked = [
        ("trino/allow", trino_input("SelectFromColumns", resource={"table": salaries})),
        (
            "trino/batch",
            trino_input(
                "FilterTables",
                filterResources=[table("customers", "shop"), table("salaries", "hr")],
            ),
        ),
        ("heimdall/access/allow", {"input": {**access, "object": {"path": SALARIES}}}),
        ("heimdall/access/decision", {"input": {**access, "object": {"path": SALARIES}}}),
    ]
    for path, document in asked:
        for _ in range(2):
            for key in (ana, server.api_key):
                answer = httpx.post(
                    f"{server.url}/v1/data/{path}",
                    json=document,
                    headers={"Authorization": f"Bearer {key}"},
                )
                assert answer.status_code == 503, (path, answer.text)
                assert "result" not in answer.json()
                assert "fault" not in answer.text, "no policy source in the answer"
    healthy = trino_input("SelectFromColumns", resource={"table": customers})
    answer = httpx.post(
        f"{server.url}/v1/data/trino/allow",
        json=healthy,
        headers={"Authorization": f"Bearer {ana}"},
    )
    assert answer.json()["result"] is True
    authorize = httpx.post(
        f"{server.url}/heimdall/api/v1/authorize",
        json={"predicate": "select", "object": {"path": SALARIES}},
        headers={"Authorization": f"Bearer {ana}"},
    )
    assert authorize.status_code == 503 and "allow" not in authorize.json()
