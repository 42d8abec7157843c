"""Bundles against a real API server (uvicorn, in this process, on 127.0.0.1).

The one part replaced is the workload runtime of Services and Workers: :class:`Workloads`
implements the :class:`~dataos_defs.poros.workloads.Workloads` protocol with runtimes a
test sets, so that a test decides when a Service is ``running:N``. The CLI runs for real,
in a subprocess, against this server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dataos_defs.api.app import create_app
from dataos_defs.heimdall.credentials import credentials_path, read_credentials
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.workloads import Endpoint, Replica, WorkloadRuntime

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "dataos_defs.cli"]


@dataclass
class Workloads:
    """Runtimes by (kind, workspace, name): ``ready`` replicas of ``desired``."""

    ready: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def reconcile(self, desired: Sequence[StoredResource]) -> None:
        return None

    def runtime(self, kind: str, workspace: str, name: str) -> WorkloadRuntime | None:
        count = self.ready.get((kind, workspace, name))
        if count is None:
            return None
        replicas = tuple(Replica(f"{name}-{i}", "ready", 1) for i in range(count))
        return WorkloadRuntime(kind, workspace, name, 1, max(count, 1), replicas)

    def endpoints(self, workspace: str, name: str, port: str | None = None) -> list[Endpoint]:
        return []

    def logs(
        self, kind: str, workspace: str, name: str, replica: str | None, lines: int
    ) -> list[str]:
        return []

    def follow(self, kind: str, workspace: str, name: str, replica: str | None) -> Iterator[str]:
        return iter(())

    def close(self) -> None:
        return None


def wire(text: str, file: str = "bundle.yaml") -> list[dict[str, Any]]:
    documents, issues = parse_yaml(text, file)
    assert not issues, issues
    return [
        {"manifest": d.data, "file": d.file, "index": d.index, "positions": d.source.to_json()}
        for d in documents
    ]


@dataclass
class Platform:
    url: str
    home: Path
    api_key: str
    workloads: Workloads
    app: Any

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.api_key}"}

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=self.headers(key), timeout=60, **kw)

    def apply(self, text: str, key: str | None = None, dry_run: bool = False) -> httpx.Response:
        body = {"documents": wire(text), "workspace": None, "dry_run": dry_run}
        return self.call("POST", "/poros/api/v1/apply", key, json=body)

    def bundle(self, name: str) -> dict[str, Any]:
        answer = self.call("GET", f"/poros/api/v1/bundles/{name}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def wait_bundle(self, name: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.bundle(name)
            if found["status"] != "pending" or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def get(self, kind: str, name: str, workspace: str | None = None) -> httpx.Response:
        params = {"workspace": workspace} if workspace else {}
        return self.call("GET", f"/poros/api/v1/resources/{kind}/{name}", params=params)

    def history(self, kind: str, name: str, workspace: str | None = None) -> list[Any]:
        params = {"workspace": workspace} if workspace else {}
        found = self.call("GET", f"/poros/api/v1/resources/{kind}/{name}/history", params=params)
        return list(found.json()["revisions"]) if found.status_code == 200 else []

    def user_key(self, user_id: str, tags: list[str]) -> str:
        created = self.call(
            "POST", "/heimdall/api/v1/users", json={"id": user_id, "type": "person", "tags": tags}
        )
        assert created.status_code == 201, created.text
        key = self.call("POST", f"/heimdall/api/v1/users/{user_id}/apikeys", json={"name": "t"})
        assert key.status_code == 201, key.text
        return str(key.json()["key"])

    def cli(self, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "DATAOS_API_URL": self.url,
            "DATAOS_HOME": str(self.home),
            "DATAOS_API_KEY": self.api_key,
        }
        return subprocess.run(
            [*CLI, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("dataos-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATAOS_HOME", str(home))
        env.setenv("DATAOS_BUNDLE_POLL_S", "0.1")
        for name in ("DATAOS_DATABASE_URL", "DATAOS_API_KEY", "DATAOS_API_URL"):
            env.delenv(name, raising=False)
        env.delenv("DAGSTER_WEBSERVER_URL", raising=False)
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
        workloads = Workloads()
        app.state.workloads = workloads
        credentials = read_credentials(credentials_path(home))
        assert credentials is not None
        try:
            yield Platform(url, home, credentials.api_key, workloads, app)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
