"""``dataos-ctl dataset`` against a real API server and a real Iceberg lakehouse.

The table test runs every command form as DataOS users write them (the address before or
after the command, the short and long flags of DataOS' command reference); each form gets a
fresh ``dataos://lakehouse:retail/city`` with two snapshots (rebuilt only after a form changed
it). No data policy applies here, so partition values show raw (masking them for a caller a
policy selects: ``test_cli_dataset_masking``). The attack tests act as a plain
``roles:id:data-dev`` user who may only read ``retail``; bad input changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from pyiceberg import types as it
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table
from typer.testing import CliRunner

from dataos_defs.adapters import iceberg
from dataos_defs.adapters.iceberg_ops import TRASH
from dataos_defs.api.client import DataosClient
from dataos_defs.cli.main import app
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.interfaces.conftest import CLI, ROOT, Server, start_server, stop_server

CITY = "dataos://lakehouse:retail/city"
FAULT_MODULE = """\
package heimdall.access

# Fault injection (tests only), as in test_fail_closed.py: a second value of a complete rule
# is an evaluation error for every object listed in data.faults.paths.
object_path := "injected fault" if input.object.path in data.faults.paths
"""
CITIES = pa.table(
    {
        "city_id": ["c1", "c2"],
        "zip_code": pa.array([10115, 75001], pa.int32()),
        "city_name": ["Berlin", "Paris"],
        "state_name": ["BE", "IDF"],
        "price": pa.array([Decimal("1.50"), Decimal("2.25")], pa.decimal128(10, 2)),
    }
)
MORE = pa.table(
    {
        "city_id": ["c3"],
        "zip_code": pa.array([28001], pa.int32()),
        "city_name": ["Madrid"],
        "state_name": ["MD"],
        "price": pa.array([Decimal("3.00")], pa.decimal128(10, 2)),
    }
)
LAKEHOUSE = {
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
            }
        ],
    },
}
LANDING = {
    "name": "landing",
    "version": "v2alpha",
    "type": "depot",
    "depot": {"type": "FILE", "file": {"path": "data/landing", "format": "csv"}},
}
CLUSTER = {
    "name": "minervalake",
    "version": "v1",
    "type": "cluster",
    "cluster": {
        "type": "minerva",
        "minerva": {"replicas": 1, "depots": [{"address": "dataos://lakehouse"}]},
    },
}
DEV_READS_RETAIL = {
    "name": "dev-reads-retail",
    "version": "v1",
    "type": "policy",
    "policy": {
        "access": {
            "subjects": {"tags": [["roles:id:data-dev"]]},
            "predicates": ["read"],
            "objects": {"paths": ["dataos://lakehouse:retail/**"]},
            "allow": True,
        }
    },
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Catalog, str]]:
    home = tmp_path_factory.mktemp("dataset-home")
    policies = home / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (policies / "heimdall" / "fault_injection.rego").write_text(FAULT_MODULE)
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    salaries = pa.table({"employee": ["Ada"], "salary": pa.array([1], pa.int64())})
    iceberg.write_table(catalog, "hr", "salaries", salaries, "overwrite")
    env = {"DATAOS_POLICIES_ROOT": str(policies), DEFAULT_CLUSTER_ENV: "minervalake"}
    server = start_server(home, extra_env=env)
    try:
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.apply(
                [{"manifest": m} for m in (LAKEHOUSE, LANDING, CLUSTER, DEV_READS_RETAIL)], None
            )
            admin.create_user("dev", tags=["roles:id:data-dev"])
            dev_key = str(admin.create_api_key("dev")["key"])
        yield server, catalog, dev_key
    finally:
        stop_server(server)


_BUILT: dict[int, tuple[str, list[int]]] = {}
"""Per catalog: the metadata file of the city last built, and its snapshot ids."""


@pytest.fixture
def city(lake: tuple[Server, Catalog, str]) -> list[int]:
    """A fresh retail.city with two snapshots (ids, oldest first); the trash emptied.

    Rebuilt only when a test changed it: every Iceberg change (schema, snapshot, ref,
    property, drop, purge) commits a new metadata file, so a city whose metadata file is the
    one last built, with an empty trash, is exactly the fresh table (read-only forms share it).
    """
    _, catalog, _ = lake
    built = _BUILT.get(id(catalog))
    if built is not None and _unchanged(catalog, built[0]):
        return list(built[1])
    for ident in [("retail", "city")] + [(TRASH, t[-1]) for t in _trash(catalog)]:
        with contextlib.suppress(NoSuchTableError):
            catalog.purge_table(ident)
    by_state = [iceberg.PartitionField("identity", "state_name")]
    iceberg.write_table(catalog, "retail", "city", CITIES, "overwrite", by_state)
    iceberg.write_table(catalog, "retail", "city", MORE, "append", by_state)
    table = catalog.load_table(("retail", "city"))
    ids = [s.snapshot_id for s in sorted(table.snapshots(), key=lambda s: s.timestamp_ms)]
    _BUILT[id(catalog)] = (table.metadata_location, ids)
    return list(ids)


def _unchanged(catalog: Catalog, metadata_location: str) -> bool:
    if _trash(catalog) or not catalog.table_exists(("retail", "city")):
        return False
    return bool(_city(catalog).metadata_location == metadata_location)


def _trash(catalog: Catalog) -> list[tuple[str, ...]]:
    if (TRASH,) not in catalog.list_namespaces():
        return []
    return list(catalog.list_tables(TRASH))


def _city(catalog: Catalog) -> Table:
    return catalog.load_table(("retail", "city"))


def _type(catalog: Catalog, name: str) -> it.IcebergType:
    return _city(catalog).schema().find_field(name).field_type


def _current(catalog: Catalog) -> int | None:
    snapshot = _city(catalog).current_snapshot()
    return snapshot.snapshot_id if snapshot else None


def _gone(catalog: Catalog) -> bool:
    return not catalog.table_exists(("retail", "city"))


Check = Callable[[Catalog, list[int]], bool]


def _any(catalog: Catalog, snapshots: list[int]) -> bool:
    return True


def _at_first(catalog: Catalog, snapshots: list[int]) -> bool:
    return _current(catalog) == snapshots[0]


def _trashed(catalog: Catalog, snapshots: list[int]) -> bool:
    return _gone(catalog) and len(_trash(catalog)) == 1


def _purged(catalog: Catalog, snapshots: list[int]) -> bool:
    return _gone(catalog) and not _trash(catalog)


def typed(name: str, kind: it.IcebergType | type[it.IcebergType]) -> Check:
    if isinstance(kind, type):
        return lambda c, s: isinstance(_type(c, name), kind)
    return lambda c, s: _type(c, name) == kind


DECIMAL = "--datatype decimal --precision 10 --scale 2"
FORMS: list[tuple[str, str, str, Check]] = [
    ("dataset -a {udl} get", "", "city_name", _any),
    ("dataset get -a {udl}", "", "zip_code", _any),
    ("dataset get --address {udl} -o json", "", '"current_snapshot_id"', _any),
    ("dataset list", "", CITY, _any),
    ("dataset list -a dataos://lakehouse:retail", "", CITY, _any),
    ("dataset properties -a {udl}", "", "PROPERTY NAME", _any),
    ("dataset -a {udl} properties", "", "PROPERTY VALUE", _any),
    ("dataset -a {udl} snapshots", "", "{first}", _any),
    ("dataset snapshots -a {udl}", "", "DATE AND TIME (GMT)", _any),
    ("dataset partitions -a {udl}", "", "state_name_identity=MD", _any),
    ("dataset -a {udl} partitions -o yaml", "", "records: 1", _any),
    ("dataset -a {udl} add-field -n new1 -t string", "", "new1", typed("new1", it.StringType())),
    (
        f"dataset add-field -a {{udl}} --name rent {DECIMAL}",
        "",
        "rent",
        typed("rent", it.DecimalType(10, 2)),
    ),
    (
        "dataset -a {udl} add-field -n tags -t map -k string -v long",
        "",
        "tags",
        typed("tags", it.MapType),
    ),
    (
        "dataset -a {udl} rename-field -n city_name -m name",
        "",
        "renamed",
        typed("name", it.StringType()),
    ),
    (
        "dataset rename-field -a {udl} --name city_name --newName town",
        "",
        "town",
        typed("town", it.StringType()),
    ),
    (
        "dataset -a {udl} update-field -n price -t decimal -p 12",
        "",
        "decimal(12, 2)",
        typed("price", it.DecimalType(12, 2)),
    ),
    (
        "dataset -a {udl} update-field -n zip_code -t long",
        "",
        "long",
        typed("zip_code", it.LongType()),
    ),
    ("dataset -a {udl} set-snapshot -i {first}", "", "{first}", _at_first),
    ("dataset set-snapshot -a {udl} --id {first}", "", "{first}", _at_first),
    ("dataset rollback -a {udl} -i {first}", "", "rolled back", _at_first),
    ("dataset -a {udl} drop", "", "restore", _trashed),
    ("dataset -a {udl} drop -p false", "", "restore", _trashed),
    ("dataset -a {udl} drop --purge false", "", "dropped", _trashed),
    ("dataset -a {udl} drop -p true", "y\n", "deleted", _purged),
    ("dataset -a {udl} drop --purge true", "y\n", "deleted", _purged),
    ("dataset drop -a {udl} -p true --yes", "", "deleted", _purged),
]


def _cli(server: Server, args: list[str], key: str | None = None, stdin: str = "") -> Any:
    """``dataos-ctl`` in this process (typer's runner on the real app, with the environment
    of a real call), against the real server over HTTP: argument parsing, the client and
    the server are the real ones; only the interpreter start is saved. A crash of the CLI
    raises here (a real call would print a traceback and exit 1)."""
    env = server.env(**({"DATAOS_API_KEY": key} if key else {}))
    changed = {name: value for name, value in env.items() if os.environ.get(name) != value}
    result = CliRunner().invoke(app, args, input=stdin, env=changed)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def _real_cli(server: Server, args: list[str], key: str | None = None, stdin: str = "") -> Any:
    """The real ``dataos-ctl`` in a subprocess (for the forms in :data:`REAL_FORMS`)."""
    env = server.env(**({"DATAOS_API_KEY": key} if key else {}))
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


REAL_FORMS = {
    "dataset -a {udl} get",
    "dataset partitions -a {udl}",
    "dataset -a {udl} add-field -n new1 -t string",
    "dataset -a {udl} drop -p true",
}
"""Forms also driven through the real console script in a subprocess."""


@pytest.mark.parametrize(("form", "stdin", "shown", "check"), FORMS, ids=[f[0] for f in FORMS])
def test_every_command_form(
    lake: tuple[Server, Catalog, str],
    city: list[int],
    form: str,
    stdin: str,
    shown: str,
    check: Check,
) -> None:
    server, catalog, _ = lake
    args = form.format(udl=CITY, first=city[0]).split()
    done = (_real_cli if form in REAL_FORMS else _cli)(server, args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert shown.format(first=city[0]) in done.stdout
    assert check(catalog, city)


def test_a_soft_drop_is_restored_and_changes_are_audited(
    lake: tuple[Server, Catalog, str], city: list[int]
) -> None:
    server, catalog, _ = lake
    assert _cli(server, ["dataset", "-a", CITY, "drop"]).returncode == 0
    listed = _cli(server, ["dataset", "list", "-o", "json"])
    assert CITY not in json.loads(listed.stdout)["items"]
    assert TRASH not in listed.stdout
    restored = _cli(server, ["dataset", "restore", "-a", CITY])
    assert restored.returncode == 0, restored.stderr
    assert _current(catalog) == city[1]
    assert not _trash(catalog)
    lines = (server.home / "logs" / "dataset-changes.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert {"drop", "restore"} <= {r["operation"] for r in records if r["outcome"] == "ok"}
    assert all(r["user"] for r in records)


def test_the_purge_is_not_done_unconfirmed(
    lake: tuple[Server, Catalog, str], city: list[int]
) -> None:
    server, catalog, _ = lake
    done = _cli(server, ["dataset", "-a", CITY, "drop", "-p", "true"], stdin="n\n")
    assert done.returncode == 1
    assert "nothing was dropped" in done.stderr
    assert not _gone(catalog)


BAD = [
    ("add-field -n x -t varchar2", "unknown field type 'varchar2'", "types: boolean"),
    ("add-field -n city_id -t string", "already exists", "another name"),
    ("add-field -n d -t decimal", "needs a precision", "-p 10"),
    ("update-field -n zip_code -t string", "not safe", "only widening"),
    ("update-field -n city_name -t long", "not safe", "add a new field"),
    ("rename-field -n nope -m other", "no field 'nope'", "its fields"),
    ("rename-field -n state_name -m region", "carries PII.Location", "tag 'region'"),
    ("set-snapshot -i 123", "no snapshot 123", "dataset snapshots"),
    ("rollback -i 123", "no snapshot 123", "dataset snapshots"),
    ("drop -p maybe", "true or false", "drop -p true"),
]


@pytest.mark.parametrize(("form", "message", "hint"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_explained_and_changes_nothing(
    lake: tuple[Server, Catalog, str], city: list[int], form: str, message: str, hint: str
) -> None:
    server, catalog, _ = lake
    before = _city(catalog).metadata
    done = _cli(server, ["dataset", "-a", CITY, *form.split()])
    assert done.returncode == 1
    assert message in done.stderr and hint in done.stderr
    after = _city(catalog).metadata
    assert after.current_schema_id == before.current_schema_id
    assert after.current_snapshot_id == before.current_snapshot_id


def test_rollback_only_goes_back_and_set_snapshot_goes_anywhere(
    lake: tuple[Server, Catalog, str], city: list[int]
) -> None:
    server, catalog, _ = lake
    first, second = (str(s) for s in city)
    assert _cli(server, ["dataset", "-a", CITY, "set-snapshot", "-i", first]).returncode == 0
    done = _cli(server, ["dataset", "-a", CITY, "rollback", "-i", second])
    assert done.returncode == 1
    assert "cannot roll back" in done.stderr and "set-snapshot" in done.stderr
    assert _current(catalog) == city[0]
    assert _cli(server, ["dataset", "-a", CITY, "set-snapshot", "-i", second]).returncode == 0
    assert _current(catalog) == city[1]


def test_the_gateway_answers_with_the_changed_schema_at_once(
    lake: tuple[Server, Catalog, str], city: list[int]
) -> None:
    """A governed rewrite is cached per statement and the engine re-reads a table's metadata
    at most every few seconds; a change must be answered from neither (the CLI runs
    in-process here, so the query follows the change at once)."""
    server, _, _ = lake

    def columns() -> list[str]:
        sql = "SELECT * FROM lakehouse.retail.city"
        answer = httpx.post(
            f"{server.url}/gateway/api/v1/query", json={"sql": sql}, headers=server.headers
        )
        assert answer.status_code == 200, answer.text
        return [c["name"] for c in answer.json()["columns"]]

    assert "city_name" in columns()
    for change in ("rename-field -n city_name -m name", "add-field -n new1 -t string"):
        assert _cli(server, ["dataset", "-a", CITY, *change.split()]).returncode == 0
    shown = columns()
    assert "name" in shown and "new1" in shown and "city_name" not in shown
