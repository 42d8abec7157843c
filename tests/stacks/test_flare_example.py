"""The example workflow's three flare jobs, end to end: PostgreSQL + CSV -> Iceberg -> Iceberg."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flare_support import Shop, example_jobs

from dataos_defs.adapters import iceberg
from dataos_defs.stacks.flare import ColumnSource, FlareResult, run_flare_job

pytestmark = pytest.mark.postgres

PG = "dataos://shoppg:public"
LAKE = "dataos://lakehouse:shop"


def run(shop: Shop, job: str, **kwargs: object) -> FlareResult:
    return run_flare_job(
        example_jobs()[job], shop.resolver, shop.state_dir, home=shop.home, job_name=job, **kwargs
    )


def needs_core() -> None:
    """The example partitions orders by day: pyiceberg computes that with pyiceberg-core."""
    pytest.importorskip("pyiceberg_core", reason="day partitions need pyiceberg[pyiceberg-core]")


def lake_table(shop: Shop, name: str):  # type: ignore[no-untyped-def]
    catalog = iceberg.open_catalog("lakehouse", shop.home / "warehouse")
    return catalog.load_table(("shop", name))


def test_ingest_customers_reads_postgres_and_writes_iceberg(shop: Shop) -> None:
    result = run(shop, "ingest-customers")

    assert [(i.name, i.dataset, i.rows) for i in result.inputs] == [
        ("customers", f"{PG}/customers", 3)
    ]
    (out,) = result.outputs
    assert (out.dataset, out.asset_key, out.rows, out.save_mode, out.format, out.written) == (
        f"{LAKE}/customers",
        ("lakehouse", "shop", "customers"),
        3,
        "overwrite",
        "iceberg",
        True,
    )
    assert out.columns == (
        ("customer_id", "INTEGER"),
        ("email", "VARCHAR"),
        ("first_name", "VARCHAR"),
        ("last_name", "VARCHAR"),
        ("age", "INTEGER"),
        ("country", "VARCHAR"),
    )
    assert out.lineage["email"] == (ColumnSource(f"{PG}/customers", "email"),)
    assert out.lineage["age"] == (ColumnSource(f"{PG}/customers", "age"),)

    rows = lake_table(shop, "customers").scan().to_arrow().sort_by("customer_id").to_pylist()
    assert rows[0] == {
        "customer_id": 1,
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "age": 36,
        "country": "UK",
    }
    assert rows[2]["age"] is None

    run(shop, "ingest-customers")
    assert lake_table(shop, "customers").scan().to_arrow().num_rows == 3, "overwrite replaces"


def test_ingest_orders_joins_csv_appends_and_partitions_by_day(shop: Shop) -> None:
    needs_core()
    first = run(shop, "ingest-orders")
    assert {i.name: i.rows for i in first.inputs} == {"orders": 3, "products": 3}
    (out,) = first.outputs
    assert out.save_mode == "append"
    assert dict(out.columns)["amount"] == "DECIMAL(12,2)", "money is cast to DECIMAL"
    assert out.lineage["amount"] == (
        ColumnSource("dataos://landing:none/products", "unit_price"),
        ColumnSource(f"{PG}/orders", "quantity"),
    )
    assert out.lineage["category"] == (ColumnSource("dataos://landing:none/products", "category"),)

    run(shop, "ingest-orders")
    table = lake_table(shop, "orders")
    assert table.scan().to_arrow().num_rows == 6, "append adds"
    (field,) = table.spec().fields
    assert (str(field.transform), field.name) == ("day", "ordered_at_day")
    files = [task.file for task in table.scan().plan_files()]
    assert {f.partition[0] for f in files} == {
        (dt.date(2024, 5, 1) - dt.date(1970, 1, 1)).days,
        (dt.date(2024, 5, 2) - dt.date(1970, 1, 1)).days,
    }
    only_may_2 = table.scan(row_filter="ordered_at >= '2024-05-02T00:00:00'").to_arrow()
    assert only_may_2.column("amount").to_pylist() == [Decimal("29.00")] * 2


def test_customer_360_reads_the_lakehouse(shop: Shop) -> None:
    needs_core()
    run(shop, "ingest-customers")
    run(shop, "ingest-orders")
    result = run(shop, "customer-360")

    assert {i.name: i.rows for i in result.inputs} == {"customers": 3, "orders": 3}
    (out,) = result.outputs
    assert out.asset_key == ("lakehouse", "shop", "customers_360")
    assert dict(out.columns)["orders"] == "BIGINT"
    assert out.lineage["lifetime_value"] == (ColumnSource(f"{LAKE}/orders", "amount"),)
    assert out.lineage["customer_id"] == (ColumnSource(f"{LAKE}/customers", "customer_id"),)
    rows = lake_table(shop, "customers_360").scan().to_arrow().sort_by("customer_id").to_pylist()
    assert [(r["customer_id"], r["orders"], r["lifetime_value"]) for r in rows] == [
        (1, 2, Decimal("65.00")),
        (2, 1, Decimal("29.00")),
        (3, 0, Decimal("0.00")),
    ]


def test_dry_run_writes_nothing(shop: Shop) -> None:
    result = run(shop, "ingest-customers", dry_run=True)
    assert result.dry_run
    assert result.outputs[0].rows == 3
    assert not result.outputs[0].written
    catalog = iceberg.open_catalog("lakehouse", shop.home / "warehouse")
    assert not catalog.table_exists(("shop", "customers"))
