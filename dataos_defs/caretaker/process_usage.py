"""CPU seconds and peak memory of a local replica, read with ``psutil``.

A replica is its own session leader; what it forks counts with it (its descendants, up to
:data:`MAX_DESCENDANTS`). CPU seconds are user + system time of the process, of its
reaped children and of its live descendants. Peak memory is the larger of the kernel's
high-water mark of the leader's resident set (``VmHWM`` in ``/proc/<pid>/status``, Linux)
and the resident set of the whole tree now; the caller keeps the highest seen.

A pid is only read when its kernel start time matches the replica's recorded start (within
:data:`START_TOLERANCE_S`): a pid reused by another program is never measured as the
replica. Figures of a process that has exited cannot be read any more: they stay as last
sampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # (no stubs in the lock)

MAX_DESCENDANTS = 64
START_TOLERANCE_S = 5.0
"""The supervisor notes a replica's start just after ``Popen`` returns: within seconds."""


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    peak_memory_bytes: int


def usage(pid: int, started_s: float) -> Usage | None:
    """The figures of replica process ``pid`` started at ``started_s``; ``None`` when it is
    gone, not readable, or not that process."""
    try:
        leader = psutil.Process(pid)
        if abs(leader.create_time() - started_s) > START_TOLERANCE_S:
            return None
        with leader.oneshot():
            times = leader.cpu_times()
            cpu = times.user + times.system + times.children_user + times.children_system
            resident = int(leader.memory_info().rss)
        for child in leader.children(recursive=True)[:MAX_DESCENDANTS]:
            try:
                child_times = child.cpu_times()
                cpu += child_times.user + child_times.system
                resident += int(child.memory_info().rss)
            except psutil.Error:
                continue
    except psutil.Error:
        return None
    return Usage(cpu, max(resident, _high_water_mark(pid)))


def _high_water_mark(pid: int) -> int:
    """``VmHWM`` of ``pid`` in bytes (0 where ``/proc`` does not have it)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return 0
