"""Issue 16: ``dataos-ctl --help`` and a Tab completion answer, wall time per process.

Both start a fresh interpreter, as a shell does; the goal is 150 ms each. The baseline is
``python -c pass`` in the same run, so a busy machine shows in both figures. Completion
asks for Resource types (``get -t wo<Tab>``), which needs no server.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "dataos-ctl"
GOAL_MS = 150.0
RUNS = 15


def _wall_ms(command: list[str], env: dict[str, str]) -> float:
    """The median wall time of ``RUNS`` runs, after one warm-up run."""
    times = []
    for run in range(RUNS + 1):
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)
        if run:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    env = dict(os.environ)
    complete = {
        **env,
        "_DATAOS_CTL_COMPLETE": "complete_bash",
        "COMP_WORDS": "dataos-ctl get -t wo",
        "COMP_CWORD": "3",
    }
    baseline = _wall_ms([sys.executable, "-c", "pass"], env)
    help_ms = _wall_ms([str(CLI), "--help"], env)
    tab_ms = _wall_ms([str(CLI)], complete)
    print(f"dataos-ctl startup (median of {RUNS} runs; goal <= {GOAL_MS:.0f} ms)")
    print(f"  baseline python -c pass   {baseline:7.1f} ms")
    for label, value in (("dataos-ctl --help", help_ms), ("completion get -t wo<Tab>", tab_ms)):
        verdict = "ok" if value <= GOAL_MS else "over goal"
        print(f"  {label:<26}{value:7.1f} ms  {verdict}")


if __name__ == "__main__":
    main()
