"""The Gateway through a real API server: scenario B of the DataOS contract, the CLI, the
Trino client protocol with the official ``trino`` client (DB-API and SQLAlchemy), paging,
refusals and the audit trail.

Data: a real Iceberg table in the server's lakehouse (written with pyiceberg before the
server starts); policies: the example's (``resources/policies.yaml``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
import sqlalchemy
import trino
from trino.auth import BasicAuthentication

from dataos_defs.adapters import iceberg
from dataos_defs.api.client import DataosClient
from dataos_defs.manifest.loader import load_documents
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.interfaces.conftest import ROOT, Server, run_cli, start_server, stop_server

CUSTOMERS = pa.table(
    {
        "customer_id": pa.array([1, 2, 3, 4], pa.int64()),
        "email": ["ada@example.com", "bob@example.com", "cy@example.com", "di@example.com"],
        "first_name": ["Ada", "Bob", "Cy", "Di"],
        "age": pa.array([27, 41, None, 17], pa.int32()),
        "country": ["DE", "US", "FR", "IN"],
    }
)
SALARIES = pa.table({"employee": ["Ada"], "salary": pa.array([100_000], pa.int64())})
LAKEHOUSE = {
    "name": "lakehouse",
    "version": "v2alpha",
    "type": "depot",
    "layer": "user",
    "depot": {
        "type": "LAKEHOUSE",
        "lakehouse": {"warehouse": "warehouse", "format": "iceberg"},
        "datasets": [
            {
                "collection": "shop",
                "dataset": "customers_360",
                "columns": [
                    {"name": "email", "tags": ["PII.Email"]},
                    {"name": "first_name", "tags": ["PII.Name"]},
                ],
            }
        ],
    },
}
NAME_REDACTION = {
    "name": "shop-name-redaction",
    "version": "v1",
    "type": "policy",
    "policy": {
        "data": {
            "type": "mask",
            "priority": 60,
            "depot": "lakehouse",
            "selector": {
                "column": {"tags": ["PII.*"]},
                "user": {"match": "any", "tags": ["roles:id:user"]},
            },
            "mask": {"operator": "redact", "redact": {"replacement": "REDACTED"}},
        }
    },
}
CLUSTER = {
    "name": "minervashop",
    "version": "v1",
    "type": "cluster",
    "cluster": {
        "type": "minerva",
        "minerva": {"replicas": 1, "depots": [{"address": "dataos://lakehouse"}]},
    },
}
USERS = {
    "ana": ["roles:id:user"],
    "pia": ["roles:id:user", "roles:id:pii-reader"],
    "eve": ["roles:id:user", "roles:id:eu-analyst"],
}
ORDERED = "SELECT customer_id, email, age, country FROM lakehouse.shop.customers_360 ORDER BY 1"
POLL_SECONDS = 30
"""How long to wait for a change another process makes (a policy reloaded, a decision
logged): the polls end as soon as it shows, so a generous bound costs nothing when it works
and does not flake on a loaded runner."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def example_policies() -> list[dict[str, Any]]:
    documents = load_documents([ROOT / "resources" / "policies.yaml"])
    return [document.data for document in documents]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    home = tmp_path_factory.mktemp("gateway-home")
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    iceberg.write_table(catalog, "shop", "customers_360", CUSTOMERS, "overwrite")
    iceberg.write_table(catalog, "hr", "salaries", SALARIES, "overwrite")
    server = start_server(home, extra_env={DEFAULT_CLUSTER_ENV: "minervashop"})
    try:
        keys: dict[str, str] = {}
        with DataosClient(server.url, api_key=server.api_key) as admin:
            manifests = [LAKEHOUSE, CLUSTER, NAME_REDACTION, *example_policies()]
            admin.apply([{"manifest": m} for m in manifests], None)
            for user, tags in USERS.items():
                admin.create_user(user, tags=tags)
                keys[user] = str(admin.create_api_key(user)["key"])
        yield server, keys
    finally:
        stop_server(server)


def query(server: Server, key: str, sql: str, **extra: Any) -> httpx.Response:
    return httpx.post(
        f"{server.url}/gateway/api/v1/query",
        json={"sql": sql, **extra},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def rows(server: Server, key: str, sql: str) -> list[list[Any]]:
    response = query(server, key, sql)
    assert response.status_code == 200, response.text
    found: list[list[Any]] = response.json()["rows"]
    return found


def test_plain_user_sees_hashed_emails_and_bucketed_ages(gateway: Any) -> None:
    server, keys = gateway
    assert rows(server, keys["ana"], ORDERED) == [
        [1, sha256("ada@example.com"), 25, "DE"],
        [2, sha256("bob@example.com"), 35, "US"],
        [3, sha256("cy@example.com"), None, "FR"],
        [4, sha256("di@example.com"), None, "IN"],
    ]


def test_columns_are_selected_by_the_tags_declared_on_the_depot(gateway: Any) -> None:
    """``first_name`` is tagged PII.Name on the depot: the gateway redacts it, and Heimdall's
    Trino policies (the same tags, through the OPA API) return the same mask for Trino."""
    server, keys = gateway
    sql = "SELECT first_name FROM lakehouse.shop.customers_360 ORDER BY customer_id"
    assert rows(server, keys["ana"], sql) == [["REDACTED"]] * 4
    column = {
        "catalogName": "lakehouse",
        "schemaName": "shop",
        "tableName": "customers_360",
        "columnName": "first_name",
        "columnType": "varchar",
    }
    document = {
        "input": {
            "context": {"identity": {"user": "ana", "groups": []}},
            "action": {"operation": "GetColumnMask", "resource": {"column": column}},
        }
    }
    answer = httpx.post(
        f"{server.url}/v1/data/trino/columnMask", json=document, headers=server.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == {"expression": "'REDACTED'"}


def test_masks_hold_in_where_and_group_by(gateway: Any) -> None:
    server, keys = gateway
    sql = "SELECT count(*) FROM lakehouse.shop.customers_360 WHERE email = 'ada@example.com'"
    assert rows(server, keys["ana"], sql) == [[0]]
    grouped = "SELECT age, count(*) FROM lakehouse.shop.customers_360 GROUP BY age ORDER BY age"
    assert rows(server, keys["ana"], grouped) == [[25, 1], [35, 1], [None, 2]]


def test_pii_reader_sees_raw_emails_because_priority_10_beats_50(gateway: Any) -> None:
    server, keys = gateway
    found = rows(server, keys["pia"], ORDERED)
    assert [r[1] for r in found] == [
        "ada@example.com",
        "bob@example.com",
        "cy@example.com",
        "di@example.com",
    ]
    assert [r[2] for r in found] == [25, 35, None, None], "the age mask still applies"


def test_filtered_user_keeps_only_their_rows(gateway: Any) -> None:
    server, keys = gateway
    assert [r[3] for r in rows(server, keys["eve"], ORDERED)] == ["DE", "FR"]
    count = "SELECT count(*) FROM lakehouse.shop.customers_360"
    assert rows(server, keys["eve"], count) == [[2]]


def test_a_dataset_without_access_is_403_naming_it(gateway: Any) -> None:
    server, keys = gateway
    response = query(server, keys["ana"], "SELECT * FROM lakehouse.hr.salaries")
    assert response.status_code == 403
    assert "lakehouse.hr.salaries" in response.json()["error"]["message"]
    joined = (
        "SELECT c.email FROM lakehouse.shop.customers_360 c "
        "JOIN lakehouse.hr.salaries s ON s.employee = c.first_name"
    )
    assert query(server, keys["ana"], joined).status_code == 403


def test_quoted_names_fold_to_lower_case_as_in_trino(gateway: Any) -> None:
    """``"EMAIL"`` is ``email``, and a dataset named in upper case is still authorized:
    a denied one is 403, not "does not exist"."""
    server, keys = gateway
    sql = 'SELECT "EMAIL" FROM "LAKEHOUSE".shop."CUSTOMERS_360" ORDER BY "CUSTOMER_ID" LIMIT 2'
    response = query(server, keys["ana"], sql)
    assert response.status_code == 200, response.text
    assert [c["name"] for c in response.json()["columns"]] == ["EMAIL"]
    assert response.json()["rows"] == [[sha256("ada@example.com")], [sha256("bob@example.com")]]
    denied = query(server, keys["ana"], 'SELECT * FROM lakehouse."HR"."SALARIES"')
    assert denied.status_code == 403, denied.text
    assert "lakehouse.hr.salaries" in denied.json()["error"]["message"]
    assert rows(server, keys["ana"], 'SHOW TABLES FROM "LAKEHOUSE"."SHOP"') == [["customers_360"]]


def test_a_mask_the_engine_cannot_run_is_refused_at_apply(gateway: Any) -> None:
    """Valid for Java and Python regexes, not for RE2: refused with the construct and its
    position, and the queries on the column keep working."""
    server, keys = gateway
    policy = {
        "name": "lookahead-email",
        "version": "v1",
        "type": "policy",
        "policy": {
            "data": {
                "type": "mask",
                "priority": 5,
                "depot": "lakehouse",
                "selector": {"column": {"names": ["email"]}, "user": {"tags": ["roles:id:user"]}},
                "mask": {
                    "operator": "regex_replace",
                    "regex_replace": {"pattern": "[0-9](?=.{4})", "replacement": "#"},
                },
            }
        },
    }
    response = httpx.post(
        f"{server.url}/poros/api/v1/apply",
        json={"documents": [{"manifest": policy}], "workspace": None, "dry_run": False},
        headers=server.headers,
        timeout=60,
    )
    assert response.status_code in (400, 422), response.text
    assert "a lookahead '(?=' at position 5" in response.text
    assert rows(server, keys["ana"], ORDERED)[0][1] == sha256("ada@example.com")


def test_a_two_part_column_qualifier_needs_no_session_catalog(gateway: Any) -> None:
    server, keys = gateway
    sql = (
        "SELECT shop.customers_360.email FROM lakehouse.shop.customers_360 "
        "ORDER BY shop.customers_360.customer_id LIMIT 1"
    )
    assert rows(server, keys["ana"], sql) == [[sha256("ada@example.com")]]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_parquet('/etc/passwd')",
        "DELETE FROM lakehouse.shop.customers_360",
        "SELECT * FROM lakehouse.shop.nowhere",
        "SELECT 1; SELECT 2",
        "SELEC nonsense",
    ],
)
def test_statements_that_cannot_be_governed_are_refused(gateway: Any, sql: str) -> None:
    server, keys = gateway
    response = query(server, keys["ana"], sql)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] in ("query_refused", "refused") and error["message"]


def test_paging(gateway: Any) -> None:
    server, keys = gateway
    headers = {"Authorization": f"Bearer {keys['ana']}"}
    first = query(server, keys["ana"], ORDERED, pageSize=3).json()
    assert len(first["rows"]) == 3 and first["nextPage"] == 1
    second = httpx.get(
        f"{server.url}/gateway/api/v1/query/{first['queryId']}",
        params={"page": 1},
        headers=headers,
    ).json()
    assert [r[0] for r in second["rows"]] == [4] and second["nextPage"] is None
    other = httpx.get(
        f"{server.url}/gateway/api/v1/query/{first['queryId']}",
        params={"page": 1},
        headers={"Authorization": f"Bearer {keys['pia']}"},
    )
    assert other.status_code == 404


def test_cli_query_and_explain(gateway: Any) -> None:
    server, keys = gateway
    env = {"DATAOS_API_KEY": keys["ana"]}
    done = run_cli(server, "query", ORDERED, "-o", "json", **env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["email"] == sha256("ada@example.com")
    done = run_cli(server, "query", "--explain", ORDERED, **env)
    assert done.returncode == 0, done.stderr
    assert "shop-email-hash" in done.stdout and "shop-age-buckets" in done.stdout
    assert "hash" in done.stdout and "bucket_number" in done.stdout
    done = run_cli(server, "query", "-o", "csv", "SELECT * FROM lakehouse.hr.salaries", **env)
    assert done.returncode == 1 and "lakehouse.hr.salaries" in done.stderr


def test_trino_dbapi_client(gateway: Any) -> None:
    """The official client, over HTTP on 127.0.0.1 (so it must be told that HTTP Basic
    without TLS is acceptable here)."""
    server, keys = gateway
    port = int(server.url.rsplit(":", 1)[1])
    connection = trino.dbapi.connect(
        host="127.0.0.1",
        port=port,
        user="ana",
        auth=BasicAuthentication("ana", keys["ana"]),
        http_scheme="http",
        allow_insecure_auth=True,
        catalog="lakehouse",
        schema="shop",
    )
    cursor = connection.cursor()
    cursor.execute("SELECT email, age FROM customers_360 WHERE customer_id = ?", (1,))
    assert cursor.fetchall() == [[sha256("ada@example.com"), 25]]
    assert [d[0] for d in cursor.description] == ["email", "age"]
    with pytest.raises(trino.exceptions.TrinoUserError) as denied:
        cursor.execute("SELECT * FROM lakehouse.hr.salaries")
        cursor.fetchall()
    assert denied.value.error_name == "PERMISSION_DENIED"
    impostor = trino.dbapi.connect(
        host="127.0.0.1",
        port=port,
        user="pia",
        auth=BasicAuthentication("pia", keys["ana"]),
        http_scheme="http",
        allow_insecure_auth=True,
    )
    with pytest.raises(trino.exceptions.HttpError):
        impostor.cursor().execute("SELECT 1")


def test_trino_sqlalchemy_dialect(gateway: Any) -> None:
    server, keys = gateway
    port = int(server.url.rsplit(":", 1)[1])
    url = (
        f"trino://pia:{quote(keys['pia'], safe='')}@127.0.0.1:{port}/lakehouse/shop"
        "?http_scheme=http&allow_insecure_auth=true"
    )
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sqlalchemy.text("SELECT email FROM customers_360 ORDER BY customer_id")
            ).all()
            version = connection.dialect.server_version_info
    finally:
        engine.dispose()
    assert [r[0] for r in found][:2] == ["ada@example.com", "bob@example.com"]
    assert version is not None and version[0].startswith("dataos-gateway-")


def test_every_query_is_audited_without_its_text(gateway: Any) -> None:
    server, keys = gateway
    marker = "SELECT count(*) AS audited_marker FROM lakehouse.shop.customers_360"
    rows(server, keys["eve"], marker)
    response = httpx.get(
        f"{server.url}/gateway/api/v1/queries",
        headers={"Authorization": f"Bearer {keys['eve']}"},
    )
    assert response.status_code == 200
    records = response.json()
    assert {r["user"] for r in records} == {"eve"}
    mine = [r for r in records if r["sql_sha256"] == sha256(marker)]
    assert mine and mine[-1]["outcome"] == "ok" and mine[-1]["rows"] == 1
    assert mine[-1]["policies"]["lakehouse.shop.customers_360"]
    assert "audited_marker" not in json.dumps([r["sql_sha256"] for r in records])
    everyone = httpx.get(f"{server.url}/gateway/api/v1/queries", headers=server.headers).json()
    assert {"ana", "eve"} <= {r["user"] for r in everyone}
    assert any(r["outcome"] == "denied" for r in everyone)
    assert any(r["outcome"] == "refused" for r in everyone)


def test_a_new_policy_applies_to_the_next_query(gateway: Any) -> None:
    """Rewrites are cached per user policy set; a change in the store replaces them."""
    server, keys = gateway
    sql = "SELECT country FROM lakehouse.shop.customers_360 ORDER BY customer_id"
    assert rows(server, keys["ana"], sql)[0] == ["DE"]
    policy = {
        "name": "ana-no-country",
        "version": "v1",
        "type": "policy",
        "policy": {
            "data": {
                "type": "mask",
                "dataset_id": "lakehouse.shop.customers_360",
                "selector": {
                    "column": {"names": ["country"]},
                    "user": {"match": "any", "tags": ["users:id:ana"]},
                },
                "mask": {"operator": "redact"},
            }
        },
    }
    with DataosClient(server.url, api_key=server.api_key) as admin:
        admin.apply([{"manifest": policy}], None)
        deadline = time.monotonic() + POLL_SECONDS
        while rows(server, keys["ana"], sql)[0] == ["DE"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rows(server, keys["ana"], sql)[0] != ["DE"]
        assert rows(server, keys["pia"], sql)[0] == ["DE"], "only ana is selected"
        admin.delete_resource("policy", "ana-no-country", None)
    deadline = time.monotonic() + POLL_SECONDS
    while rows(server, keys["ana"], sql)[0] != ["DE"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rows(server, keys["ana"], sql)[0] == ["DE"]


def test_cluster_get_and_trino_catalogs(gateway: Any, tmp_path: Path) -> None:
    server, keys = gateway
    done = run_cli(server, "cluster", "get", "-o", "json")
    assert done.returncode == 0, done.stderr
    (found,) = json.loads(done.stdout)
    assert found["name"] == "minervashop" and found["engine"] == "duckdb"
    assert found["depots"] == ["lakehouse"]
    done = run_cli(server, "cluster", "catalogs", "-n", "minervashop", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "lakehouse.properties").read_text()
    assert "connector.name=iceberg" in text
    hidden = run_cli(server, "cluster", "get", "-o", "json", DATAOS_API_KEY=keys["ana"])
    assert json.loads(hidden.stdout) == [], "ana may not read the cluster Resource"


def test_show_and_describe_list_only_what_the_caller_may_read(gateway: Any) -> None:
    server, keys = gateway
    assert rows(server, keys["ana"], "SHOW TABLES FROM lakehouse.shop") == [["customers_360"]]
    assert ["hr"] not in rows(server, keys["ana"], "SHOW SCHEMAS FROM lakehouse")
    assert ["hr"] in rows(server, server.api_key, "SHOW SCHEMAS FROM lakehouse")
    described = rows(server, keys["ana"], "DESCRIBE lakehouse.shop.customers_360")
    assert [r[0] for r in described] == ["customer_id", "email", "first_name", "age", "country"]
    assert described[0][1] == "bigint" and described[3][1] == "integer"
    assert query(server, keys["ana"], "DESCRIBE lakehouse.hr.salaries").status_code in (400, 403)


def test_unnamed_result_columns_are_named_as_trino_names_them(gateway: Any) -> None:
    server, keys = gateway
    response = query(
        server, keys["ana"], "SELECT count(*), max(age) AS oldest FROM lakehouse.shop.customers_360"
    )
    assert [c["name"] for c in response.json()["columns"]] == ["_col0", "oldest"]


def test_each_dataset_is_decided_once_per_query(gateway: Any) -> None:
    """First run (rewritten) and second run (cached rewrite) each ask Heimdall once per
    dataset: pia may select it, so one decision each."""
    server, keys = gateway
    sql = "SELECT count(*) AS decided_once FROM lakehouse.shop.customers_360 c1"
    log = server.home / "decisions.jsonl"

    def gateway_decisions() -> int:
        lines = log.read_text().splitlines() if log.exists() else []
        return sum(
            1
            for line in lines
            if '"source":"gateway"' in line and "customers_360" in line and '"pia"' in line
        )

    before = gateway_decisions()
    for run_number in (1, 2):
        rows(server, keys["pia"], sql)
        deadline = time.monotonic() + POLL_SECONDS
        while gateway_decisions() < before + run_number and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        assert gateway_decisions() == before + run_number
