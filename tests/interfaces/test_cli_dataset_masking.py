"""``dataset partitions`` as a side door to masked data, attacked by a plain
``roles:id:data-dev`` user (real server, real Gateway, real Iceberg lakehouse, the real CLI).

An identity partition value is the column's value: a caller masked or filtered on the table
through the Gateway sees the value masked as a query would show it (hash computed on it), a
marker for other transforms or masks, rows merged once they look alike, and a 403 when a row
filter applies. The operator, whom no policy selects, still sees raw values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from dataos_defs.adapters import iceberg
from dataos_defs.api.client import DataosClient
from dataos_defs.api.dataset_governance import MASKED
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.interfaces.conftest import Server, run_cli, start_server, stop_server

DEV = "roles:id:data-dev"
CITY = "dataos://lakehouse:retail/city"
SHOPS = "dataos://lakehouse:retail/shops"
ORDERS = "dataos://lakehouse:retail/orders"


def _data_policy(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "version": "v1", "type": "policy", "policy": {"data": data}}


def _mask(name: str, dataset: str, tag: str, mask: dict[str, Any]) -> dict[str, Any]:
    selector = {"column": {"tags": [tag]}, "user": {"match": "any", "tags": [DEV]}}
    data = {"type": "mask", "dataset_id": dataset, "selector": selector, "mask": mask}
    return _data_policy(name, data)


MANIFESTS: list[dict[str, Any]] = [
    {
        "name": "lakehouse",
        "version": "v2alpha",
        "type": "depot",
        "depot": {
            "type": "LAKEHOUSE",
            "lakehouse": {"warehouse": "warehouse", "format": "iceberg"},
            "datasets": [
                {
                    "collection": "retail",
                    "dataset": "city",
                    "columns": [{"name": "state_name", "tags": ["PII.Location"]}],
                },
                {
                    "collection": "retail",
                    "dataset": "shops",
                    "columns": [{"name": "owner", "tags": ["PII.Name"]}],
                },
            ],
        },
    },
    {
        "name": "minervalake",
        "version": "v1",
        "type": "cluster",
        "cluster": {
            "type": "minerva",
            "minerva": {"replicas": 1, "depots": [{"address": "dataos://lakehouse"}]},
        },
    },
    {
        "name": "dev-reads-retail",
        "version": "v1",
        "type": "policy",
        "policy": {
            "access": {
                "subjects": {"tags": [[DEV]]},
                "predicates": ["read", "select"],
                "objects": {"paths": ["dataos://lakehouse:retail/**"]},
                "allow": True,
            }
        },
    },
    _mask(
        "dev-hashed-location",
        "lakehouse.retail.city",
        "PII.Location",
        {"operator": "hash", "hash": {"algo": "sha256"}},
    ),
    _mask(
        "dev-no-names",
        "lakehouse.retail.shops",
        "PII.Name",
        {"operator": "redact", "redact": {"replacement": "REDACTED"}},
    ),
    _data_policy(
        "dev-eu-orders",
        {
            "type": "filter",
            "dataset_id": "lakehouse.retail.orders",
            "selector": {"user": {"match": "any", "tags": [DEV]}},
            "filters": [{"column": "region", "operator": "equals", "value": "EU"}],
        },
    ),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """The server over city (by state_name), shops (by truncate(owner)) and orders (by
    region); the data developer's API key."""
    home = tmp_path_factory.mktemp("dataset-masking")
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    city = pa.table(
        {"city_name": ["Berlin", "Paris", "Potsdam"], "state_name": ["BE", "IDF", "BE"]}
    )
    by_state = [iceberg.PartitionField("identity", "state_name")]
    iceberg.write_table(catalog, "retail", "city", city, "overwrite", by_state)
    shops = pa.table({"shop": ["s1", "s2"], "owner": ["Ada Lovelace", "Bob Marley"]})
    by_owner = [iceberg.PartitionField("truncate", "owner", parameter=3)]
    iceberg.write_table(catalog, "retail", "shops", shops, "overwrite", by_owner)
    orders = pa.table({"order_id": ["o1", "o2"], "region": ["EU", "US"]})
    by_region = [iceberg.PartitionField("identity", "region")]
    iceberg.write_table(catalog, "retail", "orders", orders, "overwrite", by_region)
    server = start_server(home, extra_env={DEFAULT_CLUSTER_ENV: "minervalake"})
    try:
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.apply([{"manifest": m} for m in MANIFESTS], None)
            admin.create_user("dev", tags=[DEV])
            dev_key = str(admin.create_api_key("dev")["key"])
        yield server, dev_key
    finally:
        stop_server(server)


def _partitions(server: Server, address: str, key: str) -> Any:
    done = run_cli(server, "dataset", "partitions", "-a", address, "-o", "json", DATAOS_API_KEY=key)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["partitions"]


def _values(rows: list[dict[str, Any]], field: str) -> dict[Any, int]:
    return {row["partition"][field]: row["records"] for row in rows}


def test_a_masked_partition_value_is_hashed_as_a_query_would_hash_it(
    world: tuple[Server, str],
) -> None:
    server, dev = world
    shown = _values(_partitions(server, CITY, dev), "state_name_identity")
    hashed = {hashlib.sha256(v.encode()).hexdigest(): n for v, n in (("BE", 2), ("IDF", 1))}
    assert shown == hashed
    table = run_cli(server, "dataset", "partitions", "-a", CITY, DATAOS_API_KEY=dev)
    assert table.returncode == 0, table.stderr
    assert "=BE" not in table.stdout and "=IDF" not in table.stdout


def test_a_masked_transformed_value_is_withheld_and_rows_merge(
    world: tuple[Server, str],
) -> None:
    """``truncate(3, owner)`` would show the owners' first letters: withheld; the two
    partitions merge into one row, so their number does not show either."""
    server, dev = world
    rows = _partitions(server, SHOPS, dev)
    assert rows == [{"partition": {"owner_truncate_3": MASKED}, "records": 2, "files": 2}]


def test_a_filtered_table_lists_no_partitions(world: tuple[Server, str]) -> None:
    server, dev = world
    for form in (["-o", "json"], []):
        done = run_cli(server, "dataset", "partitions", "-a", ORDERS, *form, DATAOS_API_KEY=dev)
        assert done.returncode == 1
        assert "filtered for you (dev-eu-orders)" in done.stderr
        assert "US" not in done.stdout + done.stderr


def test_the_http_api_answers_the_same(world: tuple[Server, str]) -> None:
    """The route itself, without the CLI: no parameter shows raw values."""
    server, dev = world
    headers = {"Authorization": f"Bearer {dev}"}
    url = f"{server.url}/poros/api/v1/datasets/partitions"
    for limit in (1, 1000):
        answer = httpx.get(url, params={"address": CITY, "limit": limit}, headers=headers)
        assert answer.status_code == 200, answer.text
        assert '"BE"' not in answer.text and '"IDF"' not in answer.text
    refused = httpx.get(url, params={"address": ORDERS}, headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "rows_filtered"


def test_the_operator_still_sees_raw_values(world: tuple[Server, str]) -> None:
    server, _ = world
    assert _values(_partitions(server, CITY, server.api_key), "state_name_identity") == {
        "BE": 2,
        "IDF": 1,
    }
    assert _values(_partitions(server, ORDERS, server.api_key), "region_identity") == {
        "EU": 1,
        "US": 1,
    }
    owners = _values(_partitions(server, SHOPS, server.api_key), "owner_truncate_3")
    assert owners == {"Ada": 1, "Bob": 1}
