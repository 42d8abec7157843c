"""The incidents' tables: migrated beside Poros' and Metis' with their own history, one open
incident per monitor, bounded context, retention of resolved incidents."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from dataos_defs.monitor import incidents as module
from dataos_defs.monitor.incidents import Incidents, IncidentSpec, MonitorRef
from dataos_defs.monitor.schema import TABLE_PREFIX, VERSION_TABLE, metadata
from tests.monitor.conftest import World

REF = MonitorRef("public", "orders-late")
SPEC = IncidentSpec("orders-late", "high", "freshness")


def test_migrations_create_exactly_the_tables_with_their_own_history(world: World) -> None:
    with world.store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "include_name": lambda name, kind, _p: (
                    kind != "table" or str(name).startswith(TABLE_PREFIX)
                ),
            },
        )
        assert compare_metadata(context, metadata) == []
        head = conn.execute(text(f"select version_num from {VERSION_TABLE}")).scalar()
        poros = conn.execute(text("select version_num from alembic_version")).scalar()
    assert head == "mon0001"
    assert poros is not None and poros != head


def test_opening_again_and_concurrently_migrates_once(world: World) -> None:
    errors: list[BaseException] = []

    def open_incidents() -> None:
        try:
            Incidents.open(world.store.engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_incidents) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_concurrent_firing_evaluations_open_one_incident(world: World) -> None:
    answers: list[str] = []

    def fire() -> None:
        found = world.incidents.settle(REF, True, SPEC, {"n": 1})
        assert found is not None
        answers.append(found.action)

    threads = [threading.Thread(target=fire) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["opened"] + ["updated"] * 5
    [incident] = world.incidents.listed()
    assert incident["occurrences"] == 6


def test_a_large_context_is_kept_as_a_bounded_preview(world: World) -> None:
    huge = {"rows": ["x" * 100] * 1000}
    found = world.incidents.settle(REF, True, SPEC, huge)
    assert found is not None
    context = found.incident["context"]
    assert context["truncated"] is True and context["bytes"] > module.MAX_CONTEXT_BYTES
    assert len(context["preview"]) == module.PREVIEW_CHARS


def test_resolved_incidents_are_deleted_after_the_retention_and_beyond_the_newest(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "MAX_RESOLVED_PER_MONITOR", 5)
    other = MonitorRef("public", "other")
    world.incidents.settle(other, True, SPEC, {})
    world.incidents.settle(other, False, SPEC, {})
    world.clock.advance((module.RETENTION_DAYS + 1) * 86400)
    for _ in range(module.MAX_RESOLVED_PER_MONITOR + 3):
        world.incidents.settle(REF, True, SPEC, {})
        world.clock.advance(1)
        world.incidents.settle(REF, False, SPEC, {})
    assert world.incidents.listed(monitor="other") == [], "past the retention"
    kept = world.incidents.listed(monitor=REF.name, state="resolved")
    assert len(kept) == module.MAX_RESOLVED_PER_MONITOR
    assert len(world.incidents.listed(limit=10_000)) == module.MAX_RESOLVED_PER_MONITOR


def test_open_incidents_of_deleted_monitors_are_resolved(world: World) -> None:
    kept, deleted = REF, MonitorRef("public", "deleted")
    for ref in (kept, deleted):
        world.incidents.settle(ref, True, SPEC, {})
    asked: list[list[MonitorRef]] = []

    def is_live(refs: list[MonitorRef]) -> set[MonitorRef]:
        asked.append(sorted(refs))
        return {kept}

    assert world.incidents.resolve_orphans(is_live) == 1
    assert asked == [sorted([kept, deleted])], "one question for all"
    states = {i["monitor"]: i["state"] for i in world.incidents.listed()}
    assert states == {"orders-late": "open", "deleted": "resolved"}
    assert world.incidents.resolve_orphans(is_live) == 0
