"""An API server killed between an apply's commit and Dagster loses no run-once.

The real server (``dataos-ctl serve``) reconciles with the GraphQL stand-in, which holds the
first request of the reconciliation: the apply has committed and answered (reconciliation
runs in the background), Dagster has heard nothing. The server is then SIGKILLed; started
again, it launches the run from the outbox, once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster_support import interfaces
from graphql_stand_in import DagsterStandIn, compiled_from, serve
from lifecycle_manifests import ONCE

from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
ONCE_KEY = ResourceKey("workflow", "once", "public")


class HoldingStandIn(DagsterStandIn):
    """Holds every request while ``holding`` is set, saying so through ``reached``."""

    holding = threading.Event()
    reached = threading.Event()
    released = threading.Event()

    def answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if self.holding.is_set():
            self.reached.set()
            self.released.wait(30)
        return super().answer(query, variables)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(tmp_path)})) as opened:
        yield opened


def wait_for(check: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_sigkill_between_the_apply_commit_and_dagster_loses_no_run(
    store: Store, tmp_path: Path
) -> None:
    helpers = interfaces()
    manifest = tmp_path / "once.yaml"
    manifest.write_text(ONCE.format(description="first"))
    stand_in = HoldingStandIn(compiled_from(store))
    with serve(stand_in) as url:
        env = {"DAGSTER_WEBSERVER_URL": url}
        server = helpers.start_server(tmp_path, extra_env=env)
        stand_in.holding.set()
        try:
            applied = helpers.run_cli(server, "apply", "-f", str(manifest))
            assert applied.returncode == 0, applied.stderr
            assert "created" in applied.stdout
            assert stand_in.reached.wait(60), "the server never reached Dagster"
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
        finally:
            stand_in.holding.clear()
            stand_in.released.set()

        found = store.get("workflow", "once", "public")
        assert found is not None and found.status == "pending"
        assert [e.key for e in store.outbox()] == [ONCE_KEY]
        assert stand_in.launched() == []

        again = helpers.start_server(tmp_path, extra_env=env)
        try:
            # Within 10 s: the start-up drain, not the watch (every 30 s), launches it.
            assert wait_for(lambda: len(stand_in.launched()) == 1, 10), "the run was lost"
            assert wait_for(lambda: store.outbox() == [])
            unchanged = helpers.run_cli(again, "apply", "-f", str(manifest))
            assert unchanged.returncode == 0, unchanged.stderr
            assert "unchanged" in unchanged.stdout
        finally:
            helpers.stop_server(again)
    assert [r.job for r in stand_in.launched()] == ["public__once"]
    found = store.get("workflow", "once", "public")
    assert found is not None and found.status == "active"
