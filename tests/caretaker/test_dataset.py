"""Caretaker's history as a governed dataset: ``caretaker.runs.*`` through the real Gateway.

A real Gateway (Poros store on SQLite, Heimdall with the system policies, the embedded
Minerva cluster) over a history written by :class:`HistoryStore` under the test's
DATAOS_HOME. Callers are tried the way an attacker would: a plain data developer, a reader
reaching for other users' runs, and SQL that names the Parquet files instead of the dataset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.history_governance import OWN_RUNS_POLICY
from dataos_defs.caretaker.records import ProcessRecord, RunRecord, StepRecord
from dataos_defs.gateway.model import Refused
from dataos_defs.gateway.service import Caller, Denied, Gateway, QueryRequest
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

MANIFESTS = """\
name: lakehouse
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  lakehouse: {warehouse: "warehouse"}
---
name: minervashop
version: v1
type: cluster
cluster:
  type: minerva
  minerva:
    depots: [{address: "dataos://lakehouse"}]
"""
SHADOW = """\
name: caretaker
version: v2alpha
type: depot
owner: mallory
depot:
  type: LAKEHOUSE
  lakehouse: {warehouse: "mallory-warehouse"}
"""
AT_MS = 1_773_480_600_000  # 2026-03-14 09:30 UTC
OPERATOR = Caller("root", ("roles:id:operator", "users:id:root"))
ALICE = Caller("alice", ("roles:id:caretaker-reader", "users:id:alice"))
BOB = Caller("bob", ("roles:id:caretaker-reader", "users:id:bob"))
DEV = Caller("dev", ("roles:id:data-dev", "roles:id:user", "users:id:dev"))
MALLORY = Caller("mallory", ("roles:id:data-dev", "users:id:mallory"))
STEPS = "SELECT run_id, job, run_as FROM caretaker.runs.steps ORDER BY run_id, job"


@dataclass
class World:
    home: Path
    history: HistoryStore
    gateway: Gateway
    store: Store | None = None

    def rows(self, caller: Caller, sql: str, **request: str) -> list[tuple[object, ...]]:
        page = self.gateway.run(caller, QueryRequest(sql, cluster="minervashop", **request))
        return list(page.rows)


def record_history(history: HistoryStore) -> None:
    owners = {"a1": "alice", "a2": "alice", "b1": "bob", "x1": None}
    runs = [
        RunRecord(run_id, "public", "workflow", "wf", "succeeded", AT_MS, AT_MS + 60_000,
                  60_000, owner, "wf_job")
        for run_id, owner in owners.items()
    ]  # fmt: skip
    history.append("runs", runs)
    history.append(
        "steps",
        [
            StepRecord(run_id, "public", "workflow", "wf", job, "succeeded", AT_MS,
                       AT_MS + 1000, 1000, 1, 0, 2.5, 50_000_000)
            for run_id in owners
            for job in ("extract", "load")
        ],
    )  # fmt: skip
    history.append(
        "processes",
        [ProcessRecord("pid-1", "public", "workflow", "wf", "b1", "succeeded", AT_MS,
                       AT_MS + 1000, 0, 0, 2.5, 50_000_000)],
    )  # fmt: skip


def open_world(home: Path, manifests: list[tuple[str, str]]) -> tuple[Store, Heimdall, Gateway]:
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'poros.db'}")
    store = Store.open(settings=settings)
    for text, actor in manifests:
        documents, issues = parse_yaml(text, "m.yaml")
        assert not issues
        apply_resources(store, parse_documents(documents), None, actor)
    heimdall = Heimdall(store, home)
    return store, heimdall, Gateway(store, heimdall, home)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("caretaker-home")
    history = HistoryStore(None, home=home)
    record_history(history)
    store, heimdall, gateway = open_world(home, [(MANIFESTS, "root")])
    yield World(home, history, gateway, store)
    gateway.close()
    heimdall.close()
    store.close()


def test_an_operator_reads_every_run(world: World) -> None:
    found = world.rows(OPERATOR, STEPS)
    assert {run_id for run_id, _, _ in found} == {"a1", "a2", "b1", "x1"}
    assert ("b1", "load", "bob") in found and ("x1", "load", None) in found
    day, cpu, memory = world.rows(
        OPERATOR, "SELECT day, sum(cpu_seconds), max(peak_memory_bytes) FROM caretaker.runs.steps"
        " GROUP BY day"
    )[0]  # fmt: skip
    assert (str(day), cpu, memory) == ("2026-03-14", 20.0, 50_000_000)


def test_a_reader_sees_only_their_own_runs_on_every_table(world: World) -> None:
    assert world.rows(ALICE, "SELECT run_id FROM caretaker.runs.runs ORDER BY 1") == [
        ("a1",),
        ("a2",),
    ]
    assert {run_as for _, _, run_as in world.rows(ALICE, STEPS)} == {"alice"}
    assert world.rows(ALICE, "SELECT count(*) FROM caretaker.runs.processes") == [(0,)]
    assert world.rows(BOB, "SELECT node, run_as FROM caretaker.runs.processes") == [
        ("pid-1", "bob")
    ]


def test_two_readers_with_the_same_tags_never_share_a_cached_rewrite(world: World) -> None:
    sql = "SELECT DISTINCT run_as FROM caretaker.runs.runs"
    for _ in range(2):
        assert world.rows(ALICE, sql) == [("alice",)]
        assert world.rows(BOB, sql) == [("bob",)]


@pytest.mark.parametrize(
    ("sql", "alices"),
    [
        ("SELECT count(*) FROM caretaker.runs.steps WHERE run_as = 'bob'", 0),
        ("SELECT count(*) FROM caretaker.runs.steps WHERE run_as = 'bob' OR 1 = 1", 4),
        ("SELECT count(*) FROM caretaker.runs.steps WHERE run_as IS NULL", 0),
        (
            "SELECT count(*) FROM (SELECT * FROM caretaker.runs.runs) r"
            " JOIN caretaker.runs.steps s USING (run_id) WHERE s.run_as <> 'alice'",
            0,
        ),
    ],
)
def test_a_reader_cannot_filter_their_way_to_other_runs(
    world: World, sql: str, alices: int
) -> None:
    assert world.rows(ALICE, sql) == [(alices,)]


def test_the_audit_and_explain_name_the_own_runs_filter(world: World) -> None:
    request = QueryRequest("SELECT * FROM caretaker.runs.runs", cluster="minervashop")
    explained = world.gateway.explain(ALICE, request)
    assert OWN_RUNS_POLICY in explained.governance["caretaker.runs.runs"].policies
    assert "\"run_as\" = 'alice'" in explained.rewritten.sql
    assert OWN_RUNS_POLICY not in world.gateway.explain(OPERATOR, request).rewritten.sql


@pytest.mark.parametrize(
    "table", ["caretaker.runs.runs", "caretaker.runs.steps", "caretaker.runs.processes"]
)
def test_a_data_developer_is_denied_every_history_table(world: World, table: str) -> None:
    with pytest.raises(Denied, match=f"dev may not select {table}"):
        world.rows(DEV, f"SELECT count(*) FROM {table}")


def test_a_data_developer_is_not_even_shown_the_history_tables(world: World) -> None:
    with pytest.raises(Refused, match=r"schema 'caretaker\.runs' does not exist or is not visible"):
        world.rows(DEV, "SHOW TABLES FROM caretaker.runs")
    assert ("caretaker",) not in world.rows(DEV, "SHOW CATALOGS")
    assert ("caretaker",) in world.rows(OPERATOR, "SHOW CATALOGS")


def test_a_depot_named_caretaker_is_refused_at_apply_and_nothing_stored(world: World) -> None:
    assert world.store is not None
    documents, _ = parse_yaml(SHADOW, "m.yaml")
    with pytest.raises(ManifestError, match="reserved by the platform") as refused:
        apply_resources(world.store, parse_documents(documents), None, "mallory")
    assert "choose another name" in str(refused.value)
    assert [r.key.name for r in world.store.list("depot")] == ["lakehouse"]
    with pytest.raises(Denied, match=r"mallory may not select caretaker\.runs\.steps"):
        world.rows(MALLORY, "SELECT * FROM caretaker.runs.steps")


def side_doors(world: World) -> list[str]:
    steps = world.history.root + "/steps"
    one = world.history.parts("steps")[0].path
    return [
        f"SELECT * FROM read_parquet('{steps}/**/*.parquet')",
        f"SELECT * FROM parquet_scan('{one}')",
        f"SELECT * FROM '{one}'",
        f'SELECT * FROM "{one}"',
        f"SELECT * FROM read_parquet(['{one}'], hive_partitioning = true)",
        f"SELECT * FROM glob('{steps}/**')",
        f"SELECT * FROM caretaker.runs.steps UNION ALL SELECT * FROM read_parquet('{one}')",
        'SELECT * FROM "__minerva__"."caretaker.runs.steps"',
        f"SELECT * FROM query_table('{one}')",
        f"COPY (SELECT 1) TO '{steps}/day=2026-03-14/workspace=public/part-9.parquet'",
        f"ATTACH '{world.home}/poros.db' AS p",
    ]


@pytest.mark.parametrize("caller", [ALICE, DEV, OPERATOR], ids=lambda c: c.user_id)
def test_sql_naming_the_history_files_is_refused(world: World, caller: Caller) -> None:
    for sql in side_doors(world):
        for defaults in ({}, {"catalog": "caretaker", "schema": "runs"}):
            with pytest.raises(Refused):
                world.rows(caller, sql, **defaults)


def test_new_parts_appear_in_the_next_query(tmp_path: Path) -> None:
    history = HistoryStore(None, home=tmp_path)
    store, heimdall, gateway = open_world(tmp_path, [(MANIFESTS, "root")])
    world = World(tmp_path, history, gateway)
    try:
        with pytest.raises(Refused, match=r"caretaker\.runs\.runs"):
            world.rows(OPERATOR, "SELECT count(*) FROM caretaker.runs.runs")
        record_history(history)
        assert world.rows(OPERATOR, "SELECT count(*) FROM caretaker.runs.runs") == [(4,)]
        record_history(history)
        assert world.rows(OPERATOR, "SELECT count(*) FROM caretaker.runs.runs") == [(8,)]
        assert world.rows(OPERATOR, "SELECT count(*) FROM caretaker.runs.processes") == [(2,)]
    finally:
        gateway.close()
        heimdall.close()
        store.close()
