"""Aggregates served from the Parquet history (DuckDB) plus the live residue equal the live
tables' own aggregates, and count only what the caller may read."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from dataos_defs.api import caretaker_routes
from dataos_defs.api.errors import ApiError
from dataos_defs.caretaker import historize, history_aggregates
from dataos_defs.caretaker.aggregates import BY_VALUES, By, aggregate, window_ms
from dataos_defs.caretaker.db import upgrade
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.recorder import now_ms, record
from dataos_defs.caretaker.retention import Retention
from dataos_defs.poros.store import Store
from tests.caretaker.test_aggregates import VISIBLE, batches

EVERYTHING = [*VISIBLE, ("secret", "workflow", "payroll")]


@pytest.fixture
def store(store_url: str) -> Store:
    opened = Store.open(store_url)
    upgrade(opened.engine)
    record(opened.engine, batches(now_ms() - 60_000), Retention())
    return opened


def both(store: Store, history: HistoryStore, by: By, resources: list) -> tuple[list, list]:
    since = now_ms() - window_ms("1h")
    with store.engine.connect() as conn:
        live = aggregate(conn, by, since, resources)
        served = history_aggregates.aggregate(conn, history, by, since, resources)
    key = lambda a: sorted((k, v or "") for k, v in a.group.items())  # noqa: E731
    return sorted(live, key=key), sorted(served, key=key)


@pytest.mark.parametrize("by", BY_VALUES)
def test_history_plus_residue_equals_the_live_aggregates(
    store: Store, tmp_path: Path, by: By
) -> None:
    history = HistoryStore(None, home=tmp_path)
    live, served = both(store, history, by, VISIBLE)
    assert served == live and live
    written = historize.historize(store.engine, history)
    assert written.runs == 12 and history.read("steps").num_rows == 23
    live_after, served_after = both(store, history, by, VISIBLE)
    assert served_after == live_after == live
    store.close()


def test_a_run_both_written_and_unmarked_counts_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = HistoryStore(None, home=tmp_path)
    monkeypatch.setattr(historize, "mark", lambda *_: None)
    historize.historize(store.engine, history)
    for by in BY_VALUES:
        live, served = both(store, history, by, VISIBLE)
        assert served == live
    store.close()


def test_hidden_runs_never_count(store: Store, tmp_path: Path) -> None:
    history = HistoryStore(None, home=tmp_path)
    historize.historize(store.engine, history)
    since = now_ms() - window_ms("1h")
    with store.engine.connect() as conn:
        computes = {
            a.group["compute"]: a
            for a in history_aggregates.aggregate(conn, history, "compute", since, VISIBLE)
        }
        workflows = history_aggregates.aggregate(conn, history, "workflow", since, VISIBLE)
        nothing = history_aggregates.aggregate(conn, history, "job", since, [])
        every = history_aggregates.aggregate(conn, history, "workflow", since, [], every=True)
    small = computes["small"]
    assert small.runs == 11 and small.cpu_seconds == 16.5 and small.peak_memory_bytes == 11_000
    assert [w.group["resource_name"] for w in workflows] == ["daily"]
    assert nothing == []
    assert {w.group["resource_name"] for w in every} == {"daily", "payroll"}
    found = history_aggregates.history_resources(history, since)
    assert sorted(found) == sorted(EVERYTHING)
    store.close()


def test_an_empty_history_serves_the_live_rows(store: Store, tmp_path: Path) -> None:
    history = HistoryStore(None, home=tmp_path / "never-written")
    live, served = both(store, history, "workflow", VISIBLE)
    assert served == live and history_aggregates.history_resources(history, 0) == []
    store.close()


def test_the_object_store_path_gives_the_same_figures(store: Store) -> None:
    history = HistoryStore(f"memory://caretaker-aggregates-{uuid.uuid4().hex}")
    historize.historize(store.engine, history)
    for by in BY_VALUES:
        live, served = both(store, history, by, VISIBLE)
        assert served == live
    store.close()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATAOS_CARETAKER_HISTORY_RETENTION_DAYS", "0"),
        ("DATAOS_CARETAKER_HISTORY_URL", "s3://key:hunter2@bucket/caretaker"),
    ],
)
def test_a_misconfigured_history_answers_503_not_partial_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(home=tmp_path)))
    with pytest.raises(ApiError) as refused:
        caretaker_routes._history(request)  # type: ignore[arg-type]
    assert refused.value.status == 503 and "hunter2" not in refused.value.message
