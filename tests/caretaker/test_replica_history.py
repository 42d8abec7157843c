"""Replica events in the history: appended exactly once and read through the governed Gateway.

Events of two owners' Services are written the way the reporter writes them, historized
(also after a crash between appending and marking), then queried as
``caretaker.runs.processes`` through the real Gateway (Poros on SQLite, Heimdall with the
system policies, the embedded Minerva): an operator reads all, a ``caretaker-reader`` only
their own Services' processes however they write the SQL, a plain data developer nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from sqlalchemy import Engine, select

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.process_history import _claim, _write, historize_processes
from dataos_defs.caretaker.recorder import record_process_changes
from dataos_defs.caretaker.records import ProcessRecord
from dataos_defs.caretaker.retention import Retention
from dataos_defs.gateway.service import Caller, Denied, Gateway, QueryRequest
from tests.caretaker.test_dataset import MANIFESTS, open_world

AT_MS = 1_773_480_600_000  # 2026-03-14 09:30 UTC
OPERATOR = Caller("root", ("roles:id:operator", "users:id:root"))
ALICE = Caller("alice", ("roles:id:caretaker-reader", "users:id:alice"))
BOB = Caller("bob", ("roles:id:caretaker-reader", "users:id:bob"))
DEV = Caller("dev", ("roles:id:data-dev", "roles:id:user", "users:id:dev"))


def replica(owner: str, name: str, state: str, at: int, restarts: int = 0) -> ProcessRecord:
    exit_code = 1 if state == "crashloop" else None
    return ProcessRecord(
        f"local:public/service/{name}-0", "public", "service", name, None, state,  # type: ignore[arg-type]
        AT_MS, None, restarts, exit_code, 0.5, 30_000_000, None,
        replica=f"{name}-0", revision=1, run_as=owner, changed_ms=at, uptime_ms=at - AT_MS,
    )  # fmt: skip


def history_rows(engine: Engine) -> None:
    """Alice's service starts, crashes, restarts; Bob's starts."""
    for record in (
        replica("alice", "shop", "starting", AT_MS),
        replica("alice", "shop", "ready", AT_MS + 1000),
        replica("alice", "shop", "crashloop", AT_MS + 5000, restarts=1),
        replica("bob", "pay", "ready", AT_MS + 2000),
    ):
        record_process_changes(engine, [record], [record])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, HistoryStore]]:
    home = tmp_path_factory.mktemp("replica-history")
    engine = writer_engine(f"sqlite:///{home / 'caretaker.db'}")
    history = HistoryStore(None, home=home)
    history_rows(engine)
    assert historize_processes(engine, history, Retention(days=3650)) == 4
    assert historize_processes(engine, history, Retention(days=3650)) == 0
    store, heimdall, gateway = open_world(home, [(MANIFESTS, "root")])
    yield gateway, history
    gateway.close()
    heimdall.close()
    store.close()


def rows(gateway: Gateway, caller: Caller, sql: str) -> list[tuple[object, ...]]:
    return list(gateway.run(caller, QueryRequest(sql, cluster="minervashop")).rows)


ORDERED = (
    "SELECT resource_name, state, exit_code, restarts, run_as FROM caretaker.runs.processes"
    " ORDER BY changed_ms"
)


def test_an_operator_reads_every_replica_event(world: tuple[Gateway, HistoryStore]) -> None:
    gateway, _ = world
    assert rows(gateway, OPERATOR, ORDERED) == [
        ("shop", "starting", None, 0, "alice"),
        ("shop", "ready", None, 0, "alice"),
        ("pay", "ready", None, 0, "bob"),
        ("shop", "crashloop", 1, 1, "alice"),
    ]


@pytest.mark.parametrize(
    "sql",
    [
        ORDERED,
        "SELECT resource_name, state, exit_code, restarts, run_as FROM caretaker.runs.processes"
        " WHERE run_as = 'bob' OR 1 = 1 ORDER BY changed_ms",
        "SELECT resource_name, state, exit_code, restarts, run_as FROM caretaker.runs.processes"
        " WHERE resource_name = 'pay' UNION ALL SELECT resource_name, state, exit_code,"
        " restarts, run_as FROM caretaker.runs.processes WHERE run_as <> 'alice'",
    ],
)
def test_a_reader_sees_only_their_own_services_processes(
    world: tuple[Gateway, HistoryStore], sql: str
) -> None:
    gateway, _ = world
    found = rows(gateway, BOB, sql)
    assert found and {row[4] for row in found} == {"bob"}
    assert all(row[0] == "pay" for row in found)


def test_a_data_developer_reads_no_process_history(world: tuple[Gateway, HistoryStore]) -> None:
    gateway, _ = world
    with pytest.raises(Denied):
        rows(gateway, DEV, "SELECT count(*) FROM caretaker.runs.processes")


def test_a_batch_appended_before_a_crash_lands_once(tmp_path: Path) -> None:
    engine = writer_engine(f"sqlite:///{tmp_path / 'caretaker.db'}")
    history = HistoryStore(None, home=tmp_path)
    history_rows(engine)
    batch = _claim(engine)
    assert batch is not None
    _write(engine, history, batch)  # appended, then the writer died before marking
    assert historize_processes(engine, history, Retention(days=3650)) == 4
    table = schema.process_events.c
    with engine.connect() as conn:
        unmarked = conn.execute(select(table.node).where(table.historized_ms.is_(None)))
        assert unmarked.first() is None
    parts = history.parts("processes")
    assert len(parts) == 1  # the retried batch replaced its own part
    assert pq.read_table(parts[0].path).num_rows == 4
