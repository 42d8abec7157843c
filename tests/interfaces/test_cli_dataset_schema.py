"""``dataos-ctl dataset`` drop-field, set-nullable, properties, update-partition, metadata,
branches/tags and create, against a real API server and a real Iceberg lakehouse.

Every form is run as DataOS users write them (the docs' spellings: the address before or
after the command, ``-p name:value`` repeated or comma-separated, ``--sid``, ``-b``), each on
a fresh ``dataos://lakehouse:retail/city`` (two snapshots, partitioned by its tagged
``state_name``). Bad input is explained and commits nothing: the table's metadata file, and
so its schema, spec, snapshot, properties and refs, stay as they were. The server, lakehouse
and helpers are those of ``test_cli_dataset``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml
from pyiceberg import types as it
from pyiceberg.catalog import Catalog

from tests.interfaces.conftest import Server
from tests.interfaces.test_cli_dataset import CITY, _city, _cli, city, lake

__all__ = ["city", "lake"]
"""The fixtures, used here by name."""

TOWN = "dataos://lakehouse:retail/town"
AVRO = {
    "type": "record",
    "name": "defaultName",
    "fields": [
        {"name": "city_id", "type": ["null", "string"], "default": None, "field-id": 1},
        {"name": "zip_code", "type": ["null", "int"], "default": None, "field-id": 2},
        {"name": "state_code", "type": ["null", "string"], "default": None, "field-id": 3},
        {"name": "version", "type": "string", "field-id": 4},
        {
            "name": "ts_city",
            "type": {"type": "long", "logicalType": "timestamp-micros", "adjust-to-utc": True},
            "field-id": 5,
        },
    ],
}
MANIFEST = {
    "schema": {"type": "avro", "avro": json.dumps(AVRO)},
    "iceberg": {
        "specs": [
            {"index": 2, "type": "year", "column": "ts_city", "name": "year"},
            {"index": 1, "type": "identity", "column": "state_code"},
        ],
        "properties": {"write.format.default": "parquet", "prop1": "value1"},
    },
}
Check = Callable[[Catalog, list[int]], bool]


def _fields(catalog: Catalog) -> set[str]:
    return {f.name for f in _city(catalog).schema().fields}


def _props(catalog: Catalog) -> dict[str, str]:
    return dict(_city(catalog).properties)


def _spec(catalog: Catalog) -> list[str]:
    return [p.name for p in _city(catalog).spec().fields]


def _ref(catalog: Catalog, name: str) -> int | None:
    ref = _city(catalog).metadata.refs.get(name)
    return ref.snapshot_id if ref else None


def _any(catalog: Catalog, snapshots: list[int]) -> bool:
    return True


# (setup commands run first, the form, what it prints, what must hold afterwards)
FORMS: list[tuple[str, str, str, Check]] = [
    ("", "dataset -a {udl} drop-field -n city_name", "dropped", lambda c, s: "city_name" not in _fields(c)),
    ("", "dataset drop-field -a {udl} --name zip_code", "zip_code (int) dropped", lambda c, s: "zip_code" not in _fields(c)),
    ("", "dataset -a {udl} add-properties -p write.format.default:parquet", "set", lambda c, s: _props(c)["write.format.default"] == "parquet"),
    ("", "dataset -a {udl} add-properties -p prop1:value1 -p prop2:value2", "prop1, prop2", lambda c, s: _props(c)["prop2"] == "value2"),
    ("", "dataset add-properties -a {udl} --properties prop1:a:b,prop2:c", "set", lambda c, s: _props(c)["prop1"] == "a:b" and _props(c)["prop2"] == "c"),
    ("dataset -a {udl} add-properties -p prop1:x -p prop2:y", "dataset -a {udl} remove-properties -p prop1 -p prop2", "removed", lambda c, s: "prop1" not in _props(c) and "prop2" not in _props(c)),
    ("dataset -a {udl} add-properties -p prop1:x", "dataset remove-properties -a {udl} --properties prop1", "removed prop1", lambda c, s: "prop1" not in _props(c)),
    ("", "dataset -a {udl} update-partition -p identity:zip_code", "zip_code", lambda c, s: _spec(c) == ["zip_code_identity"]),
    ("", "dataset -a {udl} update-partition -p identity:zip_code -p bucket:city_id:city_bucket:4", "city_bucket", lambda c, s: _spec(c) == ["zip_code_identity", "city_bucket"]),
    ("", "dataset update-partition -a {udl} --partitions identity:zip_code,truncate:city_name:name3 --count 3", "name3", lambda c, s: "name3" in _spec(c)),
    ("", "dataset -a {udl} update-partition", "nothing", lambda c, s: _spec(c) == []),
    ("", "dataset -a {udl} metadata", "DATE AND TIME (GMT)", _any),
    ("", "dataset metadata -a {udl} -o json", '"current": true', _any),
    ("", "dataset -a {udl} set-metadata -v latest", "(latest)", _any),
    ("", "dataset -a {udl} list-branch", "main", _any),
    ("", "dataset -a {udl} create-branch -b test --sid {first}", "created at {first}", lambda c, s: _ref(c, "test") == s[0]),
    ("", "dataset create-branch -a {udl} --branch test", "branch test", lambda c, s: _ref(c, "test") == s[1]),
    ("dataset -a {udl} create-branch -b test", "dataset -a {udl} delete-branch -b test", "deleted", lambda c, s: _ref(c, "test") is None),
    ("dataset -a {udl} create-branch -b test", "dataset -a {udl} rename-branch -b test -n sample", "renamed", lambda c, s: _ref(c, "sample") == s[1] and _ref(c, "test") is None),
    ("dataset -a {udl} create-branch -b test --sid {first}", "dataset -a {udl} fastforward-branch --source test --target main", "fast-forwarded", lambda c, s: _ref(c, "test") == s[1]),
    ("dataset -a {udl} create-branch -b test", "dataset -a {udl} list-branch -o yaml", "name: test", _any),
    ("", "dataset -a {udl} create-tag -t audited --sid {first}", "tag audited", lambda c, s: _ref(c, "audited") == s[0]),
    ("dataset -a {udl} create-tag -t audited", "dataset -a {udl} delete-tag --tag audited", "deleted", lambda c, s: _ref(c, "audited") is None),
]  # fmt: skip


def _run(server: Server, form: str, first: int) -> object:
    return _cli(server, form.format(udl=CITY, first=first).split())


@pytest.mark.parametrize(("setup", "form", "shown", "check"), FORMS, ids=[f[1] for f in FORMS])
def test_every_command_form(
    lake: tuple[Server, Catalog, str],
    city: list[int],
    setup: str,
    form: str,
    shown: str,
    check: Check,
) -> None:
    server, catalog, _ = lake
    if setup:
        prepared = _cli(server, setup.format(udl=CITY, first=city[0]).split())
        assert prepared.returncode == 0, prepared.stderr
    done = _cli(server, form.format(udl=CITY, first=city[0]).split())
    assert done.returncode == 0, done.stderr
    assert shown.format(first=city[0]) in done.stdout
    assert check(catalog, city)


def test_create_from_a_dataos_manifest_then_make_a_field_nullable(
    lake: tuple[Server, Catalog, str], tmp_path: Path
) -> None:
    server, catalog, _ = lake
    path = tmp_path / "town.yaml"
    path.write_text(yaml.safe_dump(MANIFEST))
    if catalog.table_exists(("retail", "town")):
        catalog.purge_table(("retail", "town"))
    done = _cli(server, ["dataset", "-a", TOWN, "create", "-f", str(path)])
    assert done.returncode == 0, done.stderr
    assert "created with 5 fields, partitioned by state_code_identity, year" in done.stdout
    table = catalog.load_table(("retail", "town"))
    assert [p.name for p in table.spec().fields] == ["state_code_identity", "year"]
    assert table.properties["prop1"] == "value1"
    assert table.schema().find_field("version").required
    assert isinstance(table.schema().find_field("ts_city").field_type, it.TimestamptzType)
    again = _cli(server, ["dataset", "create", "-a", TOWN, "--manifestFile", str(path)])
    assert again.returncode == 1 and "exists" in again.stderr
    refused = _cli(server, ["dataset", "-a", TOWN, "set-nullable", "-n", "version", "-b", "false"])
    assert refused.returncode == 1 and "not safe" in refused.stderr
    assert "only -b true" in refused.stderr
    made = _cli(server, ["dataset", "-a", TOWN, "set-nullable", "-n", "version", "-b", "true"])
    assert made.returncode == 0, made.stderr
    assert not catalog.load_table(("retail", "town")).schema().find_field("version").required
    twice = _cli(server, ["dataset", "set-nullable", "-a", TOWN, "--name", "version", "-b", "true"])
    assert twice.returncode == 1 and "already nullable" in twice.stderr


BAD = [
    ("drop-field -n nope", "no field 'nope'", "its fields"),
    ("drop-field -n state_name", "source of partition field(s) state_name_identity", "update-partition"),
    ("set-nullable -n city_id -b false", "not safe", "only -b true"),
    ("set-nullable -n city_id -b true", "already nullable", "nothing to change"),
    ("set-nullable -n city_id -b maybe", "true or false", "-b true"),
    ("add-properties -p write.data.path:/tmp/elsewhere", "cannot be changed here", "locations"),
    ("add-properties -p write.metadata.path:/tmp/x", "cannot be changed here", "locations"),
    ("add-properties -p py-io-impl:pyiceberg.io.pyarrow.PyArrowFileIO", "cannot be changed", "code loading"),
    ("add-properties -p write.py-location-provider.impl:os.System", "cannot be changed", "code loading"),
    ("add-properties -p schema.name-mapping.default:[]", "cannot be changed", "name mapping"),
    ("add-properties -p format-version:1", "cannot be changed", "format-version"),
    ("add-properties -p s3.secret-access-key:x", "cannot be changed", "FileIO"),
    ("add-properties -p dataos.dropped.address:x", "cannot be changed", "dataos.*"),
    ("add-properties -p novalue", "is not NAME:VALUE", "-p write.format.default:orc"),
    ("add-properties -p bad/key:1", "is not a property name", "letters, digits"),
    ("remove-properties -p nothing", "has no property nothing", "dataset properties"),
    ("remove-properties -p write.data.path", "cannot be changed here", "locations"),
    ("update-partition -p identity:zip_code,identity:state_name", "carry tags that select masks", "untagged"),
    ("update-partition -p wobble:zip_code", "unknown partition transform 'wobble'", "identity:state_name"),
    ("update-partition -p bucket:city_id", "needs a positive number", "bucket:city_id"),
    ("update-partition -p identity:nope", "no field 'nope'", "its fields"),
    ("update-partition -p day:zip_code", "cannot transform", "TRANSFORM:COLUMN"),
    ("set-metadata -v v1.metadata.json", "is not supported", "set-snapshot"),
    ("create-branch -b main", "'main' is the dataset itself", "set-snapshot"),
    ("create-branch -b test --sid 123", "no snapshot 123", "dataset snapshots"),
    ("create-branch -b ../x", "not a branch or tag name", "letters"),
    ("delete-branch -b main", "'main' is the dataset itself", "rollback"),
    ("delete-branch -b nope", "no branch 'nope'", "list-branch"),
    ("rename-branch -b nope -n other", "no branch 'nope'", "list-branch"),
    ("fastforward-branch --source nope --target main", "no branch 'nope'", "list-branch"),
    ("delete-tag -t nope", "no tag 'nope'", "list-branch"),
]  # fmt: skip


@pytest.mark.parametrize(("form", "message", "hint"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_explained_and_changes_nothing(
    lake: tuple[Server, Catalog, str], city: list[int], form: str, message: str, hint: str
) -> None:
    server, catalog, _ = lake
    before = _city(catalog).metadata_location
    done = _cli(server, ["dataset", "-a", CITY, *form.split()])
    assert done.returncode == 1
    assert message in done.stderr and hint in done.stderr, done.stderr
    assert _city(catalog).metadata_location == before


def test_a_branch_ahead_is_not_fast_forwarded_backwards(
    lake: tuple[Server, Catalog, str], city: list[int]
) -> None:
    server, catalog, _ = lake
    for branch, sid in (("old", city[0]), ("new", city[1])):
        made = _cli(
            server, ["dataset", "-a", CITY, "create-branch", "-b", branch, "--sid", str(sid)]
        )
        assert made.returncode == 0, made.stderr
    before = _city(catalog).metadata_location
    args = ["fastforward-branch", "--source", "new", "--target", "old"]
    done = _cli(server, ["dataset", "-a", CITY, *args])
    assert done.returncode == 1
    assert "cannot be fast-forwarded" in done.stderr and "own history" in done.stderr
    assert _city(catalog).metadata_location == before
    assert _ref(catalog, "new") == city[1]


def test_changes_are_recorded_and_the_gateway_sees_them_at_once(
    lake: tuple[Server, Catalog, str], city: list[int]
) -> None:
    server, _, _ = lake

    def columns() -> list[str]:
        sql = "SELECT * FROM lakehouse.retail.city"
        answer = httpx.post(
            f"{server.url}/gateway/api/v1/query", json={"sql": sql}, headers=server.headers
        )
        assert answer.status_code == 200, answer.text
        return [c["name"] for c in answer.json()["columns"]]

    assert "city_name" in columns()
    assert _cli(server, ["dataset", "-a", CITY, "drop-field", "-n", "city_name"]).returncode == 0
    assert "city_name" not in columns()
    _cli(server, ["dataset", "-a", CITY, "drop-field", "-n", "nope"])
    lines = (server.home / "logs" / "dataset-changes.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    mine = [(r["operation"], r["outcome"], r["details"]) for r in records[-2:]]
    assert mine == [
        ("drop-field", "ok", {"name": "city_name"}),
        ("drop-field", "refused", {"name": "nope"}),
    ]
