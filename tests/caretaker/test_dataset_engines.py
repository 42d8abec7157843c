"""The history dataset on each engine path: DuckDB over local Parquet, a copy from an object
store (fsspec's ``memory://`` standing in for ``s3://``/``gs://``/``abfs://``), and the
catalog and tables a Trino cluster needs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from dataos_defs.adapters.localfs import (
    STATE_ENTRIES,
    STORAGE_ROOTS_ENV,
    ConfinementError,
    Storage,
)
from dataos_defs.caretaker.dataset import (
    REMOTE_CHECK_SECONDS,
    HistorySource,
    cluster_catalog_entry,
    history_tables,
    trino_catalog,
    trino_location,
    trino_tables_ddl,
)
from dataos_defs.caretaker.history import URL_ENV, HistoryStore
from dataos_defs.caretaker.history_schema import duckdb_columns
from dataos_defs.caretaker.records import RunRecord
from dataos_defs.heimdall.service import SYSTEM_DEPOTS
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.minerva.catalogs import render_properties, trino_catalogs
from dataos_defs.minerva.duck import Database, physical_name
from dataos_defs.minerva.model import TableName
from dataos_defs.minerva.result import MinervaError
from dataos_defs.minerva.trino_cluster import TrinoCluster
from tests.caretaker.test_dataset import MANIFESTS, OPERATOR, World, open_world

AT_MS = 1_773_480_600_000
RUNS = TableName("caretaker", "runs", "runs")


def run(run_id: str, owner: str = "alice") -> RunRecord:
    return RunRecord(
        run_id, "public", "workflow", "wf", "failed", AT_MS, AT_MS + 9, 9, owner, "wf_job"
    )


@pytest.fixture
def db() -> Iterator[Database]:
    database = Database()
    yield database
    database.close()


def query(db: Database, source: HistorySource, sql: str) -> list[tuple[object, ...]]:
    source.refresh(RUNS, physical_name(RUNS))
    with db.cursor() as cursor:
        return cursor.execute(sql.format(runs=physical_name(RUNS))).fetchall()


def test_an_object_store_history_is_copied_in_and_follows_new_parts(db: Database) -> None:
    store = HistoryStore(f"memory://engines-{uuid.uuid4().hex}")
    source = HistorySource(store, db)
    assert source.datasets() == [] and source.describe("runs", "runs") is None
    store.append("runs", [run("r1")])
    assert source.datasets() == [
        ("runs", "checks"),
        ("runs", "processes"),
        ("runs", "runs"),
        ("runs", "steps"),
    ]
    assert query(db, source, "SELECT run_id, state, day FROM {runs}") == [
        ("r1", "failed", pa.scalar(AT_MS, pa.timestamp("ms")).as_py().date())
    ]
    store.append("runs", [run("r2", "bob")])
    assert query(db, source, "SELECT count(*) FROM {runs}") == [(2,)]


def test_columns_older_parts_lack_read_as_null(tmp_path: Path, db: Database) -> None:
    store = HistoryStore(None, home=tmp_path)
    store.append("runs", [run("new")])
    folder = store.partition_folder("runs", store.parts("runs")[0].day, "public")
    old = (
        store.read("runs").drop_columns(["error", "day"]).set_column(0, "run_id", pa.array(["old"]))
    )
    pq.write_table(old, f"{folder}/part-0000000000001-old.parquet")
    found = query(db, HistorySource(store, db), "SELECT run_id, error FROM {runs} ORDER BY 1")
    assert found == [("new", None), ("old", None)]
    described = db.describe(f"SELECT * FROM {physical_name(RUNS)}")
    assert described == duckdb_columns("runs")


def test_the_history_url_setting_reaches_the_embedded_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"memory://cluster-{uuid.uuid4().hex}"
    monkeypatch.setenv(URL_ENV, url)
    HistoryStore(url).append("runs", [run("remote")])
    store, heimdall, gateway = open_world(tmp_path, [(MANIFESTS, "root")])
    try:
        world = World(tmp_path, HistoryStore(url), gateway)
        assert world.rows(OPERATOR, "SELECT run_id FROM caretaker.runs.runs") == [("remote",)]
        assert not (tmp_path / "caretaker").exists()
    finally:
        gateway.close()
        heimdall.close()
        store.close()


def test_trino_reads_the_same_location_through_a_hive_catalog() -> None:
    assert trino_location(None) == "file:///var/lib/dataos/caretaker/history"
    assert trino_location("s3://ops/caretaker/") == "s3://ops/caretaker"
    assert trino_catalog("s3://ops/caretaker") == {
        "connector.name": "hive",
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": "s3://ops/caretaker/.trino-metastore",
        "fs.native-s3.enabled": "true",
    }
    ddl = trino_tables_ddl("s3://ops/caretaker")
    steps = next(s for s in ddl if "caretaker.runs.steps (" in s)
    assert steps.startswith('CREATE TABLE IF NOT EXISTS caretaker.runs.steps ("run_id" varchar')
    assert '"cpu_seconds" double' in steps and '"day" date, "workspace" varchar)' in steps
    assert "external_location = 's3://ops/caretaker/steps'" in steps
    assert "partitioned_by = ARRAY['day', 'workspace']" in steps
    assert ddl[-1] == "CALL caretaker.system.sync_partition_metadata('runs', 'processes', 'FULL')"


def test_the_catalog_entry_is_a_valid_cluster_catalog() -> None:
    entry = cluster_catalog_entry("gs://ops/history")
    cluster = Cluster.model_validate(
        {
            "name": "minervaprod",
            "version": "v1",
            "type": "cluster",
            "cluster": {"type": "minerva", "minerva": {"depots": [], "catalogs": [entry]}},
        }
    )
    rendered = render_properties(trino_catalogs(cluster, {})["caretaker"])
    assert rendered.startswith("connector.name=hive\n")
    assert "fs.native-gcs.enabled=true" in rendered
    assert TrinoCluster(cluster, "http://127.0.0.1:1").catalogs == ("caretaker",)


def test_the_history_depot_is_the_one_heimdall_reserves() -> None:
    assert {name.depot for name in history_tables()} == set(SYSTEM_DEPOTS)


def test_an_object_store_listing_is_reused_for_its_check_interval(db: Database) -> None:
    store = HistoryStore(f"memory://engines-{uuid.uuid4().hex}")
    store.append("runs", [run("r1")])
    patient = HistorySource(store, db, check_seconds=3600)
    assert query(db, patient, "SELECT count(*) FROM {runs}") == [(1,)]
    store.append("runs", [run("r2")])
    assert query(db, patient, "SELECT count(*) FROM {runs}") == [(1,)]
    assert query(db, HistorySource(store, db), "SELECT count(*) FROM {runs}") == [(2,)]


def test_the_cluster_lists_an_object_store_with_an_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database()
    monkeypatch.setenv(URL_ENV, "memory://interval")
    remote = HistorySource.from_env(tmp_path, database)
    assert isinstance(remote, HistorySource) and remote.check_seconds == REMOTE_CHECK_SECONDS
    monkeypatch.delenv(URL_ENV)
    local = HistorySource.from_env(tmp_path, database)
    assert isinstance(local, HistorySource) and local.check_seconds == 0.0
    database.close()


def test_a_file_depot_over_the_history_folder_is_refused(tmp_path: Path) -> None:
    HistoryStore(None, home=tmp_path).append("runs", [run("r1")])
    for roots in ({}, {STORAGE_ROOTS_ENV: str(tmp_path)}):
        with pytest.raises(ConfinementError, match="caretaker/history"):
            Storage.from_env(tmp_path, roots).confine("caretaker/history/runs")
    assert "caretaker" in STATE_ENTRIES


def test_a_history_inside_a_storage_root_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, str(tmp_path / "data" / "history"))
    database = Database()
    source = HistorySource.from_env(tmp_path, database)
    assert source.datasets() == []
    with pytest.raises(MinervaError, match=r"overlaps the storage root .* ungoverned"):
        source.describe("runs", "runs")
    with pytest.raises(MinervaError, match=r"set DATAOS_CARETAKER_HISTORY_URL to a folder"):
        source.refresh(RUNS, physical_name(RUNS))
    database.close()
