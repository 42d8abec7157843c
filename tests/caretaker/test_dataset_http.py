"""The history through the real API server: users, API keys and the Gateway's query route.

The server (``dataos-ctl serve`` on 127.0.0.1) runs on a DATAOS_HOME whose history was
written by :class:`HistoryStore`; users are created through Heimdall's API with their roles,
and query with their own keys, as an attacker would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from dataos_defs.api.client import DataosClient
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.caretaker.test_dataset import MANIFESTS, record_history
from tests.interfaces.conftest import Server, start_server, stop_server, user_key

pytestmark = pytest.mark.slow
RUNS = "SELECT run_id, run_as FROM caretaker.runs.runs ORDER BY run_id"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    home = tmp_path_factory.mktemp("caretaker-http")
    record_history(HistoryStore(None, home=home))
    server = start_server(home, extra_env={DEFAULT_CLUSTER_ENV: "minervashop"})
    try:
        with DataosClient(server.url, api_key=server.api_key) as admin:
            admin.apply([{"manifest": m} for m in yaml.safe_load_all(MANIFESTS)], None)
        keys = {
            "alice": user_key(server, "alice", ["roles:id:user", "roles:id:caretaker-reader"]),
            "dev": user_key(server, "dev", ["roles:id:user", "roles:id:data-dev"]),
        }
        yield server, keys
    finally:
        stop_server(server)


def query(server: Server, key: str, sql: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/gateway/api/v1/query",
        json={"sql": sql},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def test_the_operator_reads_every_run(served: Any) -> None:
    server, _ = served
    response = query(server, server.api_key, RUNS)
    assert response.status_code == 200, response.text
    assert [row[0] for row in response.json()["rows"]] == ["a1", "a2", "b1", "x1"]


def test_a_reader_gets_their_own_runs_only(served: Any) -> None:
    server, keys = served
    response = query(server, keys["alice"], RUNS)
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["a1", "alice"], ["a2", "alice"]]


def test_a_data_developer_is_refused_and_learns_nothing(served: Any) -> None:
    server, keys = served
    response = query(server, keys["dev"], "SELECT count(*) FROM caretaker.runs.steps")
    assert response.status_code == 403, response.text
    assert "b1" not in response.text and "alice" not in response.text


def test_reading_the_parquet_files_directly_is_refused(served: Any) -> None:
    server, keys = served
    folder = str(server.home / "caretaker" / "history" / "runs")
    for key in (keys["dev"], keys["alice"]):
        sql = f"SELECT * FROM read_parquet('{folder}/*/*/*.parquet')"
        response = query(server, key, sql)
        assert response.status_code == 400, response.text
        assert "table function" in response.text and "alice" not in response.text
