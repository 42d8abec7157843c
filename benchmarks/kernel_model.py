"""Issue 12 target: the kernel model of 200 Computes x 100 workspaces builds in <= 1 s, and
the time grows linearly with the desired state.

The desired state is made in memory (typed Compute and Service models, as the loader hands
them over): Computes with a node selector and two tolerations each, one Service with an
ingress per workspace, and the example's settings (``terraform/kernel.yaml``). Only
:func:`build_model` is timed (best of 15 rounds), at three sizes that double each time; the
ratio per doubling should stay near 2 (linear), far from 4 (quadratic).
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataos_defs.kernel.desired import DesiredState
    from dataos_defs.kernel.settings import KernelSettings

ROOT = Path(__file__).resolve().parents[1]
SIZES = ((50, 25), (100, 50), (200, 100))
"""(Computes, workspaces): the last one is the target's."""
ROUNDS = 15
"""Best of: the machine is shared, the fastest round is the one least disturbed."""
GOAL_S = 1.0
LINEAR_RATIO = 3.0
"""Above this per doubling the growth is no longer linear (quadratic gives 4)."""


def _desired(computes: int, workspaces: int) -> DesiredState:
    from dataos_defs.kernel.desired import DesiredState
    from dataos_defs.manifest.compute import Compute
    from dataos_defs.manifest.service import Service

    pools = [
        Compute.model_validate(
            {
                "name": f"pool-{n:04d}",
                "version": "v1",
                "type": "compute",
                "compute": {
                    "dataplane": "hub",
                    "purpose": ("runnable", "query", "gpu")[n % 3],
                    "nodePool": {
                        "nodeSelector": {"dataos.io/pool": f"pool-{n:04d}", "team": "t"},
                        "tolerations": [
                            {"key": "dedicated", "value": f"p{n}", "effect": "NoSchedule"},
                            {"key": "spot", "operator": "Exists"},
                        ],
                    },
                },
            }
        )
        for n in range(computes)
    ]
    spaces = [f"team-{n:04d}" for n in range(workspaces)]
    services = [
        (
            space,
            Service.model_validate(
                {
                    "name": "api",
                    "version": "v1",
                    "type": "service",
                    "service": {
                        "servicePort": 8080,
                        "ingress": {"enabled": True, "path": f"/{space}/api"},
                        "stack": "container",
                        "compute": "runnable-default",
                        "stackSpec": {"image": "registry.example.com/api:1"},
                    },
                }
            ),
        )
        for space in spaces
    ]
    return DesiredState(tuple(pools), tuple(services), tuple(spaces))


def _seconds(settings: KernelSettings, desired: DesiredState) -> tuple[float, float]:
    """Best wall and best CPU time of ``build_model``; CPU time is what the ratio uses: on a
    machine shared with other work, wall time also counts the moments this process waited."""
    from dataos_defs.kernel.mapping import build_model

    wall, cpu = [], []
    for _ in range(ROUNDS):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        build_model(settings, "aws", desired)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return min(wall), min(cpu)


def main() -> None:
    from dataos_defs.kernel.load import load_settings

    settings = load_settings(ROOT / "terraform" / "kernel.yaml")
    print(f"kernel model (issue 12): build_model, best of {ROUNDS} rounds")
    previous = None
    wall = 0.0
    ratios = []
    for computes, workspaces in SIZES:
        wall, cpu = _seconds(settings, _desired(computes, workspaces))
        ratio = ""
        if previous:
            ratios.append(cpu / previous)
            ratio = f"   x{ratios[-1]:.2f} per doubling (CPU)"
        print(
            f"  {computes:>4} Computes x {workspaces:>4} workspaces"
            f"  wall {wall * 1000:7.1f} ms  CPU {cpu * 1000:7.1f} ms{ratio}"
        )
        previous = cpu
    fast = "ok" if wall <= GOAL_S else "MISSED"
    linear = "ok" if max(ratios) < LINEAR_RATIO else "MISSED"
    print(f"  target: 200 x 100 <= {GOAL_S:.0f} s wall: {fast}; linear: {linear}")


if __name__ == "__main__":
    main()
