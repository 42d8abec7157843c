"""The DataOS side of the compile + load figures, as a code location Dagster can load.

Like ``dataos_defs.location.definitions``, ``defs`` is lazy: Dagster calls it while loading the
location, so compiling is inside the timed load, and it compiles what the real location
compiles (:func:`~dataos_defs.location.definitions.compile_location`: executors, depot resources,
the steps' executor). Dagster calls a lazy definitions function twice per load; like the
real location, which keeps what it compiled while the store's change marker stays the
same, this one compiles once per process. :func:`prepare` validates the manifests into
models beforehand (in the real location that is reading the Poros store, timed apart).
"""

from __future__ import annotations

from dagster import Definitions, definitions

from dataos_defs.compile import CompileInput
from dataos_defs.location.definitions import compile_location
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.workflow import Workflow
from spine2_support.workflows import OWNER, WORKSPACE, depot_manifests, workflow_manifest

INPUTS: list[CompileInput] = []
COMPILED: list[Definitions] = []


def prepare(count: int) -> None:
    depots = [CompileInput(Depot.model_validate(m), None, OWNER) for m in depot_manifests()]
    INPUTS[:] = depots + [
        CompileInput(Workflow.model_validate(workflow_manifest(i)), WORKSPACE, OWNER)
        for i in range(count)
    ]
    COMPILED.clear()


@definitions
def defs() -> Definitions:
    if not COMPILED:
        COMPILED.append(compile_location(INPUTS))
    return COMPILED[0]
