"""A scanner run whose real ``openmetadata-ingestion`` fails (Metis does not answer) fails its
Dagster step with the tail of the ingestion's output, in which neither the source password
nor the run's scanner key shows; the key made for the run is revoked when it ends. Real
Dagster in process, real embedded PostgreSQL, the real ingestion in .venv-metis."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import psycopg
import pytest
from dagster._serdes import serialize_value
from scanner_support import DEPOT, PASSWORD, SCAN, SHOP

from dataos_defs.metis.access import SCANNER_USER_ID
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.scanner import ensure_scanner_user
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from tests.conftest import socket_conninfo
from tests.dagster.governance_support import World, access, failure_messages
from tests.metis.sdk_support import require_metis_python

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_failed_ingestion_fails_the_step_with_its_redacted_output(
    tmp_path: Path, fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_metis_python()
    home = tmp_path / "home"
    home.mkdir()
    for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAOS_HOME", str(home))
    monkeypatch.setenv("DATAOS_API_URL", f"http://127.0.0.1:{_closed_port()}")
    socket_dir, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SHOP)
    settings = dict(part.split("=", 1) for part in conninfo.split())
    world = World(home, Settings.from_env({"DATAOS_HOME": str(home)}))
    with world.store() as store:
        Catalog.open(store)
        identities = Identities(store)
        ensure_scanner_user(identities)
        identities.create_user("scan-bot", "application")
    depot = DEPOT.format(
        user=settings["user"], password=PASSWORD, host=socket_dir, database=settings["dbname"]
    )
    world.apply(textwrap.dedent(depot))
    world.apply(access("scan-bot-reads", "[users:id:scan-bot]", "read", "dataos://shopdb:**"))
    world.apply(SCAN, actor="scan-bot", run_as="scan-bot")

    result = world.run("scan-shopdb")

    assert not result.success
    message = "\n".join(failure_messages(result))
    assert "openmetadata-ingestion failed (exit code 1" in message, message
    assert "last lines of its output" in message
    assert PASSWORD not in serialize_value(result.all_events)
    with world.store() as store:
        keys = Identities(store).list_api_keys(SCANNER_USER_ID)
    assert len(keys) == 1 and keys[0].revoked_at is not None, keys
