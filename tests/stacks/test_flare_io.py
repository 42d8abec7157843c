"""Input and output kinds: PostgreSQL both ways, files (local and fsspec), Iceberg options,
incremental state across runs, and errors that never show credentials."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import fsspec
import pyarrow.csv as pacsv
import pytest
from flare_support import PASSWORD, Shop, flare, local_resolver, read_folder, run_job

from dataos_defs.adapters import iceberg
from dataos_defs.stacks.flare import FlareError, FlareResult, run_flare_job


def run(shop: Shop, job: dict[str, Any], **kwargs: Any) -> FlareResult:
    return run_flare_job(flare(job), shop.resolver, shop.state_dir, home=shop.home, **kwargs)


def copy_job(source: str, target: str, mode: str = "overwrite", **output: Any) -> dict[str, Any]:
    return {
        "inputs": [{"name": "src", "dataset": source, "format": "jdbc"}],
        "outputs": [{"name": "src", "dataset": target, "options": {"saveMode": mode}, **output}],
    }


@pytest.mark.postgres
def test_postgres_types_nulls_and_empty_strings_survive_a_round_trip(shop: Shop) -> None:
    job = copy_job("dataos://shoppg:public/orders?acl=r", "dataos://shoppg:copy/orders?acl=rw")
    (out,) = run(shop, job).outputs
    assert out.columns == (
        ("order_id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("product_id", "VARCHAR"),
        ("ordered_at", "TIMESTAMP"),
        ("quantity", "INTEGER"),
        ("paid", "BOOLEAN"),
        ("note", "VARCHAR"),
    )
    assert out.lineage["paid"][0].dataset == "dataos://shoppg:public/orders"
    copied = shop.sql("SELECT order_id, ordered_at, paid, note FROM copy.orders ORDER BY 1")
    assert copied == [
        (10, dt.datetime(2024, 5, 1, 9, 0), True, ""),
        (11, dt.datetime(2024, 5, 1, 17, 30), False, None),
        (12, dt.datetime(2024, 5, 2, 8, 15), True, 'gift, "wrapped"'),
    ]
    types = shop.sql(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'copy' AND table_name = 'orders' ORDER BY ordinal_position"
    )
    assert types[3] == ("ordered_at", "timestamp without time zone")

    run(shop, job)
    assert shop.sql("SELECT count(*) FROM copy.orders") == [(3,)], "overwrite truncates"
    run(shop, copy_job(job["inputs"][0]["dataset"], job["outputs"][0]["dataset"], "append"))
    assert shop.sql("SELECT count(*) FROM copy.orders") == [(6,)], "append inserts"


@pytest.mark.postgres
def test_timestamptz_to_iceberg_keeps_utc(shop: Shop) -> None:
    job = copy_job("dataos://shoppg:public/customers", "dataos://lakehouse:shop?acl=rw")
    (out,) = run(shop, job).outputs
    assert out.dataset == "dataos://lakehouse:shop/src"
    assert dict(out.columns)["signed_up"] == "TIMESTAMP WITH TIME ZONE"
    catalog = iceberg.open_catalog("lakehouse", shop.home / "warehouse")
    data = catalog.load_table(("shop", "src")).scan().to_arrow().sort_by("customer_id")
    assert data.column("signed_up").to_pylist()[2] == dt.datetime(
        2024, 3, 4, 5, 6, 7, 500000, tzinfo=dt.UTC
    )


@pytest.mark.postgres
def test_errors_never_show_the_password(shop: Shop) -> None:
    depot = shop.resolver.depots["shoppg"]
    conn = depot.depot.postgresql
    assert conn is not None
    conn.database = "no_such_db"
    shop.resolver.secrets[("shoppg", "r")]["username"] = PASSWORD
    with pytest.raises(FlareError) as err:
        run(shop, copy_job("dataos://shoppg:public/orders", "dataos://lakehouse:shop/x"))
    assert err.value.where == "input 'src'"
    assert 'role "***" does not exist' in str(err.value), "the user was also the password"
    assert PASSWORD not in str(err.value)


@pytest.mark.postgres
def test_missing_table_and_unknown_depot(shop: Shop) -> None:
    with pytest.raises(FlareError, match=r"input 'src': no table public\.nope in depot 'shoppg'"):
        run(shop, copy_job("dataos://shoppg:public/nope", "dataos://lakehouse:shop/x"))
    with pytest.raises(FlareError, match="input 'src': depot 'elsewhere' is not defined"):
        run(shop, copy_job("dataos://elsewhere:public/t", "dataos://lakehouse:shop/x"))


@pytest.mark.postgres
def test_incremental_reads_only_new_rows_on_the_next_run(shop: Shop) -> None:
    job = {
        "inputs": [
            {
                "name": "new_orders",
                "dataset": "dataos://shoppg:public/orders",
                "format": "jdbc",
                "incremental": {
                    "context": "all_orders",
                    "sql": "SELECT * FROM all_orders "
                    "WHERE order_id > $|start| AND order_id <= $|end|",
                    "keys": [
                        {"name": "start", "sql": "SELECT 0"},
                        {"name": "end", "sql": "SELECT max(order_id) FROM all_orders"},
                    ],
                    "state": [{"key": "start", "value": "end"}],
                },
            }
        ],
        "outputs": [
            {
                "name": "new_orders",
                "dataset": "dataos://lakehouse:shop/orders_inc?acl=rw",
                "options": {"saveMode": "append"},
            }
        ],
    }
    first = run(shop, job, job_name="inc")
    assert first.inputs[0].rows == 3
    assert first.state == {"new_orders": {"start": "12"}}
    saved = json.loads((shop.state_dir / "inc" / "state.json").read_text())
    assert saved == {"inputs": {"new_orders": {"start": "12"}}}

    run(shop, job, job_name="inc", dry_run=True)
    assert json.loads((shop.state_dir / "inc" / "state.json").read_text()) == saved

    shop.sql("INSERT INTO public.orders (order_id, customer_id, product_id) VALUES (13, 3, 'p1')")
    second = run(shop, job, job_name="inc")
    assert second.inputs[0].rows == 1
    assert second.outputs[0].lineage["order_id"][0].dataset == "dataos://shoppg:public/orders"
    catalog = iceberg.open_catalog("lakehouse", shop.home / "warehouse")
    ids = catalog.load_table(("shop", "orders_inc")).scan().to_arrow().column("order_id")
    assert sorted(ids.to_pylist()) == [10, 11, 12, 13]


def test_iceberg_partition_transforms(tmp_path: Path) -> None:
    pytest.importorskip("pyiceberg_core", reason="non-identity transforms need pyiceberg-core")
    query = (
        "SELECT * FROM (VALUES (1, 'books', TIMESTAMP '2024-05-01 09:00:00', 'ab-1'), "
        "(2, 'games', TIMESTAMP '2024-06-02 10:00:00', 'cd-2')) AS t(id, category, at, code)"
    )
    spec = [
        {"type": "identity", "column": "category"},
        {"type": "month", "column": "at"},
        {"type": "bucket", "column": "id", "numBuckets": 4},
        {"type": "truncate", "column": "code", "width": 2, "name": "code2"},
    ]
    job = {
        "inputs": [{"name": "src", "query": query}],
        "outputs": [
            {
                "name": "src",
                "dataset": "dataos://lakehouse:shop/parts?acl=rw",
                "options": {"iceberg": {"partitionSpec": spec}},
            }
        ],
    }
    run_job(tmp_path, job)
    catalog = iceberg.open_catalog("lakehouse", tmp_path / "home" / "warehouse")
    table = catalog.load_table(("shop", "parts"))
    assert [(str(f.transform), f.name) for f in table.spec().fields] == [
        ("identity", "category_identity"),
        ("month", "at_month"),
        ("bucket[4]", "id_bucket_4"),
        ("truncate[2]", "code2"),
    ]
    assert len(list(table.scan().plan_files())) == 2
    books = table.scan(row_filter="category == 'books'").to_arrow()
    assert books.column("id").to_pylist() == [1]


def test_partition_on_a_missing_column(tmp_path: Path) -> None:
    job = {
        "inputs": [{"name": "src", "query": "SELECT 1 AS id"}],
        "outputs": [
            {
                "name": "src",
                "dataset": "dataos://lakehouse:shop/p?acl=rw",
                "options": {"iceberg": {"partitionSpec": [{"type": "day", "column": "at"}]}},
            }
        ],
    }
    with pytest.raises(FlareError, match="output 'src': partition column 'at' is not a column"):
        run_job(tmp_path, job)


def test_file_outputs_overwrite_and_append_as_part_files(tmp_path: Path) -> None:
    job = {
        "inputs": [{"name": "src", "query": "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, v)"}],
        "outputs": [
            {"name": "src", "dataset": "dataos://files:exports/src?acl=rw", "format": "csv"}
        ],
    }
    run_job(tmp_path, job)
    run_job(tmp_path, job)
    folder = tmp_path / "home" / "data" / "files" / "exports" / "src"
    assert len(list(folder.glob("*.csv"))) == 1, "overwrite leaves one part"
    job["outputs"][0]["options"] = {"saveMode": "append"}
    run_job(tmp_path, job)
    assert read_folder(folder, "csv").num_rows == 4

    again = {
        "inputs": [{"name": "back", "dataset": "dataos://files:exports/src", "format": "csv"}],
        "outputs": [{"name": "back", "dataset": "dataos://files:exports/back?acl=rw"}],
    }
    result = run_job(tmp_path, again)
    assert (result.inputs[0].rows, result.outputs[0].format) == (4, "parquet")


def test_object_store_files_through_fsspec(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe("/flare-test/landing/products.csv", b"product_id,unit_price\np1,2.5\np2,4.0\n")
    resolver = local_resolver(tmp_path, files_path="memory://flare-test/out")
    landing = resolver.depots["landing"].depot.file
    assert landing is not None
    landing.path = "memory://flare-test/landing"
    job = {
        "inputs": [{"name": "products", "dataset": "dataos://landing:none/products"}],
        "outputs": [
            {"name": "products", "dataset": "dataos://files:none/p?acl=rw", "format": "csv"}
        ],
    }
    (out,) = run_job(tmp_path, job, resolver=resolver).outputs
    assert out.rows == 2
    (part,) = fs.find("/flare-test/out/p")
    with fs.open(part, "rb") as handle:
        assert pacsv.read_csv(handle).column("unit_price").to_pylist() == [2.5, 4.0]
