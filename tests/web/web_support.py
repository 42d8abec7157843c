"""A real API server with governed example data, for the web app's tests (httpx and browser).

Data: Iceberg tables in the server's lakehouse, written with pyiceberg before the server
starts: ``lakehouse.shop.customers_360`` (4 customers with e-mails, hashed for plain users
by the example's policies) and ``lakehouse.shop.events`` (:data:`EVENTS` rows, for paging,
long queries and the benchmark). Manifests: the lakehouse depot, the ``minervashop`` cluster,
``resources/policies.yaml``, two Secrets whose values must never reach a page, and a
workspace ``finance`` with a Resource that only the operator may read.

Users: ``ana`` (a person and data developer: plain user) and the bootstrap operator.

Imported as ``from tests.web.web_support import ...``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]

from dataos_defs.adapters import iceberg
from dataos_defs.api.client import DataosClient
from dataos_defs.manifest.loader import load_documents
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.governed_lakehouse import CLUSTER, LAKEHOUSE
from tests.interfaces.conftest import ROOT, Server, stop_server
from tests.interfaces.conftest import start_server as start_interfaces_server

EVENTS = 20_000
CUSTOMERS = pa.table(
    {
        "customer_id": pa.array([1, 2, 3, 4], pa.int64()),
        "email": ["ada@example.com", "bob@example.com", "cy@example.com", "di@example.com"],
        "first_name": ["Ada", "Bob", "Cy", "Di"],
        "age": pa.array([27, 41, None, 17], pa.int32()),
        "country": ["DE", "US", "FR", "IN"],
    }
)
SECRET_VALUES = ("s3cr3t-Finance-Pa55word", "tok-ops-Sh0uld-N3ver-Show")
"""Secret values applied below: no page may ever contain them."""
OPS_SECRET = {
    "name": "ops-token",
    "version": "v1",
    "type": "instance-secret",
    "layer": "user",
    "instance-secret": {
        "type": "key-value",
        "acl": "r",
        "data": {"token": SECRET_VALUES[1]},
    },
}
FINANCE_SECRET = {
    "name": "finance-db",
    "version": "v1",
    "type": "secret",
    "layer": "user",
    "secret": {
        "type": "key-value-properties",
        "acl": "r",
        "data": {"username": "fin", "password": SECRET_VALUES[0]},
    },
}
PLAIN_USER = "ana"
PLAIN_TAGS = ["roles:id:user", "roles:id:data-dev"]
ORDERED = "SELECT customer_id, email, age, country FROM lakehouse.shop.customers_360 ORDER BY 1"
EVENTS_SQL = "SELECT id, kind, amount FROM lakehouse.shop.events ORDER BY id"
LONG_SQL = (
    "SELECT count(*) FROM lakehouse.shop.events a CROSS JOIN lakehouse.shop.events b "
    "WHERE (a.amount * b.amount + a.id) % 7 = 3"
)


@dataclass
class WebPlatform:
    server: Server
    keys: dict[str, str]  # user id -> API key; "operator" too

    @property
    def url(self) -> str:
        return self.server.url


def events_table() -> Any:
    ids = list(range(1, EVENTS + 1))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "kind": [("view", "cart", "order")[i % 3] for i in ids],
            "amount": pa.array([(i * 37) % 1000 for i in ids], pa.int64()),
        }
    )


def example_policies() -> list[dict[str, Any]]:
    return [d.data for d in load_documents([ROOT / "resources" / "policies.yaml"])]


def start_server(home: Path, extra_env: dict[str, str], timeout: float = 180) -> Server:
    """``tests/interfaces``' server, waiting up to ``timeout`` seconds: on a loaded two-core
    runner importing the platform alone can take half a minute."""
    return start_interfaces_server(home, extra_env=extra_env, timeout=timeout)


@contextlib.contextmanager
def web_platform(home: Path, extra_env: dict[str, str] | None = None) -> Iterator[WebPlatform]:
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    iceberg.write_table(catalog, "shop", "customers_360", CUSTOMERS, "overwrite")
    iceberg.write_table(catalog, "shop", "events", events_table(), "overwrite")
    env = {DEFAULT_CLUSTER_ENV: "minervashop", **(extra_env or {})}
    server = start_server(home, extra_env=env)
    try:
        with DataosClient(server.url, api_key=server.api_key) as admin:
            manifests = [LAKEHOUSE, CLUSTER, OPS_SECRET, *example_policies()]
            admin.apply([{"manifest": m} for m in manifests], None)
            admin.create_workspace("finance", "the finance team", [])
            admin.apply([{"manifest": FINANCE_SECRET}], "finance")
            admin.create_user(PLAIN_USER, tags=PLAIN_TAGS)
            keys = {
                PLAIN_USER: str(admin.create_api_key(PLAIN_USER)["key"]),
                "operator": server.api_key,
            }
        yield WebPlatform(server, keys)
    finally:
        stop_server(server)


def sign_in(client: httpx.Client, key: str, next_path: str = "/") -> httpx.Response:
    """Sign in as a browser would: GET the form (its CSRF cookie and token), POST it."""
    form = client.get("/login", params={"next": next_path})
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"api_key": key, "csrf": token.group(1), "next": next_path},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


@contextlib.contextmanager
def signed_in(platform: WebPlatform, user: str) -> Iterator[httpx.Client]:
    """A client with the session cookie of ``user`` (signed in through the form)."""
    with httpx.Client(base_url=platform.url, timeout=60) as client:
        answer = sign_in(client, platform.keys[user])
        assert answer.status_code == 303, answer.text
        yield client
