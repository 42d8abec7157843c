"""Compute: a node pool that runs workloads (``runnable-default``) or engines (``query-default``).

The node selector and tolerations are handed to Kubernetes as they are written.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, Problem, ResourceBase, StrictModel


class Toleration(StrictModel):
    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    tolerationSeconds: int | None = Field(default=None, ge=0)


class NodePool(StrictModel):
    nodeSelector: dict[str, str] | None = None
    tolerations: list[Toleration] | None = None


class ComputeSection(StrictModel):
    dataplane: str
    purpose: Literal["runnable", "query", "gpu"]
    nodePool: NodePool | None = None


class Compute(ResourceBase):
    KIND: ClassVar[str] = "compute"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["compute"]
    version: Literal["v1beta", "v1"] = Field(
        description="v1beta per the attribute reference; every Compute example in the docs says v1"
    )
    compute: ComputeSection

    def problems(self) -> list[Problem]:
        pool = self.compute.nodePool
        problems = []
        for index, toleration in enumerate((pool.tolerations or []) if pool else []):
            path = ("compute", "nodePool", "tolerations", index)
            if toleration.operator == "Exists" and toleration.value is not None:
                problems.append(
                    Problem(
                        (*path, "value"),
                        "a toleration with operator Exists matches any value; it takes none",
                        "remove 'value' or use operator: Equal",
                    )
                )
            if toleration.key is None and toleration.operator == "Equal":
                problems.append(
                    Problem(
                        path,
                        "a toleration without 'key' must use operator: Exists",
                        "add the taint's key",
                    )
                )
            if toleration.tolerationSeconds is not None and toleration.effect != "NoExecute":
                problems.append(
                    Problem(
                        (*path, "tolerationSeconds"),
                        "tolerationSeconds only applies to effect NoExecute",
                    )
                )
        return problems
