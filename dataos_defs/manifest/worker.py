"""Worker: a long-running workload without ports, for continuous processing (§5)."""

from __future__ import annotations

from typing import ClassVar, Literal

from dataos_defs.manifest.base import Level, Problem, Reference, ResourceBase
from dataos_defs.manifest.common import LongRunningSpec, RuntimeSpec
from dataos_defs.manifest.source import KeyPath


class WorkerSpec(LongRunningSpec):
    """A worker's section: the runtime spec with replicas and scaling, no ingress or ports."""


class Worker(ResourceBase):
    KIND: ClassVar[str] = "worker"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["worker"]
    version: Literal["v1beta"]
    worker: WorkerSpec

    def references(self) -> list[Reference]:
        return self.worker.runtime_references(("worker",))

    def problems(self) -> list[Problem]:
        return self.worker.runtime_problems(("worker",))

    def produced_datasets(self) -> list[tuple[str, KeyPath]]:
        return self.worker.runtime_produced(("worker",))

    def runtime_specs(self) -> list[tuple[RuntimeSpec, KeyPath]]:
        return [(self.worker, ("worker",))]
