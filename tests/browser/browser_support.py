"""The platform as ``make up`` runs it (``scripts/up.sh``), for the browser tests.

The API server, one Dagster code server on a unix socket, the writable webserver that the
API server reconciles through, and the read-only webserver (``--read-only --path-prefix
/dagster``) that the browser reaches only through the API server's door, ``/dagster/``. The
daemon is left out: nothing here is scheduled or queued.

Imported as ``from browser_support import ...`` (pytest puts this folder on ``sys.path``; the
folder's conftest puts ``tests/dagster`` there for ``dagster_support``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster_support import (
    DAGSTER,
    ROOT,
    Dagster,
    dagster_env,
    interfaces,
    stop_dagster,
)

from dataos_defs.adapters.dagster_graphql import DagsterGraphQL, DagsterGraphQLError

WEBSERVER = DAGSTER.parent / "dagster-webserver"
LOCATION = "dataos"


@dataclass
class Platform:
    server: Any  # the interface tests' Server: the API server and its door
    dagster: Dagster  # the writable webserver (never shown to the browser)
    ui: Dagster  # the read-only webserver behind the door

    @property
    def door(self) -> str:
        return f"{self.server.url}/dagster"


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_loaded(dagster: Dagster, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with DagsterGraphQL(dagster.url, timeout=10, location=LOCATION) as client:
        while time.monotonic() < deadline:
            if dagster.process.poll() is not None:
                raise RuntimeError(dagster.log.read_text())
            with contextlib.suppress(DagsterGraphQLError):
                if client.location_state().load_status == "LOADED":
                    return
            time.sleep(0.5)
    raise RuntimeError(f"{dagster.url} did not load its code location in {timeout} s")


@contextlib.contextmanager
def door_platform(
    home: Path, prepare: Callable[[dict[str, str]], None] | None = None
) -> Iterator[Platform]:
    """``make up``'s Dagster topology on free ports, every process in its own group."""
    helpers = interfaces()
    internal, ui_port = helpers.free_port(), helpers.free_port()
    internal_url, ui_url = f"http://127.0.0.1:{internal}", f"http://127.0.0.1:{ui_port}"
    env = dagster_env(home)
    if prepare is not None:
        prepare(env)
    # As up.sh does: the instance's storage first, while the API server starts.
    migrate = _start([str(DAGSTER), "instance", "migrate"], env, home / "dagster-instance.log")
    server = helpers.start_server(
        home, extra_env={"DAGSTER_WEBSERVER_URL": internal_url, "DAGSTER_UI_URL": ui_url}
    )
    sockets = Path(tempfile.mkdtemp(prefix="dataos-dagster."))
    started: list[Dagster] = []
    try:
        if migrate.wait(timeout=120) != 0:
            raise RuntimeError((home / "dagster-instance.log").read_text())
        workspace = Path(env["DAGSTER_HOME"]) / "workspace.yaml"
        socket = sockets / "code.sock"
        workspace.write_text(
            f"load_from:\n  - grpc_server:\n      socket: {socket}\n"
            f"      location_name: {LOCATION}\n"
        )
        code = _start(
            [
                *(str(DAGSTER), "code-server", "start", "--socket", str(socket)),
                *("--location-name", LOCATION, "-m", "dataos_defs.location.definitions"),
                *("-a", "defs", "-d", str(ROOT)),
            ],
            env,
            home / "dagster-code.log",
        )
        started.append(Dagster("", code, home / "dagster-code.log"))
        # As up.sh does: the webservers start once the code server serves (it binds its
        # socket when the code has loaded); a gRPC client that finds no socket backs off.
        deadline = time.monotonic() + 120
        while not socket.is_socket():
            if code.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "dagster-code.log").read_text())
            time.sleep(0.2)
        writable = _start(
            [str(WEBSERVER), "-h", "127.0.0.1", "-p", str(internal), "-w", str(workspace)],
            env,
            home / "dagster.log",
        )
        started.append(Dagster(internal_url, writable, home / "dagster.log"))
        read_only = _start(
            [
                *(str(WEBSERVER), "--read-only", "--path-prefix", "/dagster"),
                *("-h", "127.0.0.1", "-p", str(ui_port), "-w", str(workspace)),
            ],
            env,
            home / "dagster-ui.log",
        )
        started.append(Dagster(f"{ui_url}/dagster", read_only, home / "dagster-ui.log"))
        _wait_loaded(started[1])
        _wait_loaded(started[2])
        yield Platform(server, started[1], started[2])
    finally:
        for dagster in reversed(started):
            stop_dagster(dagster)
        helpers.stop_server(server)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        shutil.rmtree(sockets, ignore_errors=True)
