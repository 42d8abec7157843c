"""Replica processes: start one, tell whether it lives, probe it, stop it.

Each replica starts in a session of its own (``start_new_session``): its process group is
its pid, so stopping it reaches whatever it started too, and it does not share the API
server's terminal or signals. A pid is only ever signalled after :func:`verify` has checked
that it still is the process the supervisor started: same pid, same kernel start time
(``create_time``), a session leader, and the same command line (by digest). A pid reused by
another program, or one written into a tampered state file, fails the check and is left
alone. (A program that rewrites its own command line, ``setproctitle``-style, therefore is
not re-adopted after an API-server restart: it keeps running unsupervised and a new replica
starts; stop it by hand.)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # (no stubs in the lock)

INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
"""What a replica takes from the API server's environment: enough to find programs and
write temporary files, nothing that configures the platform (``DATAOS_DATABASE_URL``,
``DATAOS_SECRET_KEY`` stay out), as for the container stack's local jobs."""
LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT_S = 0.2
CREATE_TIME_TOLERANCE_S = 0.05


def command_digest(command: Sequence[str]) -> str:
    """What the state file keeps of a command line: its digest, to recognise the process."""
    return hashlib.sha256("\0".join(command).encode()).hexdigest()


def spawn(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session, stdout and stderr appended to ``log``.

    The log is opened with ``O_APPEND``: the supervisor can truncate it when rotating and
    the process keeps writing at its (new) end. Raises ``OSError`` when it cannot start."""
    base = {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env={**base, **env},
            stdin=subprocess.DEVNULL,
            stdout=descriptor,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(descriptor)


def create_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def verify(pid: int | None, started: float | None, digest: str | None) -> bool:
    """Whether ``pid`` is still the live process recorded with ``started`` and ``digest``."""
    if pid is None or started is None or pid <= 1 or pid == os.getpid():
        return False
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - started) > CREATE_TIME_TOLERANCE_S:
            return False
        if process.status() == psutil.STATUS_ZOMBIE or os.getsid(pid) != pid:
            return False
        return digest is None or command_digest(process.cmdline()) == digest
    except (psutil.Error, OSError):
        return False


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the replica's process group (its session); gone already is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def terminate(pid: int) -> None:
    signal_group(pid, signal.SIGTERM)


def kill(pid: int) -> None:
    signal_group(pid, signal.SIGKILL)


def free_port(taken: set[int]) -> int:
    """A port nobody listens on now and that no other replica was given: asked of the
    kernel (bind to port 0), so it is free at this instant; the replica binds it soon
    after (a race with an unrelated program is possible, then the replica crash-loops on
    that port once and gets a fresh one at its restart)."""
    for _ in range(64):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port
    raise OSError(errno.EADDRINUSE, "no free local port found")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is free
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def probe(port: int) -> bool:
    """The readiness probe: something accepts TCP connections on ``port``."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False
