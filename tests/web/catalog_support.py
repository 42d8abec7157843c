"""The world of the Catalog page tests, the browser tests and the benchmark.

A real API server (``dataos-ctl serve``) over a temporary ``DATAOS_HOME`` holding two real
Iceberg tables in the lakehouse (written with pyiceberg before the server starts):
``shop.customers_360`` (the example's dataset, e-mails untagged at first) and
``hr.salaries`` (nobody but the operator may read it). Applied: the lakehouse depot, the
Minerva cluster, the example's policies (``resources/policies.yaml``), read on the
catalog for everybody, and a workflow ``shop-360`` writing ``customers_360`` (one finished
run and one quality check of it are recorded in Caretaker's tables). Users: ``ana`` (``roles:id:user``: may read the shop's datasets,
sees ages bucketed), ``bea`` (the same, and may ``update`` catalog entries but holds no
``tag`` predicate) and the bootstrap operator.

The catalog entries are written through Metis' API as the operator, the way the scanner
writes them (services, database, schemas, tables, a pipeline and lineage with column
lineage), named as Poros names a depot's datasets in the catalog
(``<depot>.default.<collection>.<dataset>``, ``metis.poros_catalog``): a PUT is
create-or-update, so this also works when Poros already put them there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import create_engine

from dataos_defs.adapters import iceberg
from dataos_defs.api.client import DataosClient
from dataos_defs.caretaker.checks import CheckRecord
from dataos_defs.caretaker.recorder import record_checks, record_run
from dataos_defs.caretaker.records import RunRecord
from dataos_defs.manifest.loader import load_documents
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from dataos_defs.poros.db import write_transaction
from dataos_defs.poros.settings import SQLITE_FILE_NAME, sqlite_url
from tests.governed_lakehouse import CLUSTER
from tests.governed_lakehouse import UNTAGGED_LAKEHOUSE as LAKEHOUSE
from tests.interfaces.conftest import ROOT, Server, start_server, stop_server, user_key

METIS = "/metis/api/v1"
SERVICE_PASSWORD = "lakehouse-svc-pw-7731"
CUSTOMERS_360 = "lakehouse.default.shop.customers_360"
CUSTOMERS = "lakehouse.default.shop.customers"
SALARIES = "lakehouse.default.hr.salaries"
PIPELINE = "dagster.shop-daily"
ROWS = pa.table(
    {
        "customer_id": pa.array([1, 2, 3, 4], pa.int64()),
        "email": ["ada@example.com", "bob@example.com", "cy@example.com", "di@example.com"],
        "first_name": ["Ada", "Bob", "Cy", "Di"],
        "age": pa.array([27, 41, 33, 17], pa.int32()),
        "country": ["DE", "US", "FR", "IN"],
    }
)
SALARY_ROWS = pa.table({"employee": ["Ada"], "salary": pa.array([100_000], pa.int64())})
COLUMN_TYPES = {
    "customer_id": "BIGINT",
    "email": "VARCHAR",
    "first_name": "VARCHAR",
    "age": "INT",
    "country": "VARCHAR",
}
CATALOG_READERS = {
    "name": "catalog-readers",
    "version": "v1",
    "type": "policy",
    "description": "every user may read the catalog's entries (datasets still need read)",
    "policy": {
        "access": {
            "subjects": {"tags": [["users:id:*"]]},
            "predicates": ["read"],
            "objects": {"paths": ["/metis/**"]},
            "allow": True,
        }
    },
}


WRITER = {
    "name": "shop-360",
    "version": "v1",
    "type": "workflow",
    "description": "builds customers_360 (the Catalog tests' writer of the dataset)",
    "workflow": {
        "schedule": {"cron": "30 5 * * *"},
        "dag": [
            {
                "name": "customer-360",
                "spec": {
                    "stack": "flare:7.0",
                    "compute": "runnable-default",
                    "stackSpec": {
                        "job": {
                            "inputs": [
                                {
                                    "name": "customers",
                                    "dataset": "dataos://lakehouse:shop/customers",
                                }
                            ],
                            "steps": [
                                {
                                    "sequence": [
                                        {"name": "customers_360", "sql": "SELECT * FROM customers"}
                                    ]
                                }
                            ],
                            "outputs": [
                                {
                                    "name": "customers_360",
                                    "dataset": "dataos://lakehouse:shop/customers_360?acl=rw",
                                    "format": "iceberg",
                                }
                            ],
                        }
                    },
                },
            }
        ],
    },
}
CATALOG_EDITORS = {
    "name": "catalog-editors",
    "version": "v1",
    "type": "policy",
    "description": "bea edits the catalog's entries (but holds no tag predicate)",
    "policy": {
        "access": {
            "subjects": {"tags": [["users:id:bea"]]},
            "predicates": ["update"],
            "objects": {"paths": ["/metis/**"]},
            "allow": True,
        }
    },
}
RUN_ID = "c0ffee00-1111-2222-3333-444455556666"
CHECK = "row_count > 0"


@dataclass
class World:
    server: Server
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url


def example_policies() -> list[dict[str, Any]]:
    return [d.data for d in load_documents([ROOT / "resources" / "policies.yaml"])]


@contextmanager
def catalog_world(home: Path) -> Iterator[World]:
    lakehouse = iceberg.open_catalog("lakehouse", home / "warehouse")
    iceberg.write_table(lakehouse, "shop", "customers_360", ROWS, "overwrite")
    iceberg.write_table(lakehouse, "shop", "customers", ROWS, "overwrite")
    iceberg.write_table(lakehouse, "hr", "salaries", SALARY_ROWS, "overwrite")
    server = _started(home)
    try:
        with DataosClient(server.url, api_key=server.api_key) as admin:
            manifests = [
                *(LAKEHOUSE, CLUSTER, CATALOG_READERS, CATALOG_EDITORS, WRITER),
                *example_policies(),
            ]
            admin.apply([{"manifest": m} for m in manifests], None)
        keys = {
            "operator": server.api_key,
            "ana": user_key(server, "ana", ["roles:id:user"]),
            "bea": user_key(server, "bea", ["roles:id:user"]),
        }
        with httpx.Client(base_url=server.url + METIS, headers=server.headers, timeout=60) as op:
            _catalog(op)
        _record_run(home)
        yield World(server, keys)
    finally:
        stop_server(server)


def _started(home: Path, timeout: float = 120) -> Server:
    """``tests/interfaces``' server on ``home``, routing queries to the example's cluster."""
    return start_server(home, extra_env={DEFAULT_CLUSTER_ENV: "minervashop"}, timeout=timeout)


def _record_run(home: Path) -> None:
    """A finished run of the writer and one quality check of the dataset, recorded in
    Caretaker's tables as its sensor would (the server migrated them at start)."""
    engine = create_engine(sqlite_url(home / SQLITE_FILE_NAME))
    run = RunRecord(
        RUN_ID, "public", "workflow", "shop-360", "succeeded", 1_000, 4_000, 3_000,
        "dataos-operator", "public__shop-360", error="a value: ada@example.com",
    )  # fmt: skip
    check = CheckRecord(
        RUN_ID, "public", "workflow", "shop-360", "customer-360",
        "lakehouse/shop/customers_360", CHECK, "pass", None, True, 4_000, observed_value="4",
    )  # fmt: skip
    try:
        with write_transaction(engine) as conn:
            record_run(conn, run)
            record_checks(conn, [check])
    finally:
        engine.dispose()


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _catalog(op: httpx.Client) -> None:
    connection = {
        "config": {
            "type": "Iceberg",
            "username": "scanner",
            "authType": {"password": SERVICE_PASSWORD},
        }
    }
    service = {"name": "lakehouse", "serviceType": "Iceberg", "connection": connection}
    _ok(op.put("/services/databaseServices", json=service))
    _ok(op.put("/services/pipelineServices", json={"name": "dagster", "serviceType": "Dagster"}))
    _ok(op.put("/databases", json={"name": "default", "service": "lakehouse"}))
    for schema in ("shop", "hr"):
        _ok(op.put("/databaseSchemas", json={"name": schema, "database": "lakehouse.default"}))
    columns = [{"name": name, "dataType": kind} for name, kind in COLUMN_TYPES.items()]
    tables = {
        "customers_360": ("shop", columns, "one row per customer with their order totals"),
        "customers": ("shop", columns, "customers of the web shop, cleaned"),
        "salaries": (
            "hr",
            [{"name": "employee", "dataType": "VARCHAR"}, {"name": "salary", "dataType": "BIGINT"}],
            "salaries of the staff",
        ),
    }
    ids: dict[str, str] = {}
    for name, (schema, cols, description) in tables.items():
        body = {
            "name": name,
            "databaseSchema": f"lakehouse.default.{schema}",
            "columns": cols,
            "description": description,
        }
        ids[name] = _ok(op.put("/tables", json=body))["id"]
    pipeline = _ok(op.put("/pipelines", json={"name": "shop-daily", "service": "dagster"}))
    edge = {
        "fromEntity": {"id": ids["customers"], "type": "table"},
        "toEntity": {"id": ids["customers_360"], "type": "table"},
        "lineageDetails": {
            "pipeline": {"id": pipeline["id"], "type": "pipeline"},
            "columnsLineage": [
                {"fromColumns": [f"{CUSTOMERS}.{c}"], "toColumn": f"{CUSTOMERS_360}.{c}"}
                for c in COLUMN_TYPES
            ],
        },
    }
    _ok(op.put("/lineage", json={"edge": edge}))


def signed_in(url: str, key: str) -> httpx.Client:
    """An HTTP client signed in to the web app with ``key`` (its session cookie kept)."""
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/login")
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None, form.text
    done = client.post("/login", data={"api_key": key, "csrf": token.group(1), "next": "/"})
    assert done.status_code == 303, done.text
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no form token on the page"
    return found.group(1)
