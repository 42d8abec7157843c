"""The ingress against real parts: an API server (uvicorn, in this process, on 127.0.0.1)
and real stdlib HTTP servers standing in for a Service's replicas.

The workload runtime is the one thing replaced: :class:`StaticWorkloads` implements the
:class:`~dataos_defs.poros.workloads.Workloads` protocol over the replica servers a test
starts, so that a test decides which replicas are ready. Every replica records what reached
it (method, path, headers, body), which is how the tests see exactly what was forwarded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dataos_defs.api.app import create_app
from dataos_defs.heimdall.credentials import credentials_path, read_credentials
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.workloads import Endpoint, Replica, WorkloadRuntime

SERVICE = """\
name: {name}
version: v1
type: service
{owner}service:
  servicePort: 8080
  replicas: 2
{ingress}  stack: container
  compute: runnable-default
  stackSpec: {{image: python:3.11, command: [python, -c, "pass"]}}
"""


def service_yaml(
    name: str, *, ingress: str | None = None, owner: str | None = None, workspace: str | None = None
) -> str:
    text = SERVICE.format(
        name=name,
        owner=f"owner: {owner}\n" if owner else "",
        ingress=f"  ingress: {ingress}\n" if ingress else "",
    )
    return (
        text.replace("type: service\n", f"type: service\nworkspace: {workspace}\n")
        if workspace
        else text
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReplicaServer:
    """A replica: answers every method with JSON naming itself and what it received."""

    def __init__(self, name: str, *, delay: float = 0.0) -> None:
        self.name = name
        self.requests: list[dict[str, Any]] = []
        replica = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = -1  # one write per answer (no delayed-ACK stalls on keep-alive)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._chunked()
                else:
                    body = self.rfile.read(length) if length else b""
                seen = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body_length": len(body),
                }
                replica.requests.append(seen)
                if delay:
                    time.sleep(delay)
                answer = json.dumps({"replica": replica.name, **seen}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("Set-Cookie", "tracking=1; Path=/")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)

            def _chunked(self) -> bytes:
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def endpoint(self) -> Endpoint:
        return Endpoint(self.name, "127.0.0.1", self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class StaticWorkloads:
    """The Workloads protocol over endpoints a test sets (ready replicas only)."""

    ready: dict[tuple[str, str], list[Endpoint]] = field(default_factory=dict)

    def reconcile(self, desired: Sequence[StoredResource]) -> None:
        return None

    def runtime(self, kind: str, workspace: str, name: str) -> WorkloadRuntime | None:
        found = self.ready.get((workspace, name))
        if found is None:
            return None
        replicas = tuple(Replica(e.replica, "ready", 1) for e in found)
        return WorkloadRuntime(kind, workspace, name, 1, 2, replicas, reason="test runtime")

    def endpoints(self, workspace: str, name: str, port: str | None = None) -> list[Endpoint]:
        return list(self.ready.get((workspace, name), []))

    def logs(
        self, kind: str, workspace: str, name: str, replica: str | None, lines: int
    ) -> list[str]:
        return []

    def follow(self, kind: str, workspace: str, name: str, replica: str | None) -> Iterator[str]:
        return iter(())

    def close(self) -> None:
        return None


@dataclass
class Platform:
    url: str
    home: Path
    api_key: str
    workloads: StaticWorkloads
    app: Any

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def apply(self, text: str, workspace: str | None = None) -> httpx.Response:
        from tests.interfaces.conftest import wire

        body = {"documents": wire(text), "workspace": workspace, "dry_run": False}
        return httpx.post(
            f"{self.url}/poros/api/v1/apply", json=body, headers=self.headers, timeout=60
        )

    def user_key(self, user_id: str, tags: list[str]) -> str:
        from tests.interfaces.conftest import user_key

        return user_key(self, user_id, tags)  # type: ignore[arg-type]

    def wait_routed(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """Wait (briefly) until the routing table has seen a Service just applied."""
        deadline = time.monotonic() + 5
        while True:
            answer = httpx.get(self.url + path, headers=headers or self.headers)
            if answer.status_code != 404 or time.monotonic() > deadline:
                return answer
            time.sleep(0.05)


def start_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The body of a module's ``platform`` fixture (``yield from start_platform(...)``)."""
    home = tmp_path_factory.mktemp("dataos-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATAOS_HOME", str(home))
        env.setenv("DATAOS_INGRESS_MAX_BODY", str(1 << 20))
        env.setenv("DATAOS_INGRESS_TIMEOUT", "3")
        for name in ("DATAOS_DATABASE_URL", "DATAOS_API_KEY", "DATAOS_API_URL"):
            env.delenv(name, raising=False)
        app = create_app(home=home, api_url=url)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the API server did not start in 30 s"
            assert thread.is_alive(), "the API server stopped"
            time.sleep(0.05)
        # The server's own runtime (the embedded supervisor) stops: the replicas here are
        # the test's servers, not processes it would start for the applied Services.
        sync = getattr(app.state, "workload_sync", None)
        if sync is not None:
            sync.stop()
        embedded = getattr(app.state, "workloads", None)
        if embedded is not None:
            embedded.close()
        workloads = StaticWorkloads()
        app.state.workloads = workloads
        credentials = read_credentials(credentials_path(home))
        assert credentials is not None
        try:
            yield Platform(url, home, credentials.api_key, workloads, app)
        finally:
            server.should_exit = True
            thread.join(timeout=15)


def start_replicas() -> Iterator[list[ReplicaServer]]:
    """Two replica servers, ``r0`` and ``r1``, stopped afterwards."""
    started = [ReplicaServer(f"r{i}") for i in range(2)]
    yield started
    for replica in started:
        replica.stop()


class SocketReplica:
    """A websocket replica: answers ``headers`` with the handshake headers it saw (JSON),
    and echoes every other message, text or binary, prefixed with its name."""

    def __init__(self, name: str) -> None:
        import asyncio

        from websockets.asyncio.server import ServerConnection, serve

        self.name = name
        self.port = free_port()
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def handler(connection: ServerConnection) -> None:
            seen = {k.lower(): v for k, v in connection.request.headers.raw_items()}
            async for message in connection:
                if message == "headers":
                    await connection.send(json.dumps({"path": connection.request.path, **seen}))
                elif isinstance(message, bytes):
                    await connection.send(name.encode() + b":" + message)
                else:
                    await connection.send(f"{name}:{message}")

        async def main() -> None:
            async with serve(handler, "127.0.0.1", self.port, subprotocols=None) as server:
                self.server = server
                ready.set()
                await server.serve_forever()

        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(main(),), daemon=True
        )
        self.thread.start()
        ready.wait(10)

    def endpoint(self) -> Endpoint:
        return Endpoint(self.name, "127.0.0.1", self.port)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.thread.join(timeout=10)
