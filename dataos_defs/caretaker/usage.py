"""What a step process used: CPU seconds and peak memory, measured by the kernel for free.

A DataOS job runs in a process of its own (forked per step, see
``dataos_defs.location.preload``), so the process's own figures are the step's: CPU time
(user + system) and the peak resident set (``ru_maxrss``, which Linux restarts for a forked
child). Reading them is one ``getrusage`` call (a few microseconds); no sampling thread.
CPU is measured from the executor's start to its end, so a step run in-process beside
others (``execute_in_process``) still gets its own CPU; its peak memory is then the
process's. The names are those the recorder reads back from the step's engine event.
"""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass

USAGE_MESSAGE = "dataos: step resource use"
CPU_KEY = "dataos/cpu_seconds"
PEAK_MEMORY_KEY = "dataos/peak_memory_bytes"
EXIT_CODE_KEY = "dataos/exit_code"
JOB_KEY = "dataos/job"
COMPUTE_KEY = "dataos/compute"
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024
"""``ru_maxrss`` is in bytes on macOS, in kilobytes on Linux."""


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    peak_memory_bytes: int


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def since(cpu_at_start: float) -> Usage:
    """The CPU used since ``cpu_at_start`` (a :func:`cpu_seconds`) and the peak memory."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    used = max(0.0, own.ru_utime + own.ru_stime - cpu_at_start)
    return Usage(round(used, 6), int(own.ru_maxrss) * _MAXRSS_UNIT)


def exit_code_of(error: BaseException | None) -> int:
    """0 for a step that ended well; the process's exit code when the failure carries one
    (the container stack's ``ContainerExitError``), else 1."""
    if error is None:
        return 0
    code = getattr(error, "exit_code", None)
    return code if isinstance(code, int) and not isinstance(code, bool) else 1
