"""Catalog tags drive the Gateway's masks, and only those allowed to may change them.

One real API server over a real Iceberg lakehouse (DuckDB engine), the example's data
policies (``PII.Email`` hashed for every user, clear for operators), a depot that declares
``customers_360.email`` as ``PII.Email``, and a table ``contacts`` that the depot does not
describe. ``dev`` is a plain ``roles:id:data-dev`` user allowed to edit the catalog's entries
(read, create, update, delete on ``/metis/**``) but not to ``tag``: every way of dropping a
governance tag is refused, and every governed query ``dev`` runs keeps e-mails hashed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from dataos_defs.adapters import iceberg
from dataos_defs.api.client import DataosClient
from dataos_defs.heimdall.credentials import credentials_path, read_credentials
from dataos_defs.manifest.loader import load_documents
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.governed_lakehouse import CLUSTER, LAKEHOUSE
from tests.interfaces.conftest import CLI, ROOT, Server, free_port, stop_server
from tests.metis.metis_helpers import apply_policy, client, interfaces, ok

CUSTOMERS = pa.table(
    {"customer_id": pa.array([1, 2], pa.int64()), "email": ["ada@example.com", "bob@example.com"]}
)
CONTACTS = pa.table(
    {
        "id": pa.array([1, 2], pa.int64()),
        "email": ["cy@example.com", "di@example.com"],
        "phone": ["+49 1", "+33 2"],
    }
)
CONTACTS_FQN = "lakehouse.default.shop.contacts"
CUSTOMERS_FQN = "lakehouse.default.shop.customers_360"
CONTACT_EMAILS = "SELECT email FROM lakehouse.shop.contacts ORDER BY id"
CLEAR = ["cy@example.com", "di@example.com"]
HASHED = [hashlib.sha256(e.encode()).hexdigest() for e in CLEAR]
WAIT_SECONDS = 10.0
START_SECONDS = 120.0
"""The shared test machine can be loaded far beyond its cores: the server gets time."""


def start_server(home: Path, extra_env: dict[str, str] | None = None) -> Server:
    """``tests/interfaces``' server, waited for longer (its import alone can take 25 s
    when the machine is loaded)."""
    port = free_port()
    env = {**os.environ, "DATAOS_HOME": str(home), **(extra_env or {})}
    for name in ("DATAOS_DATABASE_URL", "DATAOS_API_KEY", "DATAOS_API_URL"):
        env.pop(name, None)
    log = (home / "api.log").open("wb")
    command = [*CLI, "serve", "--port", str(port), "--log-level", "warning", "--workers", "1"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((home / "api.log").read_text())
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                credentials = read_credentials(credentials_path(home))
                assert credentials is not None, f"no credentials file in {home}"
                return Server(url, home, process, credentials.api_key)
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the API server did not start in {START_SECONDS} s")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("tags-masks")
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    iceberg.write_table(catalog, "shop", "customers_360", CUSTOMERS, "overwrite")
    iceberg.write_table(catalog, "shop", "contacts", CONTACTS, "overwrite")
    server = start_server(home, {DEFAULT_CLUSTER_ENV: "minervashop"})
    try:
        policies = [d.data for d in load_documents([ROOT / "resources" / "policies.yaml"])]
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.apply([{"manifest": m} for m in [LAKEHOUSE, CLUSTER, *policies]], None)
        keys = {
            "dev": interfaces().user_key(server, "dev", ["roles:id:data-dev", "roles:id:user"]),
            "metis": _scanner_key(server),
        }
        apply_policy(
            server,
            "catalog-editors",
            "[users:id:dev]",
            "read, create, update, delete",
            '"/metis/**"',
        )
        # The scanner reads the entries it patches (a depot's tables need read on the data).
        apply_policy(server, "scanner-lake", "[users:id:metis]", "read", '"dataos://lakehouse:**"')
        with client(server.url, server.api_key) as operator:
            _wait_for(lambda: operator.get(f"/tables/name/{CUSTOMERS_FQN}").status_code == 200)
            ok(
                operator.put("/classifications", json={"name": "PII", "description": "personal"}),
                200,
                201,
            )
            ok(operator.put("/tags", json={"name": "Email", "classification": "PII"}), 200, 201)
            contacts = {
                "name": "contacts",
                "databaseSchema": "lakehouse.default.shop",
                "columns": [
                    {"name": "id", "dataType": "BIGINT"},
                    {"name": "email", "dataType": "VARCHAR"},
                    {"name": "phone", "dataType": "VARCHAR"},
                ],
            }
            ok(operator.put("/tables", json=contacts), 201)
        yield {"server": server, "keys": keys}
    finally:
        stop_server(server)


def _scanner_key(server: Server) -> str:
    with httpx.Client(base_url=server.url, headers=server.headers) as operator:
        made = operator.post("/heimdall/api/v1/users/metis/apikeys", json={"name": "scanner"})
        assert made.status_code == 201, made.text
        return str(made.json()["key"])


def _wait_for(condition: Any, seconds: float = WAIT_SECONDS) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.05)
    return time.monotonic() - started


def emails(server: Server, key: str, sql: str = CONTACT_EMAILS) -> list[str]:
    response = httpx.post(
        f"{server.url}/gateway/api/v1/query",
        json={"sql": sql},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [row[0] for row in response.json()["rows"]]


def column_index(
    http: httpx.Client, table_fqn: str, column: str
) -> tuple[str, int, dict[str, Any]]:
    table = ok(http.get(f"/tables/name/{table_fqn}"))
    names = [c["name"] for c in table["columns"]]
    return table["id"], names.index(column), table


def patch(http: httpx.Client, table_id: str, operations: list[dict[str, Any]]) -> httpx.Response:
    headers = {"Content-Type": "application/json-patch+json"}
    return http.patch(f"/tables/{table_id}", json=operations, headers=headers)


def tag_label(tag: str = "PII.Email") -> dict[str, Any]:
    return {"tagFQN": tag, "source": "Classification", "labelType": "Manual", "state": "Confirmed"}


def operator_sets_email_tag(world: dict[str, Any], present: bool) -> float:
    """Tag (or untag) ``contacts.email`` as the operator; seconds until ``dev`` sees it."""
    server = world["server"]
    with client(server.url, server.api_key) as operator:
        table_id, index, table = column_index(operator, CONTACTS_FQN, "email")
        tags = table["columns"][index]["tags"]
        if present:
            operations = [{"op": "add", "path": f"/columns/{index}/tags/-", "value": tag_label()}]
        else:
            at = [t["tagFQN"] for t in tags].index("PII.Email")
            operations = [{"op": "remove", "path": f"/columns/{index}/tags/{at}"}]
        ok(patch(operator, table_id, operations))
    wanted = HASHED if present else CLEAR
    return _wait_for(lambda: emails(server, world["keys"]["dev"]) == wanted)


def test_depot_datasets_are_in_the_catalog_with_their_declared_tags(world: dict[str, Any]) -> None:
    server = world["server"]
    with client(server.url, world["keys"]["dev"]) as dev:
        _, index, table = column_index(dev, CUSTOMERS_FQN, "email")
    assert [t["tagFQN"] for t in table["columns"][index]["tags"]] == ["PII.Email"]


def test_a_declared_tag_cannot_be_removed_through_metis_even_by_an_operator(
    world: dict[str, Any],
) -> None:
    server = world["server"]
    sql = "SELECT email FROM lakehouse.shop.customers_360 ORDER BY customer_id"
    for key, status, said in (
        (server.api_key, 409, "depot manifest"),
        (world["keys"]["dev"], 403, "tag"),
    ):
        with client(server.url, key) as http:
            table_id, index, _ = column_index(http, CUSTOMERS_FQN, "email")
            refused = patch(http, table_id, [{"op": "remove", "path": f"/columns/{index}/tags/0"}])
        assert refused.status_code == status, refused.text
        assert said in refused.json()["message"]
    hashed = hashlib.sha256(b"ada@example.com").hexdigest()
    assert emails(server, world["keys"]["dev"], sql)[0] == hashed


def test_an_operator_tag_masks_within_a_second_in_the_gateway_and_for_trino(
    world: dict[str, Any],
) -> None:
    server = world["server"]
    assert emails(server, world["keys"]["dev"]) == CLEAR
    elapsed = operator_sets_email_tag(world, present=True)
    assert elapsed < 3.0, f"the mask took {elapsed:.2f}s"
    assert emails(server, server.api_key) == CLEAR  # operators are exempted by a policy
    column = {
        "catalogName": "lakehouse",
        "schemaName": "shop",
        "tableName": "contacts",
        "columnName": "email",
        "columnType": "varchar",
    }
    document = {
        "input": {
            "context": {"identity": {"user": "dev", "groups": []}},
            "action": {"operation": "GetColumnMask", "resource": {"column": column}},
        }
    }
    answer = httpx.post(
        f"{server.url}/v1/data/trino/columnMask", json=document, headers=server.headers
    )
    assert answer.status_code == 200, answer.text
    assert "sha256" in answer.json()["result"]["expression"]


def test_a_description_editor_cannot_unmask_by_any_write(world: dict[str, Any]) -> None:
    server = world["server"]
    with client(server.url, world["keys"]["dev"]) as dev:
        table_id, index, table = column_index(dev, CONTACTS_FQN, "email")
        described = patch(dev, table_id, [{"op": "add", "path": "/description", "value": "x"}])
        assert described.status_code == 200, described.text
        attempts = {
            "remove the tag": [{"op": "remove", "path": f"/columns/{index}/tags/0"}],
            "replace the tags": [{"op": "replace", "path": f"/columns/{index}/tags", "value": []}],
            "rename the column": [
                {"op": "replace", "path": f"/columns/{index}/name", "value": "mail"}
            ],
            "remove the column": [{"op": "remove", "path": f"/columns/{index}"}],
            "forge who applied it (Poros drops its own labels on a re-apply)": [
                {"op": "add", "path": f"/columns/{index}/tags/0/appliedBy", "value": "poros"}
            ],
            "tag another column": [
                {"op": "add", "path": f"/columns/{index + 1}/tags/-", "value": tag_label()}
            ],
        }
        for what, operations in attempts.items():
            refused = patch(dev, table_id, operations)
            assert refused.status_code == 403, (what, refused.text)
            assert "tag" in refused.json()["message"], what
        untagged = [{**c, "tags": []} for c in table["columns"]]
        request = {"name": "contacts", "databaseSchema": "lakehouse.default.shop"}
        kept = ok(dev.put("/tables", json={**request, "columns": untagged}))
        assert [t["tagFQN"] for t in kept["columns"][index]["tags"]] == ["PII.Email"]
        renamed = [{**c, "name": "mail"} if c["name"] == "email" else c for c in untagged]
        refused = dev.put("/tables", json={**request, "columns": renamed})
        assert refused.status_code == 403, refused.text
        bulk = ok(dev.put("/tables/bulk", json=[{**request, "columns": renamed}]))
        assert bulk["numberOfRowsFailed"] == 1, bulk
        for path in ("/tags/name/PII.Email", "/classifications/name/PII"):
            refused = dev.delete(path, params={"hardDelete": "true", "recursive": "true"})
            assert refused.status_code == 403, (path, refused.text)
        assert dev.delete(f"/tables/{table_id}", params={"hardDelete": "true"}).status_code == 403
    assert emails(server, world["keys"]["dev"]) == HASHED


def test_the_scanner_may_add_governance_tags_but_never_remove_them(world: dict[str, Any]) -> None:
    server = world["server"]
    with client(server.url, world["keys"]["metis"]) as scanner:
        table_id, index, _ = column_index(scanner, CONTACTS_FQN, "phone")
        add = [{"op": "add", "path": f"/columns/{index}/tags/-", "value": tag_label("PII.Phone")}]
        ok(patch(scanner, table_id, add))
        refused = patch(scanner, table_id, [{"op": "remove", "path": f"/columns/{index}/tags/0"}])
    assert refused.status_code == 403, refused.text
    assert "scanner" in refused.json()["message"]


def test_untagging_by_the_operator_unmasks_again(world: dict[str, Any]) -> None:
    elapsed = operator_sets_email_tag(world, present=False)
    assert elapsed < 3.0, f"unmasking took {elapsed:.2f}s"


def test_soft_deleting_the_entry_keeps_its_tags_masking(world: dict[str, Any]) -> None:
    operator_sets_email_tag(world, present=True)
    server = world["server"]
    with client(server.url, world["keys"]["dev"]) as dev:
        table_id, _, _ = column_index(dev, CONTACTS_FQN, "email")
        ok(dev.delete(f"/tables/{table_id}"))
    time.sleep(1.5)
    assert emails(server, world["keys"]["dev"]) == HASHED
