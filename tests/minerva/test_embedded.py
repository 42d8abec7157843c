"""The embedded Minerva cluster on real data: a PostgreSQL database of the session's server,
CSV/JSON/Parquet files and an Iceberg lakehouse written with pyiceberg, all under a tmp
DATAOS_HOME, resolved as ``depot.collection.dataset`` and queried through one DuckDB."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.engine import make_url

from dataos_defs.adapters import iceberg
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.depot import Depot
from dataos_defs.minerva.embedded import EmbeddedCluster
from dataos_defs.minerva.model import Table, TableName
from dataos_defs.minerva.result import MinervaError, QueryResult
from dataos_defs.minerva.settings import MinervaSettings
from dataos_defs.minerva.types import trino_type
from tests.conftest import socket_conninfo

pytestmark = pytest.mark.postgres
PASSWORD = "pw-never-shown-7f3a"

SCHEMA_SQL = """
CREATE SCHEMA shop;
CREATE TABLE shop.customers (
  customer_id integer, email text, credit numeric(10,2), signed_up timestamptz,
  active boolean, score double precision, born date, visits bigint, "Nick" text);
INSERT INTO shop.customers VALUES
  (1, 'ada@example.com', 10.50, '2024-01-02 10:00:00+00', true, 0.5, '1815-12-10', 7, 'ada'),
  (2, 'alan@example.com', NULL, NULL, false, NULL, NULL, NULL, NULL);
"""


@dataclass
class Resolver:
    """Depots by name; counts every credential fetch."""

    depots: dict[str, Depot]
    secrets: dict[tuple[str, str], dict[str, str]]
    fetched: list[tuple[str, str]] = field(default_factory=list)

    def depot(self, name: str) -> Depot:
        if name not in self.depots:
            raise LookupError(name)
        return self.depots[name]

    def credentials(self, name: str, acl: str) -> Mapping[str, str]:
        self.fetched.append((name, acl))
        return self.secrets.get((name, acl), {})


@dataclass
class World:
    home: Path
    resolver: Resolver
    conninfo: str
    cluster: Cluster

    def pg(self, statement: str) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(statement)

    def catalog(self) -> Any:
        return iceberg.open_catalog("lakehouse", self.home / "warehouse")

    def engine(
        self, ttl: float = 30.0, lakehouse_check: float = 0.0, clock: Clock | None = None
    ) -> EmbeddedCluster:
        settings = MinervaSettings(ttl, lakehouse_check_seconds=lakehouse_check)
        return EmbeddedCluster(
            self.cluster,
            self.resolver,
            self.home,
            settings=settings,
            clock=clock or time.monotonic,
        )


class Clock:
    """A monotonic clock that moves only when a test moves it: a TTL test then does not
    depend on how long a write takes on a loaded runner."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _depot(name: str, kind: str, body: dict[str, Any], **extra: Any) -> Depot:
    section = {"type": kind.upper(), kind: body, **extra}
    return Depot.model_validate(
        {"name": name, "version": "v2alpha", "type": "depot", "depot": section}
    )


def _cluster(*depots: str) -> Cluster:
    return Cluster.model_validate(
        {
            "name": "minervashop",
            "version": "v1",
            "type": "cluster",
            "cluster": {
                "type": "minerva",
                "minerva": {"depots": [{"address": f"dataos://{d}"} for d in depots]},
            },
        }
    )


def _write_files(home: Path) -> None:
    landing = home / "data" / "landing"
    (landing / "ref").mkdir(parents=True)
    (landing / "products.csv").write_text("product_id,unit_price\np1,12.50\np2,40.00\n")
    (landing / "ref" / "countries.csv").write_text("code,name\nUK,United Kingdom\n")
    (landing / "_ignored.csv").write_text("x\n1\n")
    events = home / "data" / "events" / "clicks"
    events.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2]}), events / "part-0001.parquet")
    pq.write_table(pa.table({"id": [3]}), events / "part-0002.parquet")
    logs = home / "data" / "logs"
    logs.mkdir(parents=True)
    (logs / "app.json").write_text('{"level": "info", "n": 1}\n{"level": "warn", "n": 2}\n')


def _write_lakehouse(home: Path) -> None:
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    data = pa.table(
        {
            "customer_id": pa.array([1, 2], pa.int64()),
            "email": ["ada@example.com", "alan@example.com"],
            "total": pa.array([Decimal("12.50"), Decimal("40.00")], pa.decimal128(10, 2)),
            "first_order": pa.array(
                [datetime(2024, 5, 1, 9, tzinfo=UTC), None], pa.timestamp("us", "UTC")
            ),
            "tags": pa.array([["vip"], []], pa.list_(pa.string())),
        }
    )
    iceberg.write_table(catalog, "shop", "customers_360", data, "overwrite")


@pytest.fixture
def world(fresh_postgres_url: str, tmp_path: Path) -> Iterator[World]:
    url = make_url(fresh_postgres_url)
    socket_dir, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)
    home = tmp_path / "home"
    _write_files(home)
    _write_lakehouse(home)
    pg = {"host": socket_dir, "port": 5432, "database": url.database}
    depots = {
        "shoppg": _depot("shoppg", "postgresql", pg),
        "landing": _depot("landing", "file", {"path": "data/landing", "format": "csv"}),
        "events": _depot("events", "file", {"path": "data/events", "format": "parquet"}),
        "logs": _depot("logs", "file", {"path": "data/logs", "format": "json"}),
        "lakehouse": _depot(
            "lakehouse",
            "lakehouse",
            {"warehouse": "warehouse"},
            datasets=[
                {
                    "collection": "shop",
                    "dataset": "customers_360",
                    "tags": ["Tier.Gold"],
                    "columns": [{"name": "email", "tags": ["PII.Email"]}],
                }
            ],
        ),
        "crm": _depot("crm", "mysql", {"host": "mysql.internal"}),
    }
    secrets = {("shoppg", "r"): {"username": str(url.username), "password": PASSWORD}}
    cluster = _cluster("shoppg", "landing", "events", "logs", "lakehouse", "crm")
    yield World(home, Resolver(depots, secrets), conninfo, cluster)


_PHYSICAL = re.compile(r'"__minerva__"\."((?:[^"]|"")+)"')


def reads(sql: str) -> list[TableName]:
    """The datasets a hand-written statement over internal names reads (what the Gateway's
    analysis hands the engine for a governed statement)."""
    found = {m.group(1).replace('""', '"') for m in _PHYSICAL.finditer(sql)}
    return [TableName(*dataset.split(".")) for dataset in sorted(found)]


def run(engine: EmbeddedCluster, sql: str) -> QueryResult:
    return engine.execute(sql, reads(sql))


def rows(engine: EmbeddedCluster, sql: str) -> list[tuple[Any, ...]]:
    with run(engine, sql) as result:
        return [row for batch in result.batches(100) for row in batch]


def table(engine: EmbeddedCluster, dotted: str) -> Table:
    found = engine.table(TableName(*dotted.split(".")))
    assert found is not None, dotted
    return found


def test_tables_lists_every_readable_depot_from_metadata_only(world: World) -> None:
    engine = world.engine()
    assert world.resolver.fetched == []
    names = {name.dataset_id for name in engine.tables()}
    assert names == {
        "shoppg.shop.customers",
        "landing.none.products",
        "landing.ref.countries",
        "events.none.clicks",
        "logs.none.app",
        "lakehouse.shop.customers_360",
    }
    assert world.resolver.fetched == [("shoppg", "r")]
    loaded = rows(engine, "SELECT count(*) FROM duckdb_views() WHERE schema_name = '__minerva__'")
    tables = rows(engine, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = '__minerva__'")
    assert loaded == tables == [(0,)]


def test_columns_come_with_duckdb_types_and_declared_tags(world: World) -> None:
    engine = world.engine()
    lake = table(engine, "lakehouse.shop.customers_360")
    assert [(c.name, c.type, c.tags) for c in lake.columns] == [
        ("customer_id", "BIGINT", ()),
        ("email", "VARCHAR", ("PII.Email",)),
        ("total", "DECIMAL(10,2)", ()),
        ("first_order", "TIMESTAMP WITH TIME ZONE", ()),
        ("tags", "VARCHAR[]", ()),
    ]
    assert lake.tags == ("Tier.Gold",)
    assert lake.physical == '"__minerva__"."lakehouse.shop.customers_360"'
    pg = table(engine, "shoppg.shop.customers")
    assert [(c.name, c.type) for c in pg.columns] == [
        ("customer_id", "INTEGER"),
        ("email", "VARCHAR"),
        ("credit", "DECIMAL(10,2)"),
        ("signed_up", "TIMESTAMP WITH TIME ZONE"),
        ("active", "BOOLEAN"),
        ("score", "DOUBLE"),
        ("born", "DATE"),
        ("visits", "BIGINT"),
        ("Nick", "VARCHAR"),
    ]
    products = table(engine, "landing.none.products")
    assert [(c.name, c.type) for c in products.columns] == [
        ("product_id", "VARCHAR"),
        ("unit_price", "DOUBLE"),
    ]


@pytest.mark.parametrize(
    "dotted",
    [
        "shoppg.shop.customers",
        "lakehouse.shop.customers_360",
        "landing.none.products",
        "landing.ref.countries",
        "events.none.clicks",
        "logs.none.app",
    ],
)
def test_results_have_the_declared_columns_in_trino_spelling(world: World, dotted: str) -> None:
    engine = world.engine()
    described = table(engine, dotted)
    with run(engine, f"SELECT * FROM {described.physical}") as result:
        assert result.columns == [(c.name, trino_type(c.type)) for c in described.columns]
        assert next(result.batches(10))


def test_values_arrive_as_python_values(world: World) -> None:
    engine = world.engine()
    pg = table(engine, "shoppg.shop.customers").physical
    assert rows(engine, f"SELECT * FROM {pg} ORDER BY customer_id")[0] == (
        1,
        "ada@example.com",
        Decimal("10.50"),
        datetime(2024, 1, 2, 10, tzinfo=UTC),
        True,
        0.5,
        date(1815, 12, 10),
        7,
        "ada",
    )
    assert rows(engine, "SELECT current_setting('TimeZone')") == [("UTC",)]
    with run(engine, f"SELECT customer_id, credit, signed_up FROM {pg}") as result:
        assert result.columns == [
            ("customer_id", "integer"),
            ("credit", "decimal(10,2)"),
            ("signed_up", "timestamp(6) with time zone"),
        ]


def test_names_resolve_case_insensitively_and_unknown_ones_do_not(world: World) -> None:
    engine = world.engine()
    found = engine.table(TableName("LANDING", "None", "Products"))
    assert found is not None and found.name == TableName("landing", "none", "products")
    for missing in [
        ("landing", "none", "nope"),
        ("landing", "..", "products"),
        ("landing", "none", "*"),
        ("lakehouse", "shop", "nope"),
        ("lakehouse", "nope", "customers_360"),
        ("shoppg", "shop", "nope"),
        ("crm", "sales", "orders"),
        ("unknown", "a", "b"),
    ]:
        assert engine.table(TableName(*missing)) is None, missing


def test_one_query_joins_postgresql_files_and_the_lakehouse(world: World) -> None:
    engine = world.engine()
    pg = table(engine, "shoppg.shop.customers").physical
    lake = table(engine, "lakehouse.shop.customers_360").physical
    products = table(engine, "landing.none.products").physical
    sql = f"""
        SELECT c.email, l.total, p.unit_price
        FROM {pg} AS c JOIN {lake} AS l ON l.customer_id = c.customer_id
        JOIN {products} AS p ON p.unit_price = l.total
        ORDER BY c.email"""
    assert rows(engine, sql) == [
        ("ada@example.com", Decimal("12.50"), 12.5),
        ("alan@example.com", Decimal("40.00"), 40.0),
    ]


def test_lakehouse_views_follow_new_snapshots_and_schema_changes(world: World) -> None:
    engine = world.engine()
    lake = table(engine, "lakehouse.shop.customers_360").physical
    assert rows(engine, f"SELECT count(*) FROM {lake}") == [(2,)]
    catalog = world.catalog()
    extra = pa.table({"customer_id": pa.array([3], pa.int64()), "email": ["grace@example.com"]})
    iceberg.write_table(catalog, "shop", "customers_360", extra, "append")
    assert rows(engine, f"SELECT count(*) FROM {lake}") == [(3,)]
    with catalog.load_table(("shop", "customers_360")).update_schema() as update:
        update.rename_column("email", "mail")
    described = table(engine, "lakehouse.shop.customers_360")
    assert [c.name for c in described.columns][:2] == ["customer_id", "mail"]
    assert rows(engine, f"SELECT mail FROM {lake} ORDER BY customer_id") == [
        ("ada@example.com",),
        ("alan@example.com",),
        ("grace@example.com",),
    ]


def test_new_snapshots_are_looked_for_at_most_once_per_check_interval(world: World) -> None:
    clock = Clock()
    engine = world.engine(lakehouse_check=0.5, clock=clock)
    lake = table(engine, "lakehouse.shop.customers_360").physical
    assert rows(engine, f"SELECT count(*) FROM {lake}") == [(2,)]
    extra = pa.table({"customer_id": pa.array([3], pa.int64()), "email": ["grace@example.com"]})
    iceberg.write_table(world.catalog(), "shop", "customers_360", extra, "append")
    clock.now += 0.4
    assert rows(engine, f"SELECT count(*) FROM {lake}") == [(2,)], "checked 0.4 s ago"
    clock.now += 0.2
    assert rows(engine, f"SELECT count(*) FROM {lake}") == [(3,)]


def test_files_without_field_ids_are_read_through_pyiceberg(world: World) -> None:
    plain = world.home / "warehouse" / "plain.parquet"
    pq.write_table(pa.table({"n": pa.array([5, 6], pa.int64())}), plain)
    catalog = world.catalog()
    created = catalog.create_table(("shop", "added"), schema=pa.schema([("n", pa.int64())]))
    created.add_files([str(plain)])
    engine = world.engine()
    added = table(engine, "lakehouse.shop.added")
    assert rows(engine, f"SELECT sum(n) FROM {added.physical}") == [(11,)]
    kinds = rows(engine, "SELECT table_name FROM duckdb_tables() WHERE schema_name = '__minerva__'")
    assert kinds == [("lakehouse.shop.added",)]


def test_an_empty_lakehouse_table_has_columns_and_no_rows(world: World) -> None:
    world.catalog().create_table(("shop", "empty"), schema=pa.schema([("d", pa.date32())]))
    engine = world.engine()
    empty = table(engine, "lakehouse.shop.empty")
    assert [(c.name, c.type) for c in empty.columns] == [("d", "DATE")]
    assert rows(engine, f"SELECT * FROM {empty.physical}") == []


def test_postgresql_tables_are_reloaded_once_older_than_the_ttl(world: World) -> None:
    clock = Clock()
    engine = world.engine(ttl=0.5, clock=clock)
    pg = table(engine, "shoppg.shop.customers").physical
    assert rows(engine, f"SELECT count(*) FROM {pg}") == [(2,)]
    world.pg("INSERT INTO shop.customers (customer_id) VALUES (3)")
    world.pg("ALTER TABLE shop.customers ADD COLUMN tier text DEFAULT 'gold'")
    assert rows(engine, f"SELECT count(*) FROM {pg}") == [(2,)]
    clock.now += 0.4
    assert rows(engine, f"SELECT count(*) FROM {pg}") == [(2,)], "read 0.4 s ago"
    assert table(engine, "shoppg.shop.customers").column("tier") is None
    clock.now += 0.2
    assert rows(engine, f"SELECT count(*), min(tier) FROM {pg}") == [(3, "gold")]
    assert table(engine, "shoppg.shop.customers").column("tier") is not None
    assert world.resolver.fetched == [("shoppg", "r")]


def test_folder_datasets_read_new_part_files_and_removed_files_fail_clearly(world: World) -> None:
    engine = world.engine()
    clicks = table(engine, "events.none.clicks").physical
    assert rows(engine, f"SELECT count(*) FROM {clicks}") == [(3,)]
    folder = world.home / "data" / "events" / "clicks"
    pq.write_table(pa.table({"id": [4]}), folder / "part-0003.parquet")
    assert rows(engine, f"SELECT count(*) FROM {clicks}") == [(4,)]
    (world.home / "data" / "landing" / "products.csv").unlink()
    with pytest.raises(MinervaError, match=r"landing\.none\.products' no longer exists"):
        run(engine, 'SELECT * FROM "__minerva__"."landing.none.products"')


def test_credentials_never_appear_in_errors(world: World) -> None:
    depot = world.resolver.depots["shoppg"]
    connection = depot.depot.postgresql
    assert connection is not None
    wrong = connection.model_copy(update={"database": PASSWORD})
    section = depot.depot.model_copy(update={"postgresql": wrong})
    world.resolver.depots["shoppg"] = depot.model_copy(update={"depot": section})
    engine = world.engine()
    with pytest.raises(MinervaError) as caught:
        engine.table(TableName("shoppg", "shop", "customers"))
    assert PASSWORD not in str(caught.value) and "***" in str(caught.value)


def test_statements_duckdb_rejects_raise_minerva_errors(world: World) -> None:
    engine = world.engine()
    with pytest.raises(MinervaError, match="nope"):
        engine.execute("SELECT nope FROM range(1)")


def test_batches_and_close(world: World) -> None:
    engine = world.engine()
    result = engine.execute("SELECT range AS n FROM range(25)")
    sizes = [len(batch) for batch in result.batches(10)]
    assert sizes == [10, 10, 5]
    result.close()
    result.close()
    closed = engine.execute("SELECT range AS n FROM range(25)")
    closed.close()
    assert list(closed.batches(10)) == []


def test_eight_threads_times_fifty_queries(world: World) -> None:
    engine = world.engine(ttl=0.05)
    names = {
        "shoppg.shop.customers": 2,
        "lakehouse.shop.customers_360": 2,
        "landing.none.products": 2,
        "events.none.clicks": 3,
    }
    physical = {name: table(engine, name).physical for name in names}
    errors: list[BaseException] = []
    wrong: list[tuple[str, Any]] = []

    def client(index: int) -> None:
        try:
            for query in range(50):
                name = list(names)[(index + query) % len(names)]
                engine.table(TableName(*name.split(".")))
                found = rows(engine, f"SELECT count(*) FROM {physical[name]}")
                if found != [(names[name],)]:
                    wrong.append((name, found))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and wrong == []
    assert time.perf_counter() - started < 60


def test_the_engine_neither_changes_settings_nor_downloads_extensions(world: World) -> None:
    """Defence in depth below the Gateway's analysis: settings are locked and DuckDB may
    not fetch an extension (no network is needed to see it refuse)."""
    engine = world.engine()
    with pytest.raises(MinervaError, match="configuration"):
        run(engine, "SET threads = 1")
    started = time.monotonic()
    with pytest.raises(MinervaError, match="inet"):
        run(engine, "SELECT CAST('10.0.0.1' AS INET)")
    assert time.monotonic() - started < 10.0  # refused at once; catches a download's timeout


def test_hidden_files_and_folders_are_neither_listed_nor_readable(world: World) -> None:
    (world.home / "data" / "landing" / "_staging.csv").write_text("id\n1\n")
    clicks = world.home / "data" / "events" / "clicks"
    (clicks / "_temporary").mkdir()
    pq.write_table(pa.table({"id": [99]}), clicks / "_temporary" / "part-9.parquet")
    engine = world.engine()
    assert engine.table(TableName("landing", "none", "_staging")) is None
    assert TableName("landing", "none", "_staging") not in engine.tables()
    physical = table(engine, "events.none.clicks").physical
    assert rows(engine, f"SELECT count(*) FROM {physical}") == [(3,)]
