"""Imported by the forkserver of the steps' executor: compile the location once per run.

The multiprocess executor of :mod:`dataos_defs.location.definitions` forks every step process from a
server that preloads this module. Importing it imports Dagster and the platform and
compiles the Definitions from the store, so each step process starts with both in memory;
loading the location there costs one query (the store's change marker) instead of imports,
validation and compiling.

Whatever fails here is left to the step processes: they load the location as usual and
report the problem where the run shows it (an import error would only stop the server).
What the server holds then is frozen out of the garbage collector's reach, as Python
advises before forking, so the steps neither scan nor copy it.
"""

from __future__ import annotations

import contextlib
import gc

from dataos_defs.location.definitions import build_definitions

with contextlib.suppress(Exception):
    build_definitions()
gc.freeze()
