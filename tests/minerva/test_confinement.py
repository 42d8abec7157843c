"""Minerva reads depots only where they may read, on every query: the reproduction of the
security review (a file depot pointed at the platform's lakehouse warehouse to read clear
e-mails and ages) as an attacker would try it at run time, on real files, a real Iceberg
lakehouse and the real embedded DuckDB cluster."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataos_defs.adapters import iceberg
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.depot import Depot
from dataos_defs.minerva.embedded import EmbeddedCluster
from dataos_defs.minerva.model import TableName
from dataos_defs.minerva.result import MinervaError
from dataos_defs.minerva.settings import MinervaSettings

EMAIL = "ada@example.com"


@dataclass
class Resolver:
    depots: dict[str, Depot]

    def depot(self, name: str) -> Depot:
        if name not in self.depots:
            raise LookupError(name)
        return self.depots[name]

    def credentials(self, name: str, acl: str) -> Mapping[str, str]:
        return {}


def depot(name: str, kind: str, body: dict[str, Any]) -> Depot:
    section = {"type": kind.upper(), kind: body}
    return Depot.model_validate(
        {"name": name, "version": "v2alpha", "type": "depot", "depot": section}
    )


def write_customers(catalog_home: Path, catalog: str = "lakehouse") -> None:
    opened = iceberg.open_catalog(catalog, catalog_home)
    data = pa.table({"email": [EMAIL, "alan@example.com"], "age": pa.array([36, 41], pa.int64())})
    iceberg.write_table(opened, "shop", "customers_360", data, "overwrite")


def engine_over(home: Path, depots: dict[str, Depot]) -> EmbeddedCluster:
    cluster = Cluster.model_validate(
        {
            "name": "c",
            "version": "v1",
            "type": "cluster",
            "cluster": {
                "type": "minerva",
                "minerva": {"depots": [{"address": f"dataos://{d}"} for d in depots]},
            },
        }
    )
    settings = MinervaSettings(30.0, lakehouse_check_seconds=0.0)
    return EmbeddedCluster(cluster, Resolver(depots), home, settings=settings)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "data" / "landing").mkdir(parents=True)
    (home / "data" / "landing" / "products.csv").write_text("id,price\np1,12.5\n")
    write_customers(home / "warehouse")
    (home / "secret.key").write_text("key")
    return home


def rows(engine: EmbeddedCluster, dotted: str) -> list[tuple[Any, ...]]:
    table = engine.table(TableName(*dotted.split(".")))
    assert table is not None, dotted
    with engine.execute(f"SELECT * FROM {table.physical}", [table.name]) as result:
        return [row for batch in result.batches(100) for row in batch]


def refused(engine: EmbeddedCluster, dotted: str, *fragments: str) -> str:
    with pytest.raises(MinervaError) as caught:
        engine.table(TableName(*dotted.split(".")))
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert EMAIL not in message
    return message


def test_the_legitimate_depots_still_read(home: Path) -> None:
    engine = engine_over(
        home,
        {
            "landing": depot("landing", "file", {"path": "data/landing", "format": "csv"}),
            "lakehouse": depot("lakehouse", "lakehouse", {"warehouse": "warehouse"}),
        },
    )
    assert rows(engine, "landing.none.products") == [("p1", 12.5)]
    assert (EMAIL, 36) in rows(engine, "lakehouse.shop.customers_360")


def test_a_link_made_after_apply_to_the_warehouse_is_refused(home: Path) -> None:
    sneaky = depot("sneaky", "file", {"path": "data/sneaky", "format": "parquet"})
    engine = engine_over(home, {"sneaky": sneaky})
    assert engine.tables() == []
    (home / "data" / "sneaky").symlink_to("../warehouse")
    message = refused(
        engine, "sneaky.shop.customers_360", "depot 'sneaky'", "data/sneaky", "symbolic link"
    )
    assert str((home / "warehouse").resolve()) in message
    with pytest.raises(MinervaError, match="depot 'sneaky' is refused"):
        engine.tables()


def test_a_link_inside_the_depot_folder_to_the_warehouse_is_refused(home: Path) -> None:
    mine = home / "data" / "mine"
    (mine / "own").mkdir(parents=True)
    pq.write_table(pa.table({"n": [1]}), mine / "own" / "part-1.parquet")
    (mine / "shop").symlink_to("../../warehouse/shop")
    data_file = next((home / "warehouse" / "shop" / "customers_360" / "data").glob("*.parquet"))
    (mine / "leak.parquet").symlink_to(data_file)
    engine = engine_over(home, {"mine": depot("mine", "file", {"path": "data/mine"})})
    listed = {name.dataset_id for name in engine.tables()}
    assert listed == {"mine.none.own"}
    assert rows(engine, "mine.none.own") == [(1,)]
    refused(engine, "mine.shop.customers_360", "depot 'mine'", "outside the depot's folder")
    refused(engine, "mine.none.leak", "depot 'mine'", "outside the depot's folder")


def test_a_dataset_swapped_for_a_link_after_its_view_was_built_is_refused(home: Path) -> None:
    folder = home / "data" / "mine" / "ds"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table({"email": ["x@y"], "age": pa.array([1], pa.int64())}), folder / "a.parquet"
    )
    engine = engine_over(home, {"mine": depot("mine", "file", {"path": "data/mine"})})
    table = engine.table(TableName("mine", "none", "ds"))
    assert table is not None
    assert rows(engine, "mine.none.ds") == [("x@y", 1)]
    shutil.rmtree(folder)
    folder.symlink_to("../../warehouse/shop/customers_360/data")
    with pytest.raises(MinervaError, match="outside the depot's folder") as caught:
        engine.execute(f"SELECT * FROM {table.physical}", [table.name])
    assert EMAIL not in str(caught.value)


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("../warehouse", "outside the storage roots"),
        ("data/../..", "platform's state"),
        ("file://{home}", "platform's state"),
        ("file://{home}/secret.key", "platform's state"),
        ("local://{home}/warehouse", "not a local path"),
        ("data/*/shop", "glob characters"),
    ],
)
def test_depot_paths_outside_the_rules_are_refused(home: Path, path: str, rule: str) -> None:
    text = path.format(home=home)
    engine = engine_over(home, {"bad": depot("bad", "file", {"path": text, "format": "parquet"})})
    refused(engine, "bad.shop.customers_360", "depot 'bad'", text, rule)


def test_a_lakehouse_whose_warehouse_became_a_link_is_refused(home: Path) -> None:
    (home / "data" / "lake2").symlink_to("../warehouse")
    lake2 = depot("lake2", "lakehouse", {"warehouse": "data/lake2", "catalog": "lakehouse"})
    engine = engine_over(home, {"lake2": lake2})
    refused(engine, "lake2.shop.customers_360", "depot 'lake2'", "symbolic link")


def test_a_lakehouse_on_the_platform_catalog_cannot_read_its_tables(home: Path) -> None:
    """Its own warehouse, but the example lakehouse's catalog file and name: the tables it
    finds keep their files in the other warehouse."""
    borrowed = depot(
        "borrowed",
        "lakehouse",
        {
            "warehouse": "data/lake3",
            "uri": "sqlite:///warehouse/catalog.db",
            "catalog": "lakehouse",
        },
    )
    engine = engine_over(home, {"borrowed": borrowed})
    refused(engine, "borrowed.shop.customers_360", "depot 'borrowed'", "outside the depot's folder")


def test_a_catalog_file_outside_the_roots_is_refused(home: Path) -> None:
    lake = depot("lake", "lakehouse", {"warehouse": "data/lake", "uri": "sqlite:///poros.db"})
    engine = engine_over(home, {"lake": lake})
    refused(engine, "lake.shop.customers_360", "depot 'lake'", "poros.db", "platform's state")


def test_iceberg_files_added_from_outside_the_warehouse_are_refused(home: Path) -> None:
    outside = home / "data" / "landing" / "ages.parquet"
    pq.write_table(pa.table({"n": pa.array([5], pa.int64())}), outside)
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    created = catalog.create_table(("shop", "added"), schema=pa.schema([("n", pa.int64())]))
    created.add_files([str(outside)])
    engine = engine_over(
        home, {"lakehouse": depot("lakehouse", "lakehouse", {"warehouse": "warehouse"})}
    )
    table = engine.table(TableName("lakehouse", "shop", "added"))
    assert table is not None
    with pytest.raises(MinervaError, match="outside the depot's folder"):
        engine.execute(f"SELECT * FROM {table.physical}", [table.name])


def test_an_object_store_lakehouse_reads_no_local_file(home: Path) -> None:
    """A remote warehouse over the platform's catalog file: its tables' files are local."""
    remote = depot(
        "remote",
        "lakehouse",
        {
            "warehouse": "s3://bucket/wh",
            "uri": "sqlite:///warehouse/catalog.db",
            "catalog": "lakehouse",
        },
    )
    engine = engine_over(home, {"remote": remote})
    refused(engine, "remote.shop.customers_360", "depot 'remote'", "object-store warehouse")
