"""A cancel reaches a Trino-backed cluster: the Gateway's registry of running statements
calls the engine's interrupt, which is the official ``trino`` client's ``cancel``.

No Trino server can run here, so the coordinator is a stand-in on 127.0.0.1 (stdlib
``http.server``) speaking Trino's documented client protocol
(https://trino.io/docs/current/develop/client-protocol.html): ``POST /v1/statement``
answers ``{id, nextUri, stats.state: QUEUED}``; every ``GET`` of ``nextUri`` answers
``RUNNING`` with the next ``nextUri`` (the statement never ends by itself); ``DELETE`` of
the current ``nextUri`` cancels it (204). The test asserts the ``DELETE`` arrives within a
second of the cancel and the engine's ``execute`` returns.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dataos_defs.gateway.running import RunningQueries
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.minerva.trino_cluster import TrinoCluster

QUERY_ID = "20260101_000000_00001_stand"
GATEWAY_QUERY = "0123456789abcdef0123456789abcdef"


class NeverEndingCoordinator:
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.deleted_at: float | None = None
        self.polls = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def running(self, poll: int) -> dict[str, Any]:
        return {
            "id": QUERY_ID,
            "infoUri": f"{self.url}/ui/query.html?{QUERY_ID}",
            "nextUri": f"{self.url}/v1/statement/executing/{QUERY_ID}/{poll}",
            "stats": {"state": "QUEUED" if poll == 0 else "RUNNING"},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        coordinator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _send(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._send(coordinator.running(0))

            def do_GET(self) -> None:
                time.sleep(0.05)
                coordinator.polls += 1
                self._send(coordinator.running(int(self.path.rsplit("/", 1)[1]) + 1))

            def do_DELETE(self) -> None:
                coordinator.deleted.append(self.path)
                coordinator.deleted_at = time.monotonic()
                self.send_response(204)
                self.end_headers()

        return Handler


@pytest.fixture
def coordinator() -> Iterator[NeverEndingCoordinator]:
    server = NeverEndingCoordinator()
    yield server
    server.close()


def trino_cluster(url: str) -> TrinoCluster:
    manifest = Cluster.model_validate(
        {
            "name": "minervatrino",
            "version": "v1",
            "type": "cluster",
            "cluster": {
                "type": "minerva",
                "minerva": {"depots": [{"address": "dataos://lakehouse"}]},
            },
        }
    )
    return TrinoCluster(manifest, url, timeout=5, attempts=1)


def test_a_cancel_deletes_the_statements_next_uri(coordinator: NeverEndingCoordinator) -> None:
    running = RunningQueries()
    running.begin(GATEWAY_QUERY, "ana", "test")
    cluster = trino_cluster(coordinator.url)
    outcome: list[object] = []

    def execute() -> None:
        register = running.registrar(GATEWAY_QUERY)
        outcome.append(cluster.execute("SELECT 1", (), "ana", register_interrupt=register))

    thread = threading.Thread(target=execute, daemon=True)
    thread.start()
    while coordinator.polls < 3:
        time.sleep(0.01)
    cancelled_at = time.monotonic()
    assert running.interrupt(GATEWAY_QUERY)
    thread.join(5)
    assert not thread.is_alive(), "the statement kept running after its cancel"
    assert coordinator.deleted_at is not None
    assert coordinator.deleted_at - cancelled_at < 1.0
    assert coordinator.deleted[0].startswith(f"/v1/statement/executing/{QUERY_ID}/")
    assert running.end(GATEWAY_QUERY) is True
    assert [q.query_id for q in running.snapshot()] == []


def test_a_cancel_before_the_coordinator_answers_still_reaches_it(
    coordinator: NeverEndingCoordinator,
) -> None:
    """The client has no URI to delete until the first answer: the cancel is applied again
    until it has one."""
    running = RunningQueries()
    running.begin(GATEWAY_QUERY, "ana", "test")
    assert running.interrupt(GATEWAY_QUERY)
    cluster = trino_cluster(coordinator.url)
    thread = threading.Thread(
        target=cluster.execute,
        args=("SELECT 1", (), "ana"),
        kwargs={"register_interrupt": running.registrar(GATEWAY_QUERY)},
        daemon=True,
    )
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert coordinator.deleted


def test_only_registered_statements_are_interrupted() -> None:
    running = RunningQueries(capacity=1)
    assert running.interrupt(GATEWAY_QUERY) is False
    running.begin(GATEWAY_QUERY, "ana", None)
    with pytest.raises(Exception, match="executing on this Gateway already"):
        running.begin("f" * 32, "bob", None)
    assert running.owner(GATEWAY_QUERY) == "ana"
    assert running.snapshot("bob") == []
    assert running.end(GATEWAY_QUERY) is False
