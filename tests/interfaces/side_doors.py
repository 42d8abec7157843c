"""The world the side-door tests attack: a real server (``DATAOS_MINERVA_DEFAULT_CLUSTER``
set) over a small lakehouse, users ana and bob (``roles:id:user``) and dana (data developer),
a grant to read ``lakehouse.shop``, a redacted ``email``, and the helpers they share."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]

from dataos_defs.adapters import iceberg
from dataos_defs.api.client import DataosClient
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.interfaces.conftest import Server, start_server, stop_server

USERS = {"ana": ["roles:id:user"], "bob": ["roles:id:user"], "dana": ["roles:id:data-dev"]}
CUSTOMERS = "SELECT email, first_name FROM lakehouse.shop.customers"
SALARIES = "SELECT * FROM lakehouse.hr.salaries"


def cluster(name: str, selector: dict[str, Any] | None = None) -> dict[str, Any]:
    minerva: dict[str, Any] = {"depots": [{"address": "dataos://lakehouse"}]}
    if selector is not None:
        minerva["selector"] = selector
    return {
        "name": name,
        "version": "v1",
        "type": "cluster",
        "cluster": {"type": "minerva", "minerva": minerva},
    }


def access(name: str, subject: str, predicates: list[str], paths: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "version": "v1",
        "type": "policy",
        "policy": {
            "access": {
                "subjects": {"tags": [[subject]]},
                "predicates": predicates,
                "objects": {"paths": paths},
                "allow": True,
            }
        },
    }


MANIFESTS = [
    {
        "name": "lakehouse",
        "version": "v2alpha",
        "type": "depot",
        "depot": {
            "type": "LAKEHOUSE",
            "lakehouse": {"warehouse": "warehouse", "format": "iceberg"},
        },
    },
    cluster("minervashop"),
    access("users-read-shop", "roles:id:user", ["read", "select"], ["dataos://lakehouse:shop/**"]),
    access("ana-ad-hoc", "users:id:ana", ["post"], ["/v1/query"]),
    {
        "name": "users-no-email",
        "version": "v1",
        "type": "policy",
        "policy": {
            "data": {
                "type": "mask",
                "dataset_id": "lakehouse.shop.customers",
                "selector": {
                    "column": {"names": ["email"]},
                    "user": {"match": "any", "tags": ["roles:id:user"]},
                },
                "mask": {"operator": "redact", "redact": {"replacement": "REDACTED"}},
            }
        },
    },
]


@contextmanager
def running_world(home: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    """The server on ``home`` with the world applied; the API key of each user."""
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    customers = pa.table({"email": ["ada@example.com"], "first_name": ["Ada"]})
    iceberg.write_table(catalog, "shop", "customers", customers, "overwrite")
    salaries = pa.table({"employee": ["Ada"], "salary": pa.array([100_000], pa.int64())})
    iceberg.write_table(catalog, "hr", "salaries", salaries, "overwrite")
    server = start_server(home, extra_env={DEFAULT_CLUSTER_ENV: "minervashop"})
    try:
        keys = {"operator": server.api_key}
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.apply([{"manifest": m} for m in MANIFESTS], None)
            for user, tags in USERS.items():
                admin.create_user(user, tags=tags)
                keys[user] = str(admin.create_api_key(user)["key"])
        yield server, keys
    finally:
        stop_server(server)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def post(server: Server, key: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, headers=bearer(key), timeout=60)


def until(check: Any, seconds: float = 5.0) -> bool:
    """Whether ``check()`` turns true within ``seconds`` (the Gateway follows the store
    at most once a second)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
