"""``dataos-ctl dataset`` attacked: a plain ``roles:id:data-dev`` user who may only read
``dataos://lakehouse:retail/**`` cannot change or drop a dataset, cannot learn that a hidden
one exists, and address tricks get clear errors; when Heimdall cannot decide, nothing
happens. The server, lakehouse and helpers are those of ``test_cli_dataset``.
"""

from __future__ import annotations

import json

import httpx
import pytest
from pyiceberg.catalog import Catalog

from dataos_defs.adapters.iceberg_ops import TRASH
from tests.interfaces.conftest import Server, run_cli
from tests.interfaces.test_cli_dataset import CITY, _city, _cli, _current, city, lake

__all__ = ["city", "lake"]
"""The fixtures, used here by name."""


DENIED = [
    ("add-field -n x -t string", "may not update"),
    ("rename-field -n city_name -m name", "may not update"),
    ("update-field -n zip_code -t long", "may not update"),
    ("set-snapshot -i {first}", "may not update"),
    ("rollback -i {first}", "may not update"),
    ("drop", "may not delete"),
    ("drop -p true --yes", "may not delete"),
]


@pytest.mark.parametrize(("form", "message"), DENIED, ids=[d[0] for d in DENIED])
def test_a_reader_cannot_change_a_dataset(
    lake: tuple[Server, Catalog, str], city: list[int], form: str, message: str
) -> None:
    server, catalog, dev = lake
    before = _city(catalog).metadata
    args = ["dataset", "-a", CITY, *form.format(first=city[0]).split()]
    done = _cli(server, args, key=dev)
    assert done.returncode == 1
    assert f"dev {message} {CITY}" in done.stderr
    after = _city(catalog).metadata
    assert after.current_schema_id == before.current_schema_id
    assert after.current_snapshot_id == before.current_snapshot_id


def test_a_reader_reads_what_they_may(lake: tuple[Server, Catalog, str], city: list[int]) -> None:
    server, _, dev = lake
    shown = _cli(server, ["dataset", "-a", CITY, "get"], key=dev)
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(_cli(server, ["dataset", "list", "-o", "json"], key=dev).stdout)
    assert listed["items"] == [CITY]
    parts = _cli(server, ["dataset", "-a", CITY, "partitions"], key=dev)
    assert parts.returncode == 0, parts.stderr
    assert "state_name_identity=MD" in parts.stdout  # no data policy selects dev here


HIDDEN = ["get", "snapshots", "properties", "partitions", "drop", "add-field -n x -t int"]


@pytest.mark.parametrize("form", HIDDEN)
def test_a_hidden_dataset_looks_missing(
    lake: tuple[Server, Catalog, str], city: list[int], form: str
) -> None:
    server, catalog, dev = lake
    hidden = _cli(server, ["dataset", "-a", "dataos://lakehouse:hr/salaries", *form.split()], dev)
    missing = _cli(server, ["dataset", "-a", "dataos://lakehouse:hr/nothing", *form.split()], dev)
    assert hidden.returncode == missing.returncode == 1
    assert hidden.stderr.replace("salaries", "nothing") == missing.stderr
    assert "not found" in hidden.stderr
    assert catalog.table_exists(("hr", "salaries"))


TRICKS = [
    ("dataos://lakehouse:retail/../hr/salaries", "not a plain name", False),
    ("dataos://lakehouse:retail/city/..", "not a plain name", False),
    ("dataos://lakehouse:../hr", "not a plain name", False),
    ("lakehouse.hr.salaries.x", "not a UDL", False),
    ("dataos://lakehouse:retail", "names no dataset", False),
    (f"dataos://lakehouse:{TRASH}/x", "holds dropped datasets", False),
    ("dataos://elsewhere:retail/city", "no lakehouse depot 'elsewhere'", True),
    ("dataos://landing:none/products", "is a FILE depot", True),
]


@pytest.mark.parametrize(("address", "message", "operator"), TRICKS, ids=[t[0] for t in TRICKS])
def test_udl_tricks_get_clear_errors(
    lake: tuple[Server, Catalog, str], address: str, message: str, operator: bool
) -> None:
    server, _, dev = lake
    done = _cli(server, ["dataset", "-a", address, "get"], None if operator else dev)
    assert done.returncode == 1
    assert message in done.stderr, done.stderr
    assert "hint:" in done.stderr


def test_the_dev_cannot_probe_another_depot(lake: tuple[Server, Catalog, str]) -> None:
    server, _, dev = lake
    done = _cli(server, ["dataset", "-a", "dataos://landing:none/products", "get"], dev)
    assert done.returncode == 1
    assert "not found" in done.stderr


def test_help_says_how_drop_differs(lake: tuple[Server, Catalog, str]) -> None:
    shown = run_cli(None, "dataset", "drop", "-h")
    assert "restore" in shown.stdout and "asks first" in shown.stdout


@pytest.mark.parametrize("form", ["get", "add-field -n x -t string", "drop", "rollback -i 1"])
def test_no_decision_no_change(
    lake: tuple[Server, Catalog, str], city: list[int], form: str
) -> None:
    server, catalog, _ = lake
    url = f"{server.url}/v1/data/faults"
    assert httpx.put(url, json={"paths": [CITY]}, headers=server.headers).status_code == 204
    try:
        done = _cli(server, ["dataset", "-a", CITY, *form.split()])
        listed = _cli(server, ["dataset", "list", "-o", "json"])
    finally:
        assert httpx.delete(url, headers=server.headers).status_code == 204
    assert done.returncode == 1
    assert "no access decision could be made" in done.stderr
    assert CITY not in json.loads(listed.stdout)["items"]
    assert _current(catalog) == city[1] and _city(catalog).schema().find_field("zip_code")
