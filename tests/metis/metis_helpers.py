"""Helpers of the Metis tests: a real API server, clients per identity, catalog fixtures.

The server is ``tests/interfaces/conftest.py``'s ``start_server`` (``dataos-ctl serve`` under
uvicorn on 127.0.0.1), loaded by path under a name of its own so that it never collides with
another folder's ``conftest`` module.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
API = "/metis/api/v1"


def interfaces() -> ModuleType:
    """``tests/interfaces/conftest.py`` as the module ``metis_interfaces_conftest``."""
    name = "metis_interfaces_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests/interfaces/conftest.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@contextmanager
def client(url: str, key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url + API, headers=headers, timeout=30) as http:
        yield http


def ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200,)), response.text
    return response.json()


def shop_catalog(http: httpx.Client, service: str, password: str = "s3cret-pw") -> dict[str, Any]:
    """A database service (Postgres, with a password), a database, a schema and two tables."""
    created = ok(
        http.put(
            "/services/databaseServices",
            json={
                "name": service,
                "serviceType": "Postgres",
                "connection": {
                    "config": {
                        "type": "Postgres",
                        "username": "scanner",
                        "authType": {"password": password},
                        "hostPort": "localhost:5432",
                        "database": "shop",
                    }
                },
            },
        ),
        200,
        201,
    )
    ok(http.put("/databases", json={"name": "shop", "service": service}), 200, 201)
    ok(
        http.put("/databaseSchemas", json={"name": "public", "database": f"{service}.shop"}),
        200,
        201,
    )
    tables = [
        {
            "name": name,
            "databaseSchema": f"{service}.shop.public",
            "tableType": "Regular",
            "columns": [
                {"name": "id", "dataType": "INT", "constraint": "PRIMARY_KEY"},
                {"name": "email", "dataType": "VARCHAR", "dataLength": 200},
            ],
        }
        for name in ("customers", "orders")
    ]
    result = ok(http.put("/tables/bulk", json=tables))
    assert result["numberOfRowsPassed"] == 2, result
    return created


POLICY = """\
name: {name}
version: v1
type: policy
description: {description}
policy:
  access:
    subjects: {{tags: [{subjects}]}}
    predicates: [{predicates}]
    objects: {{paths: [{paths}]}}
    allow: true
"""


def apply_policy(
    server: Any, name: str, subjects: str, predicates: str, paths: str, description: str = "test"
) -> None:
    text = POLICY.format(
        name=name, subjects=subjects, predicates=predicates, paths=paths, description=description
    )
    helpers = interfaces()
    response = httpx.post(
        f"{server.url}/poros/api/v1/apply",
        json={"documents": helpers.wire(text)},
        headers=server.headers,
        timeout=60,
    )
    assert response.status_code == 200, response.text
