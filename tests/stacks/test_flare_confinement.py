"""flare reads and writes depots only where they may, on every run: links made after a depot
was applied, dataset names that climb out of their depot, and lakehouses pointed at the
platform's warehouse, on real files, a real Iceberg lakehouse and the real flare runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from flare_support import Resolver, local_resolver, read_folder, run_job

from dataos_defs.adapters import iceberg
from dataos_defs.manifest.depot import Depot
from dataos_defs.stacks.flare import FlareError

EMAIL = "ada@example.com"


def depot(name: str, kind: str, body: dict[str, Any]) -> Depot:
    return Depot.model_validate(
        {
            "name": name,
            "version": "v2alpha",
            "type": "depot",
            "depot": {"type": kind.upper(), kind: body},
        }
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    data = pa.table({"email": [EMAIL], "age": pa.array([36], pa.int64())})
    iceberg.write_table(catalog, "shop", "customers_360", data, "overwrite")
    return home


def resolver_with(tmp_path: Path, *extra: Depot) -> Resolver:
    resolver = local_resolver(tmp_path)
    resolver.depots.update({d.name: d for d in extra})
    return resolver


def copy(
    source: str, target: str = "dataos://files:none/copy?acl=rw", fmt: str = "parquet"
) -> dict[str, Any]:
    return {
        "inputs": [{"name": "src", "dataset": source, "format": fmt}],
        "outputs": [{"name": "src", "dataset": target}],
    }


def refused(tmp_path: Path, resolver: Resolver, job: dict[str, Any], *fragments: str) -> FlareError:
    with pytest.raises(FlareError) as caught:
        run_job(tmp_path, job, resolver=resolver)
    text = str(caught.value)
    for fragment in fragments:
        assert fragment in text, text
    assert EMAIL not in text
    assert not (tmp_path / "home" / "data" / "files" / "copy").exists(), "nothing was written"
    return caught.value


def test_the_lakehouse_and_a_file_depot_under_data_still_work(tmp_path: Path, home: Path) -> None:
    resolver = resolver_with(tmp_path)
    (out,) = run_job(
        tmp_path, copy("dataos://lakehouse:shop/customers_360", fmt="iceberg"), resolver=resolver
    ).outputs
    assert out.rows == 1
    assert read_folder(home / "data" / "files" / "copy").column("email").to_pylist() == [EMAIL]


def test_a_file_depot_linked_to_the_warehouse_after_apply_is_refused(
    tmp_path: Path, home: Path
) -> None:
    sneaky = depot("sneaky", "file", {"path": "data/sneaky", "format": "parquet"})
    (home / "data" / "sneaky").symlink_to("../warehouse")
    error = refused(
        tmp_path,
        resolver_with(tmp_path, sneaky),
        copy("dataos://sneaky:shop/customers_360"),
        "depot 'sneaky'",
        "data/sneaky",
        "symbolic link",
    )
    assert error.where == "depot 'sneaky'"


def test_a_link_inside_the_depot_folder_is_refused(tmp_path: Path, home: Path) -> None:
    (home / "data" / "mine").mkdir()
    (home / "data" / "mine" / "shop").symlink_to("../../warehouse/shop")
    mine = depot("mine", "file", {"path": "data/mine", "format": "parquet"})
    refused(
        tmp_path,
        resolver_with(tmp_path, mine),
        copy("dataos://mine:shop/customers_360"),
        "depot 'mine'",
        "outside the depot's folder",
    )


def test_a_linked_file_inside_a_dataset_folder_is_refused(tmp_path: Path, home: Path) -> None:
    folder = home / "data" / "mine" / "ds"
    folder.mkdir(parents=True)
    data_file = next((home / "warehouse" / "shop" / "customers_360" / "data").glob("*.parquet"))
    (folder / "part-0.parquet").symlink_to(data_file)
    mine = depot("mine", "file", {"path": "data/mine", "format": "parquet"})
    refused(tmp_path, resolver_with(tmp_path, mine), copy("dataos://mine:none/ds"), "depot 'mine'")


def test_a_dataset_name_that_climbs_out_of_its_depot_is_refused(tmp_path: Path, home: Path) -> None:
    (home / "data" / "mine").mkdir()
    mine = depot("mine", "file", {"path": "data/mine", "format": "parquet"})
    refused(
        tmp_path,
        resolver_with(tmp_path, mine),
        copy("dataos://mine:none/../../warehouse/shop/customers_360"),
        "depot 'mine'",
        "outside the depot's folder",
    )


def test_writing_through_a_link_is_refused(tmp_path: Path, home: Path) -> None:
    (home / "data" / "files").mkdir()
    (home / "data" / "files" / "copy").symlink_to("../../warehouse/shop")
    before = sorted(p.name for p in (home / "warehouse" / "shop").iterdir())
    job = {
        "inputs": [{"name": "src", "query": "SELECT 1 AS n"}],
        "outputs": [{"name": "src", "dataset": "dataos://files:none/copy?acl=rw"}],
    }
    with pytest.raises(FlareError, match="outside the depot's folder"):
        run_job(tmp_path, job, resolver=resolver_with(tmp_path))
    assert sorted(p.name for p in (home / "warehouse" / "shop").iterdir()) == before


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("../warehouse", "outside the storage roots"),
        ("data/../..", "platform's state"),
        ("file://{home}", "platform's state"),
        ("local://{home}/warehouse", "not a local path"),
    ],
)
def test_file_depot_paths_outside_the_rules_are_refused(
    tmp_path: Path, home: Path, path: str, fragment: str
) -> None:
    bad = depot("bad", "file", {"path": path.format(home=home), "format": "parquet"})
    refused(
        tmp_path, resolver_with(tmp_path, bad), copy("dataos://bad:shop/customers_360"), fragment
    )


def test_a_lakehouse_linked_to_the_warehouse_is_refused(tmp_path: Path, home: Path) -> None:
    (home / "data" / "lake2").symlink_to("../warehouse")
    lake2 = depot("lake2", "lakehouse", {"warehouse": "data/lake2", "catalog": "lakehouse"})
    refused(
        tmp_path,
        resolver_with(tmp_path, lake2),
        copy("dataos://lake2:shop/customers_360", fmt="iceberg"),
        "depot 'lake2'",
        "symbolic link",
    )


def test_a_lakehouse_on_the_platform_catalog_cannot_read_its_tables(
    tmp_path: Path, home: Path
) -> None:
    borrowed = depot(
        "borrowed",
        "lakehouse",
        {
            "warehouse": "data/lake3",
            "uri": "sqlite:///warehouse/catalog.db",
            "catalog": "lakehouse",
        },
    )
    refused(
        tmp_path,
        resolver_with(tmp_path, borrowed),
        copy("dataos://borrowed:shop/customers_360", fmt="iceberg"),
        "depot 'borrowed'",
        "outside the depot's folder",
    )


def test_storage_roots_inside_the_state_stop_the_run(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAOS_STORAGE_ROOTS", str(home / "logs"))
    refused(
        tmp_path,
        resolver_with(tmp_path),
        copy("dataos://lakehouse:shop/customers_360", fmt="iceberg"),
        "inside the platform's state",
    )


def test_an_object_store_lakehouse_reads_no_local_file(tmp_path: Path, home: Path) -> None:
    remote = depot(
        "remote",
        "lakehouse",
        {
            "warehouse": "s3://bucket/wh",
            "uri": "sqlite:///warehouse/catalog.db",
            "catalog": "lakehouse",
        },
    )
    refused(
        tmp_path,
        resolver_with(tmp_path, remote),
        copy("dataos://remote:shop/customers_360", fmt="iceberg"),
        "depot 'remote'",
        "object-store warehouse",
    )
