"""The scanner stack over a lakehouse depot (no OpenMetadata source reads one): the platform
writes the depot's service, schemas and typed tables into Metis' catalog itself; a re-run
changes nothing; with ``markDeletedTables`` a dropped table is soft-deleted; an identity
that may not read the depot's datasets is refused before anything is written. Real Dagster
in process, real Iceberg (SQL catalog), real Heimdall and a SQLite store under a temporary
``DATAOS_HOME``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from dataos_defs.adapters import iceberg
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.poros_sync import PorosSync
from dataos_defs.poros.identities import Identities
from tests.dagster.governance_support import World, access, failure_messages, make_world

SCAN = """
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: scan
      spec:
        stack: scanner:2.0
        compute: runnable-default
        stackSpec:
          depot: dataos://lake
          sourceConfig:
            config:
              markDeletedTables: true
              schemaFilterPattern: {{includes: ["^shop$"]}}
"""
ORDERS = pa.table(
    {
        "order_id": pa.array([1, 2], pa.int64()),
        "amount": pa.array([1.5, 2.5], pa.float64()),
        "placed": pa.array(["a", "b"], pa.string()),
    }
)
PREFIX = "lake.default.shop"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    home = tmp_path / "home"
    for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAOS_HOME", str(home))
    world = make_world(home)
    catalog = world.catalog()
    for collection, name in (("shop", "orders"), ("shop", "returns"), ("scratch", "tmp")):
        iceberg.write_table(catalog, collection, name, ORDERS, "overwrite")
    with world.store() as store:
        Catalog.open(store)  # Metis' schema, as the API server creates it
    return world


def _catalog(world: World) -> Catalog:
    store = world.store()
    return Catalog(store.engine, store.vault)


def _scan_metadata(result: Any) -> dict[str, Any]:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_a_lakehouse_scan_catalogs_typed_tables_and_a_rerun_changes_nothing(world: World) -> None:
    world.apply(SCAN.format(name="scan-lake"), actor="etl-bot", run_as="etl-bot")
    first = world.run("scan-lake")
    assert first.success, failure_messages(first)
    found = _scan_metadata(first)
    assert (found["dataos/datasets"], found["dataos/scanner/created"]) == (2, 2)
    assert found["dataos/run_as"] == "etl-bot"
    catalog = _catalog(world)
    orders = catalog.get("table", fqn=f"{PREFIX}.orders")
    assert orders is not None
    columns = {c["name"]: c["dataType"] for c in orders.body["columns"]}
    assert columns == {"order_id": "BIGINT", "amount": "DOUBLE", "placed": "STRING"}
    assert orders.body["tableType"] == "Iceberg"
    assert catalog.get("table", fqn="lake.default.scratch.tmp") is None, "schema filter"

    again = world.run("scan-lake")
    assert again.success, failure_messages(again)
    assert _scan_metadata(again)["dataos/scanner/unchanged"] == 2
    same = catalog.get("table", fqn=f"{PREFIX}.orders")
    assert same is not None and same.version_tenths == orders.version_tenths

    world.catalog().drop_table(("shop", "returns"))
    third = world.run("scan-lake")
    assert third.success, failure_messages(third)
    assert _scan_metadata(third)["dataos/scanner/deleted"] == 1
    assert catalog.get("table", fqn=f"{PREFIX}.returns") is None
    gone = catalog.get("table", fqn=f"{PREFIX}.returns", include_deleted=True)
    assert gone is not None and gone.deleted


def test_an_identity_that_may_not_read_the_depot_is_refused_before_anything_is_written(
    world: World,
) -> None:
    with world.store() as store:
        Identities(store).create_user("mallory", "person")
    world.apply(SCAN.format(name="scan-mallory"), actor="mallory", run_as="mallory")
    result = world.run("scan-mallory")
    assert not result.success
    message = " ".join(failure_messages(result))
    assert "mallory may not read dataos://lake:shop/orders" in message, message
    assert _catalog(world).get("table", fqn=f"{PREFIX}.orders", include_deleted=True) is None
    assert result.get_asset_materialization_events() == []


ATTACK = """
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: scan
      spec:
        stack: scanner:2.0
        compute: runnable-default
        stackSpec:
          depot: dataos://lake
          {extra}
          sourceConfig:
            config:
              markDeletedTables: true
              schemaFilterPattern: {{includes: ["^shop$"]}}
              tableFilterPattern: {{includes: ["^orders$"]}}
"""


def _data_dev(world: World) -> None:
    """A plain user (``roles:id:data-dev``) who may read one dataset of the lake only."""
    with world.store() as store:
        Identities(store).create_user("dev", "person", tags=["roles:id:data-dev"])
    world.apply(
        access("dev-reads-orders", "[roles:id:data-dev]", "read", "dataos://lake:shop/orders")
    )


def test_a_plain_user_cannot_mark_deleted_the_tables_their_filter_leaves_out(
    world: World,
) -> None:
    """With markDeletedTables, a scan filtered to the one table a user may read would mark
    every other table of the schema deleted: the user must be allowed to read them all."""
    _data_dev(world)
    world.apply(ATTACK.format(name="dev-scan", extra=""), actor="dev", run_as="dev")
    result = world.run("dev-scan")
    assert not result.success
    message = " ".join(failure_messages(result))
    assert "dev may not read dataos://lake:shop/returns" in message, message
    assert _catalog(world).get("table", fqn=f"{PREFIX}.orders", include_deleted=True) is None


def test_a_scan_cannot_write_its_depot_under_another_service(world: World) -> None:
    """``source`` naming another service (here the landing depot's) would let a scan rewrite
    and mark deleted another depot's catalog entries as the scanner user."""
    _data_dev(world)
    world.apply(ATTACK.format(name="dev-other", extra="source: landing"), actor="dev", run_as="dev")
    result = world.run("dev-other")
    assert not result.success
    message = " ".join(failure_messages(result))
    assert "under the Metis service 'landing'" in message, message
    assert _catalog(world).listed("table", service="landing", include="all") == []


FILES = """
name: scan-landing
version: v1
type: workflow
workflow:
  dag:
    - name: scan
      spec:
        stack: scanner:2.0
        compute: runnable-default
        stackSpec:
          depot: landing
"""


def test_a_file_depot_scan_catalogs_each_file_with_the_columns_of_its_header(
    world: World,
) -> None:
    world.apply(FILES, actor="etl-bot", run_as="etl-bot")
    with world.store() as store:
        PorosSync(store, Catalog(store.engine, store.vault)).sync()  # as the API server does
    result = world.run("scan-landing")
    assert result.success, failure_messages(result)
    customers = _catalog(world).get("table", fqn="landing.default.none.customers")
    assert customers is not None
    columns = {c["name"]: c["dataType"] for c in customers.body["columns"]}
    assert columns == {"id": "BIGINT", "email": "VARCHAR", "country": "VARCHAR", "age": "BIGINT"}
    email = next(c for c in customers.body["columns"] if c["name"] == "email")
    assert [t["tagFQN"] for t in email["tags"]] == ["PII.Email"], "the depot's declared tag stays"
    assert _scan_metadata(result)["dataos/datasets"] == 2


def test_a_profiler_scan_of_the_lakehouse_is_refused_before_anything_is_read(
    world: World,
) -> None:
    """No OpenMetadata workflow profiles (or reads the query log of) the lakehouse."""
    profile = SCAN.format(name="lake-profile").replace("markDeletedTables: true", "type: Profiler")
    world.apply(profile, actor="etl-bot", run_as="etl-bot")
    result = world.run("lake-profile")
    assert not result.success
    message = " ".join(failure_messages(result))
    assert "only POSTGRESQL (and JDBC postgresql) depots have one here" in message, message
