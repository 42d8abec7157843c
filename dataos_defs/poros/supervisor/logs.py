"""Replica logs: one file per replica, rotated by size, read by tail or followed.

A replica writes its stdout and stderr straight into
``<home>/workloads/<kind>/<workspace>/<name>/logs/<replica>.log`` (no pipe through the API
server, so it keeps writing while no supervisor runs). The supervisor bounds it by
*copy-and-truncate*: once the file is over :data:`LOG_MAX_BYTES` it is copied to
``<replica>.log.1`` (replacing the previous one) and truncated in place; the replica's
descriptor is in append mode, so it writes on at the new end. At most about twice the limit
is kept per replica, plus what it writes between two checks of the loop. Lines written
between the copy and the truncation can be lost: a trade for never stopping the process.

What a replica prints is its own business, and may quote data or even a secret it was
given: reading logs is authorized like a workflow's (``/logs`` and run-as, see
:mod:`dataos_defs.api.workload_routes`); the supervisor itself writes only start and stop
lines naming revision, restart count, pid and ports.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

LOG_MAX_BYTES_ENV = "DATAOS_WORKLOAD_LOG_MAX_BYTES"
LOG_MAX_BYTES = 4 * 1024 * 1024
FOLLOW_POLL_S = 0.2
HEARTBEAT_S = 5.0
""":func:`follow` yields an empty string after this long without output, so that its
consumer can notice a client that left (and close the iterator)."""
ALL_LINES = -1


def log_max_bytes() -> int:
    raw = os.environ.get(LOG_MAX_BYTES_ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) >= 1024 else LOG_MAX_BYTES


def rotated(path: Path) -> Path:
    return path.with_name(path.name + ".1")


def rotate(path: Path, limit: int) -> bool:
    """Copy-and-truncate ``path`` once it exceeds ``limit`` bytes; whether it did."""
    try:
        if path.stat().st_size <= limit:
            return False
        shutil.copyfile(path, rotated(path))
        os.chmod(rotated(path), 0o600)
        with path.open("r+b") as handle:
            handle.truncate(0)
    except FileNotFoundError:
        return False
    return True


def note(path: Path, text: str) -> None:
    """A line of the supervisor's own in a replica's log (never a secret: callers pass
    names, numbers and reasons only)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, f"[dataos supervisor {stamp}] {text}\n".encode())
    finally:
        os.close(descriptor)


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines (:data:`ALL_LINES`: all) of the rotated and current file."""
    kept: deque[str] = deque(maxlen=None if lines == ALL_LINES else max(lines, 0))
    for source in (rotated(path), path):
        try:
            with source.open("rb") as handle:
                for raw in handle:
                    kept.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
        except FileNotFoundError:
            continue
    return list(kept)


def follow(path: Path, alive: Callable[[], bool]) -> Iterator[str]:
    """New lines of ``path`` from now on, until ``alive()`` turns false and nothing more
    comes; rotation (the file shrinking) is followed from its new start."""
    position = path.stat().st_size if path.exists() else 0
    pending = b""
    quiet_since = time.monotonic()
    while True:
        chunk, position = _read_from(path, position)
        if chunk:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                yield raw.decode("utf-8", errors="replace")
            quiet_since = time.monotonic()
            continue
        if not alive():
            if pending:
                yield pending.decode("utf-8", errors="replace")
            return
        if time.monotonic() - quiet_since >= HEARTBEAT_S:
            quiet_since = time.monotonic()
            yield ""
        time.sleep(FOLLOW_POLL_S)


def _read_from(path: Path, position: int) -> tuple[bytes, int]:
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < position:
                position = 0
            handle.seek(position)
            chunk = handle.read(1024 * 1024)
    except FileNotFoundError:
        return b"", 0
    return chunk, position + len(chunk)
