"""The sensor writes finished runs to the Parquet history, exactly once as readers see it.

Real Dagster runs (the ``ran`` fixture: a good and a failing workflow), the real sensor
evaluation, the real history under DATAOS_HOME, and a governed query through the real
Gateway (P2's helpers in ``test_dataset``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dagster import build_sensor_context
from sqlalchemy import select

from dataos_defs.caretaker import historize, schema
from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.gateway.service import Caller
from dataos_defs.location import caretaker_sensor
from dataos_defs.location.caretaker_sensor import Cursor, evaluate
from dataos_defs.poros.settings import Settings
from tests.caretaker.conftest import OWNER, Ran
from tests.caretaker.test_dataset import ALICE, MANIFESTS, OPERATOR, World, open_world

RUNS = "SELECT run_id, state, resource_name FROM caretaker.runs.runs ORDER BY resource_name"


def tick(ran: Ran, settings: Settings, cursor: str | None = None) -> str | None:
    context = build_sensor_context(
        instance=ran.instance, cursor=cursor, definitions=ran.definitions
    )
    evaluate(context, settings)
    return context.cursor


def fresh(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'poros.db'}")


def test_finished_runs_reach_the_history_and_a_governed_query(ran: Ran) -> None:
    home = ran.settings.home
    history = HistoryStore(None, home=home)
    assert {p.workspace for p in history.parts("runs")} == {"public"}
    store, heimdall, gateway = open_world(home, [(MANIFESTS, "root")])
    world = World(home, history, gateway)
    try:
        assert world.rows(OPERATOR, RUNS) == [
            (ran.bad_run, "failed", "bad"),
            (ran.good_run, "succeeded", "good"),
        ]
        owner = Caller(OWNER, ("roles:id:caretaker-reader", f"users:id:{OWNER}"))
        steps = world.rows(owner, "SELECT run_id, job FROM caretaker.runs.steps ORDER BY 1, 2")
        assert (ran.good_run, "load") in steps and (ran.good_run, "report") in steps
        assert world.rows(ALICE, "SELECT count(*) FROM caretaker.runs.steps") == [(0,)]
    finally:
        gateway.close()
        heimdall.close()
        store.close()
    with ran.engine.connect() as conn:
        marks = conn.execute(select(schema.runs.c.history_batch, schema.runs.c.historized_ms))
        assert all(batch and at for batch, at in marks)


def test_a_run_seen_again_is_not_written_again(ran: Ran) -> None:
    history = HistoryStore(None, home=ran.settings.home)
    before = sorted(p.path for p in history.parts("runs"))
    ran.tick()
    ran.tick(ran.cursor)
    assert sorted(p.path for p in history.parts("runs")) == before
    assert history.read("runs").num_rows == 2


def test_a_crash_after_the_append_before_the_cursor_leaves_no_duplicate(
    ran: Ran, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh(tmp_path)

    def crash(*_: object) -> None:
        raise RuntimeError("the code location died here")

    with monkeypatch.context() as patch:
        patch.setattr(historize, "mark", crash)
        with pytest.raises(RuntimeError, match="died"):
            tick(ran, settings)
    history = HistoryStore(None, home=tmp_path)
    written = sorted(p.path for p in history.parts("runs"))
    assert history.read("runs").num_rows == 2
    tick(ran, settings)
    assert sorted(p.path for p in history.parts("runs")) == written
    runs, steps = history.read("runs"), history.read("steps")
    assert sorted(runs["run_id"].to_pylist()) == sorted([ran.good_run, ran.bad_run])
    keys = list(zip(steps["run_id"].to_pylist(), steps["job"].to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) >= 3
    with writer_engine(settings.database_url).connect() as conn:
        assert conn.execute(select(schema.runs.c.historized_ms)).scalars().all()[0] is not None


def test_an_unwritable_history_holds_back_nothing_and_is_retried(
    ran: Ran, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh(tmp_path)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the history folder should be")
    monkeypatch.setenv("DATAOS_CARETAKER_HISTORY_URL", str(blocked / "history"))
    cursor = tick(ran, settings)
    assert Cursor.parse(cursor).updated_after is not None
    with writer_engine(settings.database_url).connect() as conn:
        assert len(conn.execute(select(schema.runs.c.run_id)).all()) == 2
    monkeypatch.setenv("DATAOS_CARETAKER_HISTORY_URL", str(tmp_path / "history"))
    tick(ran, settings, cursor)
    assert HistoryStore(str(tmp_path / "history")).read("runs").num_rows == 2


def test_maintenance_runs_at_most_once_an_hour(
    ran: Ran, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh(tmp_path)
    calls: list[int] = []
    monkeypatch.setattr(HistoryStore, "maintain", lambda self: calls.append(1))
    cursor = tick(ran, settings)
    cursor = tick(ran, settings, cursor)
    assert calls == [1]
    stale = Cursor.parse(cursor)
    stale.maintained_at = time.time() - caretaker_sensor.MAINTAIN_EVERY_SECONDS - 1
    tick(ran, settings, stale.dump())
    assert calls == [1, 1]
