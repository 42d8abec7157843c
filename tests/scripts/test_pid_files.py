"""Pid files left by a crash: ``scripts/pids.sh`` tells our live process from a dead pid, a
zombie and a pid reused by another program; ``down.sh`` signals only its own processes and
``rotate_log`` keeps the previous logs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIDS = ROOT / "scripts" / "pids.sh"


def shell(script: str, *args: str) -> str:
    done = subprocess.run(
        ["bash", "-c", f'source "{PIDS}"; {script}', "bash", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


def state(pid: int, expected: str = "dataos-ctl serve") -> str:
    return shell('pid_state "$1" "$2"', str(pid), expected)


@pytest.fixture
def server_like() -> Iterator[subprocess.Popen[bytes]]:
    """A process group whose leader's command line reads like ``dataos-ctl serve``."""
    process = subprocess.Popen(
        ["bash", "-c", "sleep 60; exit 0", "dataos-ctl", "serve"], start_new_session=True
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_live_process_running_the_command_is_ours(
    server_like: subprocess.Popen[bytes],
) -> None:
    assert state(server_like.pid) == "ours"
    assert state(server_like.pid, "dagster-daemon run") == "other"


def test_a_dead_pid_and_garbage_are_dead() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert state(gone.pid) == "dead"
    assert shell('pid_state "not-a-pid" x') == "dead"


def test_an_unreaped_child_is_a_zombie() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(100):
            if state(child.pid) == "zombie":
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert state(child.pid) == "zombie"
    finally:
        child.wait()


def test_a_pid_reused_by_another_program_is_not_ours() -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        assert state(other.pid) == "other"
    finally:
        other.kill()
        other.wait()


def test_down_removes_stale_pid_files_and_leaves_other_programs_alone(
    tmp_path: Path, server_like: subprocess.Popen[bytes]
) -> None:
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    reaper = threading.Thread(target=server_like.wait)  # as init reaps a leader up.sh started
    reaper.start()
    try:
        (tmp_path / "dagster.pid").write_text(f"{other.pid}\n")
        (tmp_path / "dagster-daemon.pid").write_text(f"{gone.pid}\n")
        (tmp_path / "api.pid").write_text(f"{server_like.pid}\n")
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "down.sh")],
            check=False,
            env={**os.environ, "DATAOS_HOME": str(tmp_path)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "API server stopped" in done.stdout
        assert "Dagster webserver (writable) was not running" in done.stdout
        assert "Dagster daemon was not running" in done.stdout
        assert other.poll() is None, "down.sh signalled a process it did not start"
        reaper.join(10)
        assert server_like.returncode == -signal.SIGTERM
        assert not list(tmp_path.glob("*.pid"))
    finally:
        other.kill()
        other.wait()


def test_rotate_log_keeps_the_previous_logs(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    for run in ("first", "second", "third"):
        shell('rotate_log "$1" 2', str(log))
        log.write_text(f"{run} run: Traceback ...\n")
    assert log.read_text().startswith("third")
    assert (tmp_path / "api.log.1").read_text().startswith("second")
    assert (tmp_path / "api.log.2").read_text().startswith("first")
    assert not (tmp_path / "api.log.3").exists()
