"""The newer ``dataos-ctl dataset`` commands attacked: a plain ``roles:id:data-dev`` user who
may only read ``dataos://lakehouse:retail/**`` cannot drop fields, change properties,
partitioning, nullability, metadata or branches, nor create datasets; cannot learn that a
hidden dataset exists; address tricks (the trash namespace, another depot) get clear errors;
when Heimdall cannot decide, nothing happens. An editor who may ``update`` retail drops a
tagged column, and its values cannot come back under the same name. The server, lakehouse
and helpers are those of ``test_cli_dataset``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import yaml
from pyiceberg.catalog import Catalog

from dataos_defs.adapters.iceberg_ops import TRASH
from dataos_defs.api.client import DataosClient
from tests.interfaces.conftest import Server
from tests.interfaces.test_cli_dataset import CITY, LAKEHOUSE, _city, _cli, city, lake
from tests.interfaces.test_cli_dataset_schema import MANIFEST

__all__ = ["city", "lake"]
"""The fixtures, used here by name."""

HIDDEN_UDL = "dataos://lakehouse:hr/salaries"
MISSING_UDL = "dataos://lakehouse:hr/nothing"
EDITOR_UPDATES_RETAIL = {
    "name": "editor-updates-retail",
    "version": "v1",
    "type": "policy",
    "policy": {
        "access": {
            "subjects": {"tags": [["roles:id:data-editor"]]},
            "predicates": ["read", "update"],
            "objects": {"paths": ["dataos://lakehouse:retail/**"]},
            "allow": True,
        }
    },
}


TAGGED_CITY_NAME: dict[str, Any] = {
    **LAKEHOUSE,
    "depot": {
        **cast(dict[str, Any], LAKEHOUSE["depot"]),
        "datasets": [
            {
                "collection": "retail",
                "dataset": "city",
                "columns": [
                    {"name": "state_name", "tags": ["PII.Location"]},
                    {"name": "city_name", "tags": ["PII.Location"]},
                ],
            }
        ],
    },
}


@pytest.fixture(scope="module")
def editor(lake: tuple[Server, Catalog, str]) -> str:
    """The API key of a user who may read and update (not tag, not write) retail; the depot
    now also tags ``city_name``."""
    server, _, _ = lake
    with DataosClient(server.url, api_key=server.api_key) as admin:
        admin.apply([{"manifest": m} for m in (EDITOR_UPDATES_RETAIL, TAGGED_CITY_NAME)], None)
        admin.create_user("editor", tags=["roles:id:data-editor"])
        return str(admin.create_api_key("editor")["key"])


@pytest.fixture
def manifest(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "dataset.yaml"
    path.write_text(yaml.safe_dump(MANIFEST))
    yield str(path)


DENIED = [
    "drop-field -n city_name",
    "set-nullable -n city_id -b true",
    "add-properties -p prop1:value1",
    "remove-properties -p prop1",
    "update-partition -p identity:zip_code",
    "update-partition",
    "set-metadata -v latest",
    "create-branch -b test",
    "delete-branch -b test",
    "rename-branch -b test -n sample",
    "fastforward-branch --source test --target main",
    "create-tag -t audited",
    "delete-tag -t audited",
]


@pytest.mark.parametrize("form", DENIED)
def test_a_reader_cannot_change_a_dataset(
    lake: tuple[Server, Catalog, str], city: list[int], form: str
) -> None:
    server, catalog, dev = lake
    before = _city(catalog).metadata_location
    done = _cli(server, ["dataset", "-a", CITY, *form.split()], key=dev)
    assert done.returncode == 1
    assert f"dev may not update {CITY}" in done.stderr
    assert _city(catalog).metadata_location == before


def test_a_reader_reads_metadata_and_branches(
    lake: tuple[Server, Catalog, str], city: list[int]
) -> None:
    server, _, dev = lake
    for form in ("metadata", "list-branch"):
        done = _cli(server, ["dataset", "-a", CITY, form], key=dev)
        assert done.returncode == 0, done.stderr


def test_a_reader_cannot_create_a_dataset(lake: tuple[Server, Catalog, str], manifest: str) -> None:
    server, catalog, dev = lake
    udl = "dataos://lakehouse:retail/mine"
    done = _cli(server, ["dataset", "-a", udl, "create", "-f", manifest], key=dev)
    assert done.returncode == 1
    assert f"dev may not write {udl}" in done.stderr
    assert not catalog.table_exists(("retail", "mine"))


HIDDEN = [
    "metadata",
    "list-branch",
    "drop-field -n salary",
    "add-properties -p prop1:x",
    "update-partition -p identity:employee",
    "set-metadata -v latest",
    "create-branch -b x",
    "create -f {manifest}",
]


@pytest.mark.parametrize("form", HIDDEN)
def test_a_hidden_dataset_looks_missing(
    lake: tuple[Server, Catalog, str], manifest: str, form: str
) -> None:
    server, catalog, dev = lake
    before = catalog.load_table(("hr", "salaries")).metadata_location
    args = form.format(manifest=manifest).split()
    hidden = _cli(server, ["dataset", "-a", HIDDEN_UDL, *args], dev)
    missing = _cli(server, ["dataset", "-a", MISSING_UDL, *args], dev)
    assert hidden.returncode == missing.returncode == 1
    assert hidden.stderr.replace("salaries", "nothing") == missing.stderr
    assert "not found" in hidden.stderr or "may not write" in hidden.stderr
    assert catalog.load_table(("hr", "salaries")).metadata_location == before
    assert not catalog.table_exists(("hr", "nothing"))


TRICKS = [
    (f"dataos://lakehouse:{TRASH}/x", "drop-field -n a", "holds dropped datasets", False),
    (f"dataos://lakehouse:{TRASH}/x", "create -f {manifest}", "holds dropped datasets", False),
    ("dataos://lakehouse:retail/../hr/x", "create -f {manifest}", "not a plain name", False),
    ("dataos://landing:none/products", "create -f {manifest}", "dev may not write", False),
    ("dataos://landing:none/products", "create -f {manifest}", "is a FILE depot", True),
    ("dataos://elsewhere:retail/x", "create -f {manifest}", "no lakehouse depot", True),
    ("dataos://landing:none/products", "list-branch", "not found", False),
]


@pytest.mark.parametrize(
    ("address", "form", "message", "operator"), TRICKS, ids=[f"{t[0]} {t[1]}" for t in TRICKS]
)
def test_address_tricks_get_clear_errors(
    lake: tuple[Server, Catalog, str],
    manifest: str,
    address: str,
    form: str,
    message: str,
    operator: bool,
) -> None:
    server, catalog, dev = lake
    args = ["dataset", "-a", address, *form.format(manifest=manifest).split()]
    done = _cli(server, args, None if operator else dev)
    assert done.returncode == 1
    assert message in done.stderr, done.stderr
    assert "hint:" in done.stderr
    assert not catalog.table_exists((TRASH, "x"))


def test_a_bad_manifest_is_explained_and_creates_nothing(
    lake: tuple[Server, Catalog, str], tmp_path: Path
) -> None:
    server, catalog, _ = lake
    cases = [
        ({"schema": {"type": "json"}}, "'schema.type' must be avro"),
        ({**MANIFEST, "location": "/tmp/elsewhere"}, "unknown manifest key(s): location"),
        (
            {**MANIFEST, "iceberg": {"properties": {"write.data.path": "/tmp/x"}}},
            "cannot be changed here",
        ),
        ({"schema": {"type": "avro", "avro": "{nope"}}, "is not JSON"),
        (
            {"schema": {"type": "avro", "avro": '{"type":"record","name":"r","fields":'
                        '[{"name":"a","type":"string"}]}'}},
            "missing field-id",
        ),
        (
            {**MANIFEST, "iceberg": {"specs": [{"type": "bucket", "column": "city_id"}]}},
            "bucket needs 'num_buckets'",
        ),
        (
            {**MANIFEST, "iceberg": {"specs": [{"type": "day", "column": "zip_code"}]}},
            "cannot partition 'zip_code'",
        ),
    ]  # fmt: skip
    for number, (document, message) in enumerate(cases):
        path = tmp_path / f"bad{number}.yaml"
        path.write_text(yaml.safe_dump(document))
        done = _cli(
            server, ["dataset", "-a", "dataos://lakehouse:retail/bad", "create", "-f", str(path)]
        )
        assert done.returncode == 1
        assert message in done.stderr and "hint:" in done.stderr, done.stderr
        assert not catalog.table_exists(("retail", "bad"))  # fmt: skip


def test_partitioning_a_new_dataset_by_a_tagged_column_is_refused(
    lake: tuple[Server, Catalog, str], tmp_path: Path
) -> None:
    """``retail/city``'s ``state_name`` is tagged on the depot: a re-created city may not be
    partitioned by it (partition values are shown unmasked)."""
    server, catalog, _ = lake
    if catalog.table_exists(("retail", "city")):
        catalog.purge_table(("retail", "city"))
    avro = {
        "type": "record",
        "name": "city",
        "fields": [{"name": "state_name", "type": ["null", "string"], "field-id": 1}],
    }
    document = {
        "schema": {"type": "avro", "avro": json.dumps(avro)},
        "iceberg": {"specs": [{"type": "identity", "column": "state_name"}]},
    }
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(document))
    done = _cli(server, ["dataset", "-a", CITY, "create", "-f", str(path)])
    assert done.returncode == 1
    assert "carry tags that select masks" in done.stderr
    assert not catalog.table_exists(("retail", "city"))


def test_an_editor_drops_a_tagged_column_and_its_values_stay_gone(
    lake: tuple[Server, Catalog, str], city: list[int], editor: str
) -> None:
    server, catalog, _ = lake
    before = _city(catalog).scan().to_arrow()["city_name"]
    assert before.null_count == 0
    old_id = _city(catalog).schema().find_field("city_name").field_id
    for form in ("drop-field -n city_name", "add-field -n city_name -t string"):
        done = _cli(server, ["dataset", "-a", CITY, *form.split()], key=editor)
        assert done.returncode == 0, done.stderr
    values = _city(catalog).scan().to_arrow()["city_name"]
    assert values.null_count == len(values) == 3
    assert _city(catalog).schema().find_field("city_name").field_id != old_id


def test_an_editor_cannot_create_without_write(
    lake: tuple[Server, Catalog, str], editor: str, manifest: str
) -> None:
    server, catalog, _ = lake
    udl = "dataos://lakehouse:retail/edited"
    done = _cli(server, ["dataset", "-a", udl, "create", "-f", manifest], key=editor)
    assert done.returncode == 1 and f"editor may not write {udl}" in done.stderr
    assert not catalog.table_exists(("retail", "edited"))


NO_DECISION = [
    "metadata",
    "drop-field -n city_name",
    "add-properties -p prop1:x",
    "update-partition -p identity:zip_code",
    "create-branch -b test",
    "create -f {manifest}",
]


@pytest.mark.parametrize("form", NO_DECISION)
def test_no_decision_no_change(
    lake: tuple[Server, Catalog, str], city: list[int], manifest: str, form: str
) -> None:
    server, catalog, _ = lake
    town = "dataos://lakehouse:retail/town"
    address = town if form.startswith("create") else CITY
    if catalog.table_exists(("retail", "town")):
        catalog.purge_table(("retail", "town"))
    before = _city(catalog).metadata_location
    url = f"{server.url}/v1/data/faults"
    answer = httpx.put(url, json={"paths": [CITY, town]}, headers=server.headers)
    assert answer.status_code == 204
    try:
        done = _cli(server, ["dataset", "-a", address, *form.format(manifest=manifest).split()])
    finally:
        assert httpx.delete(url, headers=server.headers).status_code == 204
    assert done.returncode == 1
    assert "no access decision could be made" in done.stderr
    assert _city(catalog).metadata_location == before
    assert not catalog.table_exists(("retail", "town"))
