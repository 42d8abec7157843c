"""A real API server (uvicorn, started by ``dataos-ctl serve``) on 127.0.0.1 for each module.

The server bootstraps its operator on first start; tests authenticate with the operator's
API key, read from the credentials file the server wrote (``Server.api_key``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dataos_defs.heimdall.credentials import credentials_path, read_credentials
from dataos_defs.manifest.loader import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "dataos_defs.cli"]


@dataclass
class Server:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    api_key: str

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a CLI call as the bootstrap operator."""
        env = {
            **os.environ,
            "DATAOS_API_URL": self.url,
            "DATAOS_HOME": str(self.home),
            "DATAOS_API_KEY": self.api_key,
        }
        env.update(extra)
        return env

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def log(self) -> str:
        return (self.home / "api.log").read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    home: Path,
    *,
    command: tuple[str, ...] = ("serve",),
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
    timeout: float = 120.0,
) -> Server:
    """Start ``dataos-ctl serve`` (or ``heimdall serve``) on ``home`` (its SQLite store, log
    and credentials), with ``extra_env`` added to its environment."""
    port = free_port()
    env = {**os.environ, "DATAOS_HOME": str(home)}
    for name in ("DATAOS_DATABASE_URL", "DATAOS_API_KEY", "DATAOS_API_URL"):
        env.pop(name, None)
    env.update(extra_env or {})
    log = (home / "api.log").open("wb")
    process = subprocess.Popen(
        [*CLI, *command, "--port", str(port), "--log-level", "warning", "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((home / "api.log").read_text())
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                credentials = read_credentials(credentials_path(home))
                if credentials is None:
                    raise RuntimeError(f"no credentials file in {home}")
                return Server(url, home, process, credentials.api_key)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"API server did not start in {timeout:.0f} s")


def stop_server(server: Server, keep_workloads: bool = False) -> None:
    """Stop the server, then any Service or Worker replica it leaves behind (one killed
    before it stopped its replicas): a test run must not leak processes. ``keep_workloads``
    leaves them for a server restarted on the same home, which re-adopts them."""
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    if not keep_workloads and (server.home / "workloads" / "state.json").exists():
        env = {**os.environ, "DATAOS_HOME": str(server.home)}
        subprocess.run(
            [sys.executable, "-m", "dataos_defs.poros.supervisor", "stop"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("dataos-home")
    running = start_server(home)
    yield running
    stop_server(running)


def run_cli(
    server: Server | None, *args: str, cwd: Path = ROOT, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the real ``dataos-ctl`` in a subprocess."""
    base = server.env(**env) if server else {**os.environ, **env}
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=base, capture_output=True, text=True, timeout=120, check=False
    )


def wire(text: str, file: str = "m.yaml") -> list[dict[str, object]]:
    """Manifests as the CLI sends them to ``/poros/api/v1/apply`` (with positions)."""
    documents, issues = parse_yaml(text, file)
    assert not issues, issues
    return [
        {"manifest": d.data, "file": d.file, "index": d.index, "positions": d.source.to_json()}
        for d in documents
    ]


def user_key(server: Server, user_id: str, tags: list[str], kind: str = "person") -> str:
    """Create a user (as the operator) with ``tags`` and return a fresh API key of theirs."""
    with httpx.Client(base_url=server.url, headers=server.headers) as operator:
        created = operator.post(
            "/heimdall/api/v1/users", json={"id": user_id, "type": kind, "tags": tags}
        )
        assert created.status_code == 201, created.text
        key = operator.post(f"/heimdall/api/v1/users/{user_id}/apikeys", json={"name": "t"})
        assert key.status_code == 201, key.text
        return str(key.json()["key"])
