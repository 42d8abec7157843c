"""Service replicas on Caretaker's API, read by an attacker: a plain ``roles:id:data-dev``
user sees the replicas of what they may read, never those of the ``finance`` workspace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.recorder import now_ms, record_process_changes
from dataos_defs.caretaker.records import ProcessRecord
from dataos_defs.poros.settings import Settings
from tests.dagster.dagster_support import interfaces

API = "/caretaker/api/v1"


def replica(workspace: str, name: str, owner: str) -> ProcessRecord:
    at = now_ms() - 5000
    return ProcessRecord(
        f"local:{workspace}/service/{name}-0", workspace, "service", name, None, "ready",
        at, None, 2, -9, 0.4, 40_000_000, "exited (-9) after 3.0 s; restarting in 1 s",
        replica=f"{name}-0", revision=1, run_as=owner, changed_ms=at, uptime_ms=5000,
    )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    helpers = interfaces()
    home = tmp_path_factory.mktemp("caretaker-replicas-api")
    started = helpers.start_server(home)
    try:
        engine = writer_engine(Settings.from_env({"DATAOS_HOME": str(home)}).database_url)
        found = [replica("public", "hello", "shop-bot"), replica("finance", "payroll-api", "fin")]
        record_process_changes(engine, found, found)
        yield started
    finally:
        helpers.stop_server(started)


def test_a_data_developer_sees_no_other_workspaces_replicas(server: Any) -> None:
    key = interfaces().user_key(server, "dev", ["roles:id:data-dev"])
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as dev:
        answer = dev.get(f"{API}/nodes")
    assert answer.status_code == 200
    nodes = {p["node"] for p in answer.json()["processes"]}
    assert "local:finance/service/payroll-api-0" not in nodes
    assert nodes <= {"local:public/service/hello-0"}


def test_an_operator_sees_every_replica_with_its_restarts_and_exit(server: Any) -> None:
    with httpx.Client(base_url=server.url, headers=server.headers) as operator:
        processes = operator.get(f"{API}/nodes").json()["processes"]
    hello = next(p for p in processes if p["node"] == "local:public/service/hello-0")
    assert (hello["state"], hello["restarts"], hello["exit_code"]) == ("ready", 2, -9)
    assert hello["peak_memory_bytes"] == 40_000_000 and hello["run_as"] == "shop-bot"
    assert {p["resource_name"] for p in processes} >= {"hello", "payroll-api"}


def test_a_services_replica_history_is_read_only_with_read_on_the_service(server: Any) -> None:
    """``/processes`` (``get runtime -t service --last N``): the operator reads a Service's
    replicas and the states they entered; a data developer asking for another workspace's
    Service by name is refused, and a workflow is not a replica source."""
    params = {"name": "payroll-api", "workspace": "finance", "type": "service", "last": 5}
    with httpx.Client(base_url=server.url, headers=server.headers) as operator:
        shown = operator.get(f"{API}/processes", params=params)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert [p["node"] for p in body["processes"]] == ["local:finance/service/payroll-api-0"]
    assert [(e["replica"], e["state"], e["exit_code"]) for e in body["events"]] == [
        ("payroll-api-0", "ready", -9)
    ]
    key = interfaces().user_key(server, "dev2", ["roles:id:data-dev"])
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as dev:
        refused = dev.get(f"{API}/processes", params=params)
        assert refused.status_code == 403
        assert "processes" not in refused.json() and "events" not in refused.json()
        assert "exited (-9)" not in refused.text and "40000000" not in refused.text
        wrong = dev.get(f"{API}/processes", params={**params, "type": "workflow"})
        assert wrong.status_code == 400  # the API answers invalid parameters with 400
