"""The DataOS side of the compile + load figures, as a code location Dagster can load.

Like ``dataos_defs.definitions``, ``defs`` is lazy: Dagster calls it while loading the
location, so compiling is inside the timed load. :func:`prepare` validates the manifests
into models beforehand (in the real location that is reading the Poros store, timed apart).
"""

from __future__ import annotations

from dagster import Definitions, definitions

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.executors import executors
from dataos_defs.manifest.workflow import Workflow
from spine2_support.workflows import OWNER, WORKSPACE, workflow_manifest

INPUTS: list[CompileInput] = []


def prepare(count: int) -> None:
    INPUTS[:] = [
        CompileInput(Workflow.model_validate(workflow_manifest(i)), WORKSPACE, OWNER)
        for i in range(count)
    ]


@definitions
def defs() -> Definitions:
    return compile_definitions(INPUTS, executors())
