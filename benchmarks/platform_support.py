"""What the benchmarks that need a real ``dagster dev`` share: a free port and the process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTANCE_YAML = """\
storage:
  sqlite:
    base_dir: {home}/storage
run_launcher:
  module: dagster._core.launcher
  class: DefaultRunLauncher
telemetry:
  enabled: false
"""
CLEARED_ENV = ("DATAOS_DATABASE_URL", "DAGSTER_WEBSERVER_URL", "DATAOS_API_KEY")
"""What a benchmark's processes must not inherit from the shell that runs ``make bench``."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def dagster_dev(home: Path, port: int | None = None, timeout: float = 180) -> Iterator[str]:
    """``dagster dev`` on ``home``'s store, once its code location has loaded: its URL."""
    from dataos_defs.adapters.dagster_graphql import DagsterGraphQL, DagsterGraphQLError

    dagster_home = home / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML.format(home=dagster_home))
    env = {**os.environ, "DATAOS_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    for name in CLEARED_ENV:
        env.pop(name, None)
    port = port or free_port()
    command = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml"]
    with (home / "dagster.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        with DagsterGraphQL(url, timeout=30) as client:
            while True:
                with contextlib.suppress(DagsterGraphQLError):
                    if client.location_state().load_status == "LOADED":
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((home / "dagster.log").read_text()[-2000:])
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
