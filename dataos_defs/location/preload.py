"""Imported by the forkserver of the steps' executor: compile the location once per run.

The multiprocess executor of :mod:`dataos_defs.location.definitions` forks every step process from a
server that preloads this module. Importing it imports Dagster and the platform and
compiles the Definitions from the store, so each step process starts with both in memory;
loading the location there costs one query (the store's change marker) instead of imports,
validation and compiling.

The modules a step needs beyond the location are imported here too: the run-time
governance (Heimdall, the Gateway's data policies and rewrite: about 0.25 s of imports)
and the flare and soda stacks (about 0.8 s). Great Expectations, which the soda stack's
checks run on, is *not* preloaded: its 5-9 s of imports would delay the first step of every
run of every workflow (a run worker starts its own forkserver), while imported by the soda
step itself it costs only the runs that check quality, once per step, never per check.
Nothing is *built* here: Heimdall keeps a writer thread for its decision log and the store
a pool of connections, neither of which survives a fork, so each step process builds its
own on first use (about 40 ms, see ``benchmarks/run_governance.py``) and reuses them for
the rest of its life.

Whatever fails here is left to the step processes: they load the location as usual and
report the problem where the run shows it (an import error would only stop the server).
What the server holds then is frozen out of the garbage collector's reach, as Python
advises before forking, so the steps neither scan nor copy it.
"""

from __future__ import annotations

import contextlib
import gc
import importlib

from dataos_defs.location.definitions import build_definitions

STEP_MODULES = (
    "dataos_defs.location.governance",
    "dataos_defs.stacks.flare",
    "dataos_defs.stacks.soda",
)

with contextlib.suppress(Exception):
    build_definitions()
for _module in STEP_MODULES:
    with contextlib.suppress(Exception):
        importlib.import_module(_module)
gc.freeze()
